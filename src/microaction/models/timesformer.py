"""TimeSformer with divided space-time attention (Bertasius et al., ICML 2021).

Frames are cut into 16 x 16 patches and embedded as in ViT; a class token and position
embeddings as in ViT, plus a time embedding on the patch tokens. Each block:

1. temporal attention: every patch position attends over the T frames; its output goes through
   ``temporal_fc`` and is added to the patch tokens;
2. spatial attention: within each frame, the frame's patches and a copy of the class token
   attend to each other; the T class-token outputs are averaged into one update;
3. an MLP on every token.

The spatial half is exactly a ViT block (torchvision's layout, so ViT-B/16's ImageNet weights
load by name); ``temporal_fc`` starts at zero, so a fresh model computes, block by block, a
per-frame ViT whose single class token takes the average of its per-frame attention updates
(on a clip of identical frames: exactly the ViT).
"""

from __future__ import annotations

import torch
from torch import nn

from microaction.models.heads import HeadMixin
from microaction.models.output import ModelOutput
from microaction.spec import InputSpec, short_side_for


def _mlp(dim: int, hidden: int) -> nn.Sequential:
    # torchvision's MLPBlock layout (Linear, GELU, Dropout, Linear, Dropout): same keys
    return nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(0.0),
                         nn.Linear(hidden, dim), nn.Dropout(0.0))


class DividedBlock(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.temporal_norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.temporal_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.temporal_fc = nn.Linear(dim, dim)
        nn.init.zeros_(self.temporal_fc.weight)
        nn.init.zeros_(self.temporal_fc.bias)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = _mlp(dim, int(dim * mlp_ratio))

    @staticmethod
    def _attend(attn, x):
        return attn(x, x, x, need_weights=False)[0]

    def forward(self, cls: torch.Tensor, patches: torch.Tensor):
        """``cls`` ``(B, D)``, ``patches`` ``(B, T, N, D)`` -> the same shapes."""
        _, t, n, d = patches.shape  # the batch stays -1 (dynamic when exported)
        xt = patches.transpose(1, 2).reshape(-1, t, d)
        temporal = self.temporal_fc(self._attend(self.temporal_attn, self.temporal_norm1(xt)))
        patches = patches + temporal.view(-1, n, t, d).transpose(1, 2)
        frames = torch.cat([cls[:, None, None, :].expand(-1, t, 1, d), patches], 2)
        spatial = self._attend(self.attn, self.norm1(frames.reshape(-1, n + 1, d)))
        spatial = spatial.view(-1, t, n + 1, d)
        cls = cls + spatial[:, :, 0].mean(1)
        patches = patches + spatial[:, :, 1:]
        cls = cls + self.mlp(self.norm2(cls))
        patches = patches + self.mlp(self.norm2(patches))
        return cls, patches


class TimeSformer(HeadMixin, nn.Module):
    """``(B, 3, T, H, W)`` with T <= ``clip_len`` (the time embedding's length)."""

    def __init__(self, num_classes: int = 52, clip_len: int = 8, interval: int = 32,
                 size: int = 224, patch: int = 16, dim: int = 768, depth: int = 12,
                 heads: int = 12, dropout: float = 0.5, embed_dim: int | None = None,
                 init_std: float | None = None):
        super().__init__()
        if size % patch:
            raise ValueError(f"size {size} is not a multiple of the patch size {patch}")
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        n = (size // patch) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, dim))
        self.time_embed = nn.Parameter(torch.zeros(1, clip_len, dim))
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.blocks = nn.ModuleList(DividedBlock(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.input_spec = InputSpec("dense", clip_len=clip_len, interval=interval, size=size,
                                    short_side=short_side_for(size))
        self.init_head(dim, num_classes, dropout, embed_dim, init_std)

    def tokens(self, x: torch.Tensor):
        """Video -> (class token ``(B, D)``, patch tokens ``(B, T, N, D)``) before the blocks."""
        t = x.shape[2]
        if t > self.time_embed.shape[1]:
            raise ValueError(f"{t} frames but the time embedding has {self.time_embed.shape[1]}")
        p = self.patch_embed(x.transpose(1, 2).flatten(0, 1))  # (B*T, D, h, w)
        p = p.flatten(2).transpose(1, 2) + self.pos_embed[:, 1:]
        p = p.view(-1, t, p.shape[1], p.shape[2]) + self.time_embed[:, :t, None]
        cls = (self.cls_token + self.pos_embed[:, :1])[:, 0].expand(p.shape[0], -1)
        return cls, p

    def forward(self, x: torch.Tensor) -> ModelOutput:
        cls, patches = self.tokens(x)
        for block in self.blocks:
            cls, patches = block(cls, patches)
        return ModelOutput(*self.head(self.norm(cls)))


def vit_to_timesformer(state: dict, depth: int) -> dict:
    """torchvision ViT state dict -> TimeSformer keys: the spatial half by name; each block's
    temporal attention and its norm start as copies of the spatial ones (as the TimeSformer
    authors initialise them); the ViT's classifier is dropped."""
    out = {"patch_embed.weight": state["conv_proj.weight"],
           "patch_embed.bias": state["conv_proj.bias"], "cls_token": state["class_token"],
           "pos_embed": state["encoder.pos_embedding"], "norm.weight": state["encoder.ln.weight"],
           "norm.bias": state["encoder.ln.bias"]}
    for i in range(depth):
        src = f"encoder.layers.encoder_layer_{i}."
        for theirs, ours in (("ln_1", "norm1"), ("self_attention", "attn"), ("ln_2", "norm2"),
                             ("mlp", "mlp"), ("ln_1", "temporal_norm1"),
                             ("self_attention", "temporal_attn")):
            for key, value in state.items():
                if key.startswith(src + theirs + "."):
                    out[f"blocks.{i}.{ours}." + key[len(src + theirs) + 1:]] = value
    return out
