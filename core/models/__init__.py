"""Model zoo. ``get_model(name)``, ``list_models()``; user models as ``file.py:factory``."""

from core.models.registry import (
    MODELS,
    InputSpec,
    ModelSpec,
    get_model,
    get_model_spec,
    is_user_model_ref,
    list_models,
    load_user_model,
)

__all__ = [
    "MODELS",
    "InputSpec",
    "ModelSpec",
    "get_model",
    "get_model_spec",
    "is_user_model_ref",
    "list_models",
    "load_user_model",
]
