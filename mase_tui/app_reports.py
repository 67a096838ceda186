"""The app's copy (y), export (e) and screenshot (ctrl+s) actions, as a mixin of MaseTuiApp."""

from __future__ import annotations

import time
from pathlib import Path

from textual.widgets import TabbedContent

from mase_tui.panes import ExportsReport

# Monospace fonts most machines have: the SVG's "Fira Code" face falls back to one of them when
# the viewer is offline (the web font's URL cannot load), instead of a proportional default.
LOCAL_MONOSPACE = ("DejaVu Sans Mono", "Menlo", "Consolas", "Liberation Mono", "Courier New")


def offline_fonts(svg: str) -> str:
    """Textual's SVG asks for Fira Code from a CDN; add local monospace faces before the URLs."""
    local = "".join(f'local("{font}"), ' for font in LOCAL_MONOSPACE)
    for weight in ("Regular", "Bold"):
        svg = svg.replace(f'src: local("FiraCode-{weight}"),', f'src: local("FiraCode-{weight}"), {local}', 1)
    return svg


class ReportActions:
    """Needs the app's ``session``, ``details``, ``main`` and ``costs`` (the cost service)."""

    _shots = 0
    last_export: Path | None = None

    def action_copy_details(self) -> None:
        text = self.details.text
        if not text.strip():
            self.notify("nothing to copy yet", severity="warning")
            return
        self.copy_to_clipboard(text)
        subject = self.details.subject
        what = subject if isinstance(subject, str) else getattr(subject, "label", "the details")
        self.notify(f"copied details of {what} ({len(text.splitlines())} lines; OSC 52)", timeout=4)

    def current_report(self):
        """The report matching what is on screen: the visible tab's own, else a built-in one."""
        from mase_tui import export

        tabs = self.main.query_one("#tabs", TabbedContent)
        pane = tabs.get_pane(tabs.active)
        for widget in pane.query("*"):
            if isinstance(widget, ExportsReport):
                report = widget.export_report()
                if report is not None:
                    return report
        session = self.session
        cost = self.costs.info()
        if tabs.active == "tab-costs" and cost is not None:
            return export.cost_report(session, cost)
        if tabs.active == "tab-passes":
            runs = [r for r in session.history if r.kind != "session"]
            if runs:
                return export.pass_report(session, runs[-1])
        return export.nodes_report(session, cost)

    def action_export(self) -> None:
        from mase_tui.widgets.export_dialog import ExportDialog

        report = self.current_report()
        self.push_screen(ExportDialog(report.title), lambda fmt: self._export(report, fmt))

    def _export(self, report, fmt: str | None) -> None:
        from mase_tui.export import write_report

        if not fmt:
            return
        try:
            path = write_report(report, fmt, Path.cwd(), self.session.model_name)
        except OSError as exc:
            self.notify(f"export failed: {exc}", severity="error", timeout=3600)
            return
        self.last_export = path
        self.notify(f"wrote {path}", title="export", timeout=8)

    def action_save_svg(self) -> None:
        from core.utils.atomic import atomic_write_text

        self._shots += 1
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name = f"mase-tui-{Path(self.session.model_name).name.replace(':', '-')}-{stamp}-{self._shots}.svg"
        try:
            path = atomic_write_text(Path.cwd() / name, offline_fonts(self.export_screenshot()))
        except OSError as exc:
            self.notify(f"screenshot failed: {exc}", severity="error", timeout=3600)
            return
        self.notify(f"saved {path}", title="screenshot", timeout=8)
