"""Session: runs, failures and rollback, reset, history, and published graphs that readers on
other threads can use without a lock while transforms and resets run."""

from __future__ import annotations

import sys
import threading
import time

import pytest
import torch

import core.passes.transforms.quantize as quantize_module
from core.ir.view import node_views
from core.passes import PASSES
from core.session import Session
from tests.helpers import LAB_ARGS

LINEARS = ["seq_blocks_2", "seq_blocks_5", "seq_blocks_8"]  # jsc-toy's three Linear layers


@pytest.fixture
def session() -> Session:
    return Session("jsc-toy").load()


def precision_of(graph, node: str, arg: str = "weight") -> str:
    view = next(v for v in node_views(graph) if v.name == node)
    return view.args[arg].label


def test_a_transform_publishes_a_new_graph_and_the_old_one_is_untouched(session):
    before = session.current
    run = session.run_pass("quantize_transform_pass", LAB_ARGS)
    assert run.ok and run.changed_graph and run.kind == "transform"
    assert session.current is not before
    assert [precision_of(session.current, n) for n in LINEARS] == ["integer[8,4]"] * 3
    # the graph readers held before the swap is exactly as it was
    assert [precision_of(before, n) for n in LINEARS] == ["float32"] * 3
    assert type(before.model.get_submodule("seq_blocks.2")).__name__ == "Linear"
    assert type(session.current.model.get_submodule("seq_blocks.2")).__name__ == "LinearInteger"
    assert session.is_transformed


def test_a_failing_transform_leaves_current_as_it_was_and_is_recorded(session, monkeypatch):
    before = session.current
    weight = before.model.get_submodule("seq_blocks.2").weight.detach().clone()

    def half_done_then_fails(graph, pass_args=None):
        # write into every corner of the graph it was given, then fail
        with torch.no_grad():
            graph.model.get_submodule("seq_blocks.2").weight.fill_(7.0)
        graph.node("seq_blocks_2").meta["mase"].parameters["common"]["mase_op"] = "broken"
        graph.node("seq_blocks_2").meta["mase"].parameters["common"]["args"]["weight"]["precision"] = [3, 1]
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(quantize_module, "quantize_transform_pass", half_done_then_fails)
    run = session.run_pass("quantize_transform_pass", LAB_ARGS)
    assert not run.ok and not run.changed_graph
    assert run.error == "quantize_transform_pass failed: RuntimeError: disk on fire"
    assert session.current is before
    assert torch.equal(before.model.get_submodule("seq_blocks.2").weight, weight)
    view = next(v for v in node_views(before) if v.name == "seq_blocks_2")
    assert (view.mase_op, view.args["weight"].label) == ("linear", "float32")
    assert session.history[-1] is run and not session.is_transformed


def test_a_bad_config_is_refused_and_recorded(session):
    before = session.current
    run = session.run_pass("quantize_transform_pass", {"by": "type", "linear": {"config": {"name": "nosuch"}}})
    assert not run.ok and "nosuch" in run.error
    assert session.current is before and session.history == [run]


def test_reset_and_history(session):
    args = {"by": "type", "default": {"config": {"name": None}},
            "linear": {"config": dict(LAB_ARGS["linear"]["config"])}}
    given = repr(args)
    session.run_pass("quantize_transform_pass", args)
    assert repr(args) == given  # the caller's args are not mutated
    session.run_pass("cost_analysis_pass")
    quantised = session.current
    session.reset()
    assert session.current is not session.original and session.current is not quantised
    assert [precision_of(session.current, n) for n in LINEARS] == ["float32"] * 3
    assert type(session.current.model.get_submodule("seq_blocks.2")).__name__ == "Linear"
    assert not session.is_transformed  # a reset undoes the transform
    names = [(r.name, r.kind, r.ok, r.changed_graph) for r in session.history]
    assert names == [("quantize_transform_pass", "transform", True, True),
                     ("cost_analysis_pass", "analysis", True, False),
                     ("reset", "session", True, True)]
    first = session.history[0]
    assert first.args == args and first.args is not args
    assert first.info["counts"]["quantized"] == 3 and first.seconds > 0
    # jsc-toy per sample: Linears 16x8 + 8x8 + 8x5 = 232 MACs, all at 8 x 8 bits: 232 x 64 BitOPs
    totals = session.history[1].info["totals_per_sample"]
    assert (totals["macs"], totals["bitops"]) == (232, 14_848)


