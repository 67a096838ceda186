"""MaseTuiApp: the inspector, a Textual app over a live ``core.session.Session``.

The first frame is painted before torch is imported: ``Session.load`` (torch, the model, the
data, tracing, metadata) runs in a thread worker that reports progress in the status line.
Layout, messages and bindings follow /work/notes/tui_contract.md.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import sys
import time
from pathlib import Path

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState, get_current_worker

from mase_tui.app_reports import ReportActions
from mase_tui.app_runtime import (
    GC_FREEZE_INTERVAL,
    GC_IDLE_AFTER,
    AppLog,
    ProcessTuning,
    collect_and_freeze,
    settle_gc,
)
from mase_tui.cost_cache import COST_PASS, CostCache
from mase_tui.keymap import all_bindings, known_binding_ids, load_keymap
from mase_tui.messages import (
    GraphChanged,
    LoadProgress,
    NodeFocused,
    PassFinished,
    SessionFailed,
    SessionLoaded,
)
from mase_tui.node_index import NodeRow
from mase_tui.widgets.details import NodeDetails
from mase_tui.widgets.graph_overview import GraphOverview
from mase_tui.widgets.node_tree import NodeTree
from mase_tui.widgets.status_bar import StatusBar

logger = logging.getLogger(__name__)

NARROW_WIDTH = 110  # below this the details pane stacks under the tabs
TABS = ("tab-graph", "tab-compare", "tab-passes", "tab-costs")
# (module in mase_tui.widgets, class, tab title, widget id) of the tabs engineer's panes
TAB_PANES = (
    ("compare", "CompareView", "2 Compare", "compare"),
    ("pass_runner", "PassRunner", "3 Passes", "pass-runner"),
    ("costs", "CostsView", "4 Costs", "costs"),
)
ENV_TIMING = "MASE_TUI_TIMING"  # benchmarks: append "first_frame <t>" / "ready <t>" to this file
ENV_THEME = "MASE_TUI_THEME"


def _while_open(method):
    """Messages still in flight while the app shuts down find no panes; that is not an error."""

    @functools.wraps(method)
    def guarded(self, *args):
        try:
            return method(self, *args)
        except NoMatches:
            if not (self._exit or self._closing or self._closed):
                raise

    return guarded


def _bindings_provider():
    """The palette's provider, imported when the palette first opens (textual.command is slow to import)."""
    from mase_tui.commands_palette import BindingsProvider

    return BindingsProvider


def _passes_provider():
    """Every registered pass as palette commands (run with defaults, or edit)."""
    from mase_tui.commands_palette import PassesProvider

    return PassesProvider


def _pane_class(module: str, name: str) -> type[Widget] | None:
    """A tab's widget class from the tabs engineer's module, or None while it does not exist."""
    try:
        return getattr(importlib.import_module(f"mase_tui.widgets.{module}"), name)
    except ModuleNotFoundError as exc:
        if exc.name != f"mase_tui.widgets.{module}":
            raise
        return None


class _Placeholder(Static):
    def refresh_from_session(self) -> None:
        pass


class FilterInput(Input):
    HELP_SCOPE = "Filter box"
    BINDINGS = [Binding("escape", "cancel_filter", "Clear filter", id="filter.clear")]

    def action_cancel_filter(self) -> None:
        self.app.action_clear_filter()


