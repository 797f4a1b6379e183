"""The model registry: named builders, ``create_model(name, **kw)``, duplicate names refused."""

from __future__ import annotations

from typing import Callable

from microaction.errors import MicroactionError

_MODELS: dict[str, Callable] = {}


def register_model(fn: Callable) -> Callable:
    name = fn.__name__
    if name in _MODELS:
        raise ValueError(f"model {name!r} is already registered")
    _MODELS[name] = fn
    return fn


def has_embedding_head(name: str) -> bool:
    """Whether a registered model takes ``embed_dim`` (a label-embedding head, like MANet)."""
    return bool(getattr(_MODELS.get(name), "embedding_head", False))


def list_models() -> list[str]:
    """Registered names in natural order (``tsm_r18`` before ``tsm_r101``)."""
    import re

    return sorted(_MODELS, key=lambda n: [int(t) if t.isdigit() else t
                                          for t in re.split(r"(\d+)", n)])


def to_channels_last(model):
    """``model`` in place in the channels-last layout its convolutions use best
    (``channels_last_3d`` where it has 3D kernels); returns it."""
    import torch

    three_d = any(p.dim() == 5 for p in model.parameters())
    return model.to(memory_format=torch.channels_last_3d if three_d else torch.channels_last)


def create_model(name: str, num_classes: int = 52, **kwargs):
    """Build a registered model. Unknown names list the close matches."""
    if name not in _MODELS:
        import difflib

        near = difflib.get_close_matches(name, _MODELS, n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise MicroactionError(f"unknown model {name!r}{hint} (see `microaction models`)")
    try:
        model = _MODELS[name](num_classes=num_classes, **kwargs)
    except TypeError as exc:  # an argument this family does not take
        raise MicroactionError(f"{name}: {exc}") from None
    model.model_name = name
    model.model_kwargs = {"num_classes": num_classes, **kwargs}
    return model
