"""A modal screen of scrollable text (help, explain): closing and j/k scrolling live here once."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.screen import ModalScreen


class TextScreen(ModalScreen[None]):
    """Subclasses declare their own bindings (ids are per screen, for remapping) and compose a
    VerticalScroll whose id is BODY_ID."""

    BODY_ID = "text-body"

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, direction: str) -> None:
        body = self.query_one(f"#{self.BODY_ID}", VerticalScroll)
        if direction == "down":
            body.scroll_down(animate=False)
        else:
            body.scroll_up(animate=False)
