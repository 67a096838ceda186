"""The Passes tab: pick a registered pass, edit its arguments as TOML, run it in a worker.

Every pass comes from ``core.passes.PASSES``; arguments start from the defaults its declaration
gives (less what the session supplies). The text is validated before anything runs (TOML syntax
with the line, the declaration's argument names and types, then the pass's own validator, such
as the quantiser config for quantize). A run happens in a thread worker with
a progress bar; ``x`` sets the cancel event the pass polls, and the session keeps the graph as
it was. Results render with the CLI's renderers; the history lists every run of the session.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Label, OptionList, ProgressBar, Static, TextArea
from textual.widgets.option_list import Option

from core.config import dumps_toml, load_passes_files, parse_toml, read_toml
from core.errors import MaseError
from core.passes.registry import PASSES, PassSpec
from mase_tui.markup import PlainTable as Table
from mase_tui.messages import GraphChanged, PassFinished, WorkerProgress
from mase_tui.panes import host
from mase_tui.widgets.config_picker import ConfigPicker, pass_args_from_config

CANCELLED = "cancelled"


def args_to_toml(spec: PassSpec, args: dict[str, Any]) -> str:
    """TOML for the editor: a comment per documented argument, then the values."""
    lines = [f"# {spec.name}: {spec.description}"]
    if spec.free_form:
        lines.append("# free-form arguments (MASE's config format); NA means none")
    for arg in spec.args:
        if arg.name in args and arg.doc:
            lines.append(f"# {arg.name}: {arg.doc}")
    body = dumps_toml(args) if args else ""
    return "\n".join(lines) + "\n" + body


def parse_pass_args(spec: PassSpec, text: str, graph: Any = None) -> dict[str, Any]:
    """The editor's text as pass arguments, or a ConfigError saying what is wrong and where."""
    args = parse_toml(text, source="the arguments")
    spec.check_config(args, f"{spec.short_name} arguments")
    # The declaration may name a validator: the checks the pass makes before changing anything,
    # without running it. Passes without one validate when they run (on a copy, for those that
    # change the graph, so a rejected config leaves it as it was).
    validate = spec.validate_fn()
    if validate is not None and graph is not None:
        validate(graph, args)
    return args


class PassList(OptionList):
    """The registered passes. A click picks a pass; a click on the picked one (or enter) runs it,
    so choosing with the mouse never starts a transform by accident."""

    def on_click(self, event) -> None:
        # prevent_default: OptionList's own click handler (a base class's) would select, and so
        # run, on every click
        event.prevent_default()
        clicked = event.style.meta.get("option")
        if clicked is None or self.get_option_at_index(clicked).disabled:
            return
        if clicked == self.highlighted:
            self.action_select()
        else:
            self.highlighted = clicked


