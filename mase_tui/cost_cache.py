"""The cost of the current graph for the details pane and the Graph tab.

The latest cost_analysis_pass in the session's history is used when no transform ran after it;
otherwise the app computes one in the background (without adding it to the history) and
stores it here, keyed by the graph it was computed on.
"""

from __future__ import annotations

from typing import Any

COST_PASS = "cost_analysis_pass"


class CostCache:
    def __init__(self) -> None:
        self.state = "computing cost ..."  # what the details pane says while there is no cost
        self._graph_id: int | None = None
        self._info: dict | None = None
        self._indexed: dict | None = None  # the info the lookups below were built from
        self._nodes: dict[str, dict] = {}
        self._modules: dict[str, dict] = {}

    def info(self, session) -> dict | None:
        for run in reversed(session.history):
            if run.changed_graph:
                break
            if run.name == COST_PASS and run.ok:
                return run.info
        if self._graph_id == id(session.current):
            return self._info
        return None

    def store(self, graph, info: dict) -> None:
        self._graph_id, self._info = id(graph), info
        self.state = ""

    def failed(self, error: str) -> None:
        self.state = f"cost not available: {error}"

    def _index(self, session) -> bool:
        info = self.info(session)
        if info is None:
            return False
        if self._indexed is not info:
            self._nodes = {n["name"]: n for n in info.get("nodes", [])}
            self._modules = {m["path"]: m for m in info.get("modules", [])}
            self._indexed = info
        return True

    def node(self, session, name: str) -> tuple[dict[str, Any] | None, str]:
        """(the node's cost row, or None with the reason to show)."""
        if not self._index(session):
            return None, self.state
        cost = self._nodes.get(name)
        return cost, "" if cost is not None else "no cost row for this node"

    def module(self, session, path: str) -> dict[str, Any] | None:
        return self._modules.get(path) if self._index(session) else None
