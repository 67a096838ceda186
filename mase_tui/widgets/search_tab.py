"""The Search tab: start a mixed-precision search, watch its trials arrive, apply one.

Everything about the search is core/search's: the config is read by ``parse_search`` (the
``[search]`` TOML `mase-tui search --config` reads), the study is opened by ``open_study``, the
trials are evaluated by worker processes (``python -m core.search.runner``, the same worker
`--workers N` starts), and the front is ``pareto_front``. The tab only watches the Optuna
storage: every 0.5 s a thread worker reads the completed trials (nothing is read on the UI
thread), so the same view attaches to any study by storage URL, running or finished, on this
machine or another. A trial is applied as one ``quantize_transform_pass`` through the Session
(on the original graph), so Compare, Costs and the precision editor follow it.

Starting from the precision choices of the current graph is not offered: core/search builds
its space from a ``[search]`` config only.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Static

from mase_tui.panes import host
from mase_tui.widgets.braille_plot import BraillePlot, PlotPoint, short_number

logger = logging.getLogger(__name__)

QUANTIZE = "quantize_transform_pass"
POLL_SECONDS = 0.5
DEFAULT_CONFIG = "configs/examples/search_jsc_toy_tpe.toml"
COLUMNS = (("front", "★"), ("trial", "trial"), ("precision", "w bits"), ("accuracy", "acc"),
           ("bitops", "BitOPs"), ("avg", "avg bits"))


# --------------------------------------------------------------------------- plain helpers
@dataclass
class SearchPlan:
    """A checked search config, ready to start: what core/search's runner needs."""

    search: Any  # core.search.config.SearchConfig
    settings: dict[str, Any]
    study: str
    out_dir: Path
    storage: str


def plan_search(path: Path) -> SearchPlan:
    """Read and check a ``[search]`` config the way `mase-tui search --config` does (same
    settings and defaults), with a fresh study name so no run overwrites another's output."""
    from core.config import config_from_dict, read_toml
    from core.search.config import parse_search
    from core.search.study import sqlite_url
    from mase_tui.commands.transform_settings import merge_settings

    data = read_toml(path)
    search = parse_search(data, path)
    base = config_from_dict({k: v for k, v in data.items() if k != "search"}, path)
    values = dict(merge_settings(base.settings, {}).values)
    if "project" not in base.settings:
        values["project"] = f"{values['model']}_{values['task']}_{values['dataset']}".replace("/", "-")
    values["pretrained"] = True
    stem = f"{str(values['model']).replace('/', '-')}_{path.stem}_{time.strftime('%Y%m%d-%H%M%S')}"
    root = Path(values["project_dir"]) / values["project"] / "software" / "search"
    study, n = stem, 1
    while (root / study).exists():
        n += 1
        study = f"{stem}-{n}"
    out_dir = root / study
    return SearchPlan(search, values, study, out_dir, sqlite_url(out_dir))


def check_storage_url(url: str, *, must_exist: bool) -> None:
    """A SQLite URL naming a missing file would create an empty database: say so instead."""
    from core.search.study import SearchError

    if "://" not in url:
        raise SearchError(f"'{url}' is not a storage URL",
                          hint="e.g. sqlite:///path/to/study.db or postgresql://user@host/db")
    if must_exist and url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).is_file():
        raise SearchError(f"no SQLite study file at {url[len('sqlite:///'):]}", hint="check the path of study.db")


def precision_widths(config: dict[str, Any]) -> str:
    """Per-layer weight widths (data_in where a node has no weight), e.g. ``8/4/2/8``;
    ``f`` for a layer left in float."""
    parts = []
    for key, entry in config.items():
        if key in ("by", "default") or not isinstance(entry, dict):
            continue
        node = entry.get("config") or {}
        if node.get("name") is None:
            parts.append("f")
            continue
        width = node.get("weight_width", node.get("data_in_width"))
        parts.append("?" if width is None else str(width))
    return "/".join(parts) or "float"


@dataclass
class Snapshot:
    """What one poll of the storage found."""

    rows: list = field(default_factory=list)  # core.search.results.TrialRow, by trial number
    front: set[int] = field(default_factory=set)
    names: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    running: bool = False
    finished: str = ""  # the workers' end: "" while running, else a one-line outcome
    error: str = ""


