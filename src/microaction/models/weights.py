"""Pretrained starting weights: torchvision's weights API (downloaded once into torchvision's
cache; nothing is fetched during tests or CI) or a local state-dict file."""

from __future__ import annotations

from pathlib import Path

import torch

from microaction.errors import CheckpointError


def torchvision_state(enum_name: str, member: str, what: str) -> dict:
    """The state dict of ``torchvision.models.<enum_name>.<member>`` (e.g. ResNet50_Weights,
    IMAGENET1K_V1), from torchvision's cache or its download."""
    import torchvision.models as tvm
    import torchvision.models.video as tvv

    enum = getattr(tvm, enum_name, None) or getattr(tvv, enum_name)
    try:
        return getattr(enum, member).get_state_dict(progress=True)
    except Exception as exc:  # network or cache failure
        raise CheckpointError(f"cannot load torchvision's {what} weights ({type(exc).__name__}: "
                              f"{exc}); pass a local file with model.pretrained=PATH") from None


def local_state(path: str | Path, what: str = "pretrained weights file") -> dict:
    """A state dict saved with ``torch.save`` (optionally under ``state_dict``), loaded with
    ``weights_only=True``; ``what`` names the file in errors."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: {what} not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path}: not a loadable state dict ({type(exc).__name__})") \
            from None
    state = state.get("state_dict", state) if isinstance(state, dict) else state
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: holds no state dict")
    return state


def load_matching(module: torch.nn.Module, state: dict, source: str,
                  skip_prefixes: tuple = ()) -> list[str]:
    """Copy every tensor of ``state`` into ``module`` by name; a name the module lacks or a
    shape that differs is an error naming it (so a wrong file fails loudly). Returns the
    module's keys left at their initial values (e.g. layers the pretrained net does not have)."""
    own = module.state_dict()
    wanted = {k: v for k, v in state.items() if not k.startswith(skip_prefixes)}
    unknown = sorted(set(wanted) - set(own))
    bad = [k for k in wanted if k in own and own[k].shape != wanted[k].shape]
    if unknown or bad:
        detail = "; ".join(x for x in (f"unexpected {unknown[:3]}" if unknown else "",
                                       f"shape mismatch {bad[:3]}" if bad else "") if x)
        raise CheckpointError(f"{source}: pretrained weights do not fit ({detail})")
    module.load_state_dict(wanted, strict=False)
    return sorted(set(own) - set(wanted))
