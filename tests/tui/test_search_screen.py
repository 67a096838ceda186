"""The search screen by Pilot: attach to a finished study by storage URL, the trials and the
Pareto front shown, the scatter drawn, and a trial applied to the graph."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import DataTable, Input, Static
from textual.worker import WorkerCancelled

import mase_tui.app
from core.config import read_toml
from core.search.config import parse_search
from core.search.runner import SearchOptions, run_search
from core.session import Session
from mase_tui.app import MaseTuiApp
from mase_tui.widgets.braille_plot import braille_scatter
from mase_tui.widgets.precision_bar import PrecisionBar
from mase_tui.widgets.search_screen import SearchScreen
from tests.core.search_helpers import settings, write_config


class App(MaseTuiApp):
    CSS_PATH = str(Path(mase_tui.app.__file__).with_name("app.tcss"))


async def settle(app, pilot) -> None:
    for _ in range(400):
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:
            pass
        await pilot.pause()
        if all(w.is_finished for w in app.workers):
            break


def test_braille_scatter_puts_each_point_in_its_cell():
    text = braille_scatter([(0.0, 0.0)], [(10.0, 1.0)], width=10, height=2).plain.splitlines()
    # (10, 1) is the top-right dot of the top-right cell; (0, 0) the bottom-left dot of the bottom-left cell
    assert text[0].endswith(chr(0x2800 + 0x08))
    assert text[1].split("│")[1][0] == chr(0x2800 + 0x40)


async def test_attach_watch_and_apply_a_trial(tmp_path):
    path = write_config(tmp_path, 6)
    outcome = run_search(parse_search(read_toml(path), path), settings(),
                         SearchOptions(out_dir=tmp_path / "study", study="s"))
    front = json.loads((tmp_path / "study" / "pareto.json").read_text())["front"]
    app = App(Session("jsc-toy"))
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(app, pilot)
        app.tree.focus()
        await pilot.press("F")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SearchScreen)
        screen.query_one("#search-storage", Input).value = outcome.storage
        study = screen.query_one("#search-study", Input)
        study.focus()
        study.value = "s"
        await pilot.press("enter")
        await settle(app, pilot)
        table = screen.query_one("#search-trials", DataTable)
        assert table.row_count == 6
        marked = {int(table.get_row_at(i)[0]) for i in range(6) if table.get_row_at(i)[1] == "●"}
        assert marked == {r["trial"] for r in front}
        assert any(0x2800 < ord(c) <= 0x28FF for c in str(screen.query_one("#search-plot", Static).render()))

        row = next(r for r in front)
        table.focus()
        table.move_cursor(row=row["trial"])
        await pilot.press("a")
        await settle(app, pilot)
        assert not isinstance(app.screen, SearchScreen)
        bar = app.main.query_one(PrecisionBar)
        assert bar.cost["bitops"] == row["metrics"]["bitops"]
        applied = app.session.history[-1].args
        assert {k: v for k, v in applied.items() if k not in ("by", "default")} == \
            {k: v for k, v in row["config"].items() if k not in ("by", "default")}
