"""The search screen (``F`` from anywhere): attach to a study by storage URL, or start a search
from a config, and watch its trials arrive; ``a`` applies the highlighted trial's configuration
to the graph (then Compare, Costs and the precision editor show it).

A started search is a separate ``mase-tui search`` process (its own worker processes, its own
torch threads), so the app never waits on it; ``x`` stops it (completed trials stay in the
study and a rerun continues). The screen reads the storage every second in a thread worker.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from mase_tui.widgets.braille_plot import braille_scatter

POLL_SECONDS = 1.0


class SearchScreen(Screen[dict | None]):
    """Dismisses with ``{"config": quantize config}`` to apply, or None."""

    DEFAULT_CSS = """
    SearchScreen #search-title { height: auto; }
    SearchScreen #search-inputs { height: 3; }
    SearchScreen #search-storage { width: 3fr; }
    SearchScreen #search-study { width: 1fr; }
    SearchScreen #search-config { width: 2fr; }
    SearchScreen #search-status { height: 1; padding: 0 1; }
    SearchScreen #search-body { height: 1fr; }
    SearchScreen #search-plot { width: 1fr; height: 100%; padding: 0 1; }
    SearchScreen #search-trials { width: 1fr; height: 100%; }
    """
    BINDINGS = [
        Binding("escape", "close", "Close", id="search.close"),
        Binding("a", "apply_trial", "Apply trial", id="search.apply"),
        Binding("ctrl+r", "start_search", "Start search", id="search.start"),
        Binding("x", "stop_search", "Stop search", id="search.stop"),
    ]

    def __init__(self, storage: str = "", study: str = "", config: str = "") -> None:
        super().__init__()
        self.storage, self.study, self.config = storage, study, config
        self.rows: list = []
        self.front: set[int] = set()
        self.process: subprocess.Popen | None = None
        self._shown = -1
        self._storages: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[b]Search[/]: attach to a study (storage URL + study, enter) or start one from a "
                         "config (ctrl+r); a applies the highlighted trial", id="search-title")
            with Horizontal(id="search-inputs"):
                yield Input(self.storage, placeholder="storage URL (sqlite:///.../study.db, postgresql://...)",
                            id="search-storage")
                yield Input(self.study, placeholder="study", id="search-study")
                yield Input(self.config, placeholder="config .toml (to start a search)", id="search-config")
            yield Static("", id="search-status")
            with Horizontal(id="search-body"):
                yield Static("", id="search-plot")
                yield DataTable(id="search-trials", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#search-trials", DataTable)
        table.add_columns("trial", "front", "accuracy", "BitOPs", "avg bits", "precision")
        self.set_interval(POLL_SECONDS, self._search_poll)
        if self.storage and self.study:
            self._search_poll()

    # ------------------------------------------------------------------ attaching
    @on(Input.Submitted)
    def _search_attach(self, event: Input.Submitted) -> None:
        self.storage = self.query_one("#search-storage", Input).value.strip()
        self.study = self.query_one("#search-study", Input).value.strip()
        self.config = self.query_one("#search-config", Input).value.strip()
        self._shown = -1
        if event.input.id == "search-config" and self.config:
            self.action_start_search()
        else:
            self._search_poll()

    def _search_poll(self) -> None:
        if self.storage and self.study:
            self._search_read(self.storage, self.study)

    @work(thread=True, exclusive=True, group="search-read")
    def _search_read(self, storage: str, study: str) -> None:
        from core.errors import MaseError
        from core.search.results import completed_trials, pareto_front
        from core.search.study import load_study, open_storage

        try:
            if storage not in self._storages:  # one engine per URL, not one per poll
                self._storages[storage] = open_storage(storage)
            found = load_study(self._storages[storage], study)
            rows = completed_trials(found)
            directions = [d.name.lower() for d in found.directions]
            front = {r.number for r in pareto_front(rows, directions)} if rows else set()
        except MaseError as exc:
            self.app.call_from_thread(self._search_status, exc.one_line())
            return
        self.app.call_from_thread(self._search_show, rows, front)

    def _search_status(self, text: str) -> None:
        running = self.process is not None and self.process.poll() is None
        self.query_one("#search-status", Static).update(("search running · " if running else "") + text)

    def _search_show(self, rows: list, front: set[int]) -> None:
        self.rows, self.front = rows, front
        self._search_status(f"{self.study}: {len(rows)} complete trials, {len(front)} on the Pareto front")
        if len(rows) == self._shown:
            return
        self._shown = len(rows)
        from core.utils.tables import format_count

        table = self.query_one("#search-trials", DataTable)
        cursor = table.cursor_row
        table.clear()
        for r in sorted(rows, key=lambda r: r.number):
            m = r.metrics
            table.add_row(str(r.number), "●" if r.number in front else "",
                          f"{m['accuracy']:.4f}" if "accuracy" in m else "-", format_count(m.get("bitops")),
                          f"{m.get('average_bitwidth', 0):.2f}", "; ".join(r.precision), key=str(r.number))
        if rows:
            table.move_cursor(row=min(cursor, len(rows) - 1))
        points = [(r.metrics.get("bitops", 0), r.metrics.get("accuracy", r.values[0])) for r in rows if r.number not in front]
        best = [(r.metrics.get("bitops", 0), r.metrics.get("accuracy", r.values[0])) for r in rows if r.number in front]
        plot = self.query_one("#search-plot", Static)
        width = max(20, plot.size.width - 12) if plot.size.width else 40
        height = max(6, plot.size.height - 4) if plot.size.height else 10
        plot.update(braille_scatter(points, best, width=width, height=height, x_label="BitOPs/sample",
                                    y_label="accuracy"))

    # ------------------------------------------------------------------ actions
    def selected_trial(self) -> Any:
        table = self.query_one("#search-trials", DataTable)
        if not self.rows or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((r for r in self.rows if str(r.number) == key), None)

    def action_apply_trial(self) -> None:
        trial = self.selected_trial()
        if trial is None or not trial.config:
            self.notify("no trial to apply", severity="warning")
            return
        self.dismiss({"config": trial.config, "trial": trial.number})

    def action_start_search(self) -> None:
        self.config = self.query_one("#search-config", Input).value.strip()
        if not self.config:
            self.notify("give a search config (.toml) first", severity="warning")
            return
        if self.process is not None and self.process.poll() is None:
            self.notify("a search is already running (x stops it)", severity="warning")
            return
        from core.config import read_toml
        from core.errors import MaseError
        from core.search.config import parse_search

        try:  # the config's own errors now, in one line, before a process starts
            parse_search(read_toml(self.config), Path(self.config))
        except MaseError as exc:
            self.notify(exc.one_line(), severity="error", timeout=10)
            return
        cmd = [sys.executable, "-m", "mase_tui.cli", "search", "--config", self.config, "--no-progress"]
        storage = self.query_one("#search-storage", Input).value.strip()
        study = self.query_one("#search-study", Input).value.strip()
        if storage:
            cmd += ["--storage", storage]
        if study:
            cmd += ["--study", study]
        import os

        # one line per message (no wrapping), so the study and storage it names can be read back
        env = {**os.environ, "COLUMNS": "1000"}
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self._search_follow(self.process)
        self.notify("search started", timeout=3)

    @work(thread=True, group="search-process")
    def _search_follow(self, process: subprocess.Popen) -> None:
        """Read the search's output: it names its storage and study (the defaults included)."""
        import re

        assert process.stdout is not None
        text = ""
        for line in process.stdout:
            text += line
            found = re.search(r"study '([^']+)' \((\S+)\)", text)
            if found and not self.storage:
                self.app.call_from_thread(self._search_attach_to, found.group(2), found.group(1))
        process.wait()
        last = [line for line in text.splitlines() if line.strip()]
        self.app.call_from_thread(self._search_status, f"search ended (exit {process.returncode}): "
                                                f"{last[-1] if last else ''}")

    def _search_attach_to(self, storage: str, study: str) -> None:
        self.storage, self.study = storage, study
        self.query_one("#search-storage", Input).value = storage
        self.query_one("#search-study", Input).value = study
        self._search_poll()

    def action_stop_search(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.notify("search stopped; its completed trials stay in the study", timeout=5)

    def action_close(self) -> None:
        self.dismiss(None)
