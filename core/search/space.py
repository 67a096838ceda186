"""The search space of ``graph/quantize/mixed_precision_ptq`` over a traced graph.

A *unit* is what gets one set of choices: a quantisable node (``by = "name"``; nodes calling
the same module share one, since a module has one config) or an op type (``by = "type"``, which
quantises every node of that op alike, as the name says; MASE's version ignores the sampled
values, see the README). Each unit's choices become Optuna categorical parameters:

- ``<unit>/name`` when the seed lists several quantisers (``"NA"`` = leave in float);
- ``<unit>/<operand>`` (``<unit>/<name>/<operand>`` with several quantisers): the operand's whole
  format, e.g. ``"8,4"`` for width 8, frac 4, drawn from core.search.choices (valid only);
- keys with a single choice are constants, not parameters.

A point of the space is a ``quantize_transform_pass`` config; ``config_key`` is its canonical
text, used to evaluate each distinct configuration once.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from core.errors import ConfigError
from core.search.choices import operand_choices, option_choices, quantizer_names
from core.search.config import SearchConfig
from core.search.quant_table import quant_config

# choose(param name, labels) -> index of the chosen label
Chooser = Callable[[str, list[str]], int]


@dataclass
class Param:
    name: str
    labels: list[str]
    values: list[dict[str, Any]]


@dataclass
class Unit:
    key: str  # the quantize config entry: node name (by name) or op (by type)
    op: str
    members: list[str]  # node names it configures
    seed_key: str
    names: list[str | None]
    # per quantiser name: its params (several choices) and constant keys (one choice)
    params: dict[str | None, list[Param]] = field(default_factory=dict)
    constants: dict[str | None, dict[str, Any]] = field(default_factory=dict)

    @property
    def name_param(self) -> str:
        return f"{self.key}/name"

    def size(self) -> int:
        return sum(math.prod(len(p.labels) for p in self.params[n]) for n in self.names)


def _label(values: dict[str, Any]) -> str:
    return ",".join("NA" if v is None else str(v) for v in values.values())


class SearchSpace:
    def __init__(self, by: str, units: list[Unit]) -> None:
        self.by = by
        self.units = units

    # ------------------------------------------------------------------ building configs
    def build(self, choose: Chooser) -> tuple[dict[str, Any], dict[str, str]]:
        """(quantize pass_args, {param: label}) for the choices ``choose`` makes, define-by-run:
        a quantiser's operand parameters exist only when that quantiser is chosen."""
        config: dict[str, Any] = {"by": self.by, "default": {"config": {"name": None}}}
        params: dict[str, str] = {}
        for unit in self.units:
            if len(unit.names) > 1:
                labels = ["NA" if n is None else n for n in unit.names]
                index = choose(unit.name_param, labels)
                params[unit.name_param] = labels[index]
                name = unit.names[index]
            else:
                name = unit.names[0]
            if name is None:
                continue
            node_config: dict[str, Any] = {"name": name, **unit.constants[name]}
            for param in unit.params[name]:
                index = choose(param.name, param.labels)
                params[param.name] = param.labels[index]
                node_config.update(param.values[index])
            # by type the op is the key (MASE's key); by name every node the unit covers
            for member in ([unit.key] if self.by == "type" else unit.members):
                config[member] = {"config": dict(_ordered(node_config))}
        return config, params

    def suggest(self, trial) -> tuple[dict[str, Any], dict[str, str]]:
        def choose(name: str, labels: list[str]) -> int:
            return labels.index(trial.suggest_categorical(name, labels))
        return self.build(choose)

    def from_params(self, params: dict[str, Any]) -> dict[str, Any]:
        def choose(name: str, labels: list[str]) -> int:
            if name not in params or params[name] not in labels:
                raise ConfigError(f"trial parameter {name} = {params.get(name)!r} is not in this search space",
                                  hint="the study was made with another config")
            return labels.index(params[name])
        return self.build(choose)[0]

    def random_params(self, rng: random.Random) -> dict[str, str]:
        return self.build(lambda name, labels: rng.randrange(len(labels)))[1]

    def all_params(self) -> Iterator[dict[str, str]]:
        """Every point (as parameters), in a fixed order; only sensible for small spaces."""
        per_unit = [list(self._unit_points(u)) for u in self.units]
        for combo in itertools.product(*per_unit):
            merged: dict[str, str] = {}
            for part in combo:
                merged.update(part)
            yield merged

    def _unit_points(self, unit: Unit) -> Iterator[dict[str, str]]:
        for name in unit.names:
            head = {unit.name_param: "NA" if name is None else name} if len(unit.names) > 1 else {}
            params = unit.params[name] if name is not None else []
            for labels in itertools.product(*(p.labels for p in params)):
                yield {**head, **{p.name: lab for p, lab in zip(params, labels, strict=True)}}

    # ------------------------------------------------------------------ facts
    @property
    def size(self) -> int:
        return math.prod(u.size() for u in self.units)

    @property
    def param_names(self) -> list[str]:
        names = []
        for unit in self.units:
            if len(unit.names) > 1:
                names.append(unit.name_param)
            for name in unit.names:
                names.extend(p.name for p in unit.params.get(name, []))
        return names

    def describe(self) -> list[dict[str, Any]]:
        return [{"unit": u.key, "op": u.op, "nodes": u.members, "seed": u.seed_key, "choices": u.size(),
                 "params": {p.name: p.labels for n in u.names for p in u.params.get(n, [])}} for u in self.units]


