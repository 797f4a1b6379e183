"""Model size and cost."""

from __future__ import annotations

import torch


def count_parameters(model: torch.nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


@torch.no_grad()
def flops_per_clip(model: torch.nn.Module) -> int:
    """FLOPs of one forward pass on one clip of the model's declared input size."""
    from torch.utils.flop_counter import FlopCounterMode

    spec = model.input_spec
    x = torch.zeros(1, 3, spec.clip_len, spec.size, spec.size)
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    with counter:
        model(x)
    model.train(was_training)
    return counter.get_total_flops()
