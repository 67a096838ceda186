"""What the panes that show a (original, current) graph pair share."""

from __future__ import annotations


class GraphPairPane:
    """Mixin for widgets that redraw when the session's original or current graph changes."""

    _graphs: tuple | None = None

    @property
    def session(self):
        return getattr(self.app, "session", None)

    def new_graph_pair(self) -> tuple | None:
        """(original, current) when it differs from the pair last shown, else None."""
        session = self.session
        if session is None or getattr(session, "original", None) is None:
            return None
        pair = (session.original, session.current)
        if self._graphs is not None and all(a is b for a, b in zip(pair, self._graphs, strict=True)):
            return None  # already shown or being computed
        self._graphs = pair
        return pair