def test_analysis_pass_that_writes_metadata_publishes_a_copy(session):
    before = session.current
    run = session.run_pass("profile_statistics_analysis_pass", {"num_samples": 8})
    assert run.ok and not run.changed_graph
    assert session.current is not before
    stats = {k for v in node_views(session.current) for k in v.statistics}
    assert ("weight", "variance_precise") in stats
    assert not any(v.statistics for v in node_views(before))  # the published graph got none
    # a pass that only reads keeps the very same graph (caches keyed on it stay valid)
    current = session.current
    assert session.run_pass("report_graph_analysis_pass").ok
    assert session.run_pass("cost_analysis_pass").ok
    assert session.current is current


def test_a_pass_that_needs_data_in_a_session_without_data_says_so(session):
    before = session.current
    session.datamodule = None
    run = session.run_pass("profile_statistics_analysis_pass")
    assert not run.ok
    assert run.error.startswith("this needs input data, but the session has no data set")
    assert "--dataset" in run.error
    assert session.current is before and session.history[-1] is run


def test_running_a_pass_before_loading_is_an_error():
    from core.errors import PassError

    with pytest.raises(PassError, match="no model yet"):
        Session("jsc-toy").run_pass("cost_analysis_pass")


# ---------------------------------------------------------------------- concurrency
def _complete(graph) -> str | None:
    """What is missing from a graph's metadata, or None when every node has all of it."""
    for view in node_views(graph):
        if not view.has_metadata or view.mase_op is None or view.mase_type is None:
            return f"{view.name}: no common metadata"
        if view.op != "output" and not view.results:
            return f"{view.name}: no results"
        for value in view.values:
            if value.is_tensor and (not value.type or value.precision is None):
                return f"{view.name}.{value.name}: no type or precision"
    return None


def test_readers_on_other_threads_see_complete_graphs_while_transforms_and_resets_run(session):
    cost = PASSES["cost_analysis_pass"].fn
    # single-threaded oracles: the totals of the float and of the quantised graph
    _, float_cost = cost(session.current, {})
    quantised, _ = PASSES["quantize_transform_pass"].fn(session.current.copy(), LAB_ARGS)
    _, int_cost = cost(quantised, {})
    expected = {False: float_cost["totals_per_sample"], True: int_cost["totals_per_sample"]}
    assert expected[False]["bitops"] != expected[True]["bitops"]

    stop = threading.Event()
    problems: list[str] = []
    reads = {"float": 0, "quantised": 0}
    writes = [0]

    def writer():
        try:
            while not stop.is_set():
                for name, args in (("quantize_transform_pass", LAB_ARGS), ("add_software_metadata_analysis_pass", None),
                                   ("quantize_transform_pass", {"by": "type", "linear": {"config": {"name": "nosuch"}}})):
                    run = session.run_pass(name, args)
                    if run.ok == ("nosuch" in repr(args)):
                        problems.append(f"{name}: ok={run.ok} {run.error}")
                session.reset()
                writes[0] += 1
        except Exception as exc:  # noqa: BLE001 - reported below
            problems.append(f"writer: {type(exc).__name__}: {exc}")

    def reader():
        try:
            while not stop.is_set():
                graph = session.current  # one reference, used throughout
                missing = _complete(graph)
                if missing:
                    problems.append(missing)
                is_quantised = any(v.first_quantised for v in node_views(graph))
                _, info = cost(graph, {})
                if info["totals_per_sample"] != expected[is_quantised]:
                    problems.append(f"cost {info['totals_per_sample']} != {expected[is_quantised]}")
                if _complete(graph):  # and nothing changed under the reader meanwhile
                    problems.append("metadata went missing during a read")
                reads["quantised" if is_quantised else "float"] += 1
        except Exception as exc:  # noqa: BLE001 - reported below
            problems.append(f"reader: {type(exc).__name__}: {exc}")

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, so reads land in the middle of writes
    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        time.sleep(3.0)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
        sys.setswitchinterval(interval)
    assert problems[:5] == []
    assert writes[0] >= 3 and reads["float"] >= 3 and reads["quantised"] >= 3, (writes, reads)


def test_a_meta_device_session_has_shapes_and_refuses_passes_that_need_data():
    session = Session("jsc-toy", device="meta").load()
    before = session.current
    assert next(v for v in node_views(before) if v.name == "seq_blocks_2").args["weight"].shape == (8, 16)
    for name in ("profile_statistics_analysis_pass", "verify_quantization_analysis_pass"):
        run = session.run_pass(name)
        assert not run.ok
        assert run.error.startswith(f"{name} needs real weights and real data, but the model is on the meta device")
    assert session.current is before
    # shapes are all the cost pass needs: Linears 16x8 + 8x8 + 8x5 = 232 MACs per sample
    assert session.run_pass("cost_analysis_pass").info["totals_per_sample"]["macs"] == 232