class ConfirmReset(ModalScreen[bool]):
    DEFAULT_CSS = """
    ConfirmReset { align: center middle; }
    ConfirmReset > Vertical { width: 90%; max-width: 64; height: auto; border: thick $warning;
                              background: $surface; padding: 1 2; }
    ConfirmReset Horizontal { height: auto; margin-top: 1; }
    ConfirmReset Button { margin-right: 2; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Reset the current graph to the original? Pass results stay in the history.")
            with Horizontal():
                yield Button("Reset (y)", id="confirm-yes", variant="warning")
                yield Button("Keep (n)", id="confirm-no")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")


class PassRunner(Widget):
    DEFAULT_CSS = """
    PassRunner { layout: vertical; height: 1fr; }
    PassRunner #pass-list { height: auto; max-height: 7; }
    PassRunner #pass-desc { height: auto; max-height: 2; color: $text-muted; }
    PassRunner #pass-args { height: 1fr; min-height: 5; }
    PassRunner #pr-status-row { height: 1; }
    PassRunner #pass-progress { width: 21; padding-right: 1; display: none; }
    PassRunner #pass-progress.-running { display: block; }
    /* the bar takes what the percentage leaves (Textual's default of 32 cells hid it) */
    PassRunner #pass-progress Bar { width: 1fr; }
    /* one line, cut with an ellipsis: wrapped, a narrow tab showed only its first word */
    PassRunner #pass-status { width: 1fr; height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    PassRunner #pass-result { height: 1fr; min-height: 3; border-top: solid $primary-background; }
    PassRunner #pass-history { height: auto; max-height: 7; border-top: solid $primary-background; }
    """
    # its keys (ctrl+r, x, R, o) are bound on the App: see mase_tui/tab_keys.py

    def __init__(self, *, configs_dir: Path | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.configs_dir = configs_dir
        self.selected: str = next(iter(PASSES))
        self.texts: dict[str, str] = {}  # edited text per pass, kept while switching passes
        self.default_texts: dict[str, str] = {}  # the text each pass's declared defaults give
        self.cancel_event: threading.Event | None = None
        self.running: str | None = None
        self.finished_at: dict[int, str] = {}
        self.cancelled: set[int] = set()
        self.last_run = None
        # how run times are shown (replaced in snapshot tests, whose pictures must not change)
        self.clock = lambda: time.strftime("%H:%M:%S")
        self.took = lambda seconds: f"{seconds:.2f}s"

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield PassList(*self._pass_options(), id="pass-list", compact=True)
        yield Static(id="pass-desc")
        yield TextArea(id="pass-args", soft_wrap=False, show_line_numbers=True)
        with Horizontal(id="pr-status-row"):
            yield ProgressBar(id="pass-progress", show_eta=False)
            yield Static("ctrl+r run · x cancel · o open config · R reset", id="pass-status")
        with VerticalScroll(id="pass-result"):
            yield Static(Text("No pass run yet.", style="dim"), id="pass-result-body")
        yield Static(id="pass-history")

    def session_replaced(self) -> None:
        """ctrl+o opened another model: the last result and the run marks were the old model's.
        A pass still running on the old session is asked to stop."""
        if self.cancel_event is not None:
            self.cancel_event.set()
        self.last_run = None
        self.finished_at.clear()
        self.cancelled.clear()
        self.query_one("#pass-result-body", Static).update(Text("No pass run yet.", style="dim"))
        self._status("ctrl+r run · x cancel · o open config · R reset")

    def _pass_options(self) -> list[Option]:
        width = max(len(spec.short_name) for spec in PASSES.values())
        return [Option(Text.assemble((f"{spec.short_name:<{width}}", "bold"), f"  {spec.kind}"), id=name)
                for name, spec in PASSES.items()]

    def on_mount(self) -> None:
        self.select_pass(self.selected)
        self._show_history()

    # ------------------------------------------------------------------ app contract
    def refresh_from_session(self) -> None:
        self._show_history()

    def pass_finished(self, run) -> None:
        """The app calls this after any pass run (also runs started elsewhere)."""
        self._show_history()

    @property
    def session(self):
        return host(self).session

    # ------------------------------------------------------------------ choosing a pass
    def select_pass(self, name: str) -> None:
        """Show ``name`` with its edited text (or its defaults)."""
        editor = self.query_one("#pass-args", TextArea)
        if self.selected in PASSES and editor.text:
            self.texts[self.selected] = editor.text
        spec = PASSES[name]
        self.selected = name
        self.default_texts[name] = args_to_toml(spec, spec.editable_defaults())
        text = self.texts.get(name) or self.default_texts[name]
        editor.load_text(text)
        self.query_one("#pass-desc", Static).update(Text.assemble((spec.name, "bold"), f": {spec.description}"))
        options = self.query_one("#pass-list", OptionList)
        index = list(PASSES).index(name)
        if options.highlighted != index:
            options.highlighted = index

    def refresh_passes(self) -> None:
        """Rebuild the list after user pass files were (re)loaded. Texts the user edited stay;
        the others start again from the (possibly new) declared defaults."""
        editor = self.query_one("#pass-args", TextArea)
        if self.selected in PASSES and editor.text:
            self.texts[self.selected] = editor.text
        self.texts = {n: t for n, t in self.texts.items() if n in PASSES and t != self.default_texts.get(n)}
        options = self.query_one("#pass-list", OptionList)
        options.clear_options()
        options.add_options(self._pass_options())
        name = self.selected if self.selected in PASSES else next(iter(PASSES))
        self.selected = ""  # the editor's text is already kept above
        self.select_pass(name)

    def set_args_text(self, text: str) -> None:
        self.query_one("#pass-args", TextArea).load_text(text)
        self.texts[self.selected] = text

    @on(OptionList.OptionHighlighted, "#pass-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and event.option.id != self.selected:
            self.select_pass(event.option.id)

    @on(OptionList.OptionSelected, "#pass-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.select_pass(event.option.id)
            self.action_run_pass()

    # ------------------------------------------------------------------ config files
    def action_open_config(self) -> None:
        self.app.push_screen(ConfigPicker(self.configs_dir), self._config_chosen)

    def _config_chosen(self, path: Path | None) -> None:
        if path is not None:
            self.load_config_file(path)

    def load_config_file(self, path: Path) -> bool:
        try:
            data = read_toml(path)
            if data.get("passes_files"):  # the config's own pass files, relative to it
                load_passes_files(data["passes_files"], Path(path), str(path))
                self.refresh_passes()
            name, args, note = pass_args_from_config(data, self.selected)
        except MaseError as exc:
            self._error(str(exc))
            return False
        if name != self.selected:
            self.select_pass(name)
        self.set_args_text(f"# from {path.name} {note}\n" + args_to_toml(PASSES[name], args))
        # what was loaded, and into which pass (not what the file lacks)
        self._status(f"loaded {note} of {path.name} into {PASSES[name].short_name} · ctrl+r runs it")
        return True

    # ------------------------------------------------------------------ running
    def run_with_defaults(self, name: str) -> None:
        """Run ``name`` with its declared defaults (the palette's "Run pass"), whatever was edited."""
        self.select_pass(name)
        spec = PASSES[name]
        self.set_args_text(args_to_toml(spec, spec.editable_defaults()))
        self.action_run_pass()

    def action_run_pass(self) -> None:
        session = self.session
        if session is None or not getattr(session, "loaded", False):
            self._error("the model is still loading; run the pass when it is ready")
            return
        if self.running:
            self.app.notify(f"{self.running} is still running (x cancels it)", severity="warning")
            return
        spec = PASSES[self.selected]
        text = self.query_one("#pass-args", TextArea).text
        self.texts[spec.name] = text
        try:
            args = parse_pass_args(spec, text, session.current)
        except MaseError as exc:
            self._error(str(exc))
            return
        self.cancel_event = threading.Event()
        self.running = spec.name
        bar = self.query_one("#pass-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.add_class("-running")
        self._status(f"running {spec.short_name} ... (x cancels)")
        self._run(spec.name, args, self.cancel_event)

    @work(thread=True, exclusive=True, group="pass-runner", exit_on_error=False)
    def _run(self, name: str, args: dict[str, Any], cancel: threading.Event) -> None:
        last = [0.0]

        def progress(*values: Any) -> None:
            # profile_statistics reports (done, total); other passes may send a message
            now = time.monotonic()
            nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
            final = len(nums) >= 2 and nums[0] >= nums[1]
            if now - last[0] < 0.05 and not final:
                return
            last[0] = now
            self.post_message(WorkerProgress(values))

        try:
            run = self.session.run_pass(name, args, progress=progress, cancel=cancel)
        except Exception as exc:  # the session records pass errors; this is a bug elsewhere
            self.app.call_from_thread(self._crashed, name, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._finished, run, cancel.is_set())

    def on_worker_progress(self, message: WorkerProgress) -> None:
        if self.running is not None:  # a late report of a run that has ended changes nothing
            self._progress(message.values)

    def _progress(self, values: tuple) -> None:
        bar = self.query_one("#pass-progress", ProgressBar)
        nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(nums) >= 2:
            bar.update(total=nums[1], progress=nums[0])
        texts = [str(v) for v in values if isinstance(v, str)]
        if texts:
            self._status(f"{self.running}: {texts[-1]}")

    def _crashed(self, name: str, message: str) -> None:
        self._end_run()
        self._error(f"{name} crashed: {message}")

    def _finished(self, run, was_cancelled: bool) -> None:
        self._end_run()
        self.last_run = run
        self.finished_at[id(run)] = self.clock()
        if was_cancelled and not run.changed_graph:
            self.cancelled.add(id(run))
            self._status(f"{run.name} cancelled; the graph is unchanged")
            self.app.notify(f"{run.name} cancelled; the graph is unchanged", severity="warning")
        elif run.ok:
            self._status(f"{run.name} finished in {self.took(run.seconds)}")
        else:
            self._error(run.error or f"{run.name} failed")
        self._show_result(run)
        self._show_history()
        self.post_message(PassFinished(run))
        if run.ok and run.changed_graph:
            self.post_message(GraphChanged(run.name))

    def _end_run(self) -> None:
        self.running = None
        self.cancel_event = None
        self.query_one("#pass-progress", ProgressBar).remove_class("-running")

    def action_cancel_pass(self) -> None:
        if self.cancel_event is None:
            self._status("no pass is running")
            return
        self.cancel_event.set()
        self._status(f"cancelling {self.running} ...")

    # ------------------------------------------------------------------ reset
    def action_reset_graph(self) -> None:
        session = self.session
        if session is None or not getattr(session, "loaded", False):
            return
        if self.running:
            self.app.notify("wait for the running pass (or cancel it with x) before resetting", severity="warning")
            return
        self.app.push_screen(ConfirmReset(), self._reset_answer)

    def _reset_answer(self, answer: bool | None) -> None:
        if not answer:
            self._status("reset cancelled")
            return
        self.session.reset()
        self.finished_at[id(self.session.history[-1])] = self.clock()
        self._status("graph reset to the original")
        self._show_history()
        self.post_message(GraphChanged("reset"))

    # ------------------------------------------------------------------ output
    def _show_result(self, run) -> None:
        from mase_tui.render import render_pass_result

        body = self.query_one("#pass-result-body", Static)
        if run.ok:
            body.update(render_pass_result(run.name, run.info))
        else:
            body.update(Text(f"{run.name}: {run.error}", style="bold red"))
        self.query_one("#pass-result", VerticalScroll).scroll_home(animate=False)

    def run_status(self, run) -> str:
        if id(run) in self.cancelled:
            return CANCELLED
        return "ok" if run.ok else "error"

    def _show_history(self) -> None:
        session = self.session
        history = list(getattr(session, "history", []) or [])
        widget = self.query_one("#pass-history", Static)
        if not history:
            widget.update(Text("History: no runs yet in this session.", style="dim"))
            return
        table = Table(title="History", title_justify="left", expand=True, box=None, padding=(0, 1))
        for col in ("#", "pass", "time", "took", "result"):
            table.add_column(col, no_wrap=True, overflow="ellipsis", ratio=1 if col == "result" else None)
        styles = {"ok": "green", "error": "bold red", CANCELLED: "yellow"}
        for i, run in enumerate(history[-6:], start=max(1, len(history) - 5)):
            status = self.run_status(run)
            detail = status if run.ok or status == CANCELLED else f"error: {run.error}"
            took = "" if run.kind == "session" else self.took(run.seconds)
            short = PASSES[run.name].short_name if run.name in PASSES else run.name
            table.add_row(str(i), short, self.finished_at.get(id(run), "-"), took,
                          Text(detail, style=styles[status]))
        widget.update(table)

    def _status(self, message: str) -> None:
        self.query_one("#pass-status", Static).update(message)

    def show_error(self, message: str) -> None:
        """A problem shown in place: the status line and a notification that stays."""
        self._error(message)

    def _error(self, message: str) -> None:
        self._status(Text(message, style="bold red").plain)
        self.app.notify(message, severity="error", timeout=3600)
