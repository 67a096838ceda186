"""How the app is put together: one cost run per graph, panes wired through declared
interfaces, no private Textual API, process tuning that can be switched off."""

from __future__ import annotations

import gc
import re
import sys
from pathlib import Path

import pytest

import core.passes.analysis.cost as cost_module
from core.session import Session
from mase_tui.app import MaseTuiApp
from mase_tui.panes import FollowsCost, FollowsNode, FollowsPasses, OpensConfig, SessionView
from tests.helpers import LAB_ARGS
from tests.pilot import settle

SIZE = (120, 36)
PACKAGE = Path(__file__).resolve().parents[2] / "mase_tui"


@pytest.fixture(autouse=True)
def _no_user_files(monkeypatch, tmp_path):
    monkeypatch.delenv("MASE_TUI_JSC_PATH", raising=False)
    monkeypatch.delenv("MASE_TUI_NO_TUNING", raising=False)
    monkeypatch.setenv("MASE_TUI_KEYS", str(tmp_path / "no-keys.toml"))


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
        assert {p.id for p in app.panes_with(FollowsPasses)} == {"pass-runner", "search"}
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


async def test_no_paused_collection_while_a_worker_runs(monkeypatch):
    # a full collection holds the GIL: run while a pass runs, it stalled the pass's forwards
    import threading

    from mase_tui import tuning

    calls = []
    monkeypatch.setattr(tuning, "collect_and_freeze", lambda: calls.append("collected"))
    app = MaseTuiApp(Session("jsc-toy"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        release = threading.Event()
        worker = app.run_worker(release.wait, thread=True)
        try:
            await pilot.pause(0.05)
            app.tuning._last_move = 0.0  # the user paused long ago
            app.tuning._freeze_when_paused()
        finally:
            release.set()
        assert calls == []
        await worker.wait()
        app.tuning._freeze_when_paused()
        assert calls == ["collected"]


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


# ---------------------------------------------------------------------- items 6, 7, 10, 11, 12
async def test_failed_load_is_said_in_compare_and_costs_not_waiting_forever():
    app = MaseTuiApp(Session("no-such-model"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.pause()
        for selector in ("#compare-summary", "#costs-totals"):
            text = str(app.query_one(selector).render())
            assert "could not load no-such-model: unknown model 'no-such-model'" in text, selector
            assert "Waiting for the model" not in text and "start mase-tui again" in text


async def test_a_failing_background_task_is_reported_once_with_its_name():
    app = MaseTuiApp(Session("jsc-toy"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)

        def broken() -> None:
            raise RuntimeError("disk on fire")

        app.run_worker(broken, thread=True, exit_on_error=False, description="writing the report")
        await settle(app, pilot)
        assert app.is_running
        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert errors == ["writing the report failed: RuntimeError: disk on fire\n(ctrl+k dismisses)"]
        await pilot.press("ctrl+k")
        await pilot.pause()
        assert not [n for n in app._notifications if n.severity == "error"]


async def test_number_key_focuses_the_tab_so_its_keys_work_and_show():
    app = MaseTuiApp(Session("jsc-toy"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.tree.has_focus
        await pilot.press("3")
        await pilot.pause()
        assert app.focused is app.query_one("#pass-list")
        footer_keys = {b.binding.id for b in app.active_bindings.values() if b.binding.show}
        assert {"passes.run", "passes.open-config", "passes.reset", "passes.cancel"} <= footer_keys
        await pilot.press("4")
        await pilot.pause()
        assert app.focused is app.query_one("#costs-table")
        await pilot.press("1")
        assert app.focused is app.query_one("#graph-overview")


async def test_config_opens_the_passes_tab_and_says_what_was_loaded(tmp_path):
    config = tmp_path / "lab.toml"
    config.write_text((PACKAGE.parent / "configs" / "examples" / "jsc_toy_by_type.toml").read_text())
    app = MaseTuiApp(Session("jsc-toy"), config_path=str(config))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.pause()
        assert app.query_one("#tabs").active == "tab-passes"
        assert app.focused is app.query_one("#pass-list")
        status = str(app.query_one("#pass-status").render())
        assert "loaded [passes.quantize] of lab.toml into quantize" in status
        assert "has no table" not in status


async def test_a_successful_pass_clears_an_earlier_error():
    from mase_tui.widgets.pass_runner import PassRunner

    app = MaseTuiApp(Session("jsc-toy"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("3")
        runner = app.query_one(PassRunner)
        runner.select_pass("quantize_transform_pass")
        runner.set_args_text('by = "type"\n[linear.config]\nname = "integr"\n')
        runner.action_run_pass()
        await settle(app, pilot)
        assert [n for n in app._notifications if n.severity == "error"]
        runner.select_pass("report_graph_analysis_pass")
        runner.action_run_pass()
        await settle(app, pilot)
        assert app.session.history[-1].ok
        assert not [n for n in app._notifications if n.severity == "error"]


async def test_difference_keys_have_one_id_remappable_from_anywhere(tmp_path, monkeypatch):
    from mase_tui.keymap import all_bindings

    keys = tmp_path / "keys.toml"
    keys.write_text('[keys]\ncompare.next-difference = "full_stop"\n')
    monkeypatch.setenv("MASE_TUI_KEYS", str(keys))
    session = Session("jsc-toy")
    app = MaseTuiApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        ids = [b.binding_id for b in all_bindings(app) if b.action.startswith(("compare_step", "next_difference"))]
        assert sorted(ids) == ["compare.next-difference", "compare.previous-difference"]  # once each
        run = session.run_pass("quantize_transform_pass", LAB_ARGS)
        from mase_tui.messages import GraphChanged

        app.post_message(GraphChanged(run.name))
        await settle(app, pilot)
        app.tree.focus()
        await pilot.press("full_stop")  # from the tree
        await settle(app, pilot)
        assert app.query_one("#tabs").active == "tab-compare"
        assert app.query_one("#compare").current_name == "seq_blocks_2"
        await pilot.press("full_stop")  # from inside the Compare table
        await settle(app, pilot)
        assert app.query_one("#compare").current_name == "seq_blocks_5"
        detail = app.query_one("#compare-detail")
        assert detail.scroll_y == 0


# ---------------------------------------------------------------------- item 15: explain in place
async def test_i_explains_the_nodes_opcode_and_mase_type_with_its_own_example():
    from mase_tui.widgets.explain_screen import ExplainScreen

    app = MaseTuiApp(Session("jsc-toy"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "j", "j", "j", "i")  # seq_blocks_2, a Linear
        await pilot.pause()
        assert isinstance(app.screen, ExplainScreen)
        text = " ".join(" ".join(str(p) for p in app.screen.renderables).split())
        assert "fx opcode call_module" in text and "target = seq_blocks.2 (Linear)" in text
        assert "MASE type module_related_func mase op linear" in text
        assert "Linear wraps a torch.nn.functional op (linear)" in text
        assert "matches the 'linear' entry and is quantised" in text
        await pilot.press("escape", "k", "k", "i")  # seq_blocks_0, a BatchNorm1d
        await pilot.pause()
        text = " ".join(" ".join(str(p) for p in app.screen.renderables).split())
        assert "MASE type module mase op batch_norm1d" in text
        assert "BatchNorm1d has no functional counterpart" in text
        assert "'default' applies, whose quantiser is NA: left in float" in text
        await pilot.press("escape", "g", "i")  # x, the placeholder
        await pilot.pause()
        text = " ".join(" ".join(str(p) for p in app.screen.renderables).split())
        assert "fx opcode placeholder an input of the traced forward()" in text


# ---------------------------------------------------------------------- item 8: 80x24
async def test_80x24_layout_full_width_tabs_visible_shapes_and_a_remembered_split(tmp_path, monkeypatch):
    import json

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    app = MaseTuiApp(Session("jsc-toy"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        left = app.query_one("#left")
        assert left.region.width == 40
        await pilot.press("j", "j", "j", "j")
        await pilot.pause()
        row = app.tree.render_line(app.tree.cursor_line - int(app.tree.scroll_y)).text
        assert "seq_blocks_2  linear [8,8]" in row  # op and shape, not cut
        for key, main in (("2", "#compare-table"), ("3", "#pass-args"), ("4", "#costs-table")):
            await pilot.press(key)
            await pilot.pause()
            assert left.region.width == 0 and app.query_one(main).region.width >= 78, key
        await pilot.press("1", "greater_than_sign", "greater_than_sign")
        await pilot.pause()
        assert left.region.width == 48
        saved = json.loads((tmp_path / "mase-tui" / "layout.json").read_text())
        assert saved == {"80x24": {"tree": 48}}
        await pilot.resize_terminal(120, 36)
        await pilot.pause()
        assert left.region.width == 30  # this size's own default (a quarter)
    app = MaseTuiApp(Session("jsc-toy"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.query_one("#left").region.width == 48


# ---------------------------------------------------------------------- item 9: complete exports
async def test_exports_hold_what_the_screen_shows(tmp_path, monkeypatch):
    import csv
    import json

    from mase_tui.messages import GraphChanged

    monkeypatch.chdir(tmp_path)
    session = Session("jsc-toy")
    app = MaseTuiApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        run = session.run_pass("quantize_transform_pass", LAB_ARGS)
        app.post_message(GraphChanged(run.name))
        await settle(app, pilot)
        await pilot.press("1", "e", "c")  # the nodes of the quantised graph
        await settle(app, pilot)
        costs = app.query_one("#costs")
        costs.max_batches = 1
        await pilot.press("4", "a")
        await settle(app, pilot)
        assert set(costs.accuracy) == {"original", "current"}
        await pilot.press("e", "c", "e", "j")
        await settle(app, pilot)
    nodes = {r["name"]: r for r in csv.DictReader((tmp_path / "mase-tui-jsc-toy-nodes.csv").open())}
    lin = nodes["seq_blocks_2"]
    assert lin["module_class"] == "LinearInteger"
    assert "weight integer[8,4]" in lin["precisions"] and "data_in_0 integer[8,4]" in lin["precisions"]
    assert nodes["seq_blocks_0"]["module_class"] == "BatchNorm1d"
    rows = {r["name"]: r for r in csv.DictReader((tmp_path / "mase-tui-jsc-toy-costs.csv").open())}
    # 128 MACs: 128 x 32 x 32 before, 128 x 8 x 8 after
    assert (rows["seq_blocks_2"]["bitops original"], rows["seq_blocks_2"]["bitops current"]) == ("131072", "8192")
    assert rows["seq_blocks_2"]["bitops delta"] == str(8192 - 131072) and rows["seq_blocks_2"]["status"] != "unchanged"
    doc = json.loads((tmp_path / "mase-tui-jsc-toy-costs.json").read_text())
    assert doc["meta"]["totals per sample"]["bitops"] == {"original": 237_568, "current": 14_848, "delta": -222_720}
    assert set(doc["meta"]["accuracy"]) == {"original", "current"}
    assert doc["meta"]["changed nodes"] == ["seq_blocks_2", "seq_blocks_5", "seq_blocks_8"]


# ---------------------------------------------------------------------- item 13: cosmetics
async def test_screenshot_draws_offline_and_reset_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    session = Session("jsc-toy")
    app = MaseTuiApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        session.run_pass("quantize_transform_pass", LAB_ARGS)
        session.reset()
        from mase_tui.messages import GraphChanged

        app.post_message(GraphChanged("reset"))
        await settle(app, pilot)
        assert "original (reset)" in str(app.query_one("#status").render())
        await pilot.press("ctrl+s")
        await pilot.pause()
    svg = next(tmp_path.glob("mase-tui-jsc-toy-*-1.svg")).read_text()
    assert 'src: local("FiraCode-Regular"), local("DejaVu Sans Mono")' in svg
    assert oct(next(tmp_path.glob("*.svg")).stat().st_mode & 0o777) in ("0o644", oct(0o666 & ~_umask()))


def _umask() -> int:
    from core.utils.atomic import current_umask

    return current_umask()


# ---------------------------------------------------------------------- item 14: ctrl+o
async def test_ctrl_o_opens_another_model_with_the_cli_checks_and_keeps_the_old_until_ready(tmp_path, monkeypatch):
    from mase_tui.widgets.open_model import OpenModelScreen

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    app = MaseTuiApp(Session("jsc-toy"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        old = app.session
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert isinstance(app.screen, OpenModelScreen)
        await pilot.press(*"resnet19", "enter")
        await pilot.pause()
        assert isinstance(app.screen, OpenModelScreen)  # the CLI's check, in place
        assert "unknown model 'resnet19' (did you mean 'resnet18'?" in str(app.screen.query_one("#open-error").render())
        app.screen.query_one("#open-model").value = ""
        await pilot.press(*"jsc-tiny", "enter")
        await pilot.pause()
        assert not isinstance(app.screen, OpenModelScreen)
        assert app.session is old or app.session.model_name == "jsc-tiny"  # the old one stays until ready
        await settle(app, pilot)
        await settle(app, pilot)
        assert app.session is not old and app.session.model_name == "jsc-tiny" and app.pending_session is None
        assert "jsc-tiny" in str(app.query_one("#status").render())
        names = [row.name for row in app.tree.rows]
        assert "seq_blocks_2" in names and "seq_blocks_5" not in names  # jsc-tiny: BN, ReLU, Linear, ReLU
        await pilot.press("4")
        await settle(app, pilot)
        # jsc-tiny: one Linear 16 -> 5, 80 MACs per sample, 80 x 32 x 32 BitOPs
        assert app.query_one("#costs").comparison["totals_per_sample"]["bitops"]["a"] == 80 * 32 * 32
    import json

    assert json.loads((tmp_path / "mase-tui" / "recent.json").read_text())[0] == {"model": "jsc-tiny", "dataset": None}


def _footer_ids(app) -> set[str]:
    return {b.binding.id for b in app.active_bindings.values() if b.binding.show and b.binding.id}


async def test_a_tabs_keys_work_and_show_with_the_focus_back_in_the_tree():
    app = MaseTuiApp(Session("jsc-toy"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("3")
        await pilot.pause()
        app.tree.focus()
        await pilot.pause()
        footer = _footer_ids(app)
        assert {"passes.run", "passes.open-config", "passes.reset", "passes.cancel"} <= footer
        assert not {"costs.sort", "costs.evaluate"} & footer  # another tab's keys are not offered
        runner = app.query_one("#pass-runner")
        runs = len(app.session.history)
        await pilot.press("ctrl+r")  # runs the selected pass although the tree has the focus
        await settle(app, pilot)
        assert len(app.session.history) == runs + 1
        assert app.session.history[-1].name == runner.selected
        await pilot.press("o")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfigPicker"
        await pilot.press("escape")
        await pilot.pause()
        # Costs: its keys from the tree too; the Passes keys are gone
        await pilot.press("4")
        await pilot.pause()
        app.tree.focus()
        await pilot.pause()
        footer = _footer_ids(app)
        assert {"costs.sort", "costs.toggle-modules", "costs.evaluate"} <= footer
        assert "passes.run" not in footer
        costs = app.query_one("#costs")
        assert costs.by_module is False
        await pilot.press("m")
        await pilot.pause()
        assert costs.by_module is True
        # Search: the same letters are its own keys there
        await pilot.press("5")
        await pilot.pause()
        app.tree.focus()
        await pilot.pause()
        footer = _footer_ids(app)
        assert {"search.start", "search.attach", "search.cancel", "search.apply"} <= footer
        assert not {"costs.sort", "costs.cancel-evaluation", "passes.cancel"} & footer
        # Graph tab: neither tab's keys
        await pilot.press("1")
        await pilot.pause()
        footer = _footer_ids(app)
        assert not {"passes.run", "costs.sort", "search.start"} & footer
        runs = len(app.session.history)
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert len(app.session.history) == runs


async def test_quit_is_not_offered_while_typing_in_the_pass_editor():
    app = MaseTuiApp(Session("jsc-toy"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "quit" in _footer_ids(app)
        await pilot.press("3")
        await pilot.pause()
        app.query_one("#pass-args").focus()
        await pilot.pause()
        assert "quit" not in _footer_ids(app)
        await pilot.press("q")  # typed into the editor
        await pilot.pause()
        assert app.is_running
        assert "q" in app.query_one("#pass-args").text
        await pilot.press("ctrl+q")  # still quits from the editor
        await pilot.pause()
        assert not app.is_running


async def test_80x24_passes_tab_gives_the_editor_eight_lines_and_keeps_result_and_history():
    app = MaseTuiApp(Session("jsc-toy"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("3")
        await pilot.pause()
        app.query_one("#pass-runner").select_pass("quantize_transform_pass")  # its description wraps
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        editor = app.query_one("#pass-args")
        assert editor.content_region.height >= 8  # lines of arguments visible at once
        result, history = app.query_one("#pass-result"), app.query_one("#pass-history")
        assert result.content_region.height >= 2 and history.content_region.height >= 3
        bottom = max(w.region.bottom for w in (editor, result, history))
        assert bottom <= 23  # all above the footer
