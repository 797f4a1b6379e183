"""Checkpoints: plain dicts loadable with ``torch.load(..., weights_only=True)``, written
atomically (temp file + rename), carrying everything needed to rebuild the model."""

from __future__ import annotations

from pathlib import Path

import torch

from microaction.errors import CheckpointError
from microaction.io import atomic_write

FORMAT = "microaction-checkpoint-v1"


def save_checkpoint(path: str | Path, payload: dict) -> None:
    with atomic_write(path, "wb") as f:
        torch.save({"format": FORMAT, **payload}, f)


def load_checkpoint(path: str | Path) -> dict:
    """A microaction checkpoint, loaded with ``weights_only=True`` (no code runs). Any other
    file -- a torch file of another kind, a pickle with code in it, junk -- is a CheckpointError
    saying so."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip or unsafe-type errors
        kind = "it holds objects that only a full unpickler could load, which this tool " \
            "refuses (weights only)" if "weights_only" in str(exc) else \
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'unreadable'}"
        raise CheckpointError(f"{path}: not a microaction checkpoint ({kind})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        hint = " (an mmaction2/official checkpoint? see `microaction convert`)" \
            if isinstance(ckpt, dict) and "state_dict" in ckpt else ""
        raise CheckpointError(f"{path}: not a microaction checkpoint{hint}")
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
        kwargs = dict(ckpt["model_kwargs"])
        if "frames" in kwargs:  # version 0.1 checkpoints
            kwargs["clip_len"] = kwargs.pop("frames")
        model = create_model(ckpt["model"], **kwargs)
    except KeyError as exc:
        raise CheckpointError(f"{source}: checkpoint lacks {exc}") from None
    load_model_state(model, ckpt["state_dict"], source)
    return model.eval()
