"""Named models, each a short builder registered from the tables below.

Frame-wise ResNets (``<family>_r{18,34,50,101}``): ``tsn`` (per-frame ResNet + average
consensus), ``tsm`` (+ temporal shift), ``manet`` (+ squeeze-excitation before the shift and the
label-embedding head: MA-52's MANet), ``tin`` (+ temporal interlace), ``tanet`` (+ temporal
adaptive module). 3D models: ``c3d`` / ``c3d_narrow``, ``i3d_r50`` / ``i3d_r18``,
``r2plus1d_r34`` / ``r2plus1d_r18`` (torchvision's network), ``slowfast_r50`` /
``slowfast_r18``, and the transformer ``timesformer_b`` / ``timesformer_s``.

Every builder takes ``num_classes``, ``clip_len``, ``size``, ``dropout``, ``embed_dim`` (MANet's
joint-embedding head on any backbone) and ``pretrained``; dense models also ``interval``.
"""

from __future__ import annotations

from microaction.errors import MicroactionError
from microaction.models.registry import register_model
from microaction.models.resnet import DEPTHS, SegmentResNet, imagenet_resnet_state

# prefix: (temporal module, squeeze-excitation, embedding head by default)
FRAMEWISE = {
    "tsn": ("none", False, False),
    "tsm": ("shift", False, False),
    "manet": ("shift", True, True),
    "tin": ("interlace", False, False),
    "tanet": ("adaptive", False, False),
}
# TANet's recipe samples 8 frames densely (its TAM models local motion); the others segment
DENSE_FRAMEWISE = {"tanet": 8}


def _framewise(prefix: str, depth: int):
    temporal, se, embedding = FRAMEWISE[prefix]

    def build(num_classes: int = 52, **kw):
        if embedding:
            kw.setdefault("embed_dim", 300)  # the official label table is 52 x 300
        if prefix in DENSE_FRAMEWISE:
            kw.setdefault("sampling", "dense")
            kw.setdefault("interval", DENSE_FRAMEWISE[prefix])
        return SegmentResNet(num_classes, depth, temporal=temporal, se=se, **kw)

    build.__name__ = f"{prefix}_r{depth}"
    build.__doc__ = f"{prefix.upper()} on ResNet-{depth}."
    build.embedding_head = embedding
    return build


for _prefix in FRAMEWISE:
    for _depth in DEPTHS:
        register_model(_framewise(_prefix, _depth))


def _no_download(name: str, pretrained: str | None) -> None:
    if pretrained and pretrained in ("imagenet", "kinetics400"):
        raise MicroactionError(f"{name}: no {pretrained} weights are available for this "
                               f"family; pass a local state dict with model.pretrained=PATH")


def _finish(model, name: str, pretrained: str | None, convert=None):
    """Load a local state dict (our layout, or the one ``convert`` maps from)."""
    if pretrained and pretrained not in ("imagenet", "kinetics400"):
        from microaction.models.weights import load_matching, local_state

        state = local_state(pretrained)
        load_matching(model, convert(state) if convert else state, pretrained,
                      skip_prefixes=("fc.", "embed."))
    return model


# ----------------------------------------------------------------------------- 3D models


@register_model
def c3d(num_classes: int = 52, pretrained: str | None = None, **kw):
    """C3D: 8 convs + fc6/fc7 (4096), 16 x 1 frames at 112 px."""
    from microaction.models.c3d import C3D

    _no_download("c3d", pretrained)
    kw.setdefault("init_std", 0.005 if pretrained else None)
    return _finish(C3D(num_classes, **kw), "c3d", pretrained)


@register_model
def c3d_narrow(num_classes: int = 52, pretrained: str | None = None, **kw):
    """C3D at a quarter of the channels and 512-wide fc layers (a CPU-sized variant)."""
    from microaction.models.c3d import C3D

    _no_download("c3d_narrow", pretrained)
    kw.setdefault("width", 0.25)
    kw.setdefault("fc", 512)
    return _finish(C3D(num_classes, **kw), "c3d_narrow", pretrained)


def _i3d(depth: int):
    def build(num_classes: int = 52, clip_len: int = 32, interval: int = 2,
              pretrained: str | None = None, **kw):
        from microaction.models.resnet3d import I3D_INFLATE, ResNet3dTrunk, VideoResNet3d
        from microaction.models.resnet3d import inflate_state

        inflate = I3D_INFLATE if depth == 50 else ((1, 1), (1, 0), (1, 0), (0, 1))
        trunk = ResNet3dTrunk(depth, 64, (5, 7, 7), 2, 2, True, inflate)
        if pretrained:
            from microaction.models.weights import load_matching, local_state

            state = imagenet_resnet_state(depth, pretrained) if pretrained == "imagenet" \
                else local_state(pretrained)
            if state.get("conv1.weight") is not None and state["conv1.weight"].dim() == 4:
                state = inflate_state({k: v for k, v in state.items()
                                       if not k.startswith("fc.")}, trunk)
            load_matching(trunk, state, str(pretrained))
        return VideoResNet3d(trunk, num_classes, clip_len, interval,
                             init_std=0.01 if pretrained else None, **kw)

    build.__name__ = f"i3d_r{depth}"
    build.__doc__ = f"I3D: ResNet-{depth} inflated to 3D (conv1 5x7x7, 3x1x1 inflation)."
    return build


