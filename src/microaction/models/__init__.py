"""Models: ``create_model(name, num_classes=52, **kw)``, ``list_models()``."""

from microaction.models import zoo  # noqa: F401  (registers the named models)
from microaction.models.output import ModelOutput
from microaction.models.registry import (create_model, has_embedding_head, list_models,
                                         register_model, to_channels_last)

__all__ = ["ModelOutput", "create_model", "has_embedding_head", "list_models", "register_model",
           "to_channels_last"]
