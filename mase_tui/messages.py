"""Messages shared by the app and its panes (see /work/notes/tui_contract.md).

Posted messages bubble up to the app; the app forwards what a pane needs by calling the pane's
methods (``refresh_from_session``, ``focus_node``, ``pass_finished``), never by re-posting, so a
message cannot loop back to the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:  # the Session module is light, but PassRun is only needed for the annotation
    from core.session import PassRun


class SessionLoaded(Message):
    """``session`` finished loading: it has a model and graphs."""

    def __init__(self, session=None) -> None:
        super().__init__()
        self.session = session


class SessionFailed(Message):
    """Loading the session failed; ``error`` is the one-line message shown to the user."""

    def __init__(self, error: str, session=None) -> None:
        super().__init__()
        self.error = error
        self.session = session


class LoadProgress(Message):
    """A progress line from ``Session.load`` (importing torch, tracing, ...)."""

    def __init__(self, text: str, session=None) -> None:
        super().__init__()
        self.text = text
        self.session = session


class GraphChanged(Message):
    """``session.current`` changed (a transform ran, or a reset); every pane refreshes."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class NodeFocused(Message):
    """The user highlighted a node in ``source`` ("tree", "compare", ...); other views follow.
    ``view`` is the widget that posted it (the app ignores echoes from a view the user is not in)."""

    def __init__(self, name: str, source: str, view=None) -> None:
        super().__init__()
        self.name = name
        self.source = source
        self.view = view


class CostReady(Message):
    """The cost of ``graph`` (one of the session's graphs) is known, or known to be unavailable."""

    def __init__(self, graph) -> None:
        super().__init__()
        self.graph = graph


class WorkerProgress(Message, bubble=False):
    """A progress report of a worker thread (a pass's (done, total), an evaluation's batches),
    posted to the widget that shows it. A message, not ``call_from_thread``: that one waits for
    the UI's event loop, so a busy frame stalled the worker for as long, report after report."""

    def __init__(self, values: tuple, source: str = "") -> None:
        super().__init__()
        self.values = values
        self.source = source


class PassFinished(Message):
    """A pass ran (ok or not); ``run`` is the ``core.session.PassRun`` added to the history."""

    def __init__(self, run: "PassRun") -> None:
        super().__init__()
        self.run = run
