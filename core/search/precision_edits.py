"""Per-layer precision edits: the model behind the app's precision editor.

Edits accumulate into one ``by = "name"`` quantize config over the original (float) graph; it
is applied as one ``quantize_transform_pass`` on a copy of the original (the pass validates the
whole config first, so it applies completely or not at all), saved as a TOML that
``ch transform --config`` runs, and loaded back from one. Costs after each edit come from the
metadata of the quantised copy (cost and average-bits passes, no forward): for jsc-toy a few
milliseconds. Every value is checked by the quantiser's own validation as it is set.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from core.errors import QuantError

OPERANDS = ("data_in", "weight", "bias", "data_out")


@dataclass(frozen=True)
class QuantNode:
    name: str
    op: str
    has_bias: bool
    module: str  # the module path the node belongs to (its parent groups siblings)
    target: str | None  # the module a call_module node calls (shared modules share one config)


def quantizer_names() -> tuple[str, ...]:
    """Every quantiser the engine knows (new ones appear here when they are registered)."""
    from core.search.quant_table import quant_config

    return tuple(quant_config().QUANTIZER_NAMES)


def operands_of(node: QuantNode) -> list[str]:
    from core.search.quant_table import quant_config

    required, _ = quant_config().OP_OPERANDS[node.op]
    return list(required) + (["bias"] if node.has_bias else [])


def suffixes_of(name: str) -> tuple[str, ...]:
    from core.search.quant_table import quant_config

    return tuple(quant_config().QUANT_ARITH_SUFFIXES[name])


def default_config(node: QuantNode, name: str = "integer") -> dict[str, Any]:
    """A starting config for ``node``: 8 bits, half of them fractional (MASE's lab values),
    with the quantiser's own defaults for its other keys."""
    qc_defaults = {"width": 8, "frac_width": 4, "exponent_width": 4, "exponent_bias": None,
                   "block_size": [16], "stochastic": False, "bipolar": True, "scaling_factor": False,
                   "mean": None, "median": None, "max": None}
    config: dict[str, Any] = {"name": name}
    for operand in operands_of(node):
        for suffix in suffixes_of(name):
            config[f"{operand}_{suffix}"] = qc_defaults.get(suffix)
    return config


class PrecisionEdits:
    def __init__(self, graph) -> None:
        from core.cost.node_cost import module_path
        from core.passes.transforms.quantize import quantizable_nodes

        self.graph = graph  # the original graph: never changed here
        self.nodes: dict[str, QuantNode] = {}
        for node, op, has_bias in quantizable_nodes(graph):
            target = str(node.target) if node.op == "call_module" else None
            parent = module_path(node).rpartition(".")[0] if target else module_path(node)
            self.nodes[node.name] = QuantNode(node.name, op, has_bias, parent, target)
        self.configs: dict[str, dict[str, Any]] = {}  # node -> config as given (validated)

    # ------------------------------------------------------------------ editing
    def node(self, name: str) -> QuantNode:
        try:
            return self.nodes[name]
        except KeyError:
            import difflib

            close = difflib.get_close_matches(name, list(self.nodes), n=1)
            raise QuantError(f"node '{name}' cannot be quantised",
                             hint=f"did you mean '{close[0]}'?" if close else "pick a linear, conv, relu, add ... node") from None

    def validate(self, name: str, config: dict[str, Any]) -> dict[str, Any]:
        """The normalised config (defaults resolved) or QuantError naming the key; also refuses
        a fractional width above the width, which leaves less than +-0.5 of range."""
        from core.search.quant_table import quant_config

        node = self.node(name)
        parsed = quant_config().validate_config(config, node.op, has_bias=node.has_bias, where=name)
        for operand in OPERANDS:
            width, frac = parsed.get(f"{operand}_width"), parsed.get(f"{operand}_frac_width")
            if width is not None and frac is not None and frac > width:
                raise QuantError(f"{name}: {operand}_frac_width {frac} is above {operand}_width {width}",
                                 hint=f"use {operand}_frac_width <= {width}")
        return parsed

    def set(self, name: str, config: dict[str, Any] | None) -> list[str]:
        """Set (or with None clear) a node's config; nodes calling the same module follow.
        Returns the nodes changed."""
        node = self.node(name)
        if config is not None:
            self.validate(name, config)
        changed = [n.name for n in self.nodes.values() if n.name == name or (node.target and n.target == node.target)]
        for n in changed:
            if config is None:
                self.configs.pop(n, None)
            else:
                self.configs[n] = _trimmed(copy.deepcopy(config), self.nodes[n])
        return changed

    def config_of(self, name: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.configs.get(name))

    def step_width(self, name: str, delta: int) -> dict[str, Any]:
        """Every operand's width + delta. A float node starts at integer 8/4 instead. A
        fractional width keeps its value unless the width falls below it; a step that makes the
        format invalid (width 0, no mantissa left) raises QuantError and changes nothing."""
        node = self.node(name)
        current = self.config_of(name)
        if current is None:
            config = default_config(node)
        else:
            config = current
            for operand in OPERANDS:
                key = f"{operand}_width"
                if key in config:
                    config[key] = int(config[key]) + delta
                    frac = config.get(f"{operand}_frac_width")
                    if isinstance(frac, int) and frac > config[key]:
                        config[f"{operand}_frac_width"] = config[key]
        self.set(name, config)
        return config

    def siblings(self, name: str) -> list[str]:
        """Quantisable nodes in the same parent module as ``name`` (itself included)."""
        node = self.node(name)
        return [n.name for n in self.nodes.values() if n.module == node.module]

    def same_op(self, name: str) -> list[str]:
        node = self.node(name)
        return [n.name for n in self.nodes.values() if n.op == node.op]

    def copy_to(self, name: str, targets: list[str]) -> list[str]:
        """Give ``targets`` the precision of ``name`` (only the operands each target reads).
        All or nothing: one invalid target leaves every node as it was."""
        source = self.configs.get(name)
        planned: dict[str, dict[str, Any] | None] = {}
        for target in targets:
            if target == name:
                continue
            if source is None:
                planned[target] = None
                continue
            config = _for_node(source, self.nodes[target])
            self.validate(target, config)
            planned[target] = config
        for target, config in planned.items():
            self.set(target, config)
        return list(planned)

    # ------------------------------------------------------------------ the config
    def pass_args(self) -> dict[str, Any]:
        """The ``by = "name"`` quantize config of the edits (nodes without one stay float)."""
        args: dict[str, Any] = {"by": "name", "default": {"config": {"name": None}}}
        for name in self.nodes:  # graph order
            if name in self.configs:
                args[name] = {"config": copy.deepcopy(self.configs[name])}
        return args

    def load(self, pass_args: dict[str, Any]) -> None:
        """Edits from a quantize config (by name, type or regex_name: each node gets the entry
        the pass would give it); all or nothing."""
        from core.passes.transforms.quantize import validate_pass_args

        validate_pass_args(self.graph, pass_args)
        resolved = _resolve(self.graph, pass_args, self.nodes)
        self.configs = {}
        for name, config in resolved.items():
            if config is not None:
                self.configs[name] = _trimmed(copy.deepcopy(config), self.nodes[name])

    def toml(self, settings: dict[str, Any]) -> str:
        """A config ``ch transform --config`` runs: the model settings and ``[passes.quantize]``."""
        from core.config import dumps_toml

        keep = ("model", "dataset", "load_name", "load_type", "dataset_path", "seed", "project")
        top = {k: settings[k] for k in keep if settings.get(k) is not None}
        return ("# per-layer precisions from the mase-tui precision editor\n"
                + dumps_toml({**top, "passes": {"quantize": self.pass_args()}, "transform": {"style": "graph"}}))

    def apply(self):
        """The original graph quantised by the edits, on a copy (one transactional pass)."""
        from core.passes.transforms.quantize import quantize_transform_pass

        graph, _ = quantize_transform_pass(self.graph.copy(), self.pass_args())
        return graph


def costs(graph) -> dict[str, Any]:
    """Totals (BitOPs and FLOPs per sample, parameter storage bits, average weight bits) and per
    node BitOPs and storage, from the graph's metadata (no forward)."""
    from core.passes.analysis.avg_bits import calculate_avg_bits_mg_analysis_pass
    from core.passes.analysis.cost import cost_analysis_pass

    _, info = cost_analysis_pass(graph, {})
    _, bits = calculate_avg_bits_mg_analysis_pass(graph, {})
    return {
        "bitops": info["totals_per_sample"]["bitops"],
        "flops": info["totals_per_sample"]["flops_total"],
        "param_bits": info["totals_model"]["param_bits"],
        "average_bits": bits["w_avg_bit"] if bits["w_avg_bit"] is not None else 32.0,
        "nodes": {r["name"]: {"bitops": r["bitops"], "param_bits": r["param_bits"]} for r in info["nodes"]},
    }


def _for_node(config: dict[str, Any], node: QuantNode) -> dict[str, Any]:
    """``config`` made to fit ``node``: operands it does not read dropped, missing ones (a
    linear's weight from a relu's data_in) copied from data_in."""
    out = {k: v for k, v in config.items() if not any(k.startswith(op + "_") for op in OPERANDS)}
    suffixes = suffixes_of(config["name"])
    for operand in operands_of(node):
        source = operand if f"{operand}_{suffixes[0]}" in config else "data_in"
        for suffix in suffixes:
            out[f"{operand}_{suffix}"] = copy.deepcopy(config.get(f"{source}_{suffix}"))
    for suffix in suffixes:  # an output quantiser, when the source has one
        if f"data_out_{suffix}" in config:
            out[f"data_out_{suffix}"] = copy.deepcopy(config[f"data_out_{suffix}"])
    return out


def _trimmed(config: dict[str, Any], node: QuantNode) -> dict[str, Any]:
    """Only the keys the node reads (a ReLU keeps no weight keys)."""
    keep = set(operands_of(node)) | ({"data_out"} if any(k.startswith("data_out_") for k in config) else set())
    return {k: v for k, v in config.items()
            if not any(k.startswith(op + "_") for op in OPERANDS) or any(k.startswith(op + "_") for op in keep)}


def _resolve(graph, pass_args: dict[str, Any], nodes: dict[str, QuantNode]) -> dict[str, dict[str, Any] | None]:
    import re

    from core.quant.config import is_float_config

    by = pass_args.get("by", "type")

    def entry(key: str):
        value = pass_args.get(key)
        config = value.get("config") if isinstance(value, dict) else None
        return None if config is None or is_float_config(config) else config

    out: dict[str, dict[str, Any] | None] = {}
    for name, node in nodes.items():
        if by == "name":
            key = name if name in pass_args else "default"
        elif by == "type":
            key = node.op if node.op in pass_args else "default"
        else:
            key = next((k for k in pass_args if k not in ("by", "default") and re.fullmatch(k, name)), "default")
        out[name] = entry(key)
    return out
