"""What a node's fx opcode and MASE type mean, told with this node's own example.

The Lab 2 questions 1-2 ask for exactly this (``placeholder``, ``get_attr``, ``call_function``,
``call_method``, ``call_module``, ``output``, and MASE's seven types); ``i`` on any node shows it
in place. ``explain_node`` returns rich renderables (no Textual), so the CLI or a test can use it.
"""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.text import Text

from core.ir.view import node_view

FX_OPCODES: dict[str, str] = {
    "placeholder": "an input of the traced forward(): one per argument; its name is the argument's",
    "get_attr": "fetches a parameter, buffer or constant tensor from the module hierarchy "
                "(the target is its dotted path)",
    "call_function": "calls a free function (torch.relu, operator.add, F.linear ...); the target is the function",
    "call_method": "calls a method on a value (x.view(...), x.size()); the target is the method's name",
    "call_module": "runs a submodule's forward(); the target is the submodule's path in the model",
    "output": "the value forward() returns (its args[0])",
}

MASE_TYPES: dict[str, str] = {
    "module": "an nn.Module with no torch.nn.functional counterpart (BatchNorm): MASE keeps it as a module",
    "module_related_func": "a torch.nn.functional function or the nn.Module that wraps it (F.relu and nn.ReLU, "
                           "F.linear and nn.Linear): quantisable by op name",
    "builtin_func": "a torch function that is neither (torch.cat, torch.bmm, operator.add on tensors)",
    "implicit_func": "shape and view bookkeeping (size, view, flatten, constants): no arithmetic to count",
    "placeholder": "the graph's input (fx's placeholder)",
    "get_attr": "an attribute fetch that is not a known constant (fx's get_attr)",
    "output": "the graph's output (fx's output)",
}


def _target_text(node) -> str:
    target = node.target
    if isinstance(target, str):
        return target
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or str(target)
    return f"{module}.{name}" if module and module != "builtins" else name


def _why_type(node, mase_type: str, mase_op: str, module) -> str:
    """Why this node got its MASE type, in terms of this node."""
    if mase_type == "module_related_func":
        if module is not None:
            return (f"{type(module).__name__} wraps a torch.nn.functional op ({mase_op}), so the module "
                    f"counts as module_related_func; an F.{mase_op}(...) call would be the same type")
        return f"{_target_text(node)} is a torch.nn.functional-style op ({mase_op}), so module_related_func"
    if mase_type == "module":
        name = type(module).__name__ if module is not None else "this module"
        return f"{name} has no functional counterpart in MASE's op list, so it stays a module"
    if mase_type == "builtin_func":
        return (f"{_target_text(node)} is a plain torch/operator function with no nn.Module twin, "
                f"so builtin_func")
    if mase_type == "implicit_func":
        return f"{mase_op} only reshapes or reads sizes/constants: implicit_func (no MACs)"
    return f"fx's own {node.op} node keeps its opcode as its MASE type"


def _quantisation_note(node, mase_type: str, mase_op: str) -> str:
    """What the lab's by-type config (only [passes.quantize.linear]) does to this node."""
    if mase_op == "linear" and mase_type in ("module_related_func", "module"):
        return ("Lab config (by = \"type\", linear -> integer 8.4, default NA): this node's op is linear, so "
                "it matches the 'linear' entry and is quantised")
    return (f"Lab config (by = \"type\", linear -> integer 8.4, default NA): op '{mase_op or node.op}' has no "
            f"entry, so 'default' applies, whose quantiser is NA: left in float. That is why only the "
            f"Linear nodes change")


def explain_node(graph, name: str) -> list[RenderableType]:
    node = graph.node(name)
    view = node_view(node, model=graph.model)
    mase_type = view.mase_type or "-"
    mase_op = view.mase_op or ""
    module = None
    if node.op == "call_module":
        try:
            module = graph.model.get_submodule(str(node.target))
        except AttributeError:
            module = None
    target = _target_text(node)
    parts: list[Any] = [
        Text(f"{name}: what it is", style="bold reverse"),
        Text(""),
        Text.assemble(("fx opcode ", "dim"), (node.op, "bold")),
        Text(FX_OPCODES.get(node.op, "(an opcode fx does not document)")),
        Text.assemble(("this node: ", "dim"), f"target = {target}",
                      f" ({type(module).__name__})" if module is not None else ""),
        Text(""),
        Text.assemble(("MASE type ", "dim"), (mase_type, "bold"), ("  mase op ", "dim"), (mase_op or "-", "bold")),
        Text(MASE_TYPES.get(mase_type, "(not one of MASE's seven types)")),
        Text.assemble(("why: ", "dim"), _why_type(node, mase_type, mase_op, module)),
        Text(""),
        Text.assemble(("quantisation: ", "dim"), _quantisation_note(node, mase_type, mase_op)),
        Text(""),
        Text("The seven MASE types:", style="bold"),
    ]
    for key, meaning in MASE_TYPES.items():
        parts.append(Text.assemble(("  ▸ " if key == mase_type else "    ", "bold"), (key, "bold" if key == mase_type else ""),
                                   f": {meaning}"))
    parts += [Text(""), Text("The six fx opcodes:", style="bold")]
    for key, meaning in FX_OPCODES.items():
        parts.append(Text.assemble(("  ▸ " if key == node.op else "    ", "bold"), (key, "bold" if key == node.op else ""),
                                   f": {meaning}"))
    parts += [Text(""), Text("docs/lab2-walkthrough.md walks through Lab 2 in the app.", style="dim")]
    return parts
