"""Building blocks: temporal shift (TSM) and squeeze-and-excitation (MANet)."""

from __future__ import annotations

import torch
from torch import nn


def temporal_shift(x: torch.Tensor, num_segments: int, shift_div: int = 8) -> torch.Tensor:
    """Shift channels along time. ``x``: ``(N*T, C, H, W)`` with T = ``num_segments``.

    Channels ``[0, C/d)`` take frame t+1's values, ``[C/d, 2C/d)`` frame t-1's, the rest stay;
    zeros enter at the clip ends (no wrap-around).
    """
    nt, c, h, w = x.shape
    if not torch.jit.is_tracing() and nt % num_segments:
        raise ValueError(f"batch*time {nt} is not a multiple of num_segments {num_segments}")
    x = x.view(-1, num_segments, c, h, w)  # -1: the batch stays dynamic when exported
    fold = c // shift_div
    out = torch.zeros_like(x)
    out[:, :-1, :fold] = x[:, 1:, :fold]
    out[:, 1:, fold:2 * fold] = x[:, :-1, fold:2 * fold]
    out[:, :, 2 * fold:] = x[:, :, 2 * fold:]
    return out.view(nt, c, h, w)


class TemporalShift(nn.Module):
    def __init__(self, num_segments: int = 8, shift_div: int = 8):
        super().__init__()
        self.num_segments, self.shift_div = num_segments, shift_div

    def forward(self, x):
        return temporal_shift(x, self.num_segments, self.shift_div)

    def extra_repr(self):
        return f"num_segments={self.num_segments}, shift_div={self.shift_div}"


class SqueezeExcite(nn.Module):
    """Per-frame channel gate: ``x * sigmoid(W2 relu(W1 gap(x)))``, W1: C->C/r, W2: C/r->C,
    both without bias (MANet uses r = 4)."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        self.fc1 = nn.Linear(channels, channels // reduction, bias=False)
        self.fc2 = nn.Linear(channels // reduction, channels, bias=False)

    def forward(self, x):
        s = x.mean((2, 3))
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))
        return x * s[:, :, None, None]


class ResidualPrefix(nn.Module):
    """Runs ``se`` then ``shift`` before a block's first conv: on the residual branch only, the
    block's shortcut still sees the unshifted input."""

    def __init__(self, conv: nn.Module, se: nn.Module | None, shift: nn.Module | None):
        super().__init__()
        self.se = se if se is not None else nn.Identity()
        self.shift = shift if shift is not None else nn.Identity()
        self.conv = conv

    def forward(self, x):
        return self.conv(self.shift(self.se(x)))


