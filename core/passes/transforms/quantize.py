"""quantize_transform_pass: replace Linear/Conv/ReLU modules and add/sub/mul/matmul/bmm/relu
(and functional linear/conv) calls by quantised ones.

pass_args, as MASE's TOML writes them::

    {"by": "type" | "name" | "regex_name",
     "default": {"config": {"name": None}},
     "linear": {"config": {"name": "integer", "data_in_width": 8, ...}}}

The whole config is checked against the graph before anything changes; the first problem is
raised as one QuantError naming the key and the node, and the graph is left as it was. Node
names are kept: modules are swapped in place (same target), function nodes get the quantised
function as their target and the config as a ``config`` keyword.
"""

from __future__ import annotations

import difflib
import logging
import operator
import re
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx as fx
import torch.nn.functional as F

from core.errors import QuantError
from core.ir.aten_ops import quantizable_aten_targets
from core.ir.classify import classify_node
from core.ir.common import MODULE_OPS, OP_TO_TYPE
from core.passes.schema import Arg, mase_pass
from core.quant import (
    FUNCTION_TO_OP,
    QUANTIZABLE_OPS,
    is_float_config,
    module_op,
    quantize_module,
    quantized_function,
    quantized_metadata_entries,
    validate_config,
)
from core.quant.config import BY_VALUES, canonical_name, is_none, write_quantized_entry
from core.quant.functional import QUANTIZED_FUNCTIONS

logger = logging.getLogger(__name__)

# Top-level keys MASE's test configs carry that mean nothing to the pass.
# "progress" / "cancel" are the runtime hooks the Session adds to every pass's args.
IGNORED_KEYS = ("report", "progress", "cancel")

FLOAT_FUNCTIONS: dict[Any, str] = {
    operator.add: "add", torch.add: "add",
    operator.sub: "sub", torch.sub: "sub",
    operator.mul: "mul", torch.mul: "mul",
    operator.matmul: "matmul", torch.matmul: "matmul",
    torch.bmm: "bmm",
    F.relu: "relu", torch.relu: "relu",
    F.linear: "linear", F.conv1d: "conv1d", F.conv2d: "conv2d",
}
FLOAT_FUNCTIONS.update(quantizable_aten_targets())  # the aten ops of exported graphs
_KNOWN_OPS = set(OP_TO_TYPE) | {op for _, op, _ in MODULE_OPS}


@dataclass
class _Step:
    node: fx.Node
    op: str
    kind: str  # "module" | "function"
    key: str  # the config entry that chose this node
    config: dict[str, Any]


@dataclass
class _Plan:
    by: str
    steps: list[_Step] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _mase_op(graph, node: fx.Node) -> str:
    meta = node.meta.get("mase")
    common = meta.parameters.get("common", {}) if meta is not None else {}
    if common.get("mase_op"):
        return common["mase_op"]
    return classify_node(node, graph.model)[1]


def _quantizable(graph, node: fx.Node) -> tuple[str | None, str]:
    """(quantisable op or None, reason when None)."""
    if node.op == "call_module":
        op = module_op(graph.model.get_submodule(node.target))
        return (op, "") if op else (None, "module type cannot be quantised")
    if node.op == "call_function":
        op = FLOAT_FUNCTIONS.get(node.target) or FUNCTION_TO_OP.get(node.target)
        if op is None:
            return None, "function cannot be quantised"
        if node.kwargs.get("out") is not None:
            return None, "calls with out= cannot be quantised"
        if not _has_tensor_operand(node):
            return None, "no tensor operands (shape arithmetic)"
        if not _has_float_operand(node):
            return None, "integer or bool tensors only (indices, positions, masks)"
        return op, ""
    return None, f"{node.op} nodes are never quantised"


def _has_float_operand(node: fx.Node) -> bool:
    """False when every tensor going in is integer or bool: position ids and attention masks
    (an exported Hugging Face graph does this arithmetic as aten add/sub/mul) are not data."""
    meta = node.meta.get("mase")
    args = (meta.parameters.get("common", {}) if meta is not None else {}).get("args")
    dtypes = [v["torch_dtype"] for v in (args or {}).values() if isinstance(v, dict) and "torch_dtype" in v]
    if not dtypes:
        return True  # no metadata: assume float
    return any(getattr(d, "is_floating_point", True) for d in dtypes)


