"""Describe a leaf module as (class reference, constructor kwargs) and rebuild it.

The kwargs are read generically: every parameter of ``__init__`` (following ``*args`` /
``**kwargs`` pass-through up the class hierarchy, as quantised convs do) is looked up as a
same-named attribute; ``bias`` becomes ``module.bias is not None``. The description is only
used if a module rebuilt from it (on the meta device, so nothing is allocated) has the same
parameters, buffers, ``extra_repr`` and plain attributes as the original; otherwise the module
has to be saved as an untrusted pickle.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn

from core.passes.interface.tagged_json import Encoder, reference_of

_SKIPPED_PARAMS = {"device", "dtype"}  # the loaded state dict brings both
_PARAM_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


class NotRebuildable(Exception):
    """The module cannot be described by class + kwargs."""


def constructor_kwargs(module: nn.Module) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for klass in type(module).__mro__:
        if klass in (nn.Module, object):
            break
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        passthrough = False
        for name, param in list(inspect.signature(init).parameters.items())[1:]:
            if param.kind not in _PARAM_KINDS:
                passthrough = True
                continue
            if name in kwargs or name in _SKIPPED_PARAMS:
                continue
            _read_param(module, name, param, kwargs)
        if not passthrough:
            break
    return kwargs


def _read_param(module: nn.Module, name: str, param: inspect.Parameter, kwargs: dict[str, Any]) -> None:
    has_default = param.default is not inspect.Parameter.empty
    if name == "bias" and hasattr(module, "bias") and (module.bias is None or isinstance(module.bias, torch.Tensor)):
        kwargs[name] = module.bias is not None
        return
    if name in module.__dict__ or (hasattr(module, name) and not callable(getattr(module, name))):
        value = getattr(module, name)
        if isinstance(value, (torch.Tensor, nn.Module)):
            if has_default:
                return  # e.g. Embedding(_weight=...): the state dict restores it
            raise NotRebuildable(f"__init__ argument '{name}' is a tensor or module")
        kwargs[name] = value
        return
    if not has_default:
        raise NotRebuildable(f"__init__ argument '{name}' is not kept as an attribute")


def _plain_attributes(module: nn.Module, enc: Encoder) -> dict[str, Any]:
    """Public non-tensor attributes, encoded, for comparing a rebuilt module with the original."""
    out = {}
    for key, value in module.__dict__.items():
        if key.startswith("_") or key == "training" or isinstance(value, (torch.Tensor, nn.Module)):
            continue
        out[key] = enc.encode(value)
    return out


def _signature(module: nn.Module) -> tuple:
    enc = Encoder()
    state = {k: tuple(v.shape) for k, v in module.state_dict(keep_vars=True).items()}
    non_persistent = sorted(module._non_persistent_buffers_set)
    return (module.extra_repr(), state, non_persistent, _plain_attributes(module, enc), bool(enc.untrusted))


def build_module(cls: type, kwargs: dict[str, Any]) -> nn.Module:
    """Instantiate on the meta device (no init cost); the caller assigns the real tensors."""
    try:
        with torch.device("meta"):
            return cls(**kwargs)
    except (NotImplementedError, RuntimeError):  # a constructor that computes with real values
        return cls(**kwargs)


def describe_module(module: nn.Module, where: str) -> dict[str, Any]:
    """{"class": ref, "kwargs": tagged kwargs}; NotRebuildable when that would lose state."""
    cls = type(module)
    ref = reference_of(cls)
    if ref is None:
        raise NotRebuildable(f"class {cls.__module__}.{cls.__qualname__} is not on the allow-list")
    kwargs = constructor_kwargs(module)
    probe = Encoder()
    encoded = probe.encode(kwargs, where)
    if probe.untrusted or probe.tensors:
        raise NotRebuildable(f"constructor arguments of {cls.__name__} are not plain data")
    try:
        rebuilt = build_module(cls, kwargs)
    except Exception as exc:  # the constructor rejects what we read back
        raise NotRebuildable(f"{cls.__name__}(**kwargs) failed: {type(exc).__name__}: {exc}") from exc
    original = _signature(module)
    if original[-1]:
        raise NotRebuildable(f"{cls.__name__} keeps attributes that are not plain data")
    if _signature(rebuilt) != original:
        raise NotRebuildable(f"{cls.__name__} rebuilt from its constructor arguments differs from the original")
    return {"class": ref, "kwargs": encoded}
