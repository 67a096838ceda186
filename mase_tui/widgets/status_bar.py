"""The header line: model | data (synthetic or not) | graph original/quantised | passes run.

While the session loads it shows the loader's progress line instead; on a load error, the error.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from mase_tui.widgets.graph_overview import graph_state


def status_text(session) -> Text:
    data = session.data_label
    if session.synthetic and "synthetic" not in data:
        data += " (synthetic)"
    state = graph_state(session)
    passes = sum(1 for run in session.history if run.kind != "session")
    sep = ("  │  ", "dim")
    return Text.assemble(
        (" mase-tui ", "bold reverse"), " ",
        ("model ", "dim"), (session.model_name, "bold"), sep,
        ("data ", "dim"), (data, "bold yellow" if session.synthetic else "bold"), sep,
        ("graph ", "dim"), (state, "bold green" if state == "original" else "bold magenta"), sep,
        ("passes ", "dim"), (str(passes), "bold"),
    )


class StatusBar(Static):
    """One line at the top of the screen."""

    def show_progress(self, model: str, text: str) -> None:
        self.update(Text.assemble((" mase-tui ", "bold reverse"), " ", ("loading ", "dim"), (model, "bold"),
                                  ("  ·  ", "dim"), (text, "italic")))

    def show_error(self, model: str, text: str) -> None:
        self.update(Text.assemble((" mase-tui ", "bold reverse"), " ", (f"could not load {model}: ", "bold red"),
                                  (text, "red")))

    def show_session(self, session) -> None:
        self.update(status_text(session))