def _has_tensor_operand(node: fx.Node) -> bool:
    """False when the metadata shows only Python numbers going in (``b * heads`` on shapes)."""
    meta = node.meta.get("mase")
    args = (meta.parameters.get("common", {}) if meta is not None else {}).get("args")
    if not args:
        return True  # no metadata: assume tensors
    return any(isinstance(v, dict) and "torch_dtype" in v for v in args.values())


def _has_bias(graph, node: fx.Node, op: str) -> bool:
    if op not in ("linear", "conv1d", "conv2d"):
        return False
    if node.op == "call_module":
        return graph.model.get_submodule(node.target).bias is not None
    bias = node.args[2] if len(node.args) > 2 else node.kwargs.get("bias")
    return bias is not None


def _entry_config(key: str, value: Any) -> dict[str, Any] | None:
    """The node config inside ``{"config": {...}}``; None for "leave in float"."""
    if is_none(value):
        return None
    if not isinstance(value, dict) or "config" not in value:
        raise QuantError(f"quantize: entry '{key}' must be a table holding a 'config' table",
                         hint=f"write {{'{key}': {{'config': {{'name': 'integer', ...}}}}}} "
                              f"([passes.quantize.{key}.config] in TOML)")
    extra = [k for k in value if k != "config"]
    if extra:
        raise QuantError(f"quantize: entry '{key}' has unknown key '{extra[0]}'",
                         hint="only 'config' is allowed here; quantiser keys go inside it")
    config = value["config"]
    if is_float_config(config):
        return None
    if not isinstance(config, dict):
        raise QuantError(f"quantize: '{key}.config' must be a table, got {type(config).__name__}")
    return config


def _suggest(word: str, choices) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"did you mean '{close[0]}'?" if close else None


