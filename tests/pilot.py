"""Shared by the Pilot tests: wait until the app has settled."""

from __future__ import annotations

from textual.worker import WorkerCancelled, WorkerFailed


async def settle(app, pilot) -> None:
    """Wait for every worker and for the workers their messages start (a worker replaced by a
    newer one in its exclusive group ends cancelled), until the model is loaded or failed."""
    for _ in range(400):
        try:
            await app.workers.wait_for_complete()
        except (WorkerCancelled, WorkerFailed):
            pass
        await pilot.pause()
        loaded = getattr(app, "ready", True) or getattr(app, "load_error", None)
        if loaded and all(w.is_finished for w in app.workers):
            break
