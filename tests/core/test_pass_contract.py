"""DESIGN.md's pass contract, for every registered pass, proved against its declaration.

- The declaration read from the source (how the registry lists passes without torch) is the one
  the decorator builds at import time, and the function takes MASE's (graph, pass_args).
- Every argument it declares is one the pass reads; a key it does not declare is rejected with
  a did-you-mean before anything changes; its renderer exists.
- Run on jsc-toy through a Session with all its declared defaults (outputs under tmp): info is
  strict-JSON plain data, neither the caller's pass_args nor the dict the pass receives is
  mutated, and the graph that was published before the run is exactly as it was (nodes, module
  state, metadata values). Passes that declare neither changes_graph nor writes_metadata leave
  the session's graph in place; the others give a new one with the same nodes (metadata
  writers) or report the change (transforms). A failing pass changes nothing.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import json
import re
from pathlib import Path
from typing import Any

import pytest
import torch

from core.config import load_config
from core.errors import ConfigError
from core.passes import PASSES
from core.passes.schema import declaration_of
from core.session import Session
from core.utils.plain import to_plain
from mase_tui.render import RENDERERS

REPO = Path(__file__).resolve().parents[2]
LAB_CONFIG = REPO / "configs" / "examples" / "jsc_toy_by_type.toml"
QUANTIZE = "quantize_transform_pass"
SAVE = "save_mase_graph_interface_pass"
LOAD = "load_mase_graph_interface_pass"
# What must have happened before a pass has something to work on.
NEEDS_QUANTISED = {"summarize_quantization_analysis_pass", "verify_quantization_analysis_pass"}


def lab_quantize_args() -> dict[str, Any]:
    (entry,) = [e for e in load_config(LAB_CONFIG).passes if e.name == QUANTIZE]
    return entry.args


def declared_args(name: str, tmp: Path) -> dict[str, Any]:
    """Every argument the user types, at its declared default; declared output paths under tmp."""
    spec = PASSES[name]
    args = spec.editable_defaults()
    for key, default in spec.output_args.items():
        args[key] = str(tmp / default)
    if name == QUANTIZE:
        args = lab_quantize_args()
    if name == LOAD:
        args["load_dir"] = str(tmp / "before_load")
    return args


def node_list(graph) -> list[tuple]:
    return [(n.name, n.op, str(n.target), repr(n.args), repr(n.kwargs)) for n in graph.fx_graph.nodes]


def module_state(graph) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in graph.model.state_dict().items()}


def metadata(graph) -> str:
    per_node = {n.name: to_plain(n.meta["mase"].parameters) if n.meta.get("mase") is not None else None
                for n in graph.fx_graph.nodes}
    return json.dumps(per_node, sort_keys=True, default=str)


def fingerprint(graph) -> tuple:
    return node_list(graph), metadata(graph)


def same_state(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


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
    keeps the cases cheap)."""
    session = copy.copy(loaded)
    session.original = loaded.original.copy()
    session.current = loaded.original.copy()
    session.history = []
    return session


def prepare(session: Session, name: str, tmp: Path) -> None:
    if name in NEEDS_QUANTISED:
        assert session.run_pass(QUANTIZE, lab_quantize_args()).ok
    if name == LOAD:
        assert session.run_pass(SAVE, {"save_dir": str(tmp / "before_load")}).ok


# ------------------------------------------------------------------ the declaration itself
@pytest.mark.parametrize("name", list(PASSES))
def test_declaration_matches_the_function(name):
    spec = PASSES[name]
    fn = spec.fn
    assert declaration_of(fn) == spec, "the source declaration and the import-time one differ"
    params = list(inspect.signature(fn.__wrapped__).parameters)
    assert params[:2] == ["graph", "pass_args"], params
    # every declared argument is read by the pass: its name is a string in the module's code
    code = _without_declarations(inspect.getsource(importlib.import_module(spec.module)))
    for arg in spec.args:
        if "ignored" in arg.doc or (spec.free_form and arg.doc.startswith("an entry")):
            continue  # declared so configs that give it are accepted; the doc says it is not used
        assert re.search(rf"[\"']{arg.name}[\"']", code), f"{arg.name} is declared but {spec.module} never reads it"
    assert spec.renderer in RENDERERS
    if spec.config_check:  # a check a config can run before any model loads: it must exist
        module, _, check = spec.config_check.rpartition(":")
        assert callable(getattr(importlib.import_module(module or spec.module), check))
    assert spec.kind != "transform" or spec.changes_graph, "a transform must say that it changes the graph"


