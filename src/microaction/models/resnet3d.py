"""3D ResNets: I3D (a ResNet inflated to 3D), R(2+1)D and SlowFast, from one trunk class.

The trunk keeps torchvision's 2D ResNet names (``conv1``, ``bn1``, ``layerL.B.conv1`` ...,
``downsample.0/1``), so a 2D ImageNet ResNet inflates into it name for name: each 2D kernel is
repeated over the 3D kernel's time axis and divided by its length (an inflated network gives the
2D network's features on a clip of identical frames, away from the temporal padding).

Blocks: a bottleneck whose first conv is 3x1x1 where "inflated" (I3D's 3x1x1 style), else 1x1x1;
a basic block whose first conv is 3x3x3 where inflated (else 1x3x3) and whose second is 1x3x3;
or, for R(2+1)D, a basic block of two (2+1)D convs (a 1xdxd spatial conv, BN, ReLU, then a
tx1x1 temporal conv).
"""

from __future__ import annotations

import torch
from torch import nn

from microaction.models.heads import HeadMixin
from microaction.models.output import ModelOutput
from microaction.spec import InputSpec, short_side_for

STAGES = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}
# I3D-R50's inflation (Carreira & Zisserman's pattern as the reference ResNet3d uses it)
I3D_INFLATE = ((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0))


def _pair3(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v, v)


class Conv2Plus1d(nn.Module):
    """A t x d x d convolution factorised into 1 x d x d (in -> mid), BN, ReLU, t x 1 x 1
    (mid -> out), without biases. mid = floor(3 d^2 in out / (d^2 in + 3 out)): the R(2+1)D
    paper's width rule, which keeps about the parameters of the full 3D conv; as in the
    reference implementation the rule's t is 3 for every factorised conv, including the 1x1x1
    shortcut projections."""

    def __init__(self, cin: int, cout: int, kernel=3, stride=1, padding=1):
        super().__init__()
        (kt, kd, _), (st, sd, _), (pt, pd, _) = _pair3(kernel), _pair3(stride), _pair3(padding)
        mid = int(3 * cin * cout * kd * kd / (cin * kd * kd + 3 * cout))
        self.spatial = nn.Conv3d(cin, mid, (1, kd, kd), (1, sd, sd), (0, pd, pd), bias=False)
        self.bn = nn.BatchNorm3d(mid)
        self.relu = nn.ReLU(inplace=True)
        self.temporal = nn.Conv3d(mid, cout, (kt, 1, 1), (st, 1, 1), (pt, 0, 0), bias=False)

    def forward(self, x):
        return self.temporal(self.relu(self.bn(self.spatial(x))))


def _conv(kind: str, cin, cout, kernel, stride=1, padding=0):
    if kind == "2plus1d":
        return Conv2Plus1d(cin, cout, kernel, stride, padding)
    return nn.Conv3d(cin, cout, kernel, stride, padding, bias=False)


