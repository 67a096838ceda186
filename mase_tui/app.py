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
from mase_tui.layout_store import (
    NARROW_WIDTH,
    STEP,
    clamp_tree_width,
    load_tree_width,
    save_tree_width,
)
from mase_tui.messages import (
    GraphChanged,
    LoadProgress,
    NodeFocused,
    PassFinished,
    SessionFailed,
    SessionLoaded,
)
from mase_tui.node_index import NodeRow
from mase_tui.panes import (
    CatchesUpWhenShown,
    FollowsCost,
    FollowsNode,
    FollowsPasses,
    OpensConfig,
    ReplacesSession,
    SessionView,
    ShowsLoadFailure,
)
from mase_tui.pass_files import PassFileReload
from mase_tui.precision import PrecisionActions
from mase_tui.session_loader import start_loading
from mase_tui.tab_keys import TAB_BINDINGS, TAB_PANE
from mase_tui.tuning import ProcessTuning, tuning_enabled
from mase_tui.widgets.details import NodeDetails
from mase_tui.widgets.filter_bar import FilterBar, FilterInput
from mase_tui.widgets.graph_overview import GraphOverview
from mase_tui.widgets.node_tree import NodeTree
from mase_tui.widgets.status_bar import StatusBar

logger = logging.getLogger(__name__)

TABS = ("tab-graph", "tab-compare", "tab-passes", "tab-costs", "tab-search")
# (module in mase_tui.widgets, class, tab title, widget id) of the panes mounted after the first frame
TAB_PANES = (
    ("compare", "CompareView", "2 Compare", "compare"),
    ("pass_runner", "PassRunner", "3 Passes", "pass-runner"),
    ("costs", "CostsView", "4 Costs", "costs"),
    ("search_tab", "SearchView", "5 Search", "search"),
)
# the widget a tab focuses when it is shown
MAIN_WIDGET = {"tab-graph": "#graph-overview", "tab-compare": "#compare-table", "tab-passes": "#pass-list",
               "tab-costs": "#costs-table"}
LOAD_RETRY = "fix the command line and start mase-tui again (q quits)"
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


