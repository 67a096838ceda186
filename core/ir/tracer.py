"""torch.fx tracing with MASE's leaves, and errors that say where tracing failed."""

from __future__ import annotations

import linecache
import os
import traceback
from typing import Any, Callable, Iterable

import torch
import torch.fx as fx

from core.errors import TraceError
from core.ir.concrete import concrete_arguments, prune_concrete_placeholders
from core.ir.leaves import LEAF_FUNCTIONS, LEAF_MODULE_CLASSES, load_builtin_leaves

_TORCH_DIR = os.path.dirname(torch.__file__)


class MaseTracer(fx.Tracer):
    def __init__(
        self,
        custom_leaf_modules: Iterable[type] = (),
        custom_leaf_functions: Iterable[Callable] = (),
    ) -> None:
        load_builtin_leaves()
        self.custom_leaf_modules = tuple(custom_leaf_modules)
        self.custom_leaf_functions = tuple(custom_leaf_functions)
        super().__init__(
            autowrap_modules=(__import__("math"),),
            autowrap_functions=tuple(LEAF_FUNCTIONS) + self.custom_leaf_functions,
        )
        self.mase_module_stack: list[str] = []
        self.mase_failed_module: str | None = None

    def is_leaf_module(self, m: torch.nn.Module, module_qualified_name: str) -> bool:
        if isinstance(m, tuple(LEAF_MODULE_CLASSES) + self.custom_leaf_modules):
            return True
        return super().is_leaf_module(m, module_qualified_name)

    def call_module(self, m, forward, args, kwargs):
        name = self.path_of_module(m)
        self.mase_module_stack.append(name)
        try:
            return super().call_module(m, forward, args, kwargs)
        except Exception:
            # the innermost module sees the error first; the stack is unwound by the time
            # trace_module explains the error
            if self.mase_failed_module is None:
                self.mase_failed_module = name
            raise
        finally:
            self.mase_module_stack.pop()


def trace_module(
    model: torch.nn.Module,
    cf_args: dict[str, Any] | None = None,
    custom_leaf_modules: Iterable[type] = (),
    custom_leaf_functions: Iterable[Callable] = (),
    *,
    training: bool = False,
) -> fx.GraphModule:
    """The model's fx graph in eval mode (``training=True``: the training graph).

    The mode is set before tracing because ``self.training`` branches (auxiliary heads,
    stochastic depth, functional batch norm) are frozen into the graph as traced; the model is
    left in that mode since the graph shares its submodules (a BatchNorm leaf reads its own flag
    when the graph runs). Forward arguments the data does not supply keep their defaults
    (core/ir/concrete.py); ``cf_args`` overrides them.
    """
    if hasattr(model, "train"):
        model.train(training)
    traced, literal = concrete_arguments(model, cf_args)
    tracer = MaseTracer(custom_leaf_modules, custom_leaf_functions)
    try:
        graph = tracer.trace(model, concrete_args=traced or None)
    except Exception as exc:
        raise _explain(exc, model, tracer) from exc
    prune_concrete_placeholders(graph, model, traced, literal)
    graph.lint()
    name = type(model).__name__
    gm = fx.GraphModule(tracer.root, graph, name)
    gm.train(training)
    return gm


def _explain(exc: Exception, model: torch.nn.Module, tracer: MaseTracer) -> TraceError:
    where = _user_frame(exc)
    module_path = tracer.mase_failed_module or ""
    module_desc = ""
    leaf_hint = "move that code into a submodule and register it as a leaf (custom_leaf_modules=...)"
    if module_path:
        sub = model.get_submodule(module_path)
        module_desc = f" in module '{module_path}' ({type(sub).__name__})"
        cls = type(sub).__name__
        leaf_hint = (f"register {cls} as a leaf: custom_leaf_modules=({cls},), or call "
                     f"core.ir.leaves.register_leaf_module({cls}) in the model's file")
    reason = " ".join(str(exc).split())
    if "symbolically traced variables cannot be used as inputs to control flow" in reason:
        reason = "data-dependent control flow (a tensor value decides an if/while)"
    elif len(reason) > 160:
        reason = reason[:157] + "..."
    return TraceError(
        f"cannot trace {type(model).__name__}{module_desc}: {reason}{where}",
        hint=f"{leaf_hint}, or pass concrete_args (cf_args) for Python-level branches",
    )


def _user_frame(exc: BaseException) -> str:
    """' at file:line: code' for the innermost frame outside torch, if any."""
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        filename = frame.filename
        if filename.startswith(_TORCH_DIR) or filename.endswith(("core/ir/tracer.py",)):
            continue
        code = (frame.line or linecache.getline(filename, frame.lineno)).strip()
        return f" at {os.path.basename(filename)}:{frame.lineno}: `{code}`"
    return ""
