from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class ModelOutput:
    """What every model returns: ``logits (B, K)``; ``embedding (B, D)`` when it has one."""

    logits: torch.Tensor
    embedding: torch.Tensor | None = None