class TemporalInterlace(nn.Module):
    """TIN's temporal interlace (Shao et al., AAAI 2020), before a block's first conv.

    The first ``C / shift_div`` channels are cut into four groups. Per clip, an offset net
    predicts two fractional offsets o1, o2 in (-2, 2); the groups move along time by o1, o2,
    -o1, -o2 (out(t) = in(t - o), linear interpolation between the two nearest frames, zeros
    past the clip's ends), and a weight net scales each group and frame by a factor in (0, 2).
    The other channels pass unchanged. Both nets read the moved channels' spatial means
    ``(N, C / shift_div, T)``; their fully connected layers are sized for ``num_segments``.
    Offsets start at 0.5 frames (the paper's init, fc2 bias 0.5108), weights at 1."""

    def __init__(self, channels: int, num_segments: int = 8, shift_div: int = 4):
        super().__init__()
        self.num_segments, self.fold = num_segments, channels // shift_div
        if self.fold % 4:
            raise ValueError(f"{channels} channels / shift_div {shift_div} is not a multiple "
                             f"of 4 groups")
        self.offset_conv = nn.Conv1d(self.fold, 1, 3, padding=1)
        self.offset_fc1 = nn.Linear(num_segments, num_segments)
        self.offset_fc2 = nn.Linear(num_segments, 2)
        self.weight_conv = nn.Conv1d(self.fold, 2, 3, padding=1)
        nn.init.constant_(self.offset_fc2.bias, 0.5108)  # sigmoid -> 0.625 -> offset 0.5
        nn.init.zeros_(self.weight_conv.bias)

    def offsets_and_weights(self, pooled: torch.Tensor):
        """``pooled`` ``(B, fold, T)`` -> offsets ``(B, 2)`` in (-2, 2), weights ``(B, T, 2)``
        in (0, 2)."""
        t = pooled.shape[2]
        h = torch.relu(self.offset_fc1(self.offset_conv(pooled).view(-1, t)))
        offsets = 4 * (torch.sigmoid(self.offset_fc2(h)) - 0.5)
        weights = 2 * torch.sigmoid(self.weight_conv(pooled)).permute(0, 2, 1)
        return offsets, weights

    def forward(self, x):
        nt, c, h, w = x.shape
        t, f = self.num_segments, self.fold
        if not torch.jit.is_tracing() and nt % t:
            raise ValueError(f"batch*time {nt} is not a multiple of num_segments {t}")
        moved = x[:, :f].reshape(-1, t, f, h, w)
        offsets, weights = self.offsets_and_weights(moved.mean((3, 4)).permute(0, 2, 1))
        signed = torch.cat([offsets, -offsets], 1)  # (B, 4): o1, o2, -o1, -o2
        groups = moved.view(-1, t, 4, f // 4, h, w)
        out = torch.stack([fractional_shift(groups[:, :, g], signed[:, g]) for g in range(4)], 2)
        out = out * weights[:, :, [0, 1, 0, 1], None, None, None]
        return torch.cat([out.reshape(-1, f, h, w), x[:, f:]], 1)

    def extra_repr(self):
        return f"num_segments={self.num_segments}, fold={self.fold}"


def fractional_shift(x: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """``x`` ``(B, T, ...)`` moved along time by ``offset`` ``(B,)`` frames: out(t) = x(t - o),
    linearly interpolated, zero outside the clip (differentiable in ``offset``)."""
    t = x.shape[1]
    whole = torch.floor(offset)
    frac = (offset - whole).view(-1, 1, *([1] * (x.dim() - 2)))
    pad = 4  # the interlace's offsets lie in (-2, 2): floor in [-2, 1], one more for frac
    zeros = torch.zeros_like(x[:, :1]).expand(-1, pad, *x.shape[2:])
    padded = torch.cat([zeros, x, zeros], 1)
    src = torch.arange(t, device=x.device)[None, :] - whole.long()[:, None] + pad  # (B, T)
    def take(index):
        for _ in range(x.dim() - 2):
            index = index.unsqueeze(-1)
        index = index.expand(-1, -1, *x.shape[2:])
        return torch.gather(padded, 1, index.clamp(0, t + 2 * pad - 1))

    return (1 - frac) * take(src) + frac * take(src - 1)


class TemporalAdaptiveModule(nn.Module):
    """TAM (Liu et al., ICCV 2021), after a block's first conv. From each channel's spatial
    means over the clip ``(B, C, T)``: a local branch gives a per-frame, per-channel importance
    in (0, 1) (conv1d C -> C/beta, k 3 -> BN -> ReLU -> conv1d -> C, sigmoid), and a global
    branch a per-clip, per-channel temporal kernel of ``kernel_size`` taps that sums to one
    (Linear T -> alpha T -> BN -> ReLU -> Linear -> softmax). The features are scaled by the
    importance, then convolved along time with their own kernel (zero padded)."""

    def __init__(self, channels: int, num_segments: int = 8, alpha: int = 2,
                 kernel_size: int = 3, beta: int = 4):
        super().__init__()
        self.num_segments, self.kernel_size = num_segments, kernel_size
        self.G = nn.Sequential(nn.Linear(num_segments, num_segments * alpha, bias=False),
                               nn.BatchNorm1d(num_segments * alpha), nn.ReLU(inplace=True),
                               nn.Linear(num_segments * alpha, kernel_size, bias=False),
                               nn.Softmax(-1))
        self.L = nn.Sequential(nn.Conv1d(channels, channels // beta, 3, padding=1, bias=False),
                               nn.BatchNorm1d(channels // beta), nn.ReLU(inplace=True),
                               nn.Conv1d(channels // beta, channels, 1, bias=False),
                               nn.Sigmoid())

    def forward(self, x):
        nt, c, h, w = x.shape
        t, k = self.num_segments, self.kernel_size
        if not torch.jit.is_tracing() and nt % t:
            raise ValueError(f"batch*time {nt} is not a multiple of num_segments {t}")
        clip = x.view(-1, t, c, h, w)
        pooled = clip.mean((3, 4)).permute(0, 2, 1)  # (B, C, T)
        taps = self.G(pooled.reshape(-1, t)).view(-1, 1, c, k, 1, 1)
        scaled = clip * self.L(pooled).permute(0, 2, 1)[..., None, None]
        padded = nn.functional.pad(scaled, (0, 0, 0, 0, 0, 0, k // 2, k // 2))
        out = sum(taps[:, :, :, j] * padded[:, j:j + t] for j in range(k))
        return out.reshape(-1, c, h, w)