def _without_declarations(source: str) -> str:
    return re.sub(r"^@mase_pass\((?:.|\n)*?^\)\n", "", source, flags=re.M)


@pytest.mark.parametrize("name", [n for n in PASSES if not PASSES[n].free_form])
def test_undeclared_arguments_are_rejected_before_anything_changes(name, loaded, tmp_path):
    session = fresh_session(loaded)
    spec = PASSES[name]
    first = next((a.name for a in spec.args if a.editable), None)
    typo = (first + "s") if first else "colour"
    before = fingerprint(session.current)
    run = session.run_pass(name, {typo: 1})
    assert not run.ok and f"unknown argument(s) {typo} for {name}" in run.error
    if first:
        assert f"did you mean '{first}'" in run.error
    assert fingerprint(session.current) == before
    with pytest.raises(ConfigError, match=re.escape(typo)):
        spec.fn(session.current, {typo: 1})


# ------------------------------------------------------------------ running it
@pytest.mark.parametrize("name", list(PASSES))
def test_pass_contract(name, loaded, received, tmp_path):
    session = fresh_session(loaded)
    spec = PASSES[name]
    prepare(session, name, tmp_path)
    args = declared_args(name, tmp_path)
    given = copy.deepcopy(args)
    published = session.current
    before, state = fingerprint(published), module_state(published)
    original = fingerprint(session.original)
    received.clear()

    run = session.run_pass(name, args)

    assert run.ok, run.error
    assert args == given, "the caller's pass_args changed"
    (call,) = [c for c in received if c[0] == name]
    _, seen_before, seen_after = call
    assert seen_after == seen_before, "the pass changed the pass_args dict it was given"
    # info is plain data: strict JSON (no default=, no NaN) takes it and gives it back equal
    assert json.loads(json.dumps(run.info, allow_nan=False)) == json.loads(json.dumps(run.info))
    # the graph published before the run is never touched, whatever the pass does
    assert fingerprint(published) == before and same_state(module_state(published), state)
    assert fingerprint(session.original) == original
    assert run.changed_graph == spec.changes_graph
    if not (spec.changes_graph or spec.writes_metadata):
        assert session.current is published
    elif spec.writes_metadata:
        assert session.current is not published
        assert node_list(session.current) == before[0]
        assert same_state(module_state(session.current), state)


@pytest.mark.parametrize("name,bad", [
    (QUANTIZE, {"by": "type", "linear": {"config": {"name": "intger"}}}),
    ("profile_statistics_analysis_pass", {"activation_statistics": {"range_quantil": {}}}),
    ("add_common_metadata_analysis_pass", {"dummy_in": {"nope": 1}}),
])
def test_a_failing_pass_changes_nothing(name, bad, loaded):
    session = fresh_session(loaded)
    published = session.current
    before, state = fingerprint(published), module_state(published)
    run = session.run_pass(name, bad)
    assert not run.ok and not run.changed_graph
    assert session.current is published and fingerprint(published) == before
    assert same_state(module_state(published), state)


def test_every_module_declaring_a_pass_is_in_the_builtin_index():
    from core.passes.registry import BUILTIN_MODULES

    declaring = set()
    for path in (REPO / "core").rglob("*.py"):
        if re.search(r"^@mase_pass\(", path.read_text(encoding="utf-8"), flags=re.M):
            declaring.add(".".join(path.relative_to(REPO).with_suffix("").parts))
    assert declaring == set(BUILTIN_MODULES)
    assert len(PASSES) >= 16 and all(PASSES[n].builtin for n in PASSES)
