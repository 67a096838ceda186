"""The header line: model | data (synthetic or not) | graph original/quantised | passes run.

While the session loads it shows the loader's progress line instead; on a load error, the error.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from mase_tui.widgets.graph_overview import graph_state


def status_text(session, compact: bool = False) -> Text:
    """The status line; ``compact`` drops the field names so it fits 80 columns."""
    data = session.data_label
    if session.synthetic and "synthetic" not in data:
        data += " (synthetic)"
    state = graph_state(session)
    if state == "original" and session.history and session.history[-1].name == "reset":
        state = "original (reset)"  # passes were run, then R put the original back
    passes = sum(1 for run in session.history if run.kind != "session")
    sep = (" │ " if compact else "  │  ", "dim")
    label = (lambda text: ("", "dim")) if compact else (lambda text: (text, "dim"))
    count = [(str(passes), "bold"), (" pass" + ("es" if passes != 1 else ""), "dim")] if compact else \
        [("passes ", "dim"), (str(passes), "bold")]
    return Text.assemble(
        (" mase-tui ", "bold reverse"), " ",
        label("model "), (session.model_name, "bold"), sep,
        label("data "), (data, "bold yellow" if session.synthetic else "bold"), sep,
        label("graph "), (state, "bold green" if state.startswith("original") else "bold magenta"), sep,
        *count,
    )


class StatusBar(Static):
    """One line at the top of the screen."""

    compact = False

    def show_progress(self, model: str, text: str) -> None:
        self.update(Text.assemble((" mase-tui ", "bold reverse"), " ", ("loading ", "dim"), (model, "bold"),
                                  ("  ·  ", "dim"), (text, "italic")))

    def show_error(self, model: str, text: str) -> None:
        self.update(Text.assemble((" mase-tui ", "bold reverse"), " ", (f"could not load {model}: ", "bold red"),
                                  (text, "red")))

    def show_session(self, session) -> None:
        self.update(status_text(session, self.compact))