def config_key(config: dict[str, Any]) -> str:
    """Canonical text of a quantize config: equal configs give equal keys."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)


def _ordered(node_config: dict[str, Any]) -> dict[str, Any]:
    """name first, then operands in MASE's order (data_in, weight, bias, data_out)."""
    order = {"name": 0, "data_in": 1, "weight": 2, "bias": 3, "data_out": 4}

    def rank(key: str) -> int:
        for prefix, value in order.items():
            if key == prefix or key.startswith(prefix + "_"):
                return value
        return 5
    return dict(sorted(node_config.items(), key=lambda kv: rank(kv[0])))


# --------------------------------------------------------------------------- from a graph
def build_space(graph, search: SearchConfig) -> SearchSpace:
    """The units of ``graph`` under ``search``'s seeds; errors name the seed and the node."""
    from core.passes.transforms.quantize import quantizable_nodes

    nodes = quantizable_nodes(graph)
    if not nodes:
        raise ConfigError("the model has no node that can be quantised", hint="nothing to search")
    source = str(search.path) if search.path else "the config"
    names = [n.name for n, _, _ in nodes]
    ops = sorted({op for _, op, _ in nodes})
    _check_seed_keys(search, names, [n.name for n in graph.fx_graph.nodes], ops, source)

    groups: list[tuple[str, str, list[str], bool]] = []  # key, op, members, has_bias
    if search.by == "name":
        by_target: dict[str, int] = {}
        for node, op, bias in nodes:
            target = str(node.target) if node.op == "call_module" else None
            if target is not None and target in by_target:
                groups[by_target[target]][2].append(node.name)
                continue
            if target is not None:
                by_target[target] = len(groups)
            groups.append((node.name, op, [node.name], bias))
    else:
        for op in dict.fromkeys(op for _, op, _ in nodes):
            members = [n.name for n, o, _ in nodes if o == op]
            groups.append((op, op, members, any(b for _, o, b in nodes if o == op)))

    units = []
    for key, op, members, has_bias in groups:
        seed_key = key if key in search.seeds else "default"
        if search.by == "name" and key not in search.seeds:
            seed_key = next((m for m in members if m in search.seeds), "default")
        units.append(_unit(key, op, members, has_bias, seed_key, search.seeds[seed_key], source))
    return SearchSpace(search.by, units)


def _check_seed_keys(search: SearchConfig, node_names: list[str], all_names: list[str], ops: list[str],
                     source: str) -> None:
    import difflib
    import logging

    qc = quant_config()
    log = logging.getLogger(__name__)
    for key in search.seeds:
        if key == "default":
            continue
        if search.by == "name":
            if key in node_names:
                continue
            if key in all_names:
                raise ConfigError(f"{source}: seed '{key}' names a node that cannot be quantised",
                                  hint=f"quantisable nodes: {', '.join(node_names)}")
            if key in qc.QUANTIZABLE_OPS:
                log.warning("%s: seed '%s' is an op; with by = \"name\" it is not used (MASE ignores it too)",
                            source, key)
                continue
            close = difflib.get_close_matches(key, node_names, n=1)
            raise ConfigError(f"{source}: seed '{key}' is not a node of the graph",
                              hint=f"did you mean '{close[0]}'?" if close else f"quantisable nodes: {', '.join(node_names)}")
        else:
            if key in ops:
                continue
            if key in qc.QUANTIZABLE_OPS:
                log.warning("%s: seed '%s': the graph has no %s node", source, key, key)
                continue
            if key in all_names:
                log.warning("%s: seed '%s' is a node name; with by = \"type\" it is not used", source, key)
                continue
            close = difflib.get_close_matches(key, list(qc.QUANTIZABLE_OPS), n=1)
            raise ConfigError(f"{source}: seed '{key}' is not a quantisable op (by = \"type\" seeds are ops)",
                              hint=f"did you mean '{close[0]}'?" if close else f"ops: {', '.join(qc.QUANTIZABLE_OPS)}")


def _unit(key: str, op: str, members: list[str], has_bias: bool, seed_key: str, seed: dict[str, list[Any]],
          source: str) -> Unit:
    qc = quant_config()
    names = quantizer_names(seed)
    unit = Unit(key=key, op=op, members=members, seed_key=seed_key, names=names)
    required, optional = qc.OP_OPERANDS[op]
    for name in names:
        if name is None:
            unit.params[None], unit.constants[None] = [], {}
            continue
        where = f"{source}: seed '{seed_key}' for {key} ({op}, {name})"
        operands = list(required)
        for extra in optional:
            if (extra == "bias" and has_bias) or (extra == "data_out" and any(k.startswith("data_out_") for k in seed)):
                operands.append(extra)
        prefix = f"{key}/" if len(names) == 1 else f"{key}/{name}/"
        params, constants = [], {}
        for operand in operands:
            if not any(k.startswith(operand + "_") for k in seed):
                raise ConfigError(f"{where}: no choices for {operand}",
                                  hint=f"a {op} reads {operand}: add {operand}_width = [...] to the seed")
            choices = operand_choices(seed, name, operand, where)
            if len(choices) == 1:
                constants.update(choices[0])
            else:
                params.append(Param(prefix + operand, [_label(c) for c in choices], choices))
        for option, values in option_choices(seed, name).items():
            if len(values) == 1:
                constants[option] = values[0]
            else:
                params.append(Param(prefix + option, [str(v) for v in values], [{option: v} for v in values]))
        unit.params[name], unit.constants[name] = params, constants
    return unit