class MaseTuiApp(ReportActions, App):
    CSS_PATH = "app.tcss"
    TITLE = "mase-tui"
    COMMANDS = App.COMMANDS | {_bindings_provider, _passes_provider}
    BINDINGS = [
        Binding("q,ctrl+q", "quit", "Quit", key_display="q", id="quit"),
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
        Binding("slash", "filter", "Filter", key_display="/", id="filter"),
        Binding("n", "step_match(1)", "Next match", id="match.next"),
        Binding("N", "step_match(-1)", "Prev match", id="match.prev"),
        Binding("y", "copy_details", "Copy", id="copy"),
        Binding("e", "export", "Export", id="export"),
        Binding("ctrl+s", "save_svg", "Screenshot", id="screenshot"),
        Binding("1", "show_tab('tab-graph')", "Graph tab", show=False, id="tab.graph"),
        Binding("2", "show_tab('tab-compare')", "Compare tab", show=False, id="tab.compare"),
        Binding("3", "show_tab('tab-passes')", "Passes tab", show=False, id="tab.passes"),
        Binding("4", "show_tab('tab-costs')", "Costs tab", show=False, id="tab.costs"),
        Binding("right_square_bracket", "compare_step(1)", "Next difference", key_display="]", show=False,
                id="app.compare.next"),
        Binding("left_square_bracket", "compare_step(-1)", "Previous difference", key_display="[", show=False,
                id="app.compare.previous"),
        Binding("t", "toggle_pane('hide-tree')", "Toggle tree", show=False, id="toggle.tree"),
        Binding("d", "toggle_pane('hide-details')", "Toggle details", show=False, id="toggle.details"),
        Binding("ctrl+p", "command_palette", "Palette", show=False, id="palette"),
    ]

    def __init__(self, session=None, *, config_path: str | None = None, theme: str | None = None) -> None:
        super().__init__()
        if session is None:
            from core.session import Session

            session = Session("jsc-toy")
        self.session = session
        self.config_path = config_path
        self.current_node: str | None = None
        self.keymap_file: Path | None = None
        self.load_error: str | None = None
        self.ready = False
        self._theme_name = theme or os.environ.get(ENV_THEME)
        self._costs = CostCache()
        self._seen_logs: set[str] = set()
        self._tuning = ProcessTuning(self)
        self._details_pending: tuple | None = None
        self._tabs_mounted = False
        self._gc_timer = None
        self._last_move = 0.0

    @classmethod
    def from_args(cls, args) -> "MaseTuiApp":
        from mase_tui.commands.common import session_from_args

        return cls(session_from_args(args), config_path=getattr(args, "config", None),
                   theme=getattr(args, "theme", None))

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield FilterInput(placeholder="/ name op:linear type:module shape:8,16", id="filter", compact=True)
                yield Static(id="filter-status")
                yield NodeTree(id="node-tree")
            with Container(id="body"):
                with TabbedContent(id="tabs", initial="tab-graph"):
                    with TabPane("1 Graph", id="tab-graph"):
                        yield GraphOverview(id="graph-overview")
                    for tab, (_, _, title, _) in zip(TABS[1:], TAB_PANES, strict=True):
                        yield TabPane(title, id=tab)  # filled by _mount_tab_panes after the first frame
                yield NodeDetails(id="details")
        yield Footer()

    @property
    def main(self) -> Screen:
        """The screen with the panes. ``App.query`` looks at the top screen, which may be a modal
        (help, export, a confirmation) while a worker's result arrives."""
        stack = self.screen_stack
        if not stack:
            raise NoMatches("the app has no screen (it is shutting down)")
        return stack[0]

    @property
    def tree(self) -> NodeTree:
        return self.main.query_one("#node-tree", NodeTree)

    @property
    def details(self) -> NodeDetails:
        return self.main.query_one("#details", NodeDetails)

    def panes(self) -> list[Widget]:
        """Every widget that follows the session (refresh_from_session)."""
        out: list[Widget] = [self.tree, self.details, self.main.query_one("#graph-overview")]
        if self._tabs_mounted:
            for *_, wid in TAB_PANES:
                out.extend(self.main.query(f"#{wid}"))
        return out

    # ------------------------------------------------------------------ start-up
    def on_mount(self) -> None:
        self._tuning.enter()  # logging to notifications, GIL switch interval, GC (app_runtime.py)
        if self._theme_name:
            if self._theme_name in self.available_themes:
                self.theme = self._theme_name
            else:
                self.notify(f"unknown theme '{self._theme_name}'; ctrl+p then 'theme' lists them", severity="warning")
        self.main.query_one("#filter", FilterInput).display = False
        self.main.query_one("#filter-status", Static).display = False
        self._apply_width(self.size.width)
        name = self.session.model_name
        self.main.query_one(StatusBar).show_progress(name, "starting")
        self.tree.show_message(f"loading {name} ...")
        self.details.show_message("The highlighted node's metadata, cost and module appear here.")
        self.tree.focus()
        self.call_after_refresh(self._first_frame_done)

    def _first_frame_done(self) -> None:
        # The loader imports torch in a thread, which holds the GIL for long stretches: started
        # before the first paint it would delay the paint by ~0.3 s.
        self._stamp("first_frame")
        self._load()
        self.call_after_refresh(self._mount_tab_panes)

    async def _mount_tab_panes(self) -> None:
        """Import and mount the Compare, Passes and Costs panes once the first frame is out: their
        modules take ~0.1 s to import, and the session needs longer than that to load anyway."""
        for tab, (module, name, title, wid) in zip(TABS[1:], TAB_PANES, strict=True):
            pane_class = _pane_class(module, name)
            if pane_class is None:
                pane = _Placeholder(f"{title[2:]}: mase_tui/widgets/{module}.py is not written yet", id=wid)
            else:
                pane = pane_class(id=wid)
            await self.main.query_one(f"#{tab}", TabPane).mount(pane)
        self._tabs_mounted = True  # from now on panes() includes them
        if self.ready:
            for pane in self.panes()[3:]:
                pane.refresh_from_session()
            self._open_config()
        self._apply_keymap()  # after the panes exist: their binding ids are valid keymap entries

    def _stamp(self, event: str) -> None:
        path = os.environ.get(ENV_TIMING)
        if path:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(f"{event} {time.time():.6f}\n")

    def _apply_keymap(self) -> None:
        from mase_tui.widgets.details import NodeDetails as _D
        from mase_tui.widgets.export_dialog import ExportDialog
        from mase_tui.widgets.help_screen import HelpScreen

        classes = [type(self), NodeTree, _D, GraphOverview, FilterInput, HelpScreen, ExportDialog]
        for module, *_ in TAB_PANES:  # the panes and their dialogs (ConfirmReset, ConfigPicker, ...)
            loaded = sys.modules.get(f"mase_tui.widgets.{module}")
            classes += [c for c in vars(loaded or object).values()
                        if isinstance(c, type) and c.__module__ == getattr(loaded, "__name__", "") and "BINDINGS" in vars(c)]
        keymap, problems, path = load_keymap(known_binding_ids(classes))
        self.keymap_file = path
        if keymap:
            self.set_keymap(keymap)
        for problem in problems:
            self.notify(problem, severity="warning", timeout=15)

    def on_unmount(self) -> None:
        self._tuning.exit()

    @on(AppLog)
    def _show_log(self, message: AppLog) -> None:
        if message.text in self._seen_logs:
            return
        self._seen_logs.add(message.text)
        if message.level >= logging.ERROR:
            self.log.error(message.text)  # front ends report their own failures; keep a record
            return
        self.notify(message.text, severity="warning", timeout=10)

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _load(self) -> None:
        from core.errors import MaseError

        try:
            self.session.load(progress=lambda text: self.post_message(LoadProgress(text)))
        except MaseError as exc:
            self.post_message(SessionFailed(exc.one_line()))
        except Exception as exc:  # a bug or a torch error: the app stays up and says what happened
            logger.debug("loading failed", exc_info=True)
            self.post_message(SessionFailed(f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(SessionLoaded())

    @_while_open
    def on_load_progress(self, message: LoadProgress) -> None:
        if not self.ready and self.load_error is None:
            self.main.query_one(StatusBar).show_progress(self.session.model_name, message.text)
            self.tree.show_message(f"loading {self.session.model_name}: {message.text} ...")

    @_while_open
    def on_session_failed(self, message: SessionFailed) -> None:
        self.load_error = message.error
        name = self.session.model_name
        self.main.query_one(StatusBar).show_error(name, message.error)
        self.tree.show_message(f"could not load {name}")
        self.details.show_message(f"Could not load {name}:\n{message.error}\n\nFix the command line and "
                                  "start again (q quits).", style="red")
        self.main.query_one("#graph-overview", GraphOverview).show_message(f"could not load {name}: {message.error}")
        self.notify(message.error, title=f"could not load {name}", severity="error", timeout=3600)

    @_while_open
    def on_session_loaded(self, _message: SessionLoaded) -> None:
        self.ready = True
        self.refresh_bindings()  # the footer shows filter/copy/export as enabled now
        self.main.query_one(StatusBar).show_session(self.session)
        self._start_cost()
        for pane in self.panes():
            pane.refresh_from_session()  # the tree highlights its first node when built
        self.call_after_refresh(settle_gc)
        self.set_interval(GC_FREEZE_INTERVAL, self._freeze_survivors)
        self._open_config()
        self._stamp("ready")

    def _open_config(self) -> None:
        """--config: offer its passes in the Passes tab, once the session and the tab are there."""
        if not (self.config_path and self.ready and self._tabs_mounted):
            return
        runner = self.main.query("#pass-runner")
        if runner and hasattr(runner.first(), "load_config_file"):
            runner.first().load_config_file(Path(self.config_path))

    # ------------------------------------------------------------------ cost (for details)
    def cost_info(self) -> dict | None:
        """The cost_analysis_pass info for the current graph, if there is one yet."""
        return self._costs.info(self.session)

    def node_cost(self, name: str) -> tuple[dict | None, str]:
        return self._costs.node(self.session, name)

    def module_cost(self, path: str) -> dict | None:
        return self._costs.module(self.session, path)

    def _start_cost(self) -> None:
        if self.cost_info() is not None:
            return
        try:
            importlib.import_module("core.passes.analysis.cost")
        except ModuleNotFoundError:
            self._costs.state = "cost: not available in this build (core.passes.analysis.cost)"
            return
        self._costs.state = "computing cost ..."
        self._compute_cost(self.session.current)

    @work(thread=True, exclusive=True, group="cost", exit_on_error=False)
    def _compute_cost(self, graph) -> None:
        from core.errors import MaseError
        from core.passes import PASSES

        try:
            _, info = PASSES[COST_PASS].fn(graph, {})
        except MaseError as exc:
            self.call_from_thread(self._cost_failed, exc.one_line())
        except Exception as exc:  # keep the app up; the pane says why there is no cost
            self.call_from_thread(self._cost_failed, f"{type(exc).__name__}: {exc}")
        else:
            if not get_current_worker().is_cancelled:
                self.call_from_thread(self._cost_done, graph, info)

    @_while_open
    def _cost_done(self, graph, info: dict) -> None:
        self._costs.store(graph, info)
        if graph is self.session.current:
            self.details.refresh_from_session()
            self.main.query_one("#graph-overview", GraphOverview).refresh_from_session()

    @_while_open
    def _cost_failed(self, error: str) -> None:
        self._costs.failed(error)
        self.details.refresh_from_session()

    # ------------------------------------------------------------------ messages from panes
    @_while_open
    def on_node_focused(self, message: NodeFocused) -> None:
        sender = getattr(message, "_sender", None)
        if message.source != "tree" and isinstance(sender, Widget) and not sender.has_focus_within:
            # A view the user is not in can only echo an older programmatic move (e.g. a queued
            # row-highlight while j is held in the tree); following it would pull the cursor back.
            return
        self.current_node = message.name
        if self.details.subject != message.name:
            self._show_details(message.name)
        if message.source != "tree":
            self.tree.reveal(message.name, quiet=True)
        if message.source != "compare":
            for compare in self.main.query("#compare"):
                focus = getattr(compare, "focus_node", None)
                if focus is not None:
                    focus(message.name)

    @_while_open
    def tree_cursor_moved(self, entry) -> None:
        """Called by the tree as its cursor moves (before the repaint): the details follow at once."""
        if not self.ready:
            return
        self._last_move = time.monotonic()
        if isinstance(entry, NodeRow):
            self.current_node = entry.name
            self.details.show_node(entry.name)
        elif entry is not None:
            self.details.show_group(entry)

    def _show_details(self, subject) -> None:
        """Draw the details after the messages already queued: holding j draws the last node
        only, and the tree's cursor is painted without waiting for the details."""
        first = self._details_pending is None
        self._details_pending = (subject,)
        if first:
            self.call_later(self._flush_details)

    @_while_open
    def _flush_details(self) -> None:
        pending, self._details_pending = self._details_pending, None
        if pending is None:
            return
        subject = pending[0]
        if isinstance(subject, str):
            self.details.show_node(subject)
        else:
            self.details.show_group(subject)

    @_while_open
    def on_graph_changed(self, message: GraphChanged) -> None:
        self.main.query_one(StatusBar).show_session(self.session)
        self._start_cost()
        for pane in self.panes():
            pane.refresh_from_session()
        self.call_after_refresh(settle_gc, True)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Background results (the node index, costs, the panes' tables) are long-lived too:
        # freeze them once the workers are done, so later collections stay small.
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED) and self.ready:
            if self._gc_timer is not None:
                self._gc_timer.stop()
            self._gc_timer = self.set_timer(0.5, self._freeze_when_idle)

    def _freeze_when_idle(self) -> None:
        self._gc_timer = None
        if not any(w.is_running for w in self.workers):
            settle_gc()

    def _freeze_survivors(self) -> None:
        # Automatic full collections are rare while the app runs (see on_mount); this one runs
        # when the user has paused for a moment, collects what is not frozen and freezes the rest.
        if self.ready and time.monotonic() - self._last_move > GC_IDLE_AFTER:
            collect_and_freeze()

    @_while_open
    def on_pass_finished(self, message: PassFinished) -> None:
        self.main.query_one(StatusBar).show_session(self.session)
        run = message.run
        if run.name == COST_PASS and run.ok:
            self.details.refresh_from_session()
        if not run.changed_graph:
            self.main.query_one("#graph-overview", GraphOverview).refresh_from_session()
        for pane in self.panes():
            hook = getattr(pane, "pass_finished", None)
            if hook is not None:
                hook(run)

    # ------------------------------------------------------------------ layout actions
    def on_resize(self, event) -> None:
        self._apply_width(event.size.width)

    def _apply_width(self, width: int) -> None:
        self.main.query_one("#body").set_class(width < NARROW_WIDTH, "narrow")
        self.main.query_one("#main").set_class(width < NARROW_WIDTH, "narrow")
        status = self.main.query_one(StatusBar)
        status.compact = width < NARROW_WIDTH
        if self.ready:
            status.show_session(self.session)

    def action_toggle_pane(self, css_class: str) -> None:
        main = self.main.query_one("#main")
        main.toggle_class(css_class)
        if css_class == "hide-tree" and main.has_class(css_class) and self.tree.has_focus:
            self.main.query_one("#tabs").focus()

    def action_show_tab(self, tab: str) -> None:
        tabs = self.main.query_one("#tabs", TabbedContent)
        tabs.active = tab
        pane = tabs.get_pane(tab)
        focusable = [w for w in pane.query("*") if w.focusable]
        if focusable and not self.tree.has_focus:
            focusable[0].focus()

    def action_compare_step(self, step: int) -> None:
        """`]`/`[` from anywhere (the tree, another tab): open Compare and jump to the next or
        previous difference, so the tree and details follow it."""
        try:
            from mase_tui.widgets.compare import CompareView

            compare = self.main.query_one(CompareView)
        except Exception:  # panes not mounted yet (still loading)
            return
        self.main.query_one("#tabs", TabbedContent).active = "tab-compare"
        compare.query_one("#compare-table").focus()
        compare.action_next_difference() if step > 0 else compare.action_previous_difference()

    def reveal_widget(self, widget: Widget) -> None:
        """Show the tab holding ``widget`` (used by the palette before running its action)."""
        for ancestor in widget.ancestors_with_self:
            if isinstance(ancestor, TabPane) and ancestor.id:
                self.main.query_one("#tabs", TabbedContent).active = ancestor.id
                break
        if widget.focusable:
            widget.focus()

    def action_help(self) -> None:
        from mase_tui.widgets.help_screen import HelpScreen

        self.push_screen(HelpScreen(all_bindings(self, self.screen)))

    # ------------------------------------------------------------------ filter
    def action_filter(self) -> None:
        if not self.ready:
            return
        box = self.main.query_one("#filter", FilterInput)
        box.display = True
        box.value = self.tree.query_text
        box.focus()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.action_clear_filter()
            return
        count = self.tree.apply_filter(event.value)
        self.refresh_bindings()  # n / N appear in the footer while there are matches
        status = self.main.query_one("#filter-status", Static)
        status.display = True
        status.update(self._match_text() if count else f"no match for '{event.value.strip()}'")
        self.tree.focus()

    def _match_text(self) -> str:
        tree = self.tree
        total = len(tree.matches)
        return f"{tree.match_index + 1}/{total} match{'es' if total != 1 else ''} · n/N step · esc in / clears"

    def action_clear_filter(self) -> None:
        box = self.main.query_one("#filter", FilterInput)
        box.value = ""
        box.display = False
        self.main.query_one("#filter-status", Static).display = False
        if self.tree.query_text:
            self.tree.clear_filter()
        self.refresh_bindings()
        self.tree.focus()

    def action_step_match(self, delta: int) -> None:
        if self.tree.step_match(delta) is not None:
            self.main.query_one("#filter-status", Static).update(self._match_text())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "step_match":
            return bool(self.ready and self.tree.matches)
        if action in ("copy_details", "export", "filter"):
            return self.ready or None
        return True
