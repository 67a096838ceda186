"""How the app is put together: one cost run per graph, panes wired through declared
interfaces, no private Textual API, process tuning that can be switched off."""

from __future__ import annotations

import gc
import re
import sys
from pathlib import Path

import pytest
from textual.worker import WorkerCancelled

import core.passes.analysis.cost as cost_module
from core.session import Session
from mase_tui.app import MaseTuiApp
from mase_tui.panes import FollowsCost, FollowsNode, FollowsPasses, OpensConfig, SessionView
from tests.helpers import LAB_ARGS

SIZE = (120, 36)
PACKAGE = Path(__file__).resolve().parents[2] / "mase_tui"


@pytest.fixture(autouse=True)
def _no_user_files(monkeypatch, tmp_path):
    monkeypatch.delenv("MASE_TUI_JSC_PATH", raising=False)
    monkeypatch.delenv("MASE_TUI_NO_TUNING", raising=False)
    monkeypatch.setenv("MASE_TUI_KEYS", str(tmp_path / "no-keys.toml"))


async def settle(app, pilot) -> None:
    for _ in range(400):
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:
            pass
        await pilot.pause()
        if (app.ready or app.load_error) and all(w.is_finished for w in app.workers):
            break


@pytest.fixture
def cost_runs(monkeypatch):
    """The graphs cost_analysis_pass ran on (the registry looks the function up on each call)."""
    graphs: list = []
    real = cost_module.cost_analysis_pass

    def counting(graph, pass_args=None, **kwargs):
        graphs.append(graph)
        return real(graph, pass_args, **kwargs)

    monkeypatch.setattr(cost_module, "cost_analysis_pass", counting)
    return graphs


async def test_cost_runs_once_per_graph_for_every_pane(cost_runs):
    from mase_tui.messages import GraphChanged

    session = Session("jsc-toy")
    app = MaseTuiApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        for key in ("4", "1", "2", "4"):  # every pane that shows costs has asked for them
            await pilot.press(key)
            await settle(app, pilot)
        # the original and the current graph (a copy of it), once each
        assert [g is session.original for g in cost_runs] in ([True, False], [False, True])
        assert app.query_one("#costs").comparison["totals_per_sample"]["bitops"]["a"] == 232 * 32 * 32
        run = session.run_pass("quantize_transform_pass", LAB_ARGS)
        app.post_message(GraphChanged(run.name))
        await settle(app, pilot)
        await pilot.press("1", "4")
        await settle(app, pilot)
        # one more run, on the new current graph; the three panes share it
        assert len(cost_runs) == 3 and cost_runs[-1] is session.current
        assert app.query_one("#costs").comparison["totals_per_sample"]["bitops"]["b"] == 14_848
        assert app.query_one("#graph-overview").data["cost"]["per_sample"]["bitops"] == 14_848


async def test_panes_declare_the_interfaces_the_app_routes_through():
    app = MaseTuiApp(Session("jsc-toy"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        by_id = {pane.id: pane for pane in app.panes()}
        assert set(by_id) == {"node-tree", "details", "graph-overview", "compare", "pass-runner", "costs",
                               "search"}
        assert all(isinstance(pane, SessionView) for pane in by_id.values())
        assert {p.id for p in app.panes_with(FollowsCost)} == {"details", "graph-overview", "costs"}
        assert {p.id for p in app.panes_with(FollowsNode)} == {"compare"}
        assert {p.id for p in app.panes_with(FollowsPasses)} == {"pass-runner"}
        assert {p.id for p in app.panes_with(OpensConfig)} == {"pass-runner"}


def _python_sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_private_textual_api():
    """Names Textual keeps private (an upgrade may change them without notice)."""
    private = re.compile(r"\._sender\b|\._exit\b|\._closing\b|\._closed\b|def _on_click\b|\._keymap\b"
                         r"|\._bindings\b|\._tree_lines\b|\._notifications\b|\._merge_bindings\b")
    found = [f"{path.relative_to(PACKAGE.parent)}:{n}: {line.strip()}"
             for path in _python_sources() for n, line in enumerate(path.read_text().splitlines(), 1)
             if private.search(line)]
    assert found == []


def test_panes_reach_the_app_without_duck_typing():
    """Panes use the declared AppHost (mase_tui.panes.host), not getattr/hasattr on the app."""
    pattern = re.compile(r"(getattr|hasattr)\(self\.app\b")
    found = [f"{path.name}:{n}" for path in _python_sources()
             for n, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert found == []


# ---------------------------------------------------------------------- process tuning
async def test_tuning_changes_the_interpreter_while_the_app_runs_and_undoes_it():
    before_interval, before_thresholds = sys.getswitchinterval(), gc.get_threshold()
    app = MaseTuiApp(Session("jsc-toy"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.tuning.active
        assert sys.getswitchinterval() == pytest.approx(0.001)
        assert gc.get_threshold() == (700, 10, 1000)
    assert sys.getswitchinterval() == pytest.approx(before_interval)
    assert gc.get_threshold() == before_thresholds


@pytest.mark.parametrize("how", ["env", "flag"])
async def test_no_tuning_leaves_the_interpreter_alone(monkeypatch, how):
    sys.setswitchinterval(0.004)
    gc.set_threshold(701, 11, 12)
    try:
        if how == "env":
            monkeypatch.setenv("MASE_TUI_NO_TUNING", "1")
            app = MaseTuiApp(Session("jsc-toy"))
        else:
            from mase_tui.cli import build_parser

            args = build_parser().parse_args(["inspect", "jsc-toy", "--no-tuning"])
            app = MaseTuiApp.from_args(args)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            assert app.ready and not app.tuning.active
            assert sys.getswitchinterval() == pytest.approx(0.004)
            assert gc.get_threshold() == (701, 11, 12)
            assert not gc.get_freeze_count()
    finally:
        sys.setswitchinterval(0.005)
        gc.set_threshold(700, 10, 10)


def test_no_tuning_flag_on_the_bare_command():
    from mase_tui.cli import build_parser

    assert build_parser().parse_args(["--no-tuning"]).no_tuning is True
    assert build_parser().parse_args(["inspect"]).no_tuning is False


# ---------------------------------------------------------------------- item 1: no stale details
async def test_details_follow_statistics_from_an_analysis_pass_run_in_the_passes_tab():
    from mase_tui.widgets.pass_runner import PassRunner

    app = MaseTuiApp(Session("jsc-toy"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "j", "j", "j")  # seq_blocks_2, the first Linear: its details are drawn
        await pilot.pause()
        assert app.tree.current_name() == "seq_blocks_2"
        assert "no statistics yet" in app.details.text
        await pilot.press("3")
        runner = app.query_one(PassRunner)
        runner.select_pass("profile_statistics_analysis_pass")
        runner.action_run_pass()
        await settle(app, pilot)
        assert app.session.history[-1].name == "profile_statistics_analysis_pass" and app.session.history[-1].ok
        await pilot.press("1")
        await pilot.pause()
        text = app.details.text
        assert "no statistics yet" not in text
        stat = app.session.current.node("seq_blocks_2").meta["mase"].parameters["software"]["args"]["weight"]["stat"]
        assert stat and all(name in text for name in stat)
