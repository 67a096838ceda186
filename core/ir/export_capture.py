"""The torch.export capture front end: a model becomes a plain fx GraphModule of aten ops.

``torch.export.export(model, args, kwargs, strict=False)`` gives the pre-dispatch ("training")
IR, where composite ops stay whole (``aten.linear``, ``aten.conv2d``, SDPA, ``aten.layer_norm``)
and every node carries ``nn_module_stack`` (its module path and class) and ``val`` (a fake
tensor with its shape and dtype). ``ep.module()`` turns parameters and buffers back into
attributes read by ``get_attr`` nodes, so the result looks like an fx trace: placeholders are
only the user's inputs, and every MaseGraph pass, pane and the CLI work on it.

What is changed after export, and why:
- the pytree calling convention is dropped (``forward`` takes the flat inputs and returns the
  single output tensor, or a tuple): passes, fx interpreters and evaluation call graphs that way;
- ``_assert_tensor_metadata`` nodes and ``aten.to`` casts that change nothing (same dtype and
  device at export time) are removed: they are bookkeeping, 14% of a Llama graph's nodes;
- ``get_attr`` nodes get the ``nn_module_stack`` of the module owning the tensor, so the node
  tree shows a weight beside the op that uses it;
- a Hugging Face ``Conv1D`` (GPT-2's projections: ``addmm(bias, x, W)`` with ``W`` stored as
  [in, out]) becomes ``linear(x, t(W), bias)``, the same arithmetic, so it is costed, listed and
  quantised as the linear layer it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx as fx

_ASSERT_OPS = ("_assert_tensor_metadata", "_assert_scalar", "sym_constrain_range_for_size")
_CAST_OPS = ("to",)


@dataclass
class ExportCapture:
    """What the export front end did, as plain data (shown by the Graph tab and `report`)."""

    removed: dict[str, int] = field(default_factory=dict)
    rewritten: dict[str, int] = field(default_factory=dict)
    nodes: int = 0


def _op_packet_name(target) -> str:
    """'linear' for ``aten.linear.default``; '' for anything that is not an aten overload."""
    if isinstance(target, torch._ops.OpOverload) and target.namespace == "aten":
        return target.overloadpacket.__name__
    return ""


def export_module(model: torch.nn.Module, args: tuple, kwargs: dict[str, Any] | None = None,
                  *, train: bool = False) -> tuple[fx.GraphModule, ExportCapture]:
    """Export ``model`` on ``args``/``kwargs`` (in eval mode unless ``train``) and return an
    editable, runnable GraphModule named after the model's class. Exceptions propagate: the
    caller (``capture``) turns them into one line."""
    model.train(train)
    with torch.enable_grad():  # a caller's no_grad must not change what is captured
        ep = torch.export.export(model, tuple(args), dict(kwargs or {}), strict=False)
    gm = ep.module(check_guards=False)
    info = ExportCapture()
    graph = gm.graph
    graph._codegen = fx.graph.CodeGen()  # flat inputs in, plain outputs out
    _flatten_output(graph)
    _drop_bookkeeping(graph, info)
    _conv1d_as_linear(graph, gm, info)
    _owner_stacks(graph, model)
    graph.lint()
    plain = fx.GraphModule(gm, graph, type(model).__name__)
    plain.train(train)
    info.nodes = len(graph.nodes)
    return plain, info


def _flatten_output(graph: fx.Graph) -> None:
    """One output value: the tensor itself; several: a tuple (None entries dropped)."""
    output = next(n for n in reversed(graph.nodes) if n.op == "output")
    flat = output.args[0]
    if isinstance(flat, (list, tuple)):
        values = [v for v in flat if v is not None]
        output.args = (values[0] if len(values) == 1 else tuple(values),)


def _drop_bookkeeping(graph: fx.Graph, info: ExportCapture) -> None:
    for node in list(graph.nodes):
        if node.op != "call_function":
            continue
        name = _op_packet_name(node.target)
        if name in _ASSERT_OPS and not node.users:
            graph.erase_node(node)
            info.removed[name] = info.removed.get(name, 0) + 1
        elif name in _CAST_OPS and _is_noop_cast(node):
            node.replace_all_uses_with(node.args[0])
            graph.erase_node(node)
            info.removed["to (no-op)"] = info.removed.get("to (no-op)", 0) + 1


def _conv1d_as_linear(graph: fx.Graph, gm: fx.GraphModule, info: ExportCapture) -> None:
    aten = torch.ops.aten
    for node in list(graph.nodes):
        if node.target is not aten.addmm.default or len(node.args) != 3 or node.kwargs:
            continue
        stack = list((node.meta.get("nn_module_stack") or {}).values())
        if not stack or not str(stack[-1][1]).endswith(".Conv1D"):
            continue
        bias, x, weight = node.args
        if not (isinstance(weight, fx.Node) and weight.op == "get_attr" and "val" in weight.meta):
            continue
        with graph.inserting_before(node):
            transposed = graph.create_node("call_function", aten.t.default, (weight,), name="t")
            transposed.meta = {"val": weight.meta["val"].t(), "nn_module_stack": node.meta["nn_module_stack"]}
            linear = graph.create_node("call_function", aten.linear.default, (x, transposed, bias), name="linear")
            linear.meta = dict(node.meta)
        node.replace_all_uses_with(linear)
        graph.erase_node(node)
        info.rewritten["addmm (Conv1D) -> linear"] = info.rewritten.get("addmm (Conv1D) -> linear", 0) + 1


def _is_noop_cast(node: fx.Node) -> bool:
    """An ``aten.to`` whose result had the input's dtype, device and layout at export time and
    that did not ask for a copy: it returned its input."""
    source = node.args[0] if node.args else None
    if not isinstance(source, fx.Node) or node.kwargs.get("copy") or node.kwargs.get("memory_format"):
        return False
    if any(isinstance(a, bool) and a for a in node.args[2:]):  # positional copy=True
        return False
    before, after = source.meta.get("val"), node.meta.get("val")
    if not isinstance(before, torch.Tensor) or not isinstance(after, torch.Tensor):
        return False
    return (before.dtype == after.dtype and before.device == after.device
            and before.layout == after.layout)


def _owner_stacks(graph: fx.Graph, model: torch.nn.Module) -> None:
    """A get_attr node reads a parameter or buffer of some module: give it that module's stack
    (every enclosing path that ran, from the stacks of the graph's call_function nodes)."""
    classes: dict[str, str] = {}
    for node in graph.nodes:
        for path, cls in (node.meta.get("nn_module_stack") or {}).values():
            classes.setdefault(path, cls)
    for node in graph.nodes:
        if node.op != "get_attr" or node.meta.get("nn_module_stack"):
            continue
        owner = str(node.target).rpartition(".")[0]
        if not owner:
            continue
        parts = owner.split(".")
        stack = {}
        for i in range(1, len(parts) + 1):
            path = ".".join(parts[:i])
            cls = classes.get(path)
            if cls is None and i == len(parts):
                cls = _class_name(model, path)
            if cls is not None:
                stack[path] = (path, cls)
        node.meta["nn_module_stack"] = stack


def _class_name(model: torch.nn.Module, path: str) -> str | None:
    try:
        sub = model.get_submodule(path)
    except AttributeError:
        return None
    return f"{type(sub).__module__}.{type(sub).__qualname__}"