class Bottleneck3d(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, stride_t=1, inflate=True, downsample=None,
                 conv="3d"):
        super().__init__()
        kt = 3 if inflate else 1
        self.conv1 = _conv(conv, inplanes, planes, (kt, 1, 1), 1, (kt // 2, 0, 0))
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2 = _conv(conv, planes, planes, (1, 3, 3), (stride_t, stride, stride),
                           (0, 1, 1))
        self.bn2 = nn.BatchNorm3d(planes)
        self.conv3 = _conv(conv, planes, planes * 4, 1)
        self.bn3 = nn.BatchNorm3d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class BasicBlock3d(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, stride_t=1, inflate=True, downsample=None,
                 conv="3d"):
        super().__init__()
        kt = 3 if inflate else 1
        self.conv1 = _conv(conv, inplanes, planes, (kt, 3, 3), (stride_t, stride, stride),
                           (kt // 2, 1, 1))
        self.bn1 = nn.BatchNorm3d(planes)
        # R(2+1)D factorises two full 3x3x3 convs; I3D-style inflation only the first
        kt2 = kt if conv == "2plus1d" else 1
        self.conv2 = _conv(conv, planes, planes, (kt2, 3, 3), 1, (kt2 // 2, 1, 1))
        self.bn2 = nn.BatchNorm3d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class ResNet3dTrunk(nn.Module):
    """``(B, 3, T, H, W)`` -> ``(B, C, T', H', W')``. ``base``: the stem's width (64; 8 for
    SlowFast's fast pathway); ``inflate``: per stage, an int (every block) or a per-block
    tuple; ``lateral``: channels arriving from another pathway before each of the four stages
    (SlowFast's slow pathway), concatenated to this pathway's input."""

    def __init__(self, depth: int = 50, base: int = 64, conv1_kernel=(5, 7, 7),
                 conv1_stride_t: int = 2, pool1_stride_t: int = 2, pool2: bool = True,
                 inflate=I3D_INFLATE, temporal_strides=(1, 1, 1, 1), conv: str = "3d",
                 lateral=(0, 0, 0, 0)):
        super().__init__()
        block = Bottleneck3d if depth >= 50 else BasicBlock3d
        kt, kd = conv1_kernel[0], conv1_kernel[1]
        self.conv1 = _conv(conv, 3, base, conv1_kernel, (conv1_stride_t, 2, 2),
                           (kt // 2, kd // 2, kd // 2))
        self.bn1 = nn.BatchNorm3d(base)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool3d((1, 3, 3), (pool1_stride_t, 2, 2), (0, 1, 1))
        # ceil_mode: a clip reduced to one frame by then still passes (short inputs)
        self.pool2 = nn.MaxPool3d((2, 1, 1), (2, 1, 1), ceil_mode=True) if pool2 else None
        inplanes = base
        for i, blocks in enumerate(STAGES[depth]):
            planes = base * 2 ** i
            flags = inflate[i] if isinstance(inflate[i], (tuple, list)) else (inflate[i],) * blocks
            layer = self._layer(block, inplanes + lateral[i], planes, blocks, 1 if i == 0 else 2,
                                temporal_strides[i], flags, conv)
            self.add_module(f"layer{i + 1}", layer)
            inplanes = planes * block.expansion
        self.out_channels = inplanes

    @staticmethod
    def _layer(block, inplanes, planes, blocks, stride, stride_t, flags, conv):
        downsample = None
        if stride != 1 or stride_t != 1 or inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                _conv(conv, inplanes, planes * block.expansion, 1, (stride_t, stride, stride)),
                nn.BatchNorm3d(planes * block.expansion))
        layers = [block(inplanes, planes, stride, stride_t, bool(flags[0]), downsample, conv)]
        layers += [block(planes * block.expansion, planes, 1, 1, bool(f), None, conv)
                   for f in flags[1:]]
        return nn.Sequential(*layers)

    def stem(self, x):
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))

    def forward(self, x):
        x = self.stem(x)
        for i in range(1, 5):
            x = getattr(self, f"layer{i}")(x)
            if i == 1 and self.pool2 is not None:
                x = self.pool2(x)
        return x


class TorchvisionVideoTrunk(nn.Module):
    """A torchvision VideoResNet's stem and four stages, under torchvision's names (so its
    weights load by name), returning the feature map instead of logits."""

    def __init__(self, net: nn.Module, out_channels: int):
        super().__init__()
        self.stem, self.out_channels = net.stem, out_channels
        for i in range(1, 5):
            self.add_module(f"layer{i}", getattr(net, f"layer{i}"))

    def forward(self, x):
        x = self.stem(x)
        for i in range(1, 5):
            x = getattr(self, f"layer{i}")(x)
        return x


def inflate_state(state2d: dict, trunk: nn.Module) -> dict:
    """A 2D ResNet state dict (torchvision names) inflated to ``trunk``'s 3D shapes: a 2D
    kernel ``(O, I, kh, kw)`` becomes ``(O, I, t, kh, kw)``, repeated over t and divided by t."""
    own = trunk.state_dict()
    out = {}
    for key, value in state2d.items():
        if key not in own:
            continue
        target = own[key]
        if value.dim() == 4 and target.dim() == 5:
            t = target.shape[2]
            value = value.unsqueeze(2).repeat(1, 1, t, 1, 1) / t
        if value.shape != target.shape:
            raise ValueError(f"{key}: 2D shape {tuple(value.shape)} does not inflate to "
                             f"{tuple(target.shape)}")
        out[key] = value
    return out


class VideoResNet3d(HeadMixin, nn.Module):
    """A 3D trunk, global average pooling over (T, H, W) and the shared head. Dense sampling:
    ``clip_len`` frames ``interval`` apart."""

    def __init__(self, trunk: nn.Module, num_classes: int, clip_len: int, interval: int,
                 size: int = 224, dropout: float = 0.5, embed_dim: int | None = None,
                 init_std: float | None = None):
        super().__init__()
        self.trunk = trunk
        self.input_spec = InputSpec("dense", clip_len=clip_len, interval=interval, size=size,
                                    short_side=short_side_for(size))
        self.init_head(trunk.out_channels, num_classes, dropout, embed_dim, init_std)

    def forward(self, x: torch.Tensor) -> ModelOutput:
        feat = self.trunk(x).mean((2, 3, 4))
        return ModelOutput(*self.head(feat))


class SlowFast(HeadMixin, nn.Module):
    """SlowFast (Feichtenhofer et al., ICCV 2019), R50 4x16: the slow pathway sees every
    ``alpha``-th frame with 64-channel stages inflated only in stages 3-4; the fast pathway sees
    every frame with 1/``beta_inv`` of the channels, inflated everywhere. After the stem and
    stages 1-3 a time-strided 5x1x1 conv (stride ``alpha``, 2x the fast channels, no BN) carries
    the fast features into the slow pathway, concatenated. Head: both pathways pooled and
    concatenated (2048 + 256)."""

    def __init__(self, num_classes: int = 52, depth: int = 50, clip_len: int = 32,
                 interval: int = 2, size: int = 224, alpha: int = 8, beta_inv: int = 8,
                 dropout: float = 0.5, embed_dim: int | None = None,
                 init_std: float | None = None):
        super().__init__()
        if clip_len % alpha:
            raise ValueError(f"clip_len {clip_len} must be a multiple of alpha {alpha}")
        fast_base = 64 // beta_inv
        expansion = 4 if depth >= 50 else 1
        fast_out = [fast_base] + [fast_base * 2 ** i * expansion for i in range(3)]
        self.alpha = alpha
        self.fast = ResNet3dTrunk(depth, fast_base, (5, 7, 7), 1, 1, False, (1, 1, 1, 1))
        self.slow = ResNet3dTrunk(depth, 64, (1, 7, 7), 1, 1, False, (0, 0, 1, 1),
                                  lateral=[2 * c for c in fast_out])
        self.laterals = nn.ModuleList(
            nn.Conv3d(c, 2 * c, (5, 1, 1), (alpha, 1, 1), (2, 0, 0), bias=False)
            for c in fast_out)
        self.input_spec = InputSpec("dense", clip_len=clip_len, interval=interval, size=size,
                                    short_side=short_side_for(size))
        self.init_head(self.slow.out_channels + self.fast.out_channels, num_classes, dropout,
                       embed_dim, init_std)

    def forward(self, x: torch.Tensor) -> ModelOutput:
        slow, fast = self.slow.stem(x[:, :, ::self.alpha]), self.fast.stem(x)
        for i in range(1, 5):
            slow = torch.cat([slow, self.laterals[i - 1](fast)], 1)
            slow = getattr(self.slow, f"layer{i}")(slow)
            fast = getattr(self.fast, f"layer{i}")(fast)
        feat = torch.cat([slow.mean((2, 3, 4)), fast.mean((2, 3, 4))], 1)
        return ModelOutput(*self.head(feat))
