"""Pilot tests of the Compare, Passes and Costs tabs, driven as a user would over jsc-toy."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import torch
from textual.widgets import DataTable, OptionList, TextArea
from textual.widgets._progress_bar import PercentageStatus

import mase_tui.app
from core.config import dumps_toml
from core.session import Session
from mase_tui.app import MaseTuiApp
from mase_tui.widgets.compare import CompareView
from mase_tui.widgets.costs import CostsView
from mase_tui.widgets.pass_runner import PassRunner
from tests.pilot import settle

SIZE = (120, 36)
LAB_CONFIG = {
    "by": "type",
    "default": {"config": {"name": None}},
    "linear": {"config": {"name": "integer", "data_in_width": 8, "data_in_frac_width": 4,
                          "weight_width": 8, "weight_frac_width": 4, "bias_width": 8, "bias_frac_width": 4}},
}
JSC_TOY_LINEARS = ["seq_blocks_2", "seq_blocks_5", "seq_blocks_8"]


@pytest.fixture
def session():
    return Session("jsc-toy")  # the app loads it in its worker


class RecordingApp(MaseTuiApp):
    """The app, plus a record of NodeFocused and PassFinished (Textual also runs the base
    class's handlers, so the app behaves as usual)."""

    CSS_PATH = str(Path(mase_tui.app.__file__).with_name("app.tcss"))  # relative paths follow the subclass

    def __init__(self, session) -> None:
        super().__init__(session)
        self.node_focus_log: list[tuple[str, str]] = []
        self.finished: list = []

    def on_node_focused(self, message) -> None:
        self.node_focus_log.append((message.name, message.source))

    def on_pass_finished(self, message) -> None:
        self.finished.append(message.run)


def make_app(session) -> RecordingApp:
    return RecordingApp(session)


async def focus(app, pilot, selector: str) -> None:
    """Move the focus with tab, as a user without a mouse does."""
    target = app.query_one(selector)
    for _ in range(12):
        if app.focused is target:
            return
        await pilot.press("tab")
    raise AssertionError(f"tab never reached {selector}; focus is on {app.focused}")


async def choose_pass(app, pilot, name: str) -> PassRunner:
    """Open the Passes tab and move the pass list's cursor to ``name`` with the arrow keys."""
    await pilot.press("3")
    await pilot.pause()
    runner = app.query_one(PassRunner)
    options = app.query_one("#pass-list", OptionList)
    await focus(app, pilot, "#pass-list")
    target = [options.get_option_at_index(i).id for i in range(options.option_count)].index(name)
    while options.highlighted != target:
        await pilot.press("down" if (options.highlighted or 0) < target else "up")
    await pilot.pause()
    assert runner.selected == name
    return runner


async def type_args(app, pilot, text: str, *, paste: bool = False) -> None:
    """Replace the editor's text: key by key, or at once (a paste) where typing is not the point."""
    editor = app.query_one("#pass-args", TextArea)
    await focus(app, pilot, "#pass-args")
    editor.clear()
    await pilot.pause()
    if paste:
        editor.insert(text)
    else:
        await pilot.press(*[{"\n": "enter", " ": "space"}.get(ch, ch) for ch in text])
    assert editor.text.strip() == text.strip()


def plain(app, selector: str, width: int = 200) -> str:
    """The text a Static shows (rendered wide, so that lines do not wrap)."""
    from rich.console import Console

    widget = app.query_one(selector)
    console = Console(width=width, color_system=None, file=io.StringIO())
    with console.capture() as capture:
        console.print(widget.content)
    return capture.get()


def error_messages(app) -> list[str]:
    return [n.message for n in app._notifications if n.severity == "error"]


async def run_lab_quantize(app, pilot, *, paste: bool = False) -> None:
    await choose_pass(app, pilot, "quantize_transform_pass")
    await type_args(app, pilot, dumps_toml(LAB_CONFIG), paste=paste)
    await pilot.press("ctrl+r")
    await settle(app, pilot)
    await pilot.press("tab")  # leave the editor (keys typed there are text)
    await pilot.pause()


# ---------------------------------------------------------------------- the lab flow
async def test_lab_quantize_shows_three_changed_linears_and_bitops_drop(session):
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await run_lab_quantize(app, pilot)
        run = session.history[-1]
        assert run.name == "quantize_transform_pass" and run.ok and run.changed_graph
        assert [r.name for r in app.finished] == ["quantize_transform_pass"]

        # Compare: exactly the three linears changed, marked "~" in the gutter
        await pilot.press("2")
        await settle(app, pilot)
        assert app.query_one("#tabs").active == "tab-compare"
        compare = app.query_one(CompareView)
        assert compare.diff.changed_names() == JSC_TOY_LINEARS
        assert compare.diff.counts() == {"unchanged": 10, "changed": 3, "added": 0, "removed": 0}
        table = app.query_one("#compare-table", DataTable)
        marks = [table.get_row_at(i)[0].plain for i in range(table.row_count)]
        assert [table.get_row_at(i)[1].plain for i, m in enumerate(marks) if m == "~"] == JSC_TOY_LINEARS
        assert [table.get_row_at(i)[3].plain for i, m in enumerate(marks) if m == "~"] == ["LinearInteger"] * 3

        # ] and [ jump between the differences (wrapping), and each jump tells the other views
        await focus(app, pilot, "#compare-table")
        seen = []
        for _ in range(4):
            await pilot.press("right_square_bracket")
            await settle(app, pilot)
            seen.append(compare.current_name)
        assert seen == JSC_TOY_LINEARS + ["seq_blocks_2"]
        await pilot.press("left_square_bracket")
        await settle(app, pilot)
        assert compare.current_name == "seq_blocks_8"
        assert ("seq_blocks_8", "compare") == app.node_focus_log[-1]

        # the detail: precision before/after and the weight histogram with its error
        detail = plain(app, "#compare-detail-body")
        assert "module: Linear -> LinearInteger" in detail
        assert re.search(r"~\s+weight\s+float32\s+integer\[8,4\]", detail)
        assert re.search(r" \s+data_out_0\s+float32\s+float32", detail)
        w = session.current.model.get_submodule("seq_blocks.8").weight.detach()
        q = torch.clamp(torch.round(w * 16), -128, 127) / 16
        max_err = float((w - q).abs().max())
        sqnr = 10 * torch.log10((w.double() ** 2).sum() / ((w.double() - q.double()) ** 2).sum())
        assert f"max|err| {max_err:.3g}" in detail
        assert f"SQNR {float(sqnr):.1f} dB" in detail
        assert "float     │" in detail and "quantised │" in detail  # the two histograms

        # Costs: BitOPs per sample 237,568 -> 14,848; per batch of 8 x8
        await pilot.press("4")
        await settle(app, pilot)
        assert app.query_one("#tabs").active == "tab-costs"
        costs = app.query_one(CostsView)
        totals = costs.comparison["totals_per_sample"]["bitops"]
        assert (totals["a"], totals["b"]) == (237_568, 14_848)
        assert costs.info_a["totals_per_batch"]["bitops"] == 237_568 * 8
        shown = plain(app, "#costs-totals")
        sample, batch = shown.split("per batch of 8")
        assert "per sample" in sample and re.search(r"BitOPs\s+237,568\s+14,848\s+-222,720", sample)
        assert re.search(r"\s+BitOPs\s+1,900,544\s+118,784\s+-1,781,760", batch)  # x 8
        # parameter storage per model: 327 params x 32 bits = 1,308 bytes; quantised linears at 8 bits
        assert costs.info_a["totals_model"]["param_bytes"] == 1308
        assert costs.info_b["totals_model"]["param_bytes"] == 549


async def test_compare_follows_the_tree_and_posts_its_own_moves(session):
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("2")
        compare = app.query_one(CompareView)
        table = app.query_one("#compare-table", DataTable)
        assert app.focused is table  # a tab's number focuses its main widget
        app.tree.focus()  # back to the tree: Compare, shown, follows its cursor
        await pilot.pause()
        moved = []
        for _ in range(4):  # the tree's cursor moves; Compare follows when a node is highlighted
            await pilot.press("j")
            await pilot.pause()
            if app.current_node and app.current_node not in moved:
                moved.append(app.current_node)
                assert compare.current_name == app.current_node
                assert compare.diff.rows[table.cursor_row].name == app.current_node
        assert moved, "the tree never highlighted a node"
        compare.focus_node("seq_blocks_5")  # what the app calls for a tree highlight
        await pilot.pause()
        assert table.cursor_row == 6 and compare.current_name == "seq_blocks_5"
        assert [f for f in app.node_focus_log if f[1] == "compare"] == []  # following is silent
        await focus(app, pilot, "#compare-table")
        await pilot.press("down")
        await pilot.pause()
        assert app.node_focus_log[-1] == ("seq_blocks_6", "compare")
        assert app.current_node == "seq_blocks_6"  # the app followed: details and tree
        await pilot.press("right_square_bracket")  # no differences before any pass
        await pilot.pause()
        assert compare.current_name == "seq_blocks_6"


async def test_difference_keys_work_from_the_tree(session):
    """`]` pressed while the tree has focus opens Compare, jumps to the first changed node and
    the details follow it; `[` steps back (wrapping)."""
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await run_lab_quantize(app, pilot)
        await pilot.press("1")
        app.tree.focus()
        await settle(app, pilot)
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        compare = app.query_one(CompareView)
        assert app.query_one("#tabs").active == "tab-compare"
        assert compare.current_name == "seq_blocks_2"
        assert app.current_node == "seq_blocks_2"
        await pilot.press("left_square_bracket")
        await settle(app, pilot)
        assert compare.current_name == "seq_blocks_8" and app.current_node == "seq_blocks_8"


async def move_tree_to(app, pilot, name: str) -> None:
    """j on the node tree until ``name`` is highlighted."""
    app.tree.focus()
    await pilot.pause()
    for _ in range(40):
        if app.current_node == name:
            return
        await pilot.press("j")
        await pilot.pause()
    raise AssertionError(f"j never reached {name}; the tree is on {app.current_node}")


async def test_hidden_compare_catches_up_when_shown(session):
    """While its tab is hidden, Compare keeps the tree's node without moving its table (that
    costs a layout of the whole screen on every tree move); showing the tab, or `]` from the
    tree, starts from the tree's node."""
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await run_lab_quantize(app, pilot)  # seq_blocks_2, _5 and _8 differ
        await pilot.press("1")
        await settle(app, pilot)
        compare = app.query_one(CompareView)
        table = app.query_one("#compare-table", DataTable)
        before = (compare.current_name, table.cursor_row)
        await move_tree_to(app, pilot, "seq_blocks_3")
        assert (compare.current_name, table.cursor_row) == before  # hidden: not followed yet
        await pilot.press("2")
        assert compare.current_name == "seq_blocks_3"  # caught up on activation, before a frame
        assert compare.diff.rows[table.cursor_row].name == "seq_blocks_3"
        await pilot.pause()
        assert "seq_blocks_3" in plain(app, "#compare-detail-body")

        await pilot.press("1")
        await move_tree_to(app, pilot, "seq_blocks_3")
        await move_tree_to(app, pilot, "seq_blocks_4")
        await pilot.press("right_square_bracket")  # from the tree, Compare hidden
        await settle(app, pilot)
        assert app.query_one("#tabs").active == "tab-compare"
        assert compare.current_name == "seq_blocks_5" and app.current_node == "seq_blocks_5"


async def test_costs_sort_cycles_and_module_view(session):
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("4")
        await pilot.pause()
        costs = app.query_one(CostsView)
        await focus(app, pilot, "#costs-table")
        assert [r["name"] for r in costs.current_rows()][:3] == ["x", "seq_blocks_0", "seq_blocks_1"]
        await pilot.press("s")  # FLOPs per sample, biggest first
        assert costs.sort_key == "flops_total"
        top = costs.current_rows()[0]
        assert (top["name"], top["flops_total"]) == ("seq_blocks_2", 264)  # 2 x 128 MACs + 8 bias adds
        table = app.query_one("#costs-table", DataTable)
        shown = [table.get_row_at(i)[1].plain.strip() for i in range(4)]
        assert shown == ["seq_blocks_2", "seq_blocks_5", "seq_blocks_8", "seq_blocks_0"]  # 264, 136, 85, 32
        await pilot.press("s")
        assert costs.sort_key == "bitops_b"
        assert [r["bitops_b"] for r in costs.current_rows()[:3]] == [131_072, 65_536, 40_960]
        await pilot.press("m")
        assert costs.by_module
        rows = costs.current_rows()
        assert rows[0]["name"].strip() == "seq_blocks" and rows[0]["bitops_b"] == 237_568
        assert table.row_count == 12  # seq_blocks and its 11 children
        assert table.get_row_at(0)[1].plain.strip() == "seq_blocks"  # still sorted by BitOPs now


# ---------------------------------------------------------------------- errors and cancel
async def test_toml_syntax_error_is_reported_with_its_line(session):
    app = make_app(session)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(app, pilot)
        await choose_pass(app, pilot, "quantize_transform_pass")
        # typed: q, y, e, n, x, R and o are text in the editor, not the app's keys
        await type_args(app, pilot, 'by = "type"  # quit? yes, Rx or no\n[linear.config\nname = "integer"')
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        errors = error_messages(app)
        assert len(errors) == 1 and "malformed TOML" in errors[0] and "line 2" in errors[0]
        assert session.history == []  # nothing ran
        assert app.is_running
        toasts = app.screen.query("Toast")
        assert any("malformed TOML" in str(t.render()) for t in toasts)


async def test_unknown_quantiser_leaves_graph_unchanged(session):
    app = make_app(session)
    broken = {"by": "type", "linear": {"config": {**LAB_CONFIG["linear"]["config"], "name": "integr"}}}
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(app, pilot)
        before = session.current
        await choose_pass(app, pilot, "quantize_transform_pass")
        await type_args(app, pilot, dumps_toml(broken), paste=True)
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        errors = error_messages(app)
        assert len(errors) == 1 and "unknown quantiser 'integr'" in errors[0] and "integer" in errors[0]
        # quantize's own validation ran before the pass: nothing ran, the graph is as it was
        assert session.history == [] and session.current is before
        assert "unknown quantiser 'integr'" in plain(app, "#pass-status")
        # a problem only the graph shows (no such node) is also caught before running
        by_name = {"by": "name", "seq_blocks_99": {"config": LAB_CONFIG["linear"]["config"]}}
        await type_args(app, pilot, dumps_toml(by_name), paste=True)
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        errors = error_messages(app)
        assert len(errors) == 2 and "no node named 'seq_blocks_99'" in errors[1]
        assert session.history == [] and session.current is before
        # the app keeps working: the lab config runs after the error
        await type_args(app, pilot, dumps_toml(LAB_CONFIG), paste=True)
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert session.history[-1].ok and session.is_transformed


async def errors_running(session, name: str, text: str, paste: bool = False) -> list[str]:
    """Choose pass ``name`` in the Passes tab, type ``text`` as its arguments, press ctrl+r:
    the error notifications."""
    app = make_app(session)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(app, pilot)
        await choose_pass(app, pilot, name)
        await type_args(app, pilot, text, paste=paste)
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        return error_messages(app)


async def test_unknown_argument_for_fixed_pass(session):
    errors = await errors_running(session, "cost_analysis_pass", "batchsize = 4")
    assert len(errors) == 1 and "unknown argument(s) batchsize" in errors[0]
    assert "did you mean 'batch_size'" in errors[0]
    assert session.history == []


async def test_misspelt_statistic_is_refused_before_the_pass_runs(session):
    errors = await errors_running(session, "profile_statistics_analysis_pass",
                                  "[activation_statistics.range_quantil]\nquantile = 0.97\n", paste=True)
    assert len(errors) == 1 and "unknown statistic 'range_quantil'" in errors[0]
    assert "did you mean 'range_quantile'" in errors[0]
    assert session.history == []


async def test_broken_config_file_from_picker(session, tmp_path, monkeypatch):
    (tmp_path / "configs" / "broken").mkdir(parents=True)
    (tmp_path / "configs" / "broken" / "bad_syntax.toml").write_text('model = "jsc-toy"\n[passes.quantize\nby = "type"\n')
    (tmp_path / "configs" / "lab.toml").write_text('model = "jsc-toy"\n' + dumps_toml({"passes": {"quantize": LAB_CONFIG}}))
    monkeypatch.chdir(tmp_path)
    app = make_app(session)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(app, pilot)
        runner = await choose_pass(app, pilot, "quantize_transform_pass")
        await pilot.press("o")
        await pilot.pause()
        picker = app.screen.query_one("#config-list", OptionList)
        labels = [str(picker.get_option_at_index(i).prompt) for i in range(picker.option_count)]
        assert labels == ["broken/bad_syntax.toml", "lab.toml"]
        await pilot.press("enter")  # the first: bad syntax
        await pilot.pause()
        errors = error_messages(app)
        assert len(errors) == 1 and "malformed TOML" in errors[0] and "line 2" in errors[0]
        assert app.is_running
        # the good one loads the [passes.quantize] table into the editor and runs
        await pilot.press("o")
        await pilot.pause()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert "[passes.quantize]" in app.query_one("#pass-args", TextArea).text
        assert runner.selected == "quantize_transform_pass"
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert session.history[-1].ok
        assert app.query_one(CompareView).diff.changed_names() == JSC_TOY_LINEARS


async def test_reset_asks_first_and_restores_the_original(session):
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await run_lab_quantize(app, pilot, paste=True)
        assert session.is_transformed
        await focus(app, pilot, "#pass-list")
        await pilot.press("R")
        await pilot.pause()
        await pilot.press("n")  # keep
        await pilot.pause()
        assert session.history[-1].name == "quantize_transform_pass"
        await pilot.press("R")
        await pilot.pause()
        await pilot.press("y")
        await settle(app, pilot)
        assert session.history[-1].name == "reset"
        assert app.query_one(CompareView).diff.changed_names() == []
        assert app.query_one(CostsView).comparison["totals_per_sample"]["bitops"]["b"] == 237_568


async def test_cancel_a_long_pass_keeps_the_graph(session):
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        graph = session.current
        code = graph.model.code
        runner = await choose_pass(app, pilot, "profile_statistics_analysis_pass")
        text = app.query_one("#pass-args", TextArea).text
        assert "num_samples = 32" in text  # the registry's default
        await type_args(app, pilot, text.replace("num_samples = 32", "num_samples = 1000000000"), paste=True)
        await pilot.press("ctrl+r")
        bar = app.query_one("#pass-progress")
        try:
            for _ in range(400):  # until the first batches are reported (the pass runs until cancelled)
                await pilot.pause(0.05)
                if bar.progress:
                    break
            assert runner.running == "profile_statistics_analysis_pass"
            assert bar.total == 1_000_000_000 and 0 < bar.progress < bar.total
            percentage = bar.query_one(PercentageStatus)  # the bar leaves it room (not clipped)
            assert percentage.region.width and bar.region.contains_region(percentage.region)
            # the status stays on its one line: more than its first word shows beside the bar
            status = app.query_one("#pass-status")
            shown = "".join(seg.text for seg in status.render_line(0)).strip()
            assert shown.startswith("running profile_stat"), shown
            await pilot.press("tab")  # out of the editor, where x is a letter
            await pilot.press("x")
        finally:
            if runner.cancel_event is not None:
                runner.cancel_event.set()  # never leave a runaway worker behind
        await settle(app, pilot)
        run = session.history[-1]
        assert run.name == "profile_statistics_analysis_pass"
        assert not run.ok and "cancelled" in run.error
        assert runner.run_status(run) == "cancelled" and runner.running is None
        assert "cancelled" in plain(app, "#pass-history")
        # the graph is the same object, with the same code and no statistics written
        assert session.current is graph and graph.model.code == code
        for node in graph.nodes:
            for entry in node.meta["mase"].parameters["software"].get("args", {}).values():
                assert entry.get("stat") in (None, {})
        assert not any(n.severity == "error" for n in app._notifications)  # a cancel is not an error


def _accuracy_oracle(model, loader, batches: int) -> tuple[int, int]:
    correct = seen = 0
    model.eval()
    with torch.no_grad():
        for i, (x, y) in enumerate(loader):
            if i == batches:
                break
            correct += int((model(x).argmax(dim=1) == y).sum())
            seen += len(y)
    return correct, seen


async def test_accuracy_before_and_after_quantisation(session):
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await run_lab_quantize(app, pilot, paste=True)
        await pilot.press("4")
        costs = app.query_one(CostsView)
        costs.max_batches = 2  # the first 2 evaluation batches (the session batches by memory)
        await focus(app, pilot, "#costs-table")
        await pilot.press("a")
        await settle(app, pilot)
        batch = session.eval_batch_size()
        assert batch == 1024  # 16 features a sample: 1024 rows an evaluation batch
        loader = session.datamodule.dataloader("test", shuffle=False, batch_size=batch)
        ok_a, n = _accuracy_oracle(session.original.model, loader, 2)
        ok_b, n_b = _accuracy_oracle(session.current.model, loader, 2)
        assert n == n_b == 2048
        assert costs.accuracy["original"]["accuracy"] == pytest.approx(ok_a / n)
        assert costs.accuracy["current"]["accuracy"] == pytest.approx(ok_b / n)
        shown = plain(app, "#costs-accuracy")
        assert f"original {100 * ok_a / n:.2f}%" in shown and f"current {100 * ok_b / n:.2f}%" in shown
        assert "2048 samples" in shown and shown.count("synthetic") == 2  # "jsc-synthetic (synthetic)", once


# ---------------------------------------------------------------------- helpers without a terminal
def test_quant_error_by_hand():
    import math

    from mase_tui.widgets.histogram import quant_error

    err = quant_error([1.0, 2.0, 3.0], [1.0, 2.0, 2.0])
    assert (err.count, err.max_abs_error) == (3, 1.0)
    assert err.mean_abs_error == pytest.approx(1 / 3)
    assert err.sqnr_db == pytest.approx(10 * math.log10(14.0))  # (1 + 4 + 9) / 1
    assert err.describe() == "max|err| 1  mean|err| 0.333  SQNR 11.5 dB"
    assert math.isinf(quant_error([0.5, -0.25], [0.5, -0.25]).sqnr_db)


def test_histogram_bars_by_hand():
    from mase_tui.widgets.histogram import bar_rows, bin_counts, compare_histogram

    assert bin_counts([0.0, 0.5, 1.0], 0.0, 1.0, 2) == [1, 2]
    assert bar_rows([0, 4, 8], 1) == [" ▄█"]
    assert bar_rows([1, 2], 2) == [" █", "██"]
    lines = compare_histogram(torch.linspace(-1, 1, 101), torch.round(torch.linspace(-1, 1, 101) * 4) / 4,
                              width=80, height=3)
    assert len(lines) == 7 and all(len(line) <= 80 for line in lines)
    assert lines[0].startswith("float     │") and lines[3].startswith("quantised │")
    assert lines[-1].split("└")[1].startswith("-1") and lines[-1].rstrip().endswith("1")
    # 9 grid points 0.25 apart: the two ends hold 7 of the 101 values, the others 12 or 13
    assert "13/bin" in lines[4] and lines[4].endswith("▅")  # 7/13 of 3 rows: 5/8 of the middle row


def test_pass_args_from_a_mase_config():
    from core.errors import ConfigError
    from mase_tui.widgets.config_picker import pass_args_from_config

    config = {"model": "jsc-toy", "passes": {"quantize": LAB_CONFIG, "report_graph": {}}}
    assert pass_args_from_config(config, "quantize_transform_pass") == (
        "quantize_transform_pass", LAB_CONFIG, "[passes.quantize]")
    name, args, note = pass_args_from_config(config, "cost_analysis_pass")
    # says what was loaded (the quantize table), not what the file lacks
    assert (name, args, note) == ("quantize_transform_pass", LAB_CONFIG, "[passes.quantize]")
    assert pass_args_from_config({"batch_size": 4}, "cost_analysis_pass")[1] == {"batch_size": 4}
    with pytest.raises(ConfigError, match="unknown pass 'quantise'"):
        pass_args_from_config({"passes": {"quantise": {}}}, "cost_analysis_pass")


def test_editor_defaults_round_trip_for_every_pass():
    from core.passes import PASSES
    from mase_tui.widgets.pass_runner import args_to_toml, parse_pass_args

    for name, spec in PASSES.items():
        defaults = spec.editable_defaults()
        assert "dummy_in" not in defaults and "input_generator" not in defaults
        assert parse_pass_args(spec, args_to_toml(spec, defaults)) == defaults, name


async def test_a_click_picks_a_pass_and_a_second_click_runs_it(session):
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("3")
        await pilot.pause()
        runner = app.query_one(PassRunner)
        options = app.query_one("#pass-list", OptionList)
        names = [options.get_option_at_index(i).id for i in range(options.option_count)]
        row = names.index("report_node_type_analysis_pass") - int(options.scroll_offset.y)
        if not 0 <= row < options.size.height:
            options.scroll_to(y=names.index("report_node_type_analysis_pass"), animate=False)
            await pilot.pause()
            row = names.index("report_node_type_analysis_pass") - int(options.scroll_offset.y)
        assert await pilot.click("#pass-list", offset=(2, row))
        await pilot.pause()
        assert runner.selected == "report_node_type_analysis_pass"
        assert session.history == []  # picked, not run
        assert await pilot.click("#pass-list", offset=(2, row))
        await settle(app, pilot)
        assert [r.name for r in session.history] == ["report_node_type_analysis_pass"]
        assert "Node types" in plain(app, "#pass-result-body")
