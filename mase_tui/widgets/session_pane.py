"""What the panes that show a (original, current) graph pair share."""

from __future__ import annotations

from mase_tui.panes import graph_version, host


class GraphPairPane:
    """Mixin for widgets that redraw when the session's original or current graph changes,
    or when a pass changed the current graph's metadata in place."""

    _graphs: tuple | None = None

    @property
    def session(self):
        return host(self).session

    def new_graph_pair(self) -> tuple | None:
        """(original, current) when it differs from the pair last shown, else None."""
        session = self.session
        if session.original is None:
            return None
        pair = (session.original, session.current)
        seen = (*pair, graph_version(session))
        if self._graphs is not None and len(self._graphs) == 3 and all(
                a is b for a, b in zip(pair, self._graphs[:2], strict=True)) and self._graphs[2] == seen[2]:
            return None  # already shown or being computed
        self._graphs = seen
        return pair
