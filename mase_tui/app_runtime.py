"""What the app changes in the Python process while it runs, and undoes when it stops.

- Logging: stream handlers would write over the screen; warnings become notifications instead.
- The GIL switch interval: passes run in threads and hold the GIL between bytecodes; a waiting
  thread gets it after the interval. 1 ms instead of 5 keeps keys responsive while a pass runs.
- The garbage collector: a loaded 10,000-node session is about a million objects. While they sit
  in the oldest generation, every full collection stalls the UI for ~0.5 s, so the app freezes
  them (``gc.freeze`` is O(1)), makes automatic full collections rarer and runs its own when the
  user pauses.
"""

from __future__ import annotations

import gc
import logging
import sys

from textual.message import Message

SWITCH_INTERVAL = 0.001  # seconds
GC_THRESHOLDS = (700, 10, 1000)  # CPython's defaults, but full collections 100x rarer
GC_FREEZE_INTERVAL = 3.0  # seconds between checks for a pause in browsing
GC_IDLE_AFTER = 1.0  # seconds without cursor moves that count as a pause


def settle_gc(full: bool = False) -> None:
    """Freeze what is alive now. ``full`` (after a transform or a reset) first collects
    everything, so the graph that was replaced can be freed; that one collection is the price."""
    if full:
        gc.unfreeze()
        gc.collect()
    else:
        gc.collect(1)  # young garbage first, so freezing does not keep it alive
    gc.freeze()


def collect_and_freeze() -> None:
    """A full collection of what is not frozen (small by then), then freeze the survivors."""
    gc.collect()
    gc.freeze()


class AppLog(Message):
    """A log record from any thread, shown as a notification on the app's thread."""

    def __init__(self, level: int, text: str) -> None:
        super().__init__()
        self.level = level
        self.text = text


class NotifyHandler(logging.Handler):
    """Posts warnings to the app (post_message is thread-safe)."""

    def __init__(self, app) -> None:
        super().__init__(level=logging.WARNING)
        self.app = app

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.app.post_message(AppLog(record.levelno, record.getMessage()))
        except Exception:  # logging must never raise into the caller
            pass


class ProcessTuning:
    """``enter()`` when the app mounts, ``exit()`` when it unmounts (tests run many apps)."""

    def __init__(self, app) -> None:
        self.handler = NotifyHandler(app)
        self._saved_handlers: list[logging.Handler] = []
        self._switch_interval = sys.getswitchinterval()
        self._thresholds = gc.get_threshold()

    def enter(self) -> None:
        root = logging.getLogger()
        self._saved_handlers = list(root.handlers)
        for handler in self._saved_handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                root.removeHandler(handler)
        root.addHandler(self.handler)
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        self._thresholds = gc.get_threshold()
        gc.set_threshold(*GC_THRESHOLDS)

    def exit(self) -> None:
        root = logging.getLogger()
        root.removeHandler(self.handler)
        for handler in self._saved_handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        self._saved_handlers = []
        sys.setswitchinterval(self._switch_interval)
        gc.set_threshold(*self._thresholds)
