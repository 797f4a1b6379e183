"""C3D (Tran et al., ICCV 2015): eight 3x3x3 convolutions with biases, five max pools, two
4096-wide fully connected layers with dropout, on 16 x 112 x 112 clips (frames resized to
128 x 171 in the original; here to a 128 px short side, then a 112 px centre crop)."""

from __future__ import annotations

import torch
from torch import nn

from microaction.models.heads import HeadMixin
from microaction.models.output import ModelOutput
from microaction.spec import InputSpec

# (name, output channels, pool after it: None, (kt, ks) or the last pool's padded form)
LAYOUT = (("conv1a", 64, (1, 2)), ("conv2a", 128, (2, 2)), ("conv3a", 256, None),
          ("conv3b", 256, (2, 2)), ("conv4a", 512, None), ("conv4b", 512, (2, 2)),
          ("conv5a", 512, None), ("conv5b", 512, "last"))


class C3D(HeadMixin, nn.Module):
    """``width``: multiplies every conv's channels (1.0 is C3D; the CPU variant uses 0.25);
    ``fc``: width of fc6/fc7 (4096 in C3D). The last pool pads its spatial input by one, as in
    the original model, so a 112 px clip leaves a 1 x 4 x 4 map (8,192 features)."""

    def __init__(self, num_classes: int = 52, clip_len: int = 16, size: int = 112,
                 width: float = 1.0, fc: int = 4096, dropout: float = 0.5,
                 embed_dim: int | None = None, init_std: float | None = None, interval: int = 1):
        super().__init__()
        if clip_len % 16:
            raise ValueError(f"C3D's four temporal pools need clip_len a multiple of 16, "
                             f"got {clip_len}")
        cin, layers = 3, []
        for name, cout, pool in LAYOUT:
            cout = max(8, int(cout * width))
            self.add_module(name, nn.Conv3d(cin, cout, 3, padding=1))
            layers.append(name)
            if pool == "last":
                self.add_module(f"pool_{name}", nn.MaxPool3d(2, 2, padding=(0, 1, 1)))
            elif pool is not None:
                kt, ks = pool
                self.add_module(f"pool_{name}", nn.MaxPool3d((kt, ks, ks), (kt, ks, ks)))
            cin = cout
        self.layers = layers
        self.relu = nn.ReLU(inplace=True)
        t_out = max(1, clip_len // 16)
        s_out = (size // 16 + 2) // 2
        self.fc6 = nn.Linear(cin * t_out * s_out * s_out, fc)
        self.fc7 = nn.Linear(fc, fc)
        self.fc_dropout = nn.Dropout(dropout)
        self.input_spec = InputSpec("dense", clip_len=clip_len, interval=interval, size=size,
                                    short_side=round(size * 128 / 112))
        self.init_head(fc, num_classes, dropout, embed_dim, init_std)

    def forward(self, x: torch.Tensor) -> ModelOutput:
        for name in self.layers:
            x = self.relu(getattr(self, name)(x))
            pool = getattr(self, f"pool_{name}", None)
            if pool is not None:
                x = pool(x)
        x = self.fc_dropout(self.relu(self.fc6(x.flatten(1))))
        x = self.relu(self.fc7(x))
        return ModelOutput(*self.head(x))
