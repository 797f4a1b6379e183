"""Cross-entropy plus MANet's joint-embedding loss."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class JointEmbeddingLoss(nn.Module):
    """``CE(logits, y) + weight * MSE(embedding, table[y])``; the MSE is averaged over batch and
    D. With no table (or a model without an embedding) it is plain cross-entropy.
    Returns a dict: ``loss`` (to backpropagate), ``ce`` and ``embed`` (detached, for logging)."""

    def __init__(self, table: torch.Tensor | None = None, weight: float = 50.0,
                 label_smoothing: float = 0.0):
        super().__init__()
        self.weight = weight
        self.label_smoothing = label_smoothing
        self.register_buffer("table", None if table is None else torch.as_tensor(table).float())

    def forward(self, output, labels: torch.Tensor) -> dict:
        ce = F.cross_entropy(output.logits.float(), labels, label_smoothing=self.label_smoothing)
        loss, emb = ce, torch.zeros((), device=ce.device)
        if self.table is not None and output.embedding is not None:
            if output.embedding.shape[1] != self.table.shape[1]:
                raise ValueError(f"model embedding dim {output.embedding.shape[1]} != "
                                 f"label table dim {self.table.shape[1]}")
            emb = F.mse_loss(output.embedding.float(), self.table[labels])
            loss = ce + self.weight * emb
        return {"loss": loss, "ce": ce.detach(), "embed": emb.detach()}
