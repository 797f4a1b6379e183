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
    if nt % num_segments:
        raise ValueError(f"batch*time {nt} is not a multiple of num_segments {num_segments}")
    x = x.view(nt // num_segments, num_segments, c, h, w)
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
