"""MaseTuiApp: the inspector, a Textual app over a live ``core.session.Session``.

The App composes the screen and routes messages; each concern has its own module:
``session_loader`` (loading off the UI thread), ``cost_service`` (one cost run per graph,
shared by the panes), ``panes`` (the interfaces the panes implement), ``tuning`` (GIL and GC
settings), ``app_logging`` (log records as notifications), ``app_reports`` (copy, export,
screenshot) and ``widgets/`` (one pane a file). The first frame is painted before torch is
imported; the session loads in a worker that reports progress in the status line.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import sys
import time
from pathlib import Path

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from mase_tui.app_logging import AppLog, LogToNotifications
from mase_tui.app_reports import ReportActions
from mase_tui.cost_service import COST_PASS, CostService
from mase_tui.keymap import all_bindings, known_binding_ids, load_keymap
from mase_tui.messages import (
    GraphChanged,
    LoadProgress,
    NodeFocused,
    PassFinished,
    SessionFailed,
    SessionLoaded,
)
from mase_tui.model_switch import ModelSwitch
from mase_tui.node_index import NodeRow
from mase_tui.panes import FollowsCost, FollowsNode, FollowsPasses, OpensConfig, SessionView
from mase_tui.pass_files import PassFileReload
from mase_tui.precision import PrecisionActions
from mase_tui.session_loader import start_loading
from mase_tui.tuning import ProcessTuning, tuning_enabled
from mase_tui.widgets.details import NodeDetails
from mase_tui.widgets.filter_bar import FilterBar, FilterInput
from mase_tui.widgets.graph_overview import GraphOverview
from mase_tui.widgets.node_tree import NodeTree
from mase_tui.widgets.status_bar import StatusBar

logger = logging.getLogger(__name__)

NARROW_WIDTH = 110  # below this the details pane stacks under the tabs
TABS = ("tab-graph", "tab-compare", "tab-passes", "tab-costs", "tab-search")
# (module in mase_tui.widgets, class, tab title, widget id) of the panes mounted after the first frame
TAB_PANES = (
    ("compare", "CompareView", "2 Compare", "compare"),
    ("pass_runner", "PassRunner", "3 Passes", "pass-runner"),
    ("costs", "CostsView", "4 Costs", "costs"),
    ("search_tab", "SearchView", "5 Search", "search"),
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
            if not self.closing and self.is_running and self.screen_stack:
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


class MaseTuiApp(ModelSwitch, ReportActions, PassFileReload, PrecisionActions, App):
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
        *ModelSwitch.OPEN_MODEL_BINDINGS,
        Binding("1", "show_tab('tab-graph')", "Graph tab", show=False, id="tab.graph"),
        Binding("2", "show_tab('tab-compare')", "Compare tab", show=False, id="tab.compare"),
        Binding("3", "show_tab('tab-passes')", "Passes tab", show=False, id="tab.passes"),
        Binding("4", "show_tab('tab-costs')", "Costs tab", show=False, id="tab.costs"),
        Binding("5", "show_tab('tab-search')", "Search tab", show=False, id="tab.search"),
        Binding("right_square_bracket", "compare_step(1)", "Next difference", key_display="]", show=False,
                id="app.compare.next"),
        Binding("left_square_bracket", "compare_step(-1)", "Previous difference", key_display="[", show=False,
                id="app.compare.previous"),
        Binding("t", "toggle_pane('hide-tree')", "Toggle tree", show=False, id="toggle.tree"),
        Binding("d", "toggle_pane('hide-details')", "Toggle details", show=False, id="toggle.details"),
        Binding("ctrl+p", "command_palette", "Palette", show=False, id="palette"),
        *PassFileReload.PASS_FILE_BINDINGS,
        *PrecisionActions.PRECISION_BINDINGS,
    ]

    def __init__(self, session=None, *, config_path: str | None = None, theme: str | None = None,
                 tuning: bool | None = None) -> None:
        super().__init__()
        if session is None:
            from core.session import Session

            session = Session("jsc-toy")
        self.session = session
        self.config_path = config_path
        self.current_node: str | None = None
        self.keymap_file: Path | None = None
        self.keymap: dict[str, str] = {}  # the user's remapping, as given to set_keymap
        self.load_error: str | None = None
        self.ready = False
        self.closing = False
        self.costs = CostService(self, session, self._cost_ready)
        self.tuning = ProcessTuning(tuning_enabled(tuning))
        self._theme_name = theme or os.environ.get(ENV_THEME)
        self._logs = LogToNotifications(self)
        self._seen_logs: set[str] = set()
        self._details_pending: tuple | None = None
        self._tabs_mounted = False

    @classmethod
    def from_args(cls, args) -> "MaseTuiApp":
        from mase_tui.commands.common import session_from_args

        tuning = False if getattr(args, "no_tuning", False) else None
        return cls(session_from_args(args), config_path=getattr(args, "config", None),
                   theme=getattr(args, "theme", None), tuning=tuning)

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield FilterBar(id="filter-bar")
                yield NodeTree(id="node-tree", on_cursor=self._tree_cursor_moved)
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

    @property
    def overview(self) -> GraphOverview:
        return self.main.query_one("#graph-overview", GraphOverview)

    def panes(self) -> list[Widget]:
        """Every pane that follows the session, in the order they are told about changes."""
        out: list[Widget] = [self.tree, self.details, self.overview]
        if self._tabs_mounted:
            for *_, wid in TAB_PANES:
                out.extend(self.main.query(f"#{wid}"))
        return out

    def panes_with(self, interface: type) -> list:
        """The panes implementing one of the interfaces of ``mase_tui.panes``."""
        return [pane for pane in self.panes() if isinstance(pane, interface)]

    def exit(self, *args, **kwargs) -> None:
        self.closing = True  # messages still in flight find no panes: see _while_open
        super().exit(*args, **kwargs)

    # ------------------------------------------------------------------ start-up
    def on_mount(self) -> None:
        self._logs.enter()
        self.tuning.enter(self)
        if self._theme_name:
            if self._theme_name in self.available_themes:
                self.theme = self._theme_name
            else:
                self.notify(f"unknown theme '{self._theme_name}'; ctrl+p then 'theme' lists them", severity="warning")
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
        start_loading(self, self.session)
        self.call_after_refresh(self._mount_tab_panes)
        self.start_pass_file_watch()

    async def _mount_tab_panes(self) -> None:
        """Import and mount the Compare, Passes and Costs panes once the first frame is out: their
        modules take ~0.1 s to import, and the session needs longer than that to load anyway."""
        for tab, (module, name, _title, wid) in zip(TABS[1:], TAB_PANES, strict=True):
            pane_class = getattr(importlib.import_module(f"mase_tui.widgets.{module}"), name)
            await self.main.query_one(f"#{tab}", TabPane).mount(pane_class(id=wid))
        self._tabs_mounted = True  # from now on panes() includes them
        if self.ready:
            for pane in self.panes()[3:]:
                if isinstance(pane, SessionView):
                    pane.refresh_from_session()
            self._open_config()
        self._apply_keymap()  # after the panes exist: their binding ids are valid keymap entries

    def _stamp(self, event: str) -> None:
        path = os.environ.get(ENV_TIMING)
        if path:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(f"{event} {time.time():.6f}\n")

    def _apply_keymap(self) -> None:
        from mase_tui.widgets.export_dialog import ExportDialog
        from mase_tui.widgets.help_screen import HelpScreen
        from mase_tui.widgets.open_model import ModelList, OpenModelScreen

        classes = [type(self), NodeTree, NodeDetails, GraphOverview, FilterInput, HelpScreen, ExportDialog,
                   OpenModelScreen, ModelList]
        for module, *_ in TAB_PANES:  # the panes and their dialogs (ConfirmReset, ConfigPicker, ...)
            loaded = sys.modules[f"mase_tui.widgets.{module}"]
            classes += [c for c in vars(loaded).values()
                        if isinstance(c, type) and c.__module__ == loaded.__name__ and "BINDINGS" in vars(c)]
        keymap, problems, path = load_keymap(known_binding_ids(classes))
        self.keymap_file = path
        if keymap:
            self.keymap = keymap
            self.set_keymap(keymap)
        for problem in problems:
            self.notify(problem, severity="warning", timeout=15)

    def on_unmount(self) -> None:
        self.tuning.exit()
        self._logs.exit()

    @on(AppLog)
    def _show_log(self, message: AppLog) -> None:
        if message.text in self._seen_logs:
            return
        self._seen_logs.add(message.text)
        if message.level >= logging.ERROR:
            self.log.error(message.text)  # front ends report their own failures; keep a record
            return
        self.notify(message.text, severity="warning", timeout=10)

    # ------------------------------------------------------------------ session loading
    @_while_open
    def on_load_progress(self, message: LoadProgress) -> None:
        if message.session is not self.session:
            return
        if not self.ready and self.load_error is None:
            self.main.query_one(StatusBar).show_progress(self.session.model_name, message.text)
            self.tree.show_message(f"loading {self.session.model_name}: {message.text} ...")

    @_while_open
    def on_session_failed(self, message: SessionFailed) -> None:
        if message.session is not self.session:
            return
        self.load_error = message.error
        name = self.session.model_name
        self.main.query_one(StatusBar).show_error(name, message.error)
        self.tree.show_message(f"could not load {name}")
        self.details.show_message(f"Could not load {name}:\n{message.error}\n\nFix the command line and "
                                  "start again (q quits).", style="red")
        self.overview.show_message(f"could not load {name}: {message.error}")
        self.notify(message.error, title=f"could not load {name}", severity="error", timeout=3600)

    @_while_open
    def on_session_loaded(self, message: SessionLoaded) -> None:
        if message.session is not self.session:
            return
        self.ready = True
        self.refresh_bindings()  # the footer shows filter/copy/export as enabled now
        self.main.query_one(StatusBar).show_session(self.session)
        self.costs.request_session_graphs()
        for pane in self.panes_with(SessionView):
            pane.refresh_from_session()  # the tree highlights its first node when built
        self.tuning.session_ready()
        self._open_config()
        self._stamp("ready")

    def _open_config(self) -> None:
        """--config: offer its passes in the Passes tab, once the session and the tab are there."""
        if not (self.config_path and self.ready and self._tabs_mounted):
            return
        for pane in self.panes_with(OpensConfig):
            pane.load_config_file(Path(self.config_path))

    # ------------------------------------------------------------------ cost
    @_while_open
    def _cost_ready(self, graph) -> None:
        """The cost service finished a graph: the panes that show costs redraw."""
        for pane in self.panes_with(FollowsCost):
            pane.cost_ready(graph)

    # ------------------------------------------------------------------ messages from panes
    @_while_open
    def on_node_focused(self, message: NodeFocused) -> None:
        view = message.view
        if message.source != "tree" and isinstance(view, Widget) and not view.has_focus_within:
            # A view the user is not in can only echo an older programmatic move (e.g. a queued
            # row-highlight while j is held in the tree); following it would pull the cursor back.
            return
        self.current_node = message.name
        if self.details.subject != message.name:
            self._show_details(message.name)
        if message.source != "tree":
            self.tree.reveal(message.name, quiet=True)
        for pane in self.panes_with(FollowsNode):
            if pane is not view:
                pane.focus_node(message.name)

    @_while_open
    def _tree_cursor_moved(self, entry) -> None:
        """Called by the tree as its cursor moves (before the repaint): the details follow at once."""
        if not self.ready:
            return
        self.tuning.cursor_moved()
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
        self.costs.request()
        for pane in self.panes_with(SessionView):
            pane.refresh_from_session()
        self.tuning.graph_replaced()

    @_while_open
    def on_pass_finished(self, message: PassFinished) -> None:
        self.main.query_one(StatusBar).show_session(self.session)
        run = message.run
        if run.ok and not run.changed_graph:
            # An analysis pass writes metadata in place (statistics, hardware, ...): every pane
            # redraws from it, including nodes it shows from a cache.
            if run.name != COST_PASS:
                self.costs.request()
            for pane in self.panes_with(SessionView):
                pane.refresh_from_session()
        for pane in self.panes_with(FollowsPasses):
            pane.pass_finished(run)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED) and self.ready:
            self.tuning.worker_finished()

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
        if not self._tabs_mounted:
            return  # still loading
        from mase_tui.widgets.compare import CompareView

        compare = self.main.query_one(CompareView)
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

        self.push_screen(HelpScreen(all_bindings(self, self.screen), self.keymap_file))

    # ------------------------------------------------------------------ filter
    @property
    def filter_bar(self) -> FilterBar:
        return self.main.query_one(FilterBar)

    def action_filter(self) -> None:
        if self.ready:
            self.filter_bar.open()

    def action_clear_filter(self) -> None:
        self.filter_bar.clear()

    def action_step_match(self, delta: int) -> None:
        self.filter_bar.step(delta)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "step_match":
            return bool(self.ready and self.tree.matches)
        if action in ("copy_details", "export", "filter"):
            return self.ready or None
        return True
