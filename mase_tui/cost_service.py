"""The cost of the session's graphs, computed once per graph and shared by every pane.

cost_analysis_pass only reads a graph, and a published graph never changes, so one run per
graph object serves the details pane, the Graph tab and the Costs tab (each used to run its
own: three runs after every transform). The service keeps the infos of the session's original
and current graph, computes a missing one in a thread worker and tells the app when it is
ready (``on_ready``). A cost_analysis_pass the user ran in the Passes tab, with no transform
after it, is used as it is.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

from mase_tui.panes import graph_version

COST_PASS = "cost_analysis_pass"


class CostService:
    def __init__(self, app, session, on_ready: Callable[[Any], None]) -> None:
        self.app = app
        self.session = session
        self.on_ready = on_ready  # called on the app's thread with the graph whose cost is known
        self.runs = 0  # cost passes this service started (the tests count them)
        # (id(graph), metadata version) -> (graph, info); holding the graph keeps its id unique
        self._infos: dict[tuple[int, int], tuple[Any, dict]] = {}
        self._errors: dict[tuple[int, int], tuple[Any, str]] = {}
        self._pending: set[tuple[int, int]] = set()
        self._indexed: dict | None = None  # the info the lookups below were built from
        self._nodes: dict[str, dict] = {}
        self._modules: dict[str, dict] = {}

    # ------------------------------------------------------------------ infos
    def info(self, graph=None) -> dict | None:
        """The cost info of ``graph`` (default: the current graph), if known yet."""
        graph = self.session.current if graph is None else graph
        if graph is None:
            return None
        if graph is self.session.current:
            for run in reversed(self.session.history):
                if run.name == COST_PASS and run.ok:
                    return run.info
                if run.ok or run.changed_graph:
                    break  # a later pass may have changed the metadata the cost was counted from
        entry = self._infos.get(self._key(graph))
        return entry[1] if entry is not None and entry[0] is graph else None

    def _key(self, graph) -> tuple[int, int]:
        """A graph and the version of its metadata (analysis passes write into the current graph)."""
        return id(graph), graph_version(self.session) if graph is self.session.current else 0

    def error(self, graph=None) -> str | None:
        graph = self.session.current if graph is None else graph
        entry = self._errors.get(self._key(graph))
        return entry[1] if entry is not None and entry[0] is graph else None

    def state(self, graph=None) -> str:
        """What a pane says while there is no cost for ``graph``."""
        error = self.error(graph)
        return f"cost not available: {error}" if error else "computing cost ..."

    def request(self, graph=None) -> dict | None:
        """The info now if it is known; otherwise None, and the cost is computed (once)."""
        graph = self.session.current if graph is None else graph
        info = self.info(graph)
        if info is not None or graph is None:
            return info
        key = self._key(graph)
        if key in self._pending or self.error(graph) is not None:
            return None
        self._pending.add(key)
        self.runs += 1
        self.app.run_worker(partial(self._compute, graph, key), thread=True, group="cost", exit_on_error=False,
                            description=f"{COST_PASS} of graph {key[0]:x} v{key[1]}")
        return None

    def request_session_graphs(self) -> None:
        """Start what the panes will ask for: the original's cost and the current graph's."""
        self.request(self.session.original)
        self.request(self.session.current)

    def _compute(self, graph, key) -> None:
        from core.errors import MaseError
        from core.passes import PASSES

        info, error = None, None
        try:
            _, info = PASSES[COST_PASS].fn(graph, {})
        except MaseError as exc:
            error = exc.one_line()
        except Exception as exc:  # keep the app up; the panes say why there is no cost
            error = f"{type(exc).__name__}: {exc}"
        self.app.call_from_thread(self._done, graph, key, info, error)

    def _done(self, graph, key, info: dict | None, error: str | None) -> None:
        self._pending.discard(key)
        if error is not None:
            self._errors[key] = (graph, error)
        else:
            self._infos[key] = (graph, info)
        self._forget_old_graphs()
        self.on_ready(graph)

    def _forget_old_graphs(self) -> None:
        """Keep the infos of the graphs the session still holds (a replaced graph can be freed)."""
        keep = {self._key(self.session.original), self._key(self.session.current)}
        for table in (self._infos, self._errors):
            for key in [k for k in table if k not in keep]:
                del table[key]

    # ------------------------------------------------------------------ lookups for the details pane
    def _index(self) -> bool:
        info = self.info()
        if info is None:
            return False
        if self._indexed is not info:
            self._nodes = {n["name"]: n for n in info.get("nodes", [])}
            self._modules = {m["path"]: m for m in info.get("modules", [])}
            self._indexed = info
        return True

    def node(self, name: str) -> tuple[dict[str, Any] | None, str]:
        """(the current graph's cost row of node ``name``, or None with the reason to show)."""
        if not self._index():
            return None, self.state()
        cost = self._nodes.get(name)
        return cost, "" if cost is not None else "no cost row for this node"

    def module(self, path: str) -> dict[str, Any] | None:
        return self._modules.get(path) if self._index() else None