class MaseTuiApp(ReportActions, PassFileReload, PrecisionActions, App):
    CSS_PATH = "app.tcss"
    TITLE = "mase-tui"
    COMMANDS = App.COMMANDS | {_bindings_provider, _passes_provider}
    BINDINGS = [
        *TAB_BINDINGS,  # first: the shown tab's keys lead the footer, as when the tab has the focus
        # q quits and the footer says so, except while an editor has the focus (q is typed there);
        # ctrl+q quits from anywhere, editors included
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+q", "quit_anywhere", "Quit", show=False, priority=True, id="quit.anywhere"),
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
        Binding("5", "show_tab('tab-search')", "Search tab", show=False, id="tab.search"),
        # one binding per action, here: ] and [ work from any pane (they open Compare)
        Binding("right_square_bracket", "compare_step(1)", "Next difference", key_display="]", show=False,
                id="compare.next-difference"),
        Binding("left_square_bracket", "compare_step(-1)", "Previous difference", key_display="[", show=False,
                id="compare.previous-difference"),
        Binding("ctrl+k", "dismiss_notifications", "Dismiss messages", show=False, id="notifications.dismiss"),
        Binding("i", "explain", "Explain", id="explain"),
        Binding("ctrl+o", "open_model", "Open model", show=False, id="open-model"),
        Binding("t", "toggle_pane('hide-tree')", "Toggle tree", show=False, id="toggle.tree"),
        Binding("less_than_sign", "resize_tree(-1)", "Narrower tree", key_display="<", show=False,
                id="layout.tree-narrower"),
        Binding("greater_than_sign", "resize_tree(1)", "Wider tree", key_display=">", show=False,
                id="layout.tree-wider"),
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
        self._details_auto_hidden = False  # hidden by the narrow layout, not by the user (d)
        self.tree_width = 0
        self._tabs_mounted = False
        self.pending_session = None  # ctrl+o: loading while the current session stays on screen

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
        self._apply_width(self.size.width, self.size.height)
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
        if self.load_error is not None:
            self._show_load_failure()
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
        from mase_tui.widgets.explain_screen import ExplainScreen
        from mase_tui.widgets.export_dialog import ExportDialog
        from mase_tui.widgets.help_screen import HelpScreen
        from mase_tui.widgets.open_model import ModelList, OpenModelScreen

        classes = [type(self), NodeTree, NodeDetails, GraphOverview, FilterInput, HelpScreen, ExportDialog,
                   ExplainScreen, OpenModelScreen, ModelList]
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
    # ------------------------------------------------------------------ ctrl+o: another model
    def action_open_model(self) -> None:
        from mase_tui.widgets.open_model import OpenModelScreen

        self.push_screen(OpenModelScreen(current=self.session.model_name), self._open_model_chosen)

    def _open_model_chosen(self, choice) -> None:
        if not choice:
            return
        from core.errors import MaseError
        from mase_tui.model_switch import session_for

        try:
            pending = session_for(choice, self.session)
        except MaseError as exc:
            self.notify_error(exc.one_line(), title=f"could not open {choice.model}")
            return
        self.pending_session, self._pending_choice = pending, choice
        self.notify(f"loading {choice.model}; {self.session.model_name} stays until it is ready", timeout=6,
                    markup=False)
        start_loading(self, self.pending_session)

    def _switch_to(self, session) -> None:
        """The new session is loaded: every pane follows it from a clean state."""
        from mase_tui.model_switch import remember_switch

        remember_switch(self.session, self._pending_choice)
        self.pending_session = None
        self.session = session
        self.costs = CostService(self, session, self._cost_ready)
        self.load_error = None
        self.current_node = None
        for pane in self.panes_with(ReplacesSession):
            pane.session_replaced()
        self.clear_notifications()

    @_while_open
    def on_load_progress(self, message: LoadProgress) -> None:
        if message.session is not self.session:
            return
        if not self.ready and self.load_error is None:
            self.main.query_one(StatusBar).show_progress(self.session.model_name, message.text)
            self.tree.show_message(f"loading {self.session.model_name}: {message.text} ...")

    @_while_open
    def on_session_failed(self, message: SessionFailed) -> None:
        if message.session is self.pending_session and message.session is not None:
            self.pending_session = None  # the current session stays
            self.notify_error(f"{message.error}; still showing {self.session.model_name}",
                              title=f"could not open {message.session.model_name}")
            return
        if message.session is not self.session:
            return
        self.load_error = message.error
        name = self.session.model_name
        self.main.query_one(StatusBar).show_error(name, message.error)
        self.tree.show_message(f"could not load {name}")
        self.details.show_message(f"Could not load {name}:\n{message.error}\n\nFix the command line and "
                                  "start again (q quits).", style="red")
        self.overview.show_message(f"could not load {name}: {message.error}")
        self._show_load_failure()
        self.notify_error(message.error, title=f"could not load {name}")

    def _show_load_failure(self) -> None:
        for pane in self.panes_with(ShowsLoadFailure):
            pane.show_load_failure(f"could not load {self.session.model_name}: {self.load_error}", LOAD_RETRY)

    @_while_open
    def on_session_loaded(self, message: SessionLoaded) -> None:
        if message.session is self.pending_session and message.session is not None:
            self._switch_to(message.session)
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
        """--config: open the Passes tab with the config's pass selected, once the session and
        the tab are there."""
        if not (self.config_path and self.ready and self._tabs_mounted):
            return
        opened = [pane.load_config_file(Path(self.config_path)) for pane in self.panes_with(OpensConfig)]
        if any(opened):
            self.action_show_tab("tab-passes")

    def action_dismiss_notifications(self) -> None:
        self.clear_notifications()

    def notify_error(self, message: str, title: str = "") -> None:
        """An error stays on screen until dismissed (ctrl+k) or until something succeeds."""
        self.notify(f"{message}\n(ctrl+k dismisses)", title=title, severity="error", timeout=3600, markup=False)

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
        """Called by the tree as its cursor moves (before the repaint). The details follow in the
        next frame, not this one: Textual repaints the box around everything changed in a frame,
        and the box around the tree's cursor line and the details pane is the whole screen (the
        graph overview, tabs and scrollbars between them re-rendered on every key)."""
        if not self.ready:
            return
        self.tuning.cursor_moved()
        if isinstance(entry, NodeRow):
            self.current_node = entry.name
            self._show_details(entry.name, after_paint=True)
        elif entry is not None:
            self._show_details(entry, after_paint=True)

    def _show_details(self, subject, after_paint: bool = False) -> None:
        """Draw the details after the messages already queued (``after_paint``: after the next
        frame): holding j draws the last node only, and the tree's cursor is painted without
        waiting for the details."""
        first = self._details_pending is None
        self._details_pending = (subject,)
        if first:
            (self.call_after_refresh if after_paint else self.call_later)(self._flush_details)

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
        if run.ok:
            self.clear_notifications()  # an earlier error is history once a pass succeeds
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
        """The one place a background task's failure is reported. Workers catch the errors they
        expect (a bad config, a pass failure) and say so in their pane; anything else ends here."""
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            what = event.worker.description or event.worker.name or "a background task"
            logger.debug("worker %s failed", what, exc_info=error)
            self.notify_error(f"{what} failed: {type(error).__name__}: {error}",
                              title="background task failed")
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED) and self.ready:
            self.tuning.worker_finished()

    # ------------------------------------------------------------------ layout actions
    def on_resize(self, event) -> None:
        self._apply_width(event.size.width, event.size.height)

    def _apply_width(self, width: int, height: int) -> None:
        """80x24 is a layout of its own: below NARROW_WIDTH columns the Compare, Passes and Costs
        tabs take the full width, the details are on demand (d, stacked under the tab) and the
        tree is wide enough for each node's op and shape; the split is the user's (< / >),
        remembered per terminal size."""
        narrow = width < NARROW_WIDTH
        main = self.main.query_one("#main")
        was_narrow = main.has_class("narrow")
        self.main.query_one("#body").set_class(narrow, "narrow")
        main.set_class(narrow, "narrow")
        if narrow and not was_narrow and not main.has_class("hide-details"):
            main.add_class("hide-details")
            self._details_auto_hidden = True
        elif not narrow and was_narrow and self._details_auto_hidden:
            main.remove_class("hide-details")
            self._details_auto_hidden = False
        self._set_tree_width(load_tree_width(width, height))
        self.main.query_one(Footer).compact = narrow  # 80 columns: every key of the pane fits
        status = self.main.query_one(StatusBar)
        status.compact = narrow
        if self.ready:
            status.show_session(self.session)

    def _set_tree_width(self, columns: int) -> None:
        self.tree_width = columns
        styles = self.main.query_one("#left").styles
        styles.width = styles.min_width = styles.max_width = columns

    def action_resize_tree(self, direction: int) -> None:
        width, height = self.size
        columns = clamp_tree_width(self.tree_width + direction * STEP, width)
        if columns != self.tree_width:
            self._set_tree_width(columns)
            save_tree_width(width, height, columns)

    @on(TabbedContent.TabActivated, "#tabs")
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        # narrow: only the Graph tab shares the width with the tree
        self.main.query_one("#main").set_class(event.pane.id != "tab-graph", "other-tab")
        for pane in self.panes_with(CatchesUpWhenShown):  # before the tab's first frame
            if event.pane in pane.ancestors:
                pane.tab_shown()

    def action_toggle_pane(self, css_class: str) -> None:
        main = self.main.query_one("#main")
        main.toggle_class(css_class)
        if css_class == "hide-details":
            self._details_auto_hidden = False
        if css_class == "hide-tree" and main.has_class(css_class) and self.tree.has_focus:
            self.main.query_one("#tabs").focus()

    def action_show_tab(self, tab: str) -> None:
        """Show a tab and focus its main widget, so its keys work at once and the footer lists them."""
        tabs = self.main.query_one("#tabs", TabbedContent)
        tabs.active = tab
        pane = tabs.get_pane(tab)
        main = pane.query(MAIN_WIDGET.get(tab, "*"))
        focusable = [w for w in (main or pane.query("*")) if w.can_focus]
        if focusable:
            # focus it now and again once the switch is painted: a widget focused in the pane
            # being hidden would otherwise keep the focus (and its keys in the footer)
            focusable[0].focus()
            self.call_after_refresh(focusable[0].focus)

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

    def action_explain(self) -> None:
        """What the current node's fx opcode and MASE type mean, with this node as the example."""
        from mase_tui.explain import explain_node
        from mase_tui.widgets.explain_screen import ExplainScreen

        name = self.current_node
        if name is None or self.session.current is None:
            self.notify("move to a node first (i explains the highlighted node)", severity="warning", timeout=4)
            return
        try:
            parts = explain_node(self.session.current, name)
        except KeyError:
            self.notify(f"{name} is not in the current graph", severity="warning", timeout=4)
            return
        self.push_screen(ExplainScreen(parts))

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

    # ------------------------------------------------------------------ tab keys, quit
    async def action_tab_action(self, tab: str, action: str) -> None:
        """A tab's key (``mase_tui.tab_keys``): run the action of the pane shown in that tab."""
        pane = self.main.query_one(f"#{TAB_PANE[tab]}")
        await self.run_action(action, pane)

    def action_quit_anywhere(self) -> None:
        self.exit()

    def _active_tab(self) -> str | None:
        try:
            return self.main.query_one("#tabs", TabbedContent).active
        except NoMatches:
            return None

    def _editing(self) -> bool:
        """An editor (the pass arguments, the filter box, a prompt) has the focus: letters are text."""
        from textual.widgets import Input, TextArea

        return isinstance(self.focused, (Input, TextArea))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "tab_action":
            # False hides the key from the footer: it belongs to a tab not shown, or a dialog is open
            tab = parameters[0] if parameters else None
            return bool(self._tabs_mounted and self.screen is self.main and self._active_tab() == tab)
        if action == "quit":
            return not self._editing()
        if action == "step_match":
            return bool(self.ready and self.tree.matches)
        if action in ("copy_details", "export", "filter", "explain"):
            return self.ready or None
        return True
