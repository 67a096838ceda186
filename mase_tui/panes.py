"""What the app expects of its panes, declared once.

The app routes session events to its panes through these interfaces; a pane implements the
ones it needs (checked with ``isinstance``, so a method with a typo is a pane that silently does
not follow, caught by the tests rather than by a ``getattr`` returning None). Panes reach the
app's shared state through ``host(widget)``, typed as ``AppHost``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

if TYPE_CHECKING:
    from textual.widget import Widget

    from core.session import PassRun, Session
    from mase_tui.cost_service import CostService
    from mase_tui.export import Report


@runtime_checkable
class SessionView(Protocol):
    """Shows something of the session; redraws when its graphs change or a session loads."""

    def refresh_from_session(self) -> None: ...


@runtime_checkable
class FollowsPasses(Protocol):
    """Wants to know about every pass run (also runs started elsewhere)."""

    def pass_finished(self, run: "PassRun") -> None: ...


@runtime_checkable
class FollowsNode(Protocol):
    """Moves its own cursor to the node highlighted in another view (without echoing it back)."""

    def focus_node(self, name: str) -> None: ...


@runtime_checkable
class CatchesUpWhenShown(Protocol):
    """Defers work while its tab is hidden (following the tree, say); the app calls ``tab_shown``
    when the tab is activated, before its first frame."""

    def tab_shown(self) -> None: ...


@runtime_checkable
class FollowsCost(Protocol):
    """Shows costs: told when the cost of one of the session's graphs is known."""

    def cost_ready(self, graph: Any) -> None: ...


@runtime_checkable
class ShowsLoadFailure(Protocol):
    """Says in place why there is nothing to show when the session could not load."""

    def show_load_failure(self, error: str, retry: str) -> None: ...


@runtime_checkable
class ReplacesSession(Protocol):
    """Keeps state of one session (a diff, an accuracy, a selection): drops it when ctrl+o
    replaced the session, before ``refresh_from_session`` draws the new one."""

    def session_replaced(self) -> None: ...


@runtime_checkable
class ExportsReport(Protocol):
    """A tab whose ``e`` export is its own report (what it shows), or None for the default."""

    def export_report(self) -> "Report | None": ...


@runtime_checkable
class OpensConfig(Protocol):
    """Takes pass arguments from a TOML config file (``--config``, ``o``)."""

    def load_config_file(self, path: Path) -> bool: ...


class AppHost(Protocol):
    """The app as its panes see it."""

    session: "Session"
    costs: "CostService"

    def notify(self, message: str, *, title: str = "", severity: str = "information",
               timeout: float | None = None, markup: bool = True) -> None: ...


def host(widget: "Widget") -> AppHost:
    """``widget.app`` as the panes' interface to it."""
    return cast(AppHost, widget.app)


def graph_version(session: "Session") -> int:
    """Changes whenever a pass may have changed the current graph's metadata: every successful
    run and every reset (analysis passes write metadata in place, e.g. statistics). The cost
    pass is left out: what it adds is what the panes take from its info."""
    return sum(1 for run in session.history if run.ok and run.name != "cost_analysis_pass")
