"""A small app that mounts the Compare, Passes and Costs tabs over a loaded Session, wired as
the app contract says (GraphChanged -> refresh_from_session, NodeFocused -> focus_node), so
the tabs can be tested without the app shell."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Footer, Static, TabbedContent, TabPane

from mase_tui.messages import GraphChanged, NodeFocused, PassFinished
from mase_tui.widgets.compare import CompareView
from mase_tui.widgets.costs import CostsView
from mase_tui.widgets.pass_runner import PassRunner


class TabsApp(App):
    CSS = "TabbedContent { height: 1fr; } #status { height: 1; }"
    BINDINGS = [("2", "tab('tab-compare')"), ("3", "tab('tab-passes')"), ("4", "tab('tab-costs')")]

    def __init__(self, session, *, configs_dir=None) -> None:
        super().__init__()
        self.session = session
        self.configs_dir = configs_dir
        self.node_focus_log: list[tuple[str, str]] = []
        self.finished: list = []

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        with TabbedContent(id="tabs", initial="tab-compare"):
            with TabPane("Compare", id="tab-compare"):
                yield CompareView(id="compare")
            with TabPane("Passes", id="tab-passes"):
                yield PassRunner(id="passes", configs_dir=self.configs_dir)
            with TabPane("Costs", id="tab-costs"):
                yield CostsView(id="costs")
        yield Footer()

    def panes(self):
        return [self.query_one(CompareView), self.query_one(PassRunner), self.query_one(CostsView)]

    def on_mount(self) -> None:
        for pane in self.panes():
            pane.refresh_from_session()

    def action_tab(self, tab: str) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = tab
        # focus moves into the shown pane, else the hidden focused widget pulls its tab back
        focusable = [w for w in tabs.get_pane(tab).query("*") if w.focusable]
        if focusable:
            focusable[0].focus()

    def on_graph_changed(self, message: GraphChanged) -> None:
        for pane in self.panes():
            pane.refresh_from_session()

    def on_node_focused(self, message: NodeFocused) -> None:
        self.node_focus_log.append((message.name, message.source))

    def on_pass_finished(self, message: PassFinished) -> None:
        self.finished.append(message.run)
