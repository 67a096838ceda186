"""Log records while the app runs: shown as notifications, never written over the screen.

A StreamHandler on the root logger (``logging.basicConfig`` from the CLI) would print into the
terminal Textual draws on. While the app runs those handlers are set aside and warnings (from
any thread) become ``AppLog`` messages the app shows as notifications.
"""

from __future__ import annotations

import logging

from textual.message import Message


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


class LogToNotifications:
    """``enter()`` when the app mounts, ``exit()`` when it unmounts (tests run many apps)."""

    def __init__(self, app) -> None:
        self.handler = NotifyHandler(app)
        self._saved: list[logging.Handler] = []

    def enter(self) -> None:
        root = logging.getLogger()
        self._saved = list(root.handlers)
        for handler in self._saved:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                root.removeHandler(handler)
        root.addHandler(self.handler)

    def exit(self) -> None:
        root = logging.getLogger()
        root.removeHandler(self.handler)
        for handler in self._saved:
            if handler not in root.handlers:
                root.addHandler(handler)
        self._saved = []
