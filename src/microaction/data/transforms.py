"""Video transforms on tensors, following the official MANet pipeline.

Train: resize short side -> multi-scale crop (scales 1, .875, .75, .66; 13 fixed offsets) ->
resize to ``size`` x ``size`` -> horizontal flip (p=0.5) -> normalise. (``crop="center"``: the
test crop instead of the multi-scale one -- flip and temporal jitter only.)
Test: resize short side -> centre crop (or three crops along the long side) -> normalise.
One crop/flip decision is applied to every frame of a clip, so motion is preserved.
"""

from __future__ import annotations

import numpy as np
import torch
from torchvision.transforms.v2 import functional as TF

from microaction.spec import TRAIN_CROPS, InputSpec

MULTISCALE = (1.0, 0.875, 0.75, 0.66)

# The 13 fixed crop positions as (x, y) in quarters of the free space: corners, centre, edge
# midpoints and the four inner quarter points.
FIXED_OFFSETS = ((0, 0), (4, 0), (0, 4), (4, 4), (2, 2), (0, 2), (4, 2), (2, 4), (2, 0),
                 (1, 1), (3, 1), (1, 3), (3, 3))


def to_tensor(frames: np.ndarray) -> torch.Tensor:
    """``(T, H, W, 3)`` uint8 -> ``(T, 3, H, W)`` uint8 tensor (no copy of the pixels' order)."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)


def resize_short_side(x: torch.Tensor, size: int) -> torch.Tensor:
    """Resize ``(..., H, W)`` so that min(H, W) == size, keeping the aspect ratio."""
    h, w = x.shape[-2:]
    if min(h, w) == size:
        return x
    return TF.resize(x, [size], antialias=True)


def multiscale_crop_box(h: int, w: int, rng: np.random.Generator,
                        scales=MULTISCALE, max_scale_gap: int = 1) -> tuple[int, int, int, int]:
    """(top, left, crop_h, crop_w): crop sides drawn from ``scales`` x min(h, w) (the two sides'
    scale indices at most ``max_scale_gap`` apart), placed at one of 13 fixed offsets."""
    base = min(h, w)
    sides = [int(base * s) for s in scales]
    pairs = [(i, j) for i in range(len(sides)) for j in range(len(sides))
             if abs(i - j) <= max_scale_gap]
    i, j = pairs[rng.integers(len(pairs))]
    ch, cw = sides[i], sides[j]
    ox, oy = FIXED_OFFSETS[rng.integers(len(FIXED_OFFSETS))]
    top = (h - ch) * oy // 4
    left = (w - cw) * ox // 4
    return top, left, ch, cw


def center_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    top, left = (h - size) // 2, (w - size) // 2
    return x[..., top:top + size, left:left + size]


def three_crop(x: torch.Tensor, size: int) -> list[torch.Tensor]:
    """Three ``size`` squares spread along the long side (top/middle/bottom for portrait video)."""
    h, w = x.shape[-2:]
    if h >= w:
        tops = [0, (h - size) // 2, h - size]
        left = (w - size) // 2
        return [x[..., t:t + size, left:left + size] for t in tops]
    lefts = [0, (w - size) // 2, w - size]
    top = (h - size) // 2
    return [x[..., top:top + size, l:l + size] for l in lefts]


def normalize(x: torch.Tensor, mean, std) -> torch.Tensor:
    """uint8/float ``(T, 3, H, W)`` on the 0-255 scale -> normalised float32."""
    m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    return (x.float() - m) / s


class VideoTransform:
    """Frames ``(N, H, W, 3)`` uint8 -> ``(3, N, size, size)`` float (train, or one test crop) or
    ``(crops, 3, N, size, size)`` with ``test_crops=3``."""

    def __init__(self, spec: InputSpec, train: bool, test_crops: int = 1,
                 scales=MULTISCALE, flip_p: float = 0.5, crop: str = "multiscale"):
        if crop not in TRAIN_CROPS:
            raise ValueError(f"crop must be one of {', '.join(TRAIN_CROPS)}, got {crop!r}")
        if test_crops not in (1, 3):
            raise ValueError(f"test_crops must be 1 or 3, got {test_crops}")
        self.spec, self.train, self.test_crops = spec, train, test_crops
        self.scales, self.flip_p, self.crop = scales, flip_p, crop

    @property
    def num_views(self) -> int:
        return 1 if self.train else self.test_crops

    def __call__(self, frames: np.ndarray, rng: np.random.Generator | None = None) -> torch.Tensor:
        x = resize_short_side(to_tensor(frames), self.spec.short_side)
        size = self.spec.size
        if self.train:
            rng = rng if rng is not None else np.random.default_rng()
            if self.crop == "center":
                x = center_crop(x, size)
            else:
                top, left, ch, cw = multiscale_crop_box(x.shape[-2], x.shape[-1], rng, self.scales)
                x = TF.resize(x[..., top:top + ch, left:left + cw], [size, size], antialias=True)
            if rng.random() < self.flip_p:
                x = x.flip(-1)
            return normalize(x, self.spec.mean, self.spec.std).permute(1, 0, 2, 3).contiguous()
        crops = [center_crop(x, size)] if self.test_crops == 1 else three_crop(x, size)
        views = [normalize(c, self.spec.mean, self.spec.std).permute(1, 0, 2, 3) for c in crops]
        return views[0].contiguous() if self.test_crops == 1 else torch.stack(views)
