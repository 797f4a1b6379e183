"""The classification head every family shares: dropout -> Linear -> logits, and optionally
MANet's joint-embedding branch (Linear -> tanh -> Linear) after the same dropout. Its layers are
the model's own ``dropout``, ``fc`` and ``embed`` attributes in every family, so parameter
groups, checkpoints, conversion and fine-tuning find them under the same names."""

from __future__ import annotations

import torch
from torch import nn


class HeadMixin:
    """For an ``nn.Module`` subclass: ``init_head`` in ``__init__``, ``head`` in ``forward``."""

    def init_head(self, in_features: int, num_classes: int, dropout: float = 0.5,
                  embed_dim: int | None = None, init_std: float | None = None) -> None:
        """``init_std``: the MANet/mmaction2 fine-tuning init N(0, std^2) with zero bias; None
        keeps PyTorch's default init (better from scratch: a tiny head scales every trunk
        gradient by ~1e-3 and a random trunk barely learns)."""
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_features, num_classes)
        self.embed = None
        if embed_dim:
            self.embed = nn.Sequential(nn.Linear(in_features, embed_dim), nn.Tanh(),
                                       nn.Linear(embed_dim, embed_dim))
        if init_std is not None:
            for m in [self.fc, *(self.embed or [])]:
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0.0, init_std)
                    nn.init.zeros_(m.bias)

    def head(self, feat: torch.Tensor):
        """Features ``(N, F)`` -> (logits ``(N, K)``, embedding ``(N, D)`` or None)."""
        feat = self.dropout(feat)
        emb = self.embed(feat) if self.embed is not None else None
        return self.fc(feat), emb
