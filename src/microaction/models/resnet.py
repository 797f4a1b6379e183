"""Segment-based ResNets (TSN, TSM, MANet): a torchvision ResNet trunk run per frame, optional
SE + temporal shift on every block's residual branch, and an average-consensus head."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from microaction.errors import CheckpointError
from microaction.models.layers import ResidualPrefix, SqueezeExcite, TemporalShift
from microaction.models.output import ModelOutput
from microaction.spec import InputSpec, short_side_for

log = logging.getLogger(__name__)

DEPTHS = {18: "resnet18", 34: "resnet34", 50: "resnet50", 101: "resnet101"}
_WEIGHTS = {18: "ResNet18_Weights", 34: "ResNet34_Weights", 50: "ResNet50_Weights",
            101: "ResNet101_Weights"}


def resnet_trunk(depth: int, pretrained: str | None = None) -> nn.Module:
    """torchvision ResNet without its fc. ``pretrained``: None, ``"imagenet"`` (torchvision's
    weights, downloaded or from its cache) or a path to a state-dict file."""
    import torchvision

    if depth not in DEPTHS:
        raise ValueError(f"ResNet depth must be one of {sorted(DEPTHS)}, got {depth}")
    net = getattr(torchvision.models, DEPTHS[depth])(weights=None)
    if pretrained:
        net.load_state_dict(_imagenet_state(depth, pretrained), strict=False)
    net.fc = nn.Identity()
    return net


def _imagenet_state(depth: int, source: str) -> dict:
    if source == "imagenet":
        import torchvision

        weights = getattr(torchvision.models, _WEIGHTS[depth]).IMAGENET1K_V1
        try:
            state = weights.get_state_dict(progress=True)
        except Exception as exc:  # network or cache failure
            raise CheckpointError(f"cannot load torchvision ImageNet weights for ResNet-{depth} "
                                  f"({type(exc).__name__}: {exc}); pass a local file with "
                                  f"pretrained=PATH") from None
    else:
        path = Path(source)
        if not path.is_file():
            raise CheckpointError(f"{path}: pretrained weights file not found")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise CheckpointError(f"{path}: not a loadable state dict ({exc})") from None
        state = state.get("state_dict", state) if isinstance(state, dict) else state
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    return state


def _blocks(trunk: nn.Module):
    for layer in (trunk.layer1, trunk.layer2, trunk.layer3, trunk.layer4):
        yield from layer


class SegmentResNet(nn.Module):
    """Input ``(B, C, T, H, W)``: T segments, each a frame through the 2D trunk; logits (and the
    label embedding, if ``embed_dim``) are averaged over the T frames (segment consensus)."""

    def __init__(self, num_classes: int = 52, depth: int = 50, clip_len: int = 8, size: int = 224,
                 shift: bool = False, se: bool = False, shift_div: int = 8, se_reduction: int = 4,
                 embed_dim: int | None = None, dropout: float = 0.5,
                 pretrained: str | None = None):
        super().__init__()
        self.trunk = resnet_trunk(depth, pretrained)
        self.input_spec = InputSpec("segment", clip_len=clip_len, size=size,
                                    short_side=short_side_for(size))
        self.shifts = []
        for block in _blocks(self.trunk):
            in_ch = block.conv1.in_channels
            sh = TemporalShift(clip_len, shift_div) if shift else None
            gate = SqueezeExcite(in_ch, se_reduction) if se else None
            if sh is not None or gate is not None:
                block.conv1 = ResidualPrefix(block.conv1, gate, sh)
            if sh is not None:
                self.shifts.append(sh)
        feat = 512 if depth in (18, 34) else 2048
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(feat, num_classes)
        self.embed = None
        if embed_dim:
            self.embed = nn.Sequential(nn.Linear(feat, embed_dim), nn.Tanh(),
                                       nn.Linear(embed_dim, embed_dim))
        if pretrained:
            # Fine-tuning (the MANet release's only set-up): heads start at N(0, 0.001^2), zero
            # bias. From scratch keep PyTorch's default init: with the tiny init the trunk's
            # gradients are scaled by 1e-3 and a randomly initialised trunk barely learns
            # (measured: train accuracy at chance after 10 epochs on the synthetic set).
            for m in [self.fc, *(self.embed or [])]:
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0.0, 0.001)
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> ModelOutput:
        b, c, t, h, w = x.shape
        for sh in self.shifts:  # the shift needs T to fold (B*T) back into clips
            sh.num_segments = t
        frames = x.transpose(1, 2).reshape(b * t, c, h, w)
        feat = self.dropout(self.trunk(frames))  # (B*T, F) after global average pooling
        logits = self.fc(feat).view(b, t, -1).mean(1)
        emb = self.embed(feat).view(b, t, -1).mean(1) if self.embed is not None else None
        return ModelOutput(logits, emb)