def _plan(graph, pass_args: dict[str, Any]) -> _Plan:
    by = pass_args.get("by", "type")
    if by not in BY_VALUES:
        raise QuantError(f"quantize: unsupported by '{by}'", hint="use by = \"type\", \"name\" or \"regex_name\"")
    plan = _Plan(by=by)
    default = _entry_config("default", pass_args.get("default"))
    entries: dict[str, dict[str, Any] | None] = {}
    for key, value in pass_args.items():
        if key in ("by", "default"):
            continue
        if key in IGNORED_KEYS and not isinstance(value, dict):
            continue
        entries[str(key)] = _entry_config(str(key), value)

    nodes = list(graph.fx_graph.nodes)
    names = [n.name for n in nodes]
    info = {n: _quantizable(graph, n) for n in nodes}
    chosen: dict[fx.Node, tuple[str, dict[str, Any] | None]] = {}

    if by == "type":
        present = {_mase_op(graph, n) for n in nodes} | {op for op, _ in info.values() if op}
        for key, config in entries.items():
            if key not in QUANTIZABLE_OPS:
                if key in _KNOWN_OPS:
                    if config is not None:
                        raise QuantError(f"quantize: op '{key}' cannot be quantised",
                                         hint=f"quantisable ops: {', '.join(QUANTIZABLE_OPS)}; or set its name to \"NA\"")
                    continue
                if key in names:
                    # MASE ignores such a table (its ternary_scaled.toml has [seq_blocks_1]); say so once
                    plan.warnings.append(f"entry '{key}' is a node name, which by = \"type\" ignores; "
                                         f"use by = \"name\" to quantise node '{key}' on its own")
                    continue
                raise QuantError(f"quantize: unknown op '{key}' (by = \"type\" keys are MASE ops)",
                                 hint=_suggest(key, list(QUANTIZABLE_OPS) + names)
                                 or f"quantisable ops: {', '.join(QUANTIZABLE_OPS)}")
            if key not in present:
                plan.warnings.append(f"no '{key}' node in the graph; entry '{key}' is unused")
        for n in nodes:
            op = info[n][0]
            if op is not None:
                chosen[n] = (op, entries[op]) if op in entries else ("default", default)
    elif by == "name":
        for key, config in entries.items():
            if key not in names:
                raise QuantError(f"quantize: no node named '{key}'",
                                 hint=_suggest(key, names) or "list the node names with report_graph")
            node = nodes[names.index(key)]
            if info[node][0] is None and config is not None:
                raise QuantError(f"quantize: node '{key}' ({_mase_op(graph, node)}) cannot be quantised",
                                 hint=f"{info[node][1]}; quantisable ops: {', '.join(QUANTIZABLE_OPS)}")
        for n in nodes:
            if info[n][0] is not None:
                chosen[n] = (n.name, entries[n.name]) if n.name in entries else ("default", default)
    else:
        patterns = []
        for key in entries:
            try:
                patterns.append((key, re.compile(key)))
            except re.error as exc:
                raise QuantError(f"quantize: '{key}' is not a valid regular expression: {exc}") from None
        for key, pattern in patterns:
            matched = [n for n in nodes if pattern.fullmatch(n.name)]
            if not matched:
                raise QuantError(f"quantize: regex '{key}' matches no node name",
                                 hint="regex_name keys must match whole node names, e.g. 'seq_blocks_\\d+'")
            if entries[key] is not None and all(info[n][0] is None for n in matched):
                plan.warnings.append(f"regex '{key}' matches only nodes that cannot be quantised")
        for n in nodes:
            if info[n][0] is None:
                continue
            key = next((k for k, p in patterns if p.fullmatch(n.name)), None)
            chosen[n] = (key, entries[key]) if key is not None else ("default", default)

    problems: list[QuantError] = []
    for n, (key, config) in chosen.items():
        op = info[n][0]
        assert op is not None
        if config is None:
            plan.skipped.append({"name": n.name, "op": op, "reason": f"entry '{key}' leaves it in float"})
            continue
        where = f"quantize: entry '{key}' for node '{n.name}' ({op})"
        try:
            parsed = validate_config(config, op, has_bias=_has_bias(graph, n, op), where=where)
        except QuantError as exc:
            problems.append(exc)
            continue
        kind = "module" if n.op == "call_module" else "function"
        if kind == "function" and (op, canonical_name(parsed["name"])) not in QUANTIZED_FUNCTIONS:
            problems.append(QuantError(f"{where}: quantiser '{parsed['name']}' has no functional {op} "
                                       f"(only quantised modules)",
                                       hint="give this node another quantiser, or \"NA\" to leave it in float"))
            continue
        plan.steps.append(_Step(n, op, kind, key, parsed))
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise QuantError(problems[0].message + more, hint=problems[0].hint)
    _check_shared_modules(graph, nodes, plan)
    return plan


def quantizable_nodes(graph) -> list[tuple[fx.Node, str, bool]]:
    """(node, quantisable op, has a bias) for every node this pass can quantise, in graph order
    (the search space and the precision editor offer exactly these)."""
    out = []
    for node in graph.fx_graph.nodes:
        op, _ = _quantizable(graph, node)
        if op is not None:
            out.append((node, op, _has_bias(graph, node, op)))
    return out


def validate_pass_args(graph, pass_args: dict[str, Any] | None = None) -> None:
    """The pass's checks of a config against ``graph``, without changing anything: raises the
    QuantError the pass would raise (front ends call it before running the pass)."""
    _plan(graph, dict(pass_args or {}))


def _check_shared_modules(graph, nodes: list[fx.Node], plan: _Plan) -> None:
    """A module called by several nodes can only be swapped if they all want the same config."""
    by_target: dict[str, list[fx.Node]] = {}
    for n in nodes:
        if n.op == "call_module":
            by_target.setdefault(n.target, []).append(n)
    configs = {s.node: s.config for s in plan.steps if s.kind == "module"}
    for target, users in by_target.items():
        if len(users) < 2:
            continue
        wanted = [configs.get(u) for u in users]
        if any(w != wanted[0] for w in wanted[1:]):
            listed = ", ".join(u.name for u in users)
            raise QuantError(f"quantize: module '{target}' is called by nodes {listed}, which the config "
                             f"quantises differently", hint="give all of them the same config (or none)")


def _set_module(root: torch.nn.Module, target: str, module: torch.nn.Module) -> torch.nn.Module:
    parent_name, _, attr = target.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    old = getattr(parent, attr)
    setattr(parent, attr, module)
    return old


