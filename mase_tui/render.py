"""Rich renderables for pass results, shared by the CLI and the app.

``render_pass_result(name, info)`` picks the renderer registered for the pass in RENDERERS, or
a generic one that shows the report text or a key/value table.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text


def _text_block(info: dict[str, Any]) -> RenderableType:
    return Text(info["text"], no_wrap=True, overflow="ellipsis")


def render_report_graph(info: dict[str, Any]) -> RenderableType:
    overview = Table(title="Network overview", title_justify="left", show_header=True)
    for op in info["overview"]:
        overview.add_column(op, justify="right")
    overview.add_row(*(str(v) for v in info["overview"].values()))
    layers = Table(title="Layer types", title_justify="left", show_header=False)
    layers.add_column("layer", overflow="fold")
    for layer in info["layer_types"]:
        layers.add_row(layer)
    return Group(Syntax(info["graph_text"], "text", word_wrap=False), overview, layers)


def render_node_type(info: dict[str, Any]) -> RenderableType:
    table = Table(title="Node types", title_justify="left")
    for h in info["headers"]:
        table.add_column(h)
    for row in info["rows"]:
        table.add_row(*(str(c) for c in row))
    return table


def render_verify_metadata(info: dict[str, Any]) -> RenderableType:
    if info.get("ok"):
        return Text(f"metadata OK: {info['checked_nodes']} nodes checked", style="green")
    table = Table(title=f"{len(info['problems'])} metadata problem(s)", title_justify="left")
    table.add_column("node")
    table.add_column("problem", overflow="fold")
    for p in info["problems"]:
        table.add_row(p["node"], p["problem"])
    return table


def render_generic(info: dict[str, Any]) -> RenderableType:
    if isinstance(info.get("text"), str):
        return _text_block(info)
    if not info:
        return Text("(no result data)", style="dim")
    table = Table(show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in info.items():
        shown = value if isinstance(value, str) else json.dumps(value, default=str)
        if len(shown) > 2000:
            shown = shown[:2000] + " ..."
        table.add_row(str(key), shown)
    return table


RENDERERS: dict[str, Callable[[dict[str, Any]], RenderableType]] = {
    "report_graph_analysis_pass": render_report_graph,
    "report_node_type_analysis_pass": render_node_type,
    "verify_common_metadata_analysis_pass": render_verify_metadata,
}


def render_pass_result(name: str, info: dict[str, Any]) -> RenderableType:
    renderer = RENDERERS.get(name, render_generic)
    try:
        return renderer(info)
    except (KeyError, TypeError):
        return render_generic(info)


def plain_info(info: Any) -> Any:
    """JSON-safe copy of a pass's info (graphs, tensors and generators dropped)."""
    if isinstance(info, dict):
        return {str(k): plain_info(v) for k, v in info.items()}
    if isinstance(info, (list, tuple)):
        return [plain_info(v) for v in info]
    if info is None or isinstance(info, (bool, int, float, str)):
        return info
    tolist = getattr(info, "tolist", None)
    if callable(tolist):
        return tolist()
    return str(info)
