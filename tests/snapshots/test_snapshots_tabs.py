"""SVG snapshots of the Compare, Passes and Costs tabs (pytest-textual-snapshot, Textual 8.2.8).

Deterministic: fixed terminal size, jsc-toy on synthetic data, every worker awaited, toasts
cleared, no blinking cursors, run times shown as fixed text. The node tree and the details pane
are hidden (`t`, `d`): these pictures are about the tabs, and stay the same when the shell's
panes change.
Update after a reviewed change with: pytest tests/snapshots/test_snapshots_tabs.py --snapshot-update
"""

from __future__ import annotations

import pytest
from textual.worker import WorkerCancelled

from core.config import dumps_toml
from core.session import Session
from mase_tui.app import MaseTuiApp

SIZE = (120, 36)
LAB_CONFIG = {
    "by": "type",
    "default": {"config": {"name": None}},
    "linear": {"config": {"name": "integer", "data_in_width": 8, "data_in_frac_width": 4,
                          "weight_width": 8, "weight_frac_width": 4, "bias_width": 8, "bias_frac_width": 4}},
}


@pytest.fixture(autouse=True)
def _environment(monkeypatch, tmp_path):
    monkeypatch.delenv("MASE_TUI_JSC_PATH", raising=False)
    monkeypatch.delenv("MASE_TUI_THEME", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # no saved tree/details split
    monkeypatch.setenv("MASE_TUI_KEYS", str(tmp_path / "no-keys.toml"))


def app() -> MaseTuiApp:
    return MaseTuiApp(Session("jsc-toy"))


async def settle(pilot) -> None:
    a = pilot.app
    for _ in range(400):
        try:
            await a.workers.wait_for_complete()
        except WorkerCancelled:  # replaced by a newer worker of its exclusive group
            pass
        await pilot.pause()
        if getattr(a, "ready", True) and all(w.is_finished for w in a.workers):
            break


async def ready(pilot):
    await settle(pilot)
    a = pilot.app
    a.query_one("#filter").cursor_blink = False
    a.query_one("#pass-args").cursor_blink = False
    runner = a.query_one("#pass-runner")
    runner.clock = lambda: "12:00:00"
    runner.took = lambda seconds: "0.01s"
    a.query_one("#main").add_class("hide-tree", "hide-details")  # at any size
    await pilot.pause()
    return runner


async def quiet(pilot) -> None:
    await settle(pilot)
    pilot.app.clear_notifications()
    await pilot.pause()


async def quantise(pilot, runner) -> None:
    runner.select_pass("quantize_transform_pass")
    runner.set_args_text(dumps_toml(LAB_CONFIG))
    runner.action_run_pass()
    await settle(pilot)


def test_compare_after_quantisation(snap_compare):
    async def run_before(pilot):
        runner = await ready(pilot)
        await quantise(pilot, runner)
        await pilot.press("2")
        pilot.app.query_one("#compare-table").focus()
        await pilot.press("right_square_bracket", "right_square_bracket")  # seq_blocks_5
        await quiet(pilot)

    assert snap_compare(app(), terminal_size=SIZE, run_before=run_before)


def test_passes_tab_toml_editor(snap_compare):
    async def run_before(pilot):
        runner = await ready(pilot)
        await pilot.press("3")
        runner.select_pass("quantize_transform_pass")
        pilot.app.query_one("#pass-args").focus()
        await quiet(pilot)

    assert snap_compare(app(), terminal_size=SIZE, run_before=run_before)


def test_costs_after_quantisation(snap_compare):
    async def run_before(pilot):
        runner = await ready(pilot)
        await quantise(pilot, runner)
        await pilot.press("4")
        pilot.app.query_one("#costs-table").focus()
        await pilot.press("s", "s")  # sorted by current BitOPs
        await quiet(pilot)

    assert snap_compare(app(), terminal_size=SIZE, run_before=run_before)


def test_pass_result_node_types(snap_compare):
    async def run_before(pilot):
        runner = await ready(pilot)
        await pilot.press("3")
        runner.select_pass("report_node_type_analysis_pass")
        runner.action_run_pass()
        await settle(pilot)
        pilot.app.query_one("#pass-list").focus()
        await quiet(pilot)

    assert snap_compare(app(), terminal_size=SIZE, run_before=run_before)


def test_compare_at_80x24(snap_compare):
    async def run_before(pilot):
        runner = await ready(pilot)
        await quantise(pilot, runner)
        await pilot.press("2")
        pilot.app.query_one("#compare-table").focus()
        await pilot.press("right_square_bracket")
        await quiet(pilot)

    assert snap_compare(app(), terminal_size=(80, 24), run_before=run_before)
