"""Frame-wise ResNets (TSN, TSM, MANet, TIN, TANet): a torchvision ResNet trunk run on every
frame, an optional temporal module in every block, and an average-consensus head.

Where the temporal module sits in each block:

- TSM: temporal shift on the residual branch before conv1 (the shortcut sees the input);
- MANet: squeeze-excitation, then the shift, at the same place;
- TIN: the temporal interlace at the same place;
- TANet: the temporal adaptive module after conv1 -> BN -> ReLU.
"""

from __future__ import annotations

import logging

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck

from microaction.models.heads import HeadMixin
from microaction.models.layers import (ResidualPrefix, SqueezeExcite, TemporalAdaptiveModule,
                                       TemporalInterlace, TemporalShift)
from microaction.models.output import ModelOutput
from microaction.models.weights import load_matching, local_state, torchvision_state
from microaction.spec import InputSpec, short_side_for

log = logging.getLogger(__name__)

DEPTHS = {18: "resnet18", 34: "resnet34", 50: "resnet50", 101: "resnet101"}
TEMPORAL = ("none", "shift", "interlace", "adaptive")


def imagenet_resnet_state(depth: int, source: str) -> dict:
    """An ImageNet ResNet's state dict without its fc: ``"imagenet"`` (torchvision's weights) or
    a local file."""
    if source == "imagenet":
        state = torchvision_state(f"ResNet{depth}_Weights", "IMAGENET1K_V1",
                                  f"ImageNet ResNet-{depth}")
    else:
        state = local_state(source)
    return {k: v for k, v in state.items() if not k.startswith("fc.")}


def resnet_trunk(depth: int, pretrained: str | None = None) -> nn.Module:
    """torchvision ResNet without its fc. ``pretrained``: None, ``"imagenet"`` or a path."""
    import torchvision

    if depth not in DEPTHS:
        raise ValueError(f"ResNet depth must be one of {sorted(DEPTHS)}, got {depth}")
    net = getattr(torchvision.models, DEPTHS[depth])(weights=None)
    net.fc = nn.Identity()
    if pretrained:
        load_matching(net, imagenet_resnet_state(depth, pretrained), str(pretrained))
    return net


class TAMBasicBlock(BasicBlock):
    """torchvision's BasicBlock with a TAM after conv1 -> BN -> ReLU (``self.tam``)."""

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.tam(self.relu(self.bn1(self.conv1(x))))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class TAMBottleneck(Bottleneck):
    """torchvision's Bottleneck with a TAM after conv1 -> BN -> ReLU (``self.tam``)."""

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.tam(self.relu(self.bn1(self.conv1(x))))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def _blocks(trunk: nn.Module):
    for layer in (trunk.layer1, trunk.layer2, trunk.layer3, trunk.layer4):
        yield from layer


class SegmentResNet(HeadMixin, nn.Module):
    """Input ``(B, C, T, H, W)``: each of the T frames through the 2D trunk; logits (and the
    label embedding, with ``embed_dim``) are averaged over the T frames (segment consensus).

    ``temporal``: "none" (TSN), "shift" (TSM; with ``se`` MANet), "interlace" (TIN, shift_div
    4) or "adaptive" (TANet). TIN and TANet size their nets for ``clip_len`` frames, so they
    take exactly that many. ``sampling``/``interval``: how frames are drawn (TANet's recipe
    samples densely)."""

    def __init__(self, num_classes: int = 52, depth: int = 50, clip_len: int = 8,
                 size: int = 224, temporal: str = "none", se: bool = False,
                 shift_div: int = 8, se_reduction: int = 4, embed_dim: int | None = None,
                 dropout: float = 0.5, pretrained: str | None = None,
                 sampling: str = "segment", interval: int = 1):
        super().__init__()
        if temporal not in TEMPORAL:
            raise ValueError(f"temporal must be one of {', '.join(TEMPORAL)}, got {temporal!r}")
        self.trunk = resnet_trunk(depth, pretrained)
        self.temporal = temporal
        self.input_spec = InputSpec(sampling, clip_len=clip_len, interval=interval, size=size,
                                    short_side=short_side_for(size))
        self.shifts = []
        for block in _blocks(self.trunk):
            in_ch = block.conv1.in_channels
            gate = SqueezeExcite(in_ch, se_reduction) if se else None
            move = None
            if temporal == "shift":
                move = TemporalShift(clip_len, shift_div)
                self.shifts.append(move)
            elif temporal == "interlace":
                move = TemporalInterlace(in_ch, clip_len, shift_div=4)
            elif temporal == "adaptive":
                block.__class__ = TAMBottleneck if isinstance(block, Bottleneck) else TAMBasicBlock
                block.tam = TemporalAdaptiveModule(block.conv1.out_channels, clip_len)
            if move is not None or gate is not None:
                block.conv1 = ResidualPrefix(block.conv1, gate, move)
        # Fine-tuning (the MANet release's only set-up): heads start at N(0, 0.001^2), zero
        # bias. From scratch keep PyTorch's default init (measured: with the tiny init a random
        # trunk stayed at chance for 10 epochs on the synthetic set).
        self.init_head(512 if depth in (18, 34) else 2048, num_classes, dropout, embed_dim,
                       init_std=0.001 if pretrained else None)

    def forward(self, x: torch.Tensor) -> ModelOutput:
        t = x.shape[2]
        if self.temporal in ("interlace", "adaptive") and t != self.input_spec.clip_len:
            raise ValueError(f"{self.temporal} modules are built for {self.input_spec.clip_len} "
                             f"frames, got {t}")
        for sh in self.shifts:  # the shift needs T to fold (B*T) back into clips
            sh.num_segments = t
        feat = self.trunk(x.transpose(1, 2).flatten(0, 1))  # (B*T, F); -1s keep B dynamic
        logits, emb = self.head(feat)
        logits = logits.view(-1, t, logits.shape[-1]).mean(1)
        return ModelOutput(logits, emb.view(-1, t, emb.shape[-1]).mean(1)
                           if emb is not None else None)
