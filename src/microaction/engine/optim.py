"""Optimiser and schedule of the MANet/TSM recipe."""

from __future__ import annotations

import math

import torch
from torch import nn

from microaction.config import require_choice


def param_groups(model: nn.Module, weight_decay: float, style: str = "tsm",
                 head_layer: str = "fc") -> list[dict]:
    """TSM-style groups: conv/linear weights (decay), all other biases (lr x2, no decay),
    normalisation parameters (no decay), and the head layer's weight (lr x5) and bias (lr x10,
    no decay). ``head_layer="fc"`` puts the head multipliers on the classifier; ``"embed"`` on
    the last Linear of the embedding branch, as the official MANet release does by accident."""
    model = getattr(model, "module", model)
    require_choice("train.param_groups", style)
    require_choice("train.head_lr_layer", head_layer)
    if style == "plain":
        return [{"params": [p for p in model.parameters() if p.requires_grad],
                 "weight_decay": weight_decay, "lr_mult": 1.0, "name": "all"}]
    if style == "transformer":
        return transformer_groups(model, weight_decay)
    head = _head_linear(model, head_layer)
    head_ids = {id(p) for p in head.parameters()} if head is not None else set()
    groups = {k: [] for k in ("weight", "bias", "norm", "head_weight", "head_bias")}
    for module in model.modules():
        for pname, p in module.named_parameters(recurse=False):
            if not p.requires_grad:
                continue
            if id(p) in head_ids:
                groups["head_weight" if pname == "weight" else "head_bias"].append(p)
            elif isinstance(module, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm)):
                groups["norm"].append(p)
            elif pname == "bias":
                groups["bias"].append(p)
            else:
                groups["weight"].append(p)
    spec = {"weight": (1, weight_decay), "bias": (2, 0.0), "norm": (1, 0.0),
            "head_weight": (5, weight_decay), "head_bias": (10, 0.0)}
    return [{"params": ps, "lr_mult": float(spec[k][0]), "weight_decay": spec[k][1], "name": k}
            for k, ps in groups.items() if ps]


def transformer_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """The usual ViT grouping: weight decay on the matrices of linear and conv layers only;
    none on biases, norms, and the class, position and time embeddings."""
    decay, rest = [], []
    for module in model.modules():
        for pname, p in module.named_parameters(recurse=False):
            if not p.requires_grad:
                continue
            is_matrix = pname in ("weight", "in_proj_weight") and \
                isinstance(module, (nn.Linear, nn.Conv2d, nn.Conv3d, nn.MultiheadAttention))
            (decay if is_matrix else rest).append(p)
    return [{"params": decay, "lr_mult": 1.0, "weight_decay": weight_decay, "name": "decay"},
            {"params": rest, "lr_mult": 1.0, "weight_decay": 0.0, "name": "no_decay"}]


def _head_linear(model: nn.Module, which: str):
    if which == "embed" and getattr(model, "embed", None) is not None:
        return [m for m in model.embed.modules() if isinstance(m, nn.Linear)][-1]
    return getattr(model, "fc", None)


def build_optimizer(model, lr, momentum, weight_decay, style="tsm", head_layer="fc",
                    kind: str = "sgd"):
    """SGD with momentum (the MANet recipe) or AdamW (``momentum`` is then beta1)."""
    require_choice("train.optimizer", kind)
    groups = param_groups(model, weight_decay, style, head_layer)
    for g in groups:
        g["lr"] = lr * g["lr_mult"]
    if kind == "adamw":
        return torch.optim.AdamW(groups, lr=lr, betas=(momentum, 0.999),
                                 weight_decay=weight_decay)
    return torch.optim.SGD(groups, lr=lr, momentum=momentum, weight_decay=weight_decay)


def build_scheduler(optimizer, iters_per_epoch: int, steps=(30, 60), gamma: float = 0.1,
                    warmup_epochs: float = 0.0, schedule: str = "step", epochs: int = 0):
    """Per-iteration LR factor: linear warm-up, then either x ``gamma`` at each epoch in
    ``steps`` (``schedule="step"``) or a half cosine from 1 to 0 over the remaining epochs
    (``schedule="cosine"``, needs ``epochs``)."""
    require_choice("train.lr_schedule", schedule)

    def factor(it: int) -> float:
        epoch = it / max(iters_per_epoch, 1)
        if schedule == "step":
            f = gamma ** sum(epoch >= s for s in steps)
        else:
            span = max(epochs - warmup_epochs, 1e-9)
            done = min(max(epoch - warmup_epochs, 0.0) / span, 1.0)
            f = 0.5 * (1.0 + math.cos(math.pi * done))
        if warmup_epochs > 0 and epoch < warmup_epochs:
            f *= (epoch + 1.0 / max(iters_per_epoch, 1)) / warmup_epochs
        return f

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


