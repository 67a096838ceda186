"""The node details pane: moving between nodes repaints the pane, it does not re-lay-out the
screen (a layout pass re-renders every widget: on a slow machine that was most of a key's
cost), and its scrollbar still tells the length of what it shows."""

from __future__ import annotations

import pytest
from textual.widget import Widget

from core.session import Session
from mase_tui.app import MaseTuiApp
from tests.pilot import settle


@pytest.fixture(autouse=True)
def _no_user_files(monkeypatch, tmp_path):
    monkeypatch.delenv("MASE_TUI_JSC_PATH", raising=False)
    monkeypatch.setenv("MASE_TUI_KEYS", str(tmp_path / "no-keys.toml"))


@pytest.fixture
def layouts(monkeypatch):
    """Widgets that asked for a layout of the screen."""
    asked: list[Widget] = []
    real = Widget.refresh

    def refresh(self, *regions, repaint=True, layout=False, recompose=False):
        if layout:
            asked.append(self)
        return real(self, *regions, repaint=repaint, layout=layout, recompose=recompose)

    monkeypatch.setattr(Widget, "refresh", refresh)
    return asked


async def test_moving_between_long_details_repaints_without_a_layout(layouts):
    app = MaseTuiApp(Session("resnet18"))
    async with app.run_test(size=(120, 36)) as pilot:  # the details of most resnet18 nodes overflow
        await settle(app, pilot)
        details = app.details
        heights = {}
        for _ in range(12):
            await pilot.press("j")
            await pilot.pause()
            name = app.tree.current_name()
            heights[name] = (len(details.shown_text.splitlines()), details.virtual_size.height)
        overflowing = [n for n, (lines, _) in heights.items() if lines > details.scrollable_content_region.height]
        assert len({heights[n][1] for n in overflowing}) >= 2, heights  # contents of different lengths
        layouts.clear()
        seen = []
        for name in overflowing[:4]:
            assert app.tree.reveal(name)
            await pilot.pause()
            lines = len(details.shown_text.splitlines())
            seen.append((name, lines, details.virtual_size.height))
            assert details.show_vertical_scrollbar, (seen, heights, details.scrollable_content_region)
            # the scrollbar's range is the new content, and the end of it can be reached
            assert details.vertical_scrollbar.window_virtual_size == details.virtual_size.height
            assert lines <= details.virtual_size.height < lines + 16
            assert details.max_scroll_y == details.virtual_size.height - details.scrollable_content_region.height
        assert [w for w in layouts if w is details] == [], seen