def _update_metadata(node: fx.Node, op: str, config: dict[str, Any], kind: str, undo: list) -> dict[str, Any]:
    meta = node.meta.get("mase")
    common = meta.parameters.get("common", {}) if meta is not None else {}
    written: dict[str, Any] = {}
    for label, entry, operand in quantized_metadata_entries(common, op, config, kind):
        undo.append(("meta", entry, dict(entry)))
        write_quantized_entry(entry, config, op, operand)
        written[label] = {"type": entry["type"], "precision": entry["precision"]}
    return written


def _rollback(graph, undo: list) -> None:
    for item in reversed(undo):
        if item[0] == "module":
            _, target, old = item
            _set_module(graph.model, target, old)
        elif item[0] == "function":
            _, node, target, kwargs = item
            node.target, node.kwargs = target, kwargs
        else:
            _, entry, saved = item
            entry.clear()
            entry.update(saved)


@mase_pass(
    "quantize_transform_pass",
    kind="transform",
    doc="Replace ops by quantised ones (integer, minifloat, log, block_fp, ...)",
    args=[
        Arg("by", "str", "type", "match config keys on mase op (type), node name (name) or regex_name",
            choices=("type", "name", "regex_name")),
        Arg("default", "table", {"config": {"name": None}}, "config for nodes with no entry"),
        Arg("linear", "table", {"config": {"name": "integer", "data_in_width": 8, "data_in_frac_width": 4,
                                           "weight_width": 8, "weight_frac_width": 4,
                                           "bias_width": 8, "bias_frac_width": 4}},
            "an entry: one per op (by type) or node (by name), each {config = {name = ..., widths}}"),
    ],
    free_form=True,
    changes_graph=True,
    renderer="quantize",
    validator="validate_pass_args",
    config_check="core.quant.config:check_quantize_args",
)
def quantize_transform_pass(graph, pass_args: dict[str, Any] | None = None):
    """Quantise the graph as ``pass_args`` says; returns ``(graph, info)``."""
    if pass_args is not None and not isinstance(pass_args, dict):
        raise QuantError(f"quantize: pass_args must be a dict, got {type(pass_args).__name__}")
    plan = _plan(graph, pass_args or {})
    undo: list = []
    changed: list[dict[str, Any]] = []
    memo: dict = {}
    swapped: dict[str, torch.nn.Module] = {}
    try:
        for step in plan.steps:
            node = step.node
            if step.kind == "module":
                before = type(graph.model.get_submodule(node.target)).__name__
                if node.target not in swapped:
                    new = quantize_module(graph.model.get_submodule(node.target), step.config, memo)
                    undo.append(("module", node.target, _set_module(graph.model, node.target, new)))
                    swapped[node.target] = new
                after = type(swapped[node.target]).__name__
            else:
                before = getattr(node.target, "__name__", str(node.target))
                undo.append(("function", node, node.target, node.kwargs))
                fn = quantized_function(step.op, step.config["name"])
                node.target = fn
                node.kwargs = {**node.kwargs, "config": step.config}
                after = fn.__name__
            written = _update_metadata(node, step.op, step.config, step.kind, undo)
            changed.append({"name": node.name, "op": step.op, "kind": step.kind, "entry": step.key,
                            "quantizer": step.config["name"], "before": before, "after": after,
                            "metadata": written})
        graph.recompile()
    except Exception:
        _rollback(graph, undo)
        graph.recompile()
        raise
    for warning in plan.warnings:
        logger.warning("quantize: %s", warning)
    logger.info("quantize: %d node(s) quantised, %d left in float", len(changed), len(plan.skipped))
    info = {"by": plan.by, "quantized": changed, "skipped": plan.skipped, "warnings": plan.warnings,
            "counts": {"quantized": len(changed), "float": len(plan.skipped)}}
    from core.ir.device import on_meta

    if on_meta(graph):
        # nothing to round: the graph now calls quantised ops whose precisions the metadata and
        # the cost pass (BitOPs, storage) follow
        info["plan"] = "meta device: a plan (each node's new precision), no weights were quantised"
    return graph, info