# --------------------------------------------------------------------------- the prompt
class SearchPrompt(ModalScreen[list[str] | None]):
    """A few labelled inputs; enter on the last one confirms, escape closes."""

    DEFAULT_CSS = """
    SearchPrompt { align: center middle; }
    SearchPrompt > Vertical {
        width: 90%; max-width: 100; height: auto;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    SearchPrompt Input { margin: 0 0 1 0; }
    """
    BINDINGS = [Binding("escape", "close_prompt", "Close", id="search-prompt.close")]

    def __init__(self, title: str, fields: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.fields = fields

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"{self.title_text}  (enter: next / start, escape: close)", markup=False)
            for i, (label, value) in enumerate(self.fields):
                yield Label(label, markup=False)
                yield Input(value, id=f"search-field-{i}")

    def on_mount(self) -> None:
        self.query_one("#search-field-0", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        index = int((event.input.id or "0").rsplit("-", 1)[1])
        if index + 1 < len(self.fields):
            self.query_one(f"#search-field-{index + 1}", Input).focus()
        else:
            self.dismiss([self.query_one(f"#search-field-{i}", Input).value.strip() for i in range(len(self.fields))])

    def action_close_prompt(self) -> None:
        self.dismiss(None)


# --------------------------------------------------------------------------- the tab
class SearchView(Vertical):
    """Status line, trials table, the highlighted trial's precisions, accuracy-vs-BitOPs plot."""

    DEFAULT_CSS = """
    SearchView { height: 1fr; }
    SearchView #search-status { height: 1; padding: 0 1; background: $boost; text-wrap: nowrap; }
    SearchView #search-trials { height: 1fr; min-height: 3; }
    SearchView #search-selected { height: 1; padding: 0 1; color: $text-muted; }
    SearchView #search-plot { height: 45%; min-height: 4; }
    """
    # its keys (s, o, x, a) are bound on the App: see mase_tui/tab_keys.py

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.storage_url: str | None = None
        self.study_name: str | None = None
        self.snapshot = Snapshot()
        self.config_text = DEFAULT_CONFIG
        self.last_error: str | None = None
        self.applied: int | None = None  # the trial the session's current graph is
        self._applied_run = None  # the quantize PassRun that applied it
        self._pending = None  # the trial being applied (its quantize runs in the app's worker)
        self._study = None  # the optuna Study the poller reads (opened in a worker)
        self._procs: list[subprocess.Popen] = []
        self._logs: list = []
        self._cancelled = False
        self._polling = False
        self._poll_timer = None
        self._session_at: int = 0  # attach generation: a poll of an older study is dropped
        self._finished = ""  # how the workers this tab started ended ("finished", "cancelled")

    def compose(self) -> ComposeResult:
        yield Static("no study: s starts a search from a config, o attaches to a study", id="search-status")
        table = DataTable(id="search-trials", cursor_type="row", zebra_stripes=True)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        yield table
        yield Static("", id="search-selected")
        yield BraillePlot(x_label="BitOPs", y_label="accuracy", id="search-plot")

    @property
    def table(self) -> DataTable:
        return self.query_one("#search-trials", DataTable)

    def on_unmount(self) -> None:
        self._stop_processes(wait=False)

    # ------------------------------------------------------------------ SessionView
    def refresh_from_session(self) -> None:
        """A pass or reset after the applied trial: the graph is no longer that trial."""
        history = host(self).session.history
        if self.applied is not None and (not history or history[-1] is not self._applied_run):
            self.applied = None
            self._show_status()

    # ------------------------------------------------------------------ errors
    def _error(self, text: str) -> None:
        """One line that stays up until dismissed."""
        self.last_error = text
        host(self).notify(text, title="search", severity="error", timeout=3600, markup=False)

    # ------------------------------------------------------------------ start
    def action_start_search(self) -> None:
        if self.running:
            self._error("a search is running: x cancels it first")
            return

        def chosen(values: list[str] | None) -> None:
            if values and values[0]:
                self.config_text = values[0]
                self.start_search(Path(values[0]))

        self.app.push_screen(SearchPrompt("Start a search", [("[search] config (TOML)", self.config_text)]), chosen)

    def start_search(self, path: Path) -> None:
        self.run_worker(lambda: self._start_in_thread(path), thread=True, group="search-start", exclusive=True,
                        exit_on_error=False)

    def _start_in_thread(self, path: Path) -> None:
        from core.errors import MaseError

        try:
            plan = plan_search(path)
            study = self._create_study(plan)
            procs = self._spawn(plan)
        except MaseError as exc:
            self.app.call_from_thread(self._error, exc.one_line())
            return
        except Exception as exc:  # a bug or an I/O error: one line, the app stays up
            logger.debug("starting the search failed", exc_info=True)
            self.app.call_from_thread(self._error, f"could not start the search: {type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._started, plan, study, procs)

    def _create_study(self, plan: SearchPlan):
        from core.search.runner import search_spec
        from core.search.study import open_storage, open_study

        plan.out_dir.mkdir(parents=True, exist_ok=True)
        storage = open_storage(plan.storage)
        return open_study(storage, plan.study, search_spec(plan.search, plan.settings), plan.search.directions)

    def _spawn(self, plan: SearchPlan) -> list[subprocess.Popen]:
        """The config's n_jobs worker processes, started as `mase-tui search --workers N` starts
        them (sampler seed + i for worker i)."""
        from core.search.runner import start_worker_process, worker_payload

        search = plan.search
        base_seed = search.seed if search.seed is not None else (plan.settings.get("seed") or 0)
        deadline = time.time() + search.timeout if search.timeout else None
        payload = worker_payload(search, plan.settings, plan.storage, plan.study, search.n_trials,
                                 deadline=deadline, sampler=search.sampler)
        procs = []
        for i in range(max(1, search.n_jobs)):
            log = tempfile.TemporaryFile(mode="w+")
            self._logs.append(log)
            procs.append(start_worker_process(payload, i, base_seed + i, log))
        return procs

    def _started(self, plan: SearchPlan, study, procs: list[subprocess.Popen]) -> None:
        self._procs = procs
        self._cancelled = False
        self._watch(plan.storage, plan.study, study)
        host(self).notify(f"search started: study '{plan.study}', {plan.search.n_trials} trials, "
                          f"{len(procs)} worker(s); results in {plan.out_dir}", timeout=6)

    @property
    def running(self) -> bool:
        return any(p.poll() is None for p in self._procs)

    # ------------------------------------------------------------------ attach
    def action_attach_study(self) -> None:
        def chosen(values: list[str] | None) -> None:
            if values and values[0]:
                self.attach(values[0], values[1])

        self.app.push_screen(SearchPrompt("Attach to a study", [
            ("Optuna storage URL (sqlite:///.../study.db, postgresql://...)", self.storage_url or ""),
            ("study name (empty: the storage's only study)", self.study_name or "")]), chosen)

    def attach(self, url: str, study_name: str = "") -> None:
        self.run_worker(lambda: self._open_study(url, study_name), thread=True, group="search-start", exclusive=True,
                        exit_on_error=False)

    def _open_study(self, url: str, name: str) -> None:
        from core.errors import MaseError
        from core.search.study import SearchError, load_study, open_storage

        try:
            check_storage_url(url, must_exist=True)
            storage = open_storage(url)
            if not name:
                import optuna

                names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
                if len(names) != 1:
                    raise SearchError("give the study name", hint=f"studies: {', '.join(names) or 'none'}")
                name = names[0]
            study = load_study(storage, name)
        except MaseError as exc:
            self.app.call_from_thread(self._error, exc.one_line())
            return
        except Exception as exc:
            logger.debug("attaching failed", exc_info=True)
            self.app.call_from_thread(self._error, f"cannot attach to {url}: {type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._study_opened, url, name, study)

    def _study_opened(self, url: str, name: str, study) -> None:
        if self.running:
            self._error("a search is running: x cancels it before attaching to another study")
            return
        self._procs = []
        self._watch(url, name, study)
        host(self).notify(f"attached to study '{name}'", timeout=4)

    # ------------------------------------------------------------------ watching
    def _watch(self, url: str, name: str, study) -> None:
        self._session_at += 1
        self.storage_url, self.study_name, self._study = url, name, study
        self.snapshot = Snapshot()
        self._finished = ""
        self.applied = None
        self.table.clear()
        self.query_one(BraillePlot).set_points([])
        self._show_status()
        if self._poll_timer is None:
            self._poll_timer = self.set_interval(POLL_SECONDS, self.poll)
        self.poll()

    def on_show(self) -> None:
        self.poll()

    def poll(self) -> None:
        """Read the storage in a thread; one poll at a time (a slow server skips ticks)."""
        if self._study is None or self._polling:
            return
        if not self._procs and not self.is_on_screen:  # an attached study only matters while shown
            return
        self._polling = True
        generation, study = self._session_at, self._study
        self.run_worker(lambda: self._read_study(study, generation), thread=True, group="search-poll", exit_on_error=False)

    def _read_study(self, study, generation: int) -> None:
        from core.search.results import completed_trials, objective_names, pareto_front, study_spec

        try:
            running = self.running
            rows = sorted(completed_trials(study), key=lambda r: r.number)
            directions = [d.name.lower() for d in study.directions]
            front = {r.number for r in pareto_front(rows, directions)} if rows else set()
            spec = study_spec(study)
            snap = Snapshot(rows, front, objective_names(spec, len(directions)), dict(spec.get("settings") or {}),
                            running)
            if self._procs and not running:
                snap.finished, snap.error = self._outcome()
        except Exception as exc:  # the server went away: say so once, keep polling
            logger.debug("reading the study failed", exc_info=True)
            snap = Snapshot(self.snapshot.rows, self.snapshot.front, self.snapshot.names, self.snapshot.settings,
                            error=f"cannot read study '{self.study_name}': {type(exc).__name__}: {exc}")
        self.app.call_from_thread(self._show_snapshot, snap, generation)

    def _outcome(self) -> tuple[str, str]:
        """The workers' last words once they all exited: a summary, or the first error."""
        errors = []
        for i, proc in enumerate(self._procs):
            out = proc.stdout.read() if proc.stdout and not proc.stdout.closed else ""
            lines = [line for line in out.splitlines() if line.strip()]
            result = json.loads(lines[-1]) if lines else {"error": f"exited with code {proc.returncode}"}
            if "error" in result and not (self._cancelled and result["error"] == "interrupted"):
                errors.append(f"search worker {i}: {result['error']}")
        self._procs = []
        for log in self._logs:
            log.close()
        self._logs = []
        if not errors:
            self._write_results()
        return ("cancelled" if self._cancelled else "finished"), (errors[0] if errors else "")

    def _write_results(self) -> None:
        """pareto.csv/json and the Pareto TOMLs, as `mase-tui search` writes them at its end."""
        from core.search.study import sqlite_url

        url = self.storage_url or ""
        if url.startswith("sqlite:///") and url.endswith("/study.db"):
            from core.search.results import write_results

            out_dir = Path(url[len("sqlite:///"):]).parent
            if sqlite_url(out_dir) == url:
                write_results(out_dir, self._study, self.study_name)

    def _show_snapshot(self, snap: Snapshot, generation: int) -> None:
        self._polling = False
        if generation != self._session_at:
            return
        if snap.error and snap.error != self.last_error:
            self._error(snap.error)
        old = self.snapshot
        self.snapshot = snap
        if snap.finished:
            self._finished = snap.finished
        if snap.finished and not snap.error:
            host(self).notify(f"search {snap.finished}: {len(snap.rows)} trials complete, "
                              f"{len(snap.front)} on the Pareto front", timeout=6)
        if [r.number for r in old.rows] != [r.number for r in snap.rows] or old.front != snap.front:
            self._update_table(old, snap)
            self._update_plot(snap)
        self._show_status()

    def _update_table(self, old: Snapshot, snap: Snapshot) -> None:
        table = self.table
        known = {r.number for r in old.rows}
        for row in snap.rows:
            key = str(row.number)
            star = "★" if row.number in snap.front else ""
            if row.number in known:
                if (row.number in old.front) != (row.number in snap.front):
                    table.update_cell(key, "front", star)
                continue
            m = row.metrics
            table.add_row(star, str(row.number), precision_widths(row.config), _fixed(m.get("accuracy"), 4),
                          short_number(m["bitops"]) if "bitops" in m else "-", _fixed(m.get("average_bitwidth"), 2),
                          key=key)
        self._show_selected()

    def _update_plot(self, snap: Snapshot) -> None:
        points, y_label = plot_points(snap)
        self.query_one(BraillePlot).set_points(points, y_label=y_label)

    def _show_status(self) -> None:
        snap = self.snapshot
        if self.study_name is None:
            return
        state = "running" if self._procs else (self._finished or "stored")
        # what changes first: an 80-column tab crops the study name, not the counts
        text = (f"{state} · {len(snap.rows)} trials · front {len(snap.front)}"
                + (f" · applied #{self.applied}" if self.applied is not None else "") + f" · {self.study_name}")
        self.query_one("#search-status", Static).update(text)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_selected()

    def _show_selected(self) -> None:
        row = self.selected_row()
        text = ""
        if row is not None:
            from core.search.results import precision_summary

            text = f"#{row.number}: " + "; ".join(precision_summary(row.config))
        self.query_one("#search-selected", Static).update(text)

    def selected_row(self):
        table = self.table
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((r for r in self.snapshot.rows if str(r.number) == key), None)

    # ------------------------------------------------------------------ cancel
    def action_cancel_search(self) -> None:
        if not self.running:
            host(self).notify("no search is running", severity="warning", timeout=4)
            return
        self._cancelled = True
        self._stop_processes(wait=False)
        host(self).notify("cancelling the search: the workers store their finished trials and stop", timeout=5)

    def _stop_processes(self, *, wait: bool) -> None:
        """Ctrl+C to each worker (it stops after its trial; finished trials are already stored),
        killed if it has not stopped 10 s later."""
        procs = [p for p in self._procs if p.poll() is None]
        for proc in procs:
            proc.send_signal(signal.SIGINT)

        def reap() -> None:
            for proc in procs:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()

        if procs:
            reap() if wait else threading.Thread(target=reap, daemon=True).start()

    # ------------------------------------------------------------------ apply
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_apply_trial()

    def action_apply_trial(self) -> None:
        """The trial's quantize config becomes the precision edits and is applied like an edit:
        one quantize of the original graph through the Session (so Compare, Costs, the Passes
        history and the precision editor and bar follow)."""
        from mase_tui.precision import PrecisionActions

        row = self.selected_row()
        if row is None:
            host(self).notify("no trial to apply: start a search (s) or attach to a study (o)",
                              severity="warning", timeout=5)
            return
        session = host(self).session
        model = self.snapshot.settings.get("model")
        if session.original is not None and model and model != session.model_name:
            self._error(f"trial #{row.number} is for model '{model}', the app shows '{session.model_name}' "
                        f"(start mase-tui {model} to apply it)")
            return
        app = self.app
        if isinstance(app, PrecisionActions) and app.apply_quantize_config(row.config, f"trial #{row.number} applied"):
            self._pending = row

    # ------------------------------------------------------------------ FollowsPasses
    def pass_finished(self, run) -> None:
        """The quantize that applied the pending trial marks it applied (any other run is
        handled by refresh_from_session)."""
        if self._pending is None or run.name != QUANTIZE:
            return
        row, self._pending = self._pending, None
        if not run.ok:
            self._error(f"trial #{row.number} could not be applied: {run.error}")
            return
        self.applied, self._applied_run = row.number, run
        self._show_status()


def _fixed(value: Any, digits: int) -> str:
    return "-" if value is None else f"{float(value):.{digits}f}"


def plot_points(snap: Snapshot) -> tuple[list[PlotPoint], str]:
    """Accuracy (or the first objective when the study has no accuracy) against BitOPs, the
    Pareto front highlighted."""
    has_accuracy = any("accuracy" in r.metrics for r in snap.rows)
    y_label = "accuracy" if has_accuracy else (snap.names[0] if snap.names else "objective")
    points = []
    for r in snap.rows:
        if "bitops" not in r.metrics:
            continue
        y = r.metrics.get("accuracy") if has_accuracy else (r.values[0] if r.values else None)
        if y is not None:
            points.append(PlotPoint(float(r.metrics["bitops"]), float(y), r.number in snap.front))
    return points, y_label
