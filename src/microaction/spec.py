"""InputSpec: what a model expects to be fed. Declared by models, read by data and inference code
(a plain dataclass shared by both, so neither imports the other)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

IMAGENET_MEAN = (123.675, 116.28, 103.53)  # on the 0-255 scale, as the MANet pipeline
IMAGENET_STD = (58.395, 57.12, 57.375)
# training crops: "multiscale" (the MANet recipe) or "center" (the test crop; flip and jitter only)
TRAIN_CROPS = ("multiscale", "center")


def short_side_for(size: int) -> int:
    """The resize before a ``size`` crop, in the MANet pipeline's ratio (256 for 224)."""
    return max(size, round(size * 256 / 224))


@dataclass(frozen=True)
class InputSpec:
    """What a model is fed: ``clip_len`` frames per clip (the T of its ``(B, C, T, H, W)``).

    ``sampling='segment'``: the video is cut into ``clip_len`` segments and one frame is taken
    from each (2D models: TSN, TSM, MANet). ``sampling='dense'``: ``clip_len`` consecutive frames
    ``interval`` apart (3D models). ``size``: square crop side; ``short_side``: resize before
    cropping."""

    sampling: str = "segment"
    clip_len: int = 8
    interval: int = 1
    size: int = 224
    short_side: int = 256
    mean: tuple = field(default=IMAGENET_MEAN)
    std: tuple = field(default=IMAGENET_STD)

    def __post_init__(self):
        if self.sampling not in ("segment", "dense"):
            raise ValueError(f"sampling must be 'segment' or 'dense', got {self.sampling!r}")
        if min(self.clip_len, self.interval, self.size, self.short_side) < 1:
            raise ValueError(f"clip_len, interval, size and short_side must be >= 1: {self}")
        if self.short_side < self.size:
            raise ValueError(f"short_side {self.short_side} is smaller than crop size {self.size}")
        object.__setattr__(self, "mean", tuple(float(m) for m in self.mean))
        object.__setattr__(self, "std", tuple(float(s) for s in self.std))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "InputSpec":
        d = dict(d)
        if "frames" in d:  # checkpoints of version 0.1 called clip_len "frames"
            d["clip_len"] = d.pop("frames")
        return cls(**d)

    def replace(self, **kw) -> "InputSpec":
        return InputSpec(**{**asdict(self), **kw})
