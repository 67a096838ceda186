"""Rich parses ``[...]`` in strings as markup: ``[passes.quantize]`` in a file name or a TOML
table name would silently vanish. Every string that comes from the user, a config, a model or
a graph (file names, table names, node and module names, values) reaches rich as ``Text``
(never parsed) or through ``escape``.

``PlainTable`` is a rich ``Table`` whose string cells and titles are taken as plain text; the
CLI's and the renderers' tables use it, so no cell can be eaten, whatever it holds.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table
from rich.text import Text

__all__ = ["PlainTable", "escape", "plain"]


def plain(value: Any, style: str = "") -> Text:
    """``value`` as text that rich shows as it is (None as an empty cell)."""
    return Text("" if value is None else str(value), style=style)


class PlainTable(Table):
    def __init__(self, *headers: Any, title: Any = None, caption: Any = None, **kwargs: Any) -> None:
        super().__init__(*headers, title=plain(title) if isinstance(title, str) else title,
                         caption=plain(caption) if isinstance(caption, str) else caption, **kwargs)

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        super().add_row(*(plain(r) if isinstance(r, str) else r for r in renderables), **kwargs)
