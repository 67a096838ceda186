"""SVG snapshots of every tab at 80x24, the size a student's SSH window has, after the lab's
quantisation of jsc-toy (pytest-textual-snapshot, Textual 8.2.8). The whole screen: tree,
tabs, status line and footer, as the user sees them.
Update after a reviewed change with: pytest tests/snapshots/test_snapshots_80x24.py --snapshot-update
"""

from __future__ import annotations

import pytest
from textual.worker import WorkerCancelled

from core.config import dumps_toml
from core.session import Session
from mase_tui.app import MaseTuiApp
from tests.helpers import LAB_ARGS

SIZE = (80, 24)


@pytest.fixture(autouse=True)
def _environment(monkeypatch, tmp_path):
    monkeypatch.delenv("MASE_TUI_JSC_PATH", raising=False)
    monkeypatch.delenv("MASE_TUI_THEME", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "keys.toml").write_text("[keys]\n")
    monkeypatch.setenv("MASE_TUI_KEYS", str(tmp_path / "keys.toml"))


async def settle(pilot) -> None:
    a = pilot.app
    for _ in range(400):
        try:
            await a.workers.wait_for_complete()
        except WorkerCancelled:
            pass
        await pilot.pause()
        if a.ready and all(w.is_finished for w in a.workers):
            break


async def quantised(pilot):
    """Loaded, the lab's quantisation run from the Passes tab, toasts cleared, fixed clock."""
    await settle(pilot)
    a = pilot.app
    a.query_one("#filter").cursor_blink = False
    a.query_one("#pass-args").cursor_blink = False
    runner = a.query_one("#pass-runner")
    runner.clock = lambda: "12:00:00"
    runner.took = lambda seconds: "0.01s"
    runner.select_pass("quantize_transform_pass")
    runner.set_args_text(dumps_toml(LAB_ARGS))
    runner.action_run_pass()
    await settle(pilot)
    return runner


async def quiet(pilot) -> None:
    await settle(pilot)
    pilot.app.clear_notifications()
    await pilot.pause()


def app() -> MaseTuiApp:
    return MaseTuiApp(Session("jsc-toy"))


def test_80x24_graph_tab_tree_with_ops_and_shapes(snap_compare):
    async def run_before(pilot):
        await quantised(pilot)
        await pilot.press("1")
        pilot.app.tree.focus()
        await pilot.press("j", "j", "j", "j")  # seq_blocks_2, quantised
        await quiet(pilot)

    assert snap_compare(app(), terminal_size=SIZE, run_before=run_before)


def test_80x24_graph_tab_with_details(snap_compare):
    async def run_before(pilot):
        await quantised(pilot)
        await pilot.press("1")
        pilot.app.tree.focus()
        await pilot.press("j", "j", "j", "j", "d")
        await quiet(pilot)

    assert snap_compare(app(), terminal_size=SIZE, run_before=run_before)


def test_80x24_compare_tab(snap_compare):
    async def run_before(pilot):
        await quantised(pilot)
        await pilot.press("2", "right_square_bracket")
        await quiet(pilot)

    assert snap_compare(app(), terminal_size=SIZE, run_before=run_before)


def test_80x24_passes_tab(snap_compare):
    async def run_before(pilot):
        await quantised(pilot)
        await pilot.press("3")
        await quiet(pilot)

    assert snap_compare(app(), terminal_size=SIZE, run_before=run_before)


def test_80x24_costs_tab(snap_compare):
    async def run_before(pilot):
        await quantised(pilot)
        await pilot.press("4")
        await quiet(pilot)

    assert snap_compare(app(), terminal_size=SIZE, run_before=run_before)
