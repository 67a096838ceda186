"""Choosing a capture front end: ``torch.fx.symbolic_trace`` (module-level nodes, MASE's own
granularity) first and, when it fails, ``torch.export`` (aten ops, the path transformers 5
supports). ``tracer`` is ``auto`` (that order), ``fx`` or ``export``.

The result records which tracer made the graph and why, as plain data in the GraphModule's
``meta["mase_capture"]`` (``{"tracer": "export", "reason": "fx failed: ...", ...}``), which
copies and deep copies keep.
"""

from __future__ import annotations

import os
import traceback
from typing import Any, Callable, Iterable

import torch
import torch.fx as fx

from core.errors import MaseError, TraceError

TRACERS = ("auto", "fx", "export")
CAPTURE_KEY = "mase_capture"
_TORCH_DIR = os.path.dirname(torch.__file__)
_DATA_DEPENDENT = ("GuardOnDataDependentSymNode", "data-dependent", "data dependent")


def check_tracer(tracer: str) -> str:
    """The tracer name, or one clear error (callable before torch work starts)."""
    if tracer not in TRACERS:
        raise MaseError(f"unknown tracer '{tracer}'", hint="use --tracer auto, fx or export")
    return tracer


def capture(model: torch.nn.Module, *, tracer: str = "auto", cf_args: dict[str, Any] | None = None,
            custom_leaf_modules: Iterable[type] = (), custom_leaf_functions: Iterable[Callable] = (),
            example_inputs: tuple | None = None, example_kwargs: dict[str, Any] | None = None,
            train: bool = False) -> fx.GraphModule:
    """A GraphModule for ``model`` made by the chosen tracer; ``meta["mase_capture"]`` says how."""
    from core.ir.tracer import trace_module

    check_tracer(tracer)
    fx_error: str | None = None
    if tracer in ("auto", "fx"):
        try:
            gm = trace_module(model, cf_args, custom_leaf_modules, custom_leaf_functions, training=train)
        except MaseError as exc:
            if tracer == "fx" or example_inputs is None:
                raise
            fx_error = exc.message
        else:
            gm.meta[CAPTURE_KEY] = {"tracer": "fx", "reason": "fx: symbolic_trace succeeded"
                                    if tracer == "auto" else "fx: asked for (--tracer fx)"}
            if train:  # eval is the default and goes unsaid; graph.traced_mode reads either
                gm.meta[CAPTURE_KEY]["mode"] = "train"
            return gm
    if example_inputs is None:
        raise TraceError("torch.export needs an example input", hint="give the model a data set (--dataset NAME)")
    args = _on_model_device(model, tuple(example_inputs))
    kwargs = _on_model_device(model, dict(example_kwargs or {}))
    _no_kv_cache(model)
    from core.ir.export_capture import export_module

    try:
        gm, info = export_module(model, args, kwargs, train=train)
    except Exception as exc:
        export_error = explain_export_error(exc)
        name = type(model).__name__
        if fx_error is not None:
            fx_part = fx_error.removeprefix(f"cannot trace {name}").lstrip(": ")
            raise TraceError(f"cannot trace {name}: fx: {_short(fx_part, 200)}; export: {export_error}",
                             hint="rewrite the data-dependent branch with torch.cond, or make it a leaf module") from exc
        raise TraceError(f"cannot export {name}: {export_error}",
                         hint="rewrite the data-dependent branch with torch.cond") from exc
    reason = f"fx failed: {_short(fx_error)}" if fx_error is not None else "asked for (--tracer export)"
    gm.meta[CAPTURE_KEY] = {"tracer": "export", "reason": f"export: {reason}", "removed": dict(info.removed),
                            "rewritten": dict(info.rewritten), "mode": "train" if train else "eval"}
    return gm


def capture_info(gm: fx.GraphModule) -> dict[str, Any]:
    """How ``gm`` was captured; graphs made before this module existed count as fx traces."""
    info = getattr(gm, "meta", {}).get(CAPTURE_KEY)
    if info:
        return dict(info)
    exported = any("val" in n.meta for n in gm.graph.nodes if n.op == "call_function")
    return {"tracer": "export" if exported else "fx", "reason": "given as a GraphModule"}


def is_exported(graph) -> bool:
    """True for graphs of aten ops (made by the export front end)."""
    model = getattr(graph, "model", graph)
    return capture_info(model).get("tracer") == "export"


def explain_export_error(exc: BaseException) -> str:
    """One line: what export could not do, and the user's line that did it."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    kind = type(exc).__name__
    if any(mark in kind or mark in text for mark in _DATA_DEPENDENT):
        text = "data-dependent control flow (a tensor value decides an if/while)"
    else:
        text = f"{kind}: {' '.join(text.split())}"
    return _short(text, 200) + _user_frame(exc)


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _user_frame(exc: BaseException) -> str:
    """' at file:line: `code`' for the innermost frame outside torch and this package."""
    here = os.path.dirname(os.path.dirname(__file__))
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith((_TORCH_DIR, here)) or "site-packages/transformers" in frame.filename:
            continue
        if frame.filename.startswith("<"):
            continue
        return f" at {os.path.basename(frame.filename)}:{frame.lineno}: `{(frame.line or '').strip()}`"
    return ""


def _model_device(model: torch.nn.Module) -> torch.device | None:
    for tensor in list(model.parameters())[:1] + list(model.buffers())[:1]:
        return tensor.device
    return None


def _on_model_device(model: torch.nn.Module, value):
    """Example tensors on the model's device (a meta model is exported on meta inputs)."""
    device = _model_device(model)
    if device is None:
        return value
    if isinstance(value, torch.Tensor):
        return value.to(device) if value.device != device else value
    if isinstance(value, tuple):
        return tuple(_on_model_device(model, v) for v in value)
    if isinstance(value, dict):
        return {k: _on_model_device(model, v) for k, v in value.items()}
    return value


def _no_kv_cache(model: torch.nn.Module) -> None:
    """Hugging Face decoders return a key/value cache object by default; the graph should return
    tensors only, so the model's config is set to ``use_cache=False`` (no effect on outputs)."""
    config = getattr(model, "config", None)
    if config is not None and getattr(config, "use_cache", False):
        config.use_cache = False