register_model(_i3d(50))
register_model(_i3d(18))


@register_model
def r2plus1d_r34(num_classes: int = 52, clip_len: int = 8, interval: int = 8,
                 pretrained: str | None = None, **kw):
    """R(2+1)D-34: every 3D conv factorised into spatial + temporal convs."""
    from microaction.models.resnet3d import ResNet3dTrunk, VideoResNet3d

    _no_download("r2plus1d_r34", pretrained)
    trunk = ResNet3dTrunk(34, 64, (3, 7, 7), 1, 1, False, (1, 1, 1, 1), (1, 2, 2, 2), "2plus1d")
    model = VideoResNet3d(trunk, num_classes, clip_len, interval,
                          init_std=0.01 if pretrained else None, **kw)
    return _finish(model, "r2plus1d_r34", pretrained)


@register_model
def r2plus1d_r18(num_classes: int = 52, clip_len: int = 8, interval: int = 8,
                 pretrained: str | None = None, **kw):
    """torchvision's R(2+1)D-18 (its stem and block widths); ``pretrained="kinetics400"``
    loads torchvision's Kinetics-400 weights."""
    from torchvision.models.video import r2plus1d_18

    from microaction.models.resnet3d import TorchvisionVideoTrunk, VideoResNet3d

    if pretrained == "imagenet":
        raise MicroactionError("r2plus1d_r18: its pretrained start is 'kinetics400' (or a path)")
    net = TorchvisionVideoTrunk(r2plus1d_18(weights=None), 512)
    if pretrained == "kinetics400":
        from microaction.models.weights import load_matching, torchvision_state

        state = torchvision_state("R2Plus1D_18_Weights", "KINETICS400_V1",
                                  "Kinetics-400 R(2+1)D-18")
        load_matching(net, state, "kinetics400", skip_prefixes=("fc.",))
    model = VideoResNet3d(net, num_classes, clip_len, interval,
                          init_std=0.01 if pretrained else None, **kw)
    return _finish(model, "r2plus1d_r18", None if pretrained == "kinetics400" else pretrained)


def _slowfast(depth: int):
    def build(num_classes: int = 52, pretrained: str | None = None, **kw):
        from microaction.models.resnet3d import SlowFast

        _no_download(f"slowfast_r{depth}", pretrained)
        kw.setdefault("init_std", 0.01 if pretrained else None)
        return _finish(SlowFast(num_classes, depth, **kw), f"slowfast_r{depth}", pretrained)

    build.__name__ = f"slowfast_r{depth}"
    build.__doc__ = f"SlowFast R{depth} 4x16 (alpha 8, beta 1/8, time-strided laterals)."
    return build


register_model(_slowfast(50))
register_model(_slowfast(18))


def _timesformer(name: str, dim: int, depth: int, heads: int, default_size: int):
    def build(num_classes: int = 52, pretrained: str | None = None, size: int = default_size,
              **kw):
        from microaction.models.timesformer import TimeSformer, vit_to_timesformer

        if pretrained == "kinetics400":
            raise MicroactionError(f"{name}: its pretrained start is 'imagenet' (ViT-B/16)")
        model = TimeSformer(num_classes, size=size, dim=dim, depth=depth, heads=heads,
                            init_std=0.02 if pretrained else None, **kw)
        if pretrained == "imagenet":
            if dim != 768:
                raise MicroactionError(f"{name}: ImageNet weights exist for timesformer_b only")
            from microaction.models.weights import load_matching, torchvision_state

            state = torchvision_state("ViT_B_16_Weights", "IMAGENET1K_V1", "ImageNet ViT-B/16")
            load_matching(model, vit_to_timesformer(state, depth), "imagenet")
            return model
        return _finish(model, name, pretrained,
                       lambda s: vit_to_timesformer(s, depth) if "conv_proj.weight" in s else s)

    build.__name__ = name
    build.__doc__ = f"TimeSformer, divided space-time attention, {dim}-d x {depth} blocks."
    return build


register_model(_timesformer("timesformer_b", 768, 12, 12, 224))
register_model(_timesformer("timesformer_s", 192, 6, 3, 112))
