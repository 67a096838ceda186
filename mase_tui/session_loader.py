"""Loading a Session off the UI thread: torch, the model, the data, tracing and metadata.

``start_loading`` runs ``Session.load`` in a thread worker that reports through messages
(``LoadProgress``, then ``SessionLoaded`` or ``SessionFailed``), each naming the session it is
about, so a message from a session the app has since replaced is recognised and dropped.
"""

from __future__ import annotations

import logging
from functools import partial

from textual.worker import Worker

from mase_tui.messages import LoadProgress, SessionFailed, SessionLoaded

logger = logging.getLogger(__name__)
LOAD_GROUP = "load"


def start_loading(app, session) -> Worker:
    return app.run_worker(partial(_load, app, session), thread=True, exclusive=True, group=LOAD_GROUP,
                          exit_on_error=False, description=f"load {session.model_name}")


def _load(app, session) -> None:
    from core.errors import MaseError

    try:
        session.load(progress=lambda text: app.post_message(LoadProgress(text, session)))
    except MaseError as exc:
        app.post_message(SessionFailed(exc.one_line(), session))
    except Exception as exc:  # a bug or a torch error: the app stays up and says what happened
        logger.debug("loading failed", exc_info=True)
        app.post_message(SessionFailed(f"{type(exc).__name__}: {exc}", session))
    else:
        app.post_message(SessionLoaded(session))
