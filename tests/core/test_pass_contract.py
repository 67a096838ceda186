"""DESIGN.md's pass contract, for every registered pass, run on jsc-toy through a Session:
info is JSON-serialisable plain data, analysis passes leave the node list and the types in the
metadata as they were, and neither the caller's pass_args nor the dict the pass receives is
mutated."""

from __future__ import annotations

import copy
import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from core.config import load_config
from core.passes import PASSES
from core.session import Session

REPO = Path(__file__).resolve().parents[2]
LAB_CONFIG = REPO / "configs" / "examples" / "jsc_toy_by_type.toml"
QUANTIZE = "quantize_transform_pass"
SAVE = "save_mase_graph_interface_pass"
NEEDS_QUANTISED = {"summarize_quantization_analysis_pass", "verify_quantization_analysis_pass"}


def lab_quantize_args() -> dict[str, Any]:
    (entry,) = [e for e in load_config(LAB_CONFIG).passes if e.name == QUANTIZE]
    return entry.args


def caller_args(name: str, tmp: Path) -> dict[str, Any]:
    """What a user would pass: files and directories under tmp, the lab's quantize table."""
    return {
        "report_graph_analysis_pass": {"file_name": str(tmp / "graph.txt")},
        "report_node_type_analysis_pass": {"save_path": str(tmp / "types.txt")},
        "report_node_shape_analysis_pass": {"save_path": str(tmp / "shapes.txt")},
        "report_node_meta_param_analysis_pass": {"which": ["all"], "save_path": str(tmp / "meta.txt")},
        "profile_statistics_analysis_pass": {"num_samples": 64},
        QUANTIZE: lab_quantize_args(),
        "summarize_quantization_analysis_pass": {"save_dir": str(tmp / "summary")},
        "cost_analysis_pass": {"uniq": True},
        SAVE: {"save_dir": str(tmp / "saved")},
        "load_mase_graph_interface_pass": {"load_dir": str(tmp / "before_load")},
    }.get(name, {})


def node_list(graph) -> list[tuple]:
    return [(n.name, n.op, str(n.target), repr(n.args), repr(n.kwargs)) for n in graph.fx_graph.nodes]


def types_of(value: Any, path: str = "") -> dict[str, str]:
    """{path: type name} for every leaf of the metadata (dicts walked by key, lists by index)."""
    if isinstance(value, dict):
        out = {path: "dict"}
        for k, v in value.items():
            out.update(types_of(v, f"{path}/{k}"))
        return out
    if isinstance(value, (list, tuple)):
        out = {path: type(value).__name__}
        for i, v in enumerate(value):
            out.update(types_of(v, f"{path}[{i}]"))
        return out
    return {path: type(value).__name__}


def metadata_types(graph) -> dict[str, str]:
    out = {}
    for node in graph.fx_graph.nodes:
        mase = node.meta.get("mase")
        out[f"{node.name}"] = type(mase).__name__
        if mase is not None:
            out.update(types_of(mase.parameters, node.name))
    return out


def snapshot(args: dict[str, Any]) -> dict[str, Any]:
    """Plain data by value, runtime objects (graphs, generators, callbacks) by identity."""
    out = {}
    for k, v in args.items():
        try:
            json.dumps(v)
        except TypeError:
            out[k] = ("object", id(v))
        else:
            out[k] = ("data", copy.deepcopy(v))
    return out


@pytest.fixture
def received(monkeypatch):
    """Wraps every registered pass function so the test sees the dict each call received, as
    it was before and after the call."""
    calls: list[tuple[str, dict, dict]] = []
    for spec in PASSES.values():
        module = importlib.import_module(spec.module)
        original = getattr(module, spec.func)

        def wrapper(graph, pass_args=None, _fn=original, _name=spec.name, **kwargs):
            before = snapshot(pass_args or {})
            try:
                return _fn(graph, pass_args, **kwargs)
            finally:
                calls.append((_name, before, snapshot(pass_args or {})))

        monkeypatch.setattr(module, spec.func, wrapper)
    return calls


@pytest.fixture(scope="module")
def loaded():
    return Session("jsc-toy", batch_size=8).load(progress=lambda _: None)


def fresh_session(loaded: Session) -> Session:
    """A copy of the module's loaded session with its own graphs and history (loading once
    keeps the 15 cases cheap)."""
    session = copy.copy(loaded)
    session.original = loaded.original.copy()
    session.current = loaded.original.copy()
    session.history = []
    return session


@pytest.mark.parametrize("name", sorted(PASSES))
def test_pass_contract(name, loaded, received, tmp_path):
    session = fresh_session(loaded)
    spec = PASSES[name]
    if name in NEEDS_QUANTISED:
        assert session.run_pass(QUANTIZE, lab_quantize_args()).ok
    if name == "load_mase_graph_interface_pass":
        assert session.run_pass(SAVE, {"save_dir": str(tmp_path / "before_load")}).ok
    args = caller_args(name, tmp_path)
    given = copy.deepcopy(args)
    nodes, types = node_list(session.current), metadata_types(session.current)
    received.clear()

    run = session.run_pass(name, args)

    assert run.ok, run.error
    assert args == given, "the caller's pass_args changed"
    (call,) = [c for c in received if c[0] == name]
    _, before, after = call
    assert after == before, "the pass changed the pass_args dict it was given"
    # info is plain data: strict JSON (no default=, no NaN) takes it and gives it back equal
    assert json.loads(json.dumps(run.info, allow_nan=False)) == json.loads(json.dumps(run.info))
    if spec.kind == "analysis":
        assert node_list(session.current) == nodes
        now = metadata_types(session.current)
        # analysis passes may add metadata (statistics, software slots) or, for
        # init_metadata, reset it; a path present before and after keeps its type
        changed = {p: (types[p], now[p]) for p in types.keys() & now.keys() if types[p] != now[p]}
        assert changed == {}
    if spec.kind == "transform":
        assert node_list(session.original) == node_list(loaded.original)
