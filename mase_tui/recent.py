"""The models the user opened from the app (ctrl+o), most recent first, kept between runs.

Stored as a JSON list in ``$XDG_CONFIG_HOME/mase-tui/recent.json`` (``~/.config`` by default),
next to the app's ``keys.toml`` and ``layout.json``. File models and saved graph directories are
stored as absolute paths, so they open again from any working directory. A missing or unreadable
file is an empty list and a failed write is only logged: neither is worth interrupting the user for.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)
MAX_RECENT = 10


@dataclass(frozen=True)
class RecentModel:
    model: str  # a zoo name, /abs/path/file.py:factory, or /abs/path/to/saved/graph
    dataset: str | None = None

    @property
    def label(self) -> str:
        return f"{self.model}  (data {self.dataset})" if self.dataset else self.model


def recent_path() -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "mase-tui" / "recent.json"


def absolute_model_ref(model: str) -> str:
    """``file.py:factory`` and saved graph directories with an absolute path; zoo names and
    ``package.module:factory`` as given."""
    from core.models.registry import MODELS, is_user_model_ref

    if model in MODELS:
        return model
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path.resolve())
    if is_user_model_ref(model):
        file, _, factory = model.rpartition(":")
        if file.endswith(".py") or "/" in file:
            return f"{Path(file).expanduser().resolve()}:{factory}"
    return model


def load_recent() -> list[RecentModel]:
    try:
        data = json.loads(recent_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    out: list[RecentModel] = []
    for item in data if isinstance(data, list) else []:
        if isinstance(item, dict) and isinstance(item.get("model"), str):
            dataset = item.get("dataset")
            out.append(RecentModel(item["model"], dataset if isinstance(dataset, str) else None))
    return out[:MAX_RECENT]


def remember(*opened: RecentModel) -> list[RecentModel]:
    """Put ``opened`` (the last one most recent) at the top of the list and save it."""
    from core.utils.atomic import atomic_write_text

    entries = load_recent()
    for entry in opened:
        entries = [entry, *(e for e in entries if e != entry)]
    entries = entries[:MAX_RECENT]
    payload = [{"model": e.model, "dataset": e.dataset} for e in entries]
    try:
        atomic_write_text(recent_path(), json.dumps(payload, indent=1) + "\n")
    except OSError as exc:
        logger.debug("recent models not saved: %s", exc)
    return entries
