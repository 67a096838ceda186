"""Process tuning while the app runs, in one place, and the switch that turns it off.

- The GIL switch interval: passes run in threads and hold the GIL between bytecodes; a waiting
  thread gets it after the interval. 1 ms instead of 5 keeps keys responsive while a pass runs.
- The garbage collector: a loaded 10,000-node session is about a million objects. While they sit
  in the oldest generation, every full collection stalls the UI for ~0.5 s, so the app freezes
  them (``gc.freeze`` is O(1)) once loading and background work settle, makes automatic full
  collections 100x rarer and runs its own full collection when the user pauses browsing.

``mase-tui --no-tuning`` or ``MASE_TUI_NO_TUNING=1`` leaves the interpreter as it is (for
comparing, or when something else in the process depends on the defaults);
``benchmarks/bench_tui.py`` measures keypress latency and pass speed with and without.
Everything is undone when the app stops (tests run many apps in one process).
"""

from __future__ import annotations

import gc
import os
import sys
import time

ENV_NO_TUNING = "MASE_TUI_NO_TUNING"
SWITCH_INTERVAL = 0.001  # seconds
GC_THRESHOLDS = (700, 10, 1000)  # CPython's defaults, but full collections 100x rarer
GC_FREEZE_INTERVAL = 3.0  # seconds between checks for a pause in browsing
GC_IDLE_AFTER = 1.0  # seconds without cursor moves that count as a pause
WORKERS_IDLE_AFTER = 0.5  # seconds after the last background worker ends before freezing


def tuning_enabled(flag: bool | None = None) -> bool:
    """``flag`` (from --no-tuning) wins; otherwise on unless $MASE_TUI_NO_TUNING is set to a true value."""
    if flag is not None:
        return flag
    return os.environ.get(ENV_NO_TUNING, "").strip().lower() not in ("1", "true", "yes", "on")


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


class ProcessTuning:
    """The app calls the hooks below at the moments they name; with ``enabled`` False every hook
    does nothing and the interpreter keeps its defaults."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.active = False
        self._switch_interval = sys.getswitchinterval()
        self._thresholds = gc.get_threshold()
        self._last_move = 0.0
        self._idle_timer = None
        self._interval = None

    def enter(self, app) -> None:
        """The app mounted: change the interpreter's settings and start the pause watcher."""
        if not self.enabled:
            return
        self.app = app
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        self._thresholds = gc.get_threshold()
        gc.set_threshold(*GC_THRESHOLDS)
        self.active = True

    def exit(self) -> None:
        """The app unmounted: put back what ``enter`` changed."""
        if not self.active:
            return
        self.active = False
        sys.setswitchinterval(self._switch_interval)
        gc.set_threshold(*self._thresholds)
        gc.unfreeze()

    def session_ready(self) -> None:
        """A session finished loading: freeze it after the next frame and watch for pauses."""
        if not self.active:
            return
        self.app.call_after_refresh(settle_gc)
        if self._interval is None:
            self._interval = self.app.set_interval(GC_FREEZE_INTERVAL, self._freeze_when_paused)

    def graph_replaced(self) -> None:
        """A transform, reset or new session replaced a graph: free the old one, freeze the rest."""
        if self.active:
            self.app.call_after_refresh(settle_gc, True)

    def cursor_moved(self) -> None:
        self._last_move = time.monotonic()

    def worker_finished(self) -> None:
        """Background results (the node index, costs, the panes' tables) are long-lived too:
        freeze them once the workers are done, so later collections stay small."""
        if not self.active:
            return
        if self._idle_timer is not None:
            self._idle_timer.stop()
        self._idle_timer = self.app.set_timer(WORKERS_IDLE_AFTER, self._freeze_when_idle)

    def _freeze_when_idle(self) -> None:
        self._idle_timer = None
        if self.active and not self._workers_running():
            settle_gc()

    def _freeze_when_paused(self) -> None:
        # Automatic full collections are rare while the app runs (see GC_THRESHOLDS); this one
        # runs when the user has paused for a moment, collects what is not frozen, freezes the rest.
        # Not while a worker runs: the collection holds the GIL and stalls it (a pass's forwards
        # waited for it), and what the worker holds is not long-lived yet (worker_finished
        # settles it when the workers are done).
        if self.active and time.monotonic() - self._last_move > GC_IDLE_AFTER and not self._workers_running():
            collect_and_freeze()

    def _workers_running(self) -> bool:
        return any(w.is_running for w in self.app.workers)
