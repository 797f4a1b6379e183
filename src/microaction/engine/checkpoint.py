"""Checkpoints: plain dicts loadable with ``torch.load(..., weights_only=True)``, written
atomically (temp file + rename), carrying everything needed to rebuild the model."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from microaction.errors import CheckpointError

FORMAT = "microaction-checkpoint-v1"


def save_checkpoint(path: str | Path, payload: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    try:
        torch.save({"format": FORMAT, **payload}, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def load_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip or unsafe-type errors
        raise CheckpointError(f"{path}: not a loadable checkpoint ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a microaction checkpoint")
    return ckpt


def model_state_dict(model: torch.nn.Module) -> dict:
    """State dict without DDP's ``module.`` prefix."""
    model = getattr(model, "module", model)
    return model.state_dict()


def load_model_state(model: torch.nn.Module, state: dict, source: str = "checkpoint") -> None:
    """Load weights; a different class count or architecture is a clear CheckpointError."""
    model = getattr(model, "module", model)
    own = model.state_dict()
    if "fc.weight" in state and "fc.weight" in own and \
            state["fc.weight"].shape[0] != own["fc.weight"].shape[0]:
        raise CheckpointError(f"{source}: has {state['fc.weight'].shape[0]} classes but the "
                              f"model has {own['fc.weight'].shape[0]}")
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    bad = [k for k in own if k in state and own[k].shape != state[k].shape]
    if missing or unexpected or bad:
        detail = "; ".join(x for x in (
            f"missing {missing[:3]}" if missing else "",
            f"unexpected {unexpected[:3]}" if unexpected else "",
            f"shape mismatch {bad[:3]}" if bad else "") if x)
        raise CheckpointError(f"{source}: weights do not fit the model ({detail})")
    model.load_state_dict(state)


def model_from_checkpoint(ckpt: dict, source: str = "checkpoint"):
    """Rebuild the model a checkpoint describes and load its weights (eval mode)."""
    from microaction.models import create_model

    try:
        model = create_model(ckpt["model"], **ckpt["model_kwargs"])
    except KeyError as exc:
        raise CheckpointError(f"{source}: checkpoint lacks {exc}") from None
    load_model_state(model, ckpt["state_dict"], source)
    return model.eval()
