"""The app's side of user pass files: ``ctrl+l`` and a cheap mtime poll reload them.

A reload imports the file afresh in a worker thread and swaps its passes in the registry at once;
the session and its graphs are not touched. A syntax or import error is shown in place (a
notification and the Passes tab's status line) and the passes loaded before stay usable.
"""

from __future__ import annotations

import os

from textual.binding import Binding

POLL_SECONDS = 1.0  # one stat() per pass file per second


def pass_file_mtimes() -> dict[str, tuple[int, int]]:
    """Absolute path -> (mtime in ns, size) of every loaded pass file (missing files: (0, 0))."""
    from core.passes.user_passes import loaded_files

    out = {}
    for path in loaded_files():
        try:
            st = os.stat(path)
            out[path] = (st.st_mtime_ns, st.st_size)
        except OSError:
            out[path] = (0, 0)
    return out


class PassFileReload:
    """Mixed into the App: the binding, the poll timer and the reload worker."""

    PASS_FILE_BINDINGS = [Binding("ctrl+l", "reload_passes", "Reload passes", show=False, id="passes.reload")]

    def start_pass_file_watch(self) -> None:
        from core.passes import PASSES

        for problem in PASSES.problems:  # installed entry points that could not be loaded
            self.notify(problem, title="pass entry point", severity="warning", timeout=15)
        self._pass_mtimes = pass_file_mtimes()
        # polled even with no files yet: opening a config with passes_files may load some
        self.set_interval(POLL_SECONDS, self._poll_pass_files)

    def _poll_pass_files(self) -> None:
        now = pass_file_mtimes()
        # a file loaded since the last poll (a config's passes_files) is new, not changed
        changed = [path for path, stamp in now.items() if path in self._pass_mtimes and self._pass_mtimes[path] != stamp]
        self._pass_mtimes = now  # a broken save is reported once, not every second
        if changed:
            self.reload_pass_files(changed)

    def action_reload_passes(self) -> None:
        from core.passes.user_passes import loaded_files

        files = list(loaded_files())
        if not files:
            self.notify("no pass files are loaded (start with --passes FILE, or passes_files in a config)",
                        severity="warning")
            return
        self._pass_mtimes = pass_file_mtimes()
        self.reload_pass_files(files)

    def reload_pass_files(self, files: list[str]) -> None:
        self.run_worker(lambda: self._reload_in_thread(files), thread=True, exclusive=True,
                        group="pass-files", exit_on_error=False)

    def _reload_in_thread(self, files: list[str]) -> None:
        from core.errors import MaseError
        from core.passes.user_passes import loaded_files, reload_pass_file

        done, errors = [], []
        for path in files:
            try:
                specs = reload_pass_file(path)
            except MaseError as exc:
                errors.append(exc.one_line())
            else:
                done.append(f"{loaded_files().get(path, path)} ({', '.join(s.short_name for s in specs)})")
        self.call_from_thread(self._pass_files_reloaded, done, errors)

    def _pass_files_reloaded(self, done: list[str], errors: list[str]) -> None:
        from mase_tui.widgets.pass_runner import PassRunner

        runners = self.main.query(PassRunner)  # mounted after the first frame
        runner = runners.first() if runners else None
        if runner is not None:
            runner.refresh_passes()
        for message in errors:
            if runner is not None:
                runner.show_error(message)  # the status line and a notification that stays
            else:
                self.notify(message, title="pass file not reloaded", severity="error", timeout=3600)
        if done:
            self.notify("reloaded " + "; ".join(done), title="pass files", timeout=5)
