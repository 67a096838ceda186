"""The tree/details split the user chose with ``<`` / ``>``, remembered per terminal size.

Stored as JSON in ``$XDG_CONFIG_HOME/mase-tui/layout.json`` (``~/.config`` by default), keyed by
"COLSxROWS": a laptop terminal and a wide monitor each keep their own split. A missing or
unreadable file means the defaults; a failed write is not worth interrupting the user for.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)
NARROW_WIDTH = 110  # below this the details pane is on demand and the other tabs use the full width
MIN_TREE, MIN_REST = 16, 30  # columns: the tree keeps its names, the tabs stay usable
STEP = 4  # columns per < or >


def layout_path() -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "mase-tui" / "layout.json"


def default_tree_width(width: int) -> int:
    """80 columns: 40 for the tree (name, op, shape and precision fit); wide: a quarter, 24-48."""
    if width < NARROW_WIDTH:
        return clamp_tree_width(width // 2, width)
    return clamp_tree_width(max(24, min(48, width // 4)), width)


def clamp_tree_width(tree: int, width: int) -> int:
    return max(MIN_TREE, min(tree, width - MIN_REST))


def load_tree_width(width: int, height: int) -> int:
    try:
        saved = json.loads(layout_path().read_text(encoding="utf-8")).get(f"{width}x{height}", {})
        return clamp_tree_width(int(saved["tree"]), width)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return default_tree_width(width)


def save_tree_width(width: int, height: int, tree: int) -> None:
    from core.utils.atomic import atomic_write_text

    path = layout_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    data[f"{width}x{height}"] = {"tree": tree}
    try:
        atomic_write_text(path, json.dumps(data, indent=1, sort_keys=True) + "\n")
    except OSError as exc:
        logger.debug("layout not saved: %s", exc)
