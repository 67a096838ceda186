"""SVG snapshots of the app shell (pytest-textual-snapshot, Textual pinned to 8.2.8).

Deterministic: fixed terminal size, synthetic data, the loading worker and everything it
starts are awaited, toasts are cleared and the filter box does not blink.
Update after a reviewed change with: pytest tests/snapshots/test_snapshots_shell.py --snapshot-update
"""

from __future__ import annotations

import pytest
from textual.worker import WorkerCancelled

from core.session import Session
from mase_tui.app import MaseTuiApp

SIZE = (120, 36)


@pytest.fixture(autouse=True)
def _environment(monkeypatch, tmp_path):
    monkeypatch.delenv("MASE_TUI_JSC_PATH", raising=False)
    monkeypatch.delenv("MASE_TUI_THEME", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # no saved tree/details split
    keys = tmp_path / "keys.toml"
    keys.write_text("[keys]\n")  # no remapping, and no "file not found" toast
    monkeypatch.setenv("MASE_TUI_KEYS", str(keys))


def app() -> MaseTuiApp:
    return MaseTuiApp(Session("jsc-toy"))


async def wait_workers(app) -> None:
    try:
        await app.workers.wait_for_complete()
    except WorkerCancelled:  # an exclusive worker replaced by a newer one
        pass


async def ready(pilot) -> None:
    a = pilot.app
    for _ in range(400):
        await wait_workers(a)
        await pilot.pause()
        if a.ready and not any(w.is_running for w in a.workers):
            break
    a.query_one("#filter").cursor_blink = False
    a.clear_notifications()
    await pilot.pause()


async def quiet(pilot) -> None:
    """Settle again after key presses, then drop the toasts (log warnings are not the subject)."""
    await wait_workers(pilot.app)
    await pilot.pause()
    pilot.app.clear_notifications()
    await pilot.pause()


def test_tree_and_details_of_a_linear(snap_compare):
    async def run_before(pilot):
        await ready(pilot)
        await pilot.press("j", "j", "j", "j")
        await quiet(pilot)

    assert snap_compare(app(), terminal_size=SIZE, run_before=run_before)


def test_graph_tab_scrolled_to_layer_types(snap_compare):
    async def run_before(pilot):
        await ready(pilot)
        pilot.app.query_one("#graph-overview").focus()
        await pilot.press("j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j")
        await quiet(pilot)

    assert snap_compare(app(), terminal_size=SIZE, run_before=run_before)


def test_filter_op_linear_second_match(snap_compare):
    async def run_before(pilot):
        await ready(pilot)
        await pilot.press("slash", *"op:linear", "enter", "n")
        await quiet(pilot)

    assert snap_compare(app(), terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_compare):
    async def run_before(pilot):
        await ready(pilot)
        await pilot.press("question_mark")
        await quiet(pilot)

    assert snap_compare(app(), terminal_size=SIZE, run_before=run_before)


def test_export_dialog(snap_compare):
    async def run_before(pilot):
        await ready(pilot)
        await pilot.press("e")
        await quiet(pilot)

    assert snap_compare(app(), terminal_size=SIZE, run_before=run_before)


def test_80x24_details_stacked_under_tabs(snap_compare):
    async def run_before(pilot):
        await ready(pilot)
        await pilot.press("j", "j", "j", "j", "j", "j", "j", "d")  # 80x24: the details on demand
        await quiet(pilot)

    assert snap_compare(app(), terminal_size=(80, 24), run_before=run_before)
