"""bench_tui: how fast the app starts and answers keys, against baselines measured in the same run.

Everything runs the real app (``python -m mase_tui.cli``) in a pseudo-terminal of 120x36 and
watches what it writes, so the times include rendering and the terminal I/O:

- first frame: from spawning the process until the status line ("loading ...") is written;
  compared with ``python -c "import textual"`` (target: within 0.3 s of it);
- ready: until the default model's tree is on screen (jsc-toy, "seq_blocks_10"); compared with
  ``python -c "import torch"`` (target: within 1 s of it);
- keypress to render: on a 10,001-node graph (3,333 Linear/ReLU/Identity blocks), the time from
  writing a key to the pty until the app's screen update is complete (no more output for 40 ms,
  which is subtracted), while idle and while profile_statistics_analysis_pass runs back to back
  in a worker thread, as the Passes tab runs it (target: 50 ms);
- process tuning (mase_tui/tuning.py: GIL switch interval, GC thresholds and freezing): the
  keypress runs and the pass's own duration while keys are pressed, with the tuning on and with
  ``MASE_TUI_NO_TUNING=1`` (the same as ``--no-tuning``), so its effect is a same-run ratio.

Usage: .venv/bin/python benchmarks/bench_tui.py [--repeat 3] [--keys 40] [--json out.json]
Prints a table, then one JSON object.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty  # noqa: F401 - documents that this needs a POSIX pty (os.openpty)
import signal
import statistics
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
COLS, ROWS = 120, 36
QUIET = 0.040  # an update is complete when the app writes nothing for this long
DEEP_REF = f"{Path(__file__).resolve()}:deep_model"
BUSY_PASS_ARGS = {"num_samples": 128}  # profile_statistics: weights and activations of every block


# ----------------------------------------------------------------------------- the 10k model
def deep_model(blocks: int = 3333, width: int = 16):
    """3,333 blocks of Linear/ReLU/Identity: 10,001 fx nodes with the input and output."""
    from torch import nn

    return nn.Sequential(*[nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Identity()) for _ in range(blocks)])


# ----------------------------------------------------------------------------- child process
def child_main(model: str, dataset: str | None, busy: bool, pass_log: str | None = None) -> None:
    """The app, optionally with passes running back to back once the model is loaded (each
    run's seconds appended to ``pass_log``). Tuning follows $MASE_TUI_NO_TUNING."""
    sys.path.insert(0, str(REPO))
    from textual import work

    from core.session import Session
    from mase_tui.app import MaseTuiApp

    class BusyApp(MaseTuiApp):
        CSS_PATH = str(REPO / "mase_tui" / "app.tcss")

        def on_session_loaded(self, message) -> None:
            # Textual also calls MaseTuiApp.on_session_loaded (handlers run along the MRO)
            if busy:
                self._busy()

        @work(thread=True, group="bench-busy", exit_on_error=False)
        def _busy(self) -> None:
            # what the Passes tab does: session.run_pass in a thread worker, here without end
            self._stamp("busy")
            while self.is_running and not self.closing:  # ~4 s per run on the 10k graph
                run = self.session.run_pass("profile_statistics_analysis_pass", BUSY_PASS_ARGS)
                if pass_log and not self.closing:
                    with open(pass_log, "a", encoding="utf-8") as fh:
                        fh.write(f"{run.seconds:.6f}\n")

    BusyApp(Session(model, dataset=dataset)).run()


# ----------------------------------------------------------------------------- pty driver
class PtyApp:
    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.fd = master
        self.chunks: list[tuple[float, bytes]] = []
        self.text = ""  # decoded output, for markers
        self.lock = threading.Lock()
        self.start = time.perf_counter()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=str(REPO),
                                     start_new_session=True, close_fds=True)
        os.close(slave)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                return
            if not data:
                return
            now = time.perf_counter()
            with self.lock:
                self.chunks.append((now, data))
                self.text += data.decode("utf-8", "replace")

    def wait_for(self, marker: str, timeout: float = 120.0) -> float:
        """Seconds from spawn until ``marker`` appeared in the output."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self.lock:
                pos = self.text.find(marker)
                if pos >= 0:
                    size = 0
                    for t, data in self.chunks:
                        size += len(data.decode("utf-8", "replace"))
                        if size > pos:
                            return t - self.start
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app exited ({self.proc.returncode}) before showing {marker!r}")
            time.sleep(0.005)
        raise TimeoutError(f"{marker!r} did not appear in {timeout} s")

    def wait_quiet(self, seconds: float, timeout: float = 120.0) -> None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self.lock:
                last = self.chunks[-1][0] if self.chunks else self.start
            if time.perf_counter() - last >= seconds:
                return
            time.sleep(0.02)

    def key_latency(self, key: bytes, timeout: float = 30.0) -> float:
        """Write a key; seconds until the screen update it causes is complete."""
        with self.lock:
            seen = len(self.chunks)
        sent = time.perf_counter()
        os.write(self.fd, key)
        deadline = sent + timeout
        while time.perf_counter() < deadline:
            time.sleep(0.002)
            with self.lock:
                new = self.chunks[seen:]
            if new and time.perf_counter() - new[-1][0] >= QUIET:
                return new[-1][0] - sent
        raise TimeoutError(f"no screen update within {timeout} s of {key!r}")

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                os.write(self.fd, b"q")
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, signal.SIGTERM)  # our own child's process group
                self.proc.wait(timeout=10)
        try:
            os.close(self.fd)
        except OSError:
            pass


def app_env(tuning: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MASE_TUI_JSC_PATH", "TEXTUAL", "MASE_TUI_NO_TUNING")}
    if not tuning:
        env["MASE_TUI_NO_TUNING"] = "1"
    env.update({"TERM": "xterm-256color", "COLUMNS": str(COLS), "LINES": str(ROWS), "PYTHONPATH": str(REPO),
                "MASE_TUI_KEYS": str(REPO / "benchmarks" / "no-such-keys.toml")})
    return env


# ----------------------------------------------------------------------------- measurements
def baseline(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([PY, "-c", code], check=True, cwd=str(REPO))
    return time.perf_counter() - start


def startup_once() -> tuple[float, float]:
    app = PtyApp([PY, "-m", "mase_tui.cli"], app_env())
    try:
        first = app.wait_for("loading")
        ready = app.wait_for("seq_blocks_10")
    finally:
        app.close()
    return first, ready


def key_latencies(keys: int, busy: bool, tuning: bool = True) -> dict[str, object]:
    import tempfile

    pass_log = tempfile.NamedTemporaryFile(prefix="bench-tui-passes-", suffix=".txt", delete=False).name
    argv = [PY, "-c", f"import sys; sys.path.insert(0, {str(REPO / 'benchmarks')!r}); import bench_tui; "
                      f"bench_tui.child_main({DEEP_REF!r}, 'jsc-synthetic', {busy!r}, {pass_log!r})"]
    app = PtyApp(argv, app_env(tuning))
    try:
        ready = app.wait_for("×3333", timeout=300)  # the folded blocks row
        app.wait_quiet(3.0)  # cost and overview workers done (or, busy: the first passes running)
        # to the first chunk of blocks, open it, open the first block: node rows to walk through
        for key in (b"j", b"j", b"j"):
            app.key_latency(key)
        expand = [app.key_latency(b"l")]  # builds 100 block rows
        app.key_latency(b"l")
        expand.append(app.key_latency(b"l"))  # builds the block's 3 node rows
        moves = [app.key_latency(b"j") for _ in range(keys)]
        back = [app.key_latency(b"k") for _ in range(keys // 4)]
        if busy:  # at least two whole pass runs while keys were being pressed
            deadline = time.perf_counter() + 120
            while len(_pass_times(pass_log)) < 2 and time.perf_counter() < deadline:
                moves.append(app.key_latency(b"j" if len(moves) % 2 else b"k"))
                time.sleep(0.1)  # a user browsing, not a key held down
    finally:
        app.close()
    passes = _pass_times(pass_log)
    os.unlink(pass_log)
    samples = moves + back
    return {
        "pass_s": [round(p, 3) for p in passes],
        "pass_median_s": round(statistics.median(passes), 3) if passes else None,
        "ready_s": round(ready, 3),
        "keys": len(samples),
        "median_ms": round(1000 * statistics.median(samples), 1),
        "p95_ms": round(1000 * sorted(samples)[int(0.95 * (len(samples) - 1))], 1),
        "max_ms": round(1000 * max(samples), 1),
        "expand_ms": [round(1000 * e, 1) for e in expand],
    }


def _pass_times(path: str) -> list[float]:
    try:
        return [float(line) for line in Path(path).read_text().split()]
    except OSError:
        return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="startup runs (median reported)")
    parser.add_argument("--keys", type=int, default=40, help="j presses per latency run")
    parser.add_argument("--json", default=None, help="also write the JSON here")
    args = parser.parse_args(argv)

    textual_s = statistics.median(baseline("import textual") for _ in range(args.repeat))
    torch_s = statistics.median(baseline("import torch") for _ in range(args.repeat))
    runs = [startup_once() for _ in range(args.repeat)]
    first_s = statistics.median(r[0] for r in runs)
    ready_s = statistics.median(r[1] for r in runs)
    idle = key_latencies(args.keys, busy=False)
    busy = key_latencies(args.keys, busy=True)
    idle_off = key_latencies(args.keys, busy=False, tuning=False)
    busy_off = key_latencies(args.keys, busy=True, tuning=False)

    result = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "baseline_import_textual_s": round(textual_s, 3),
        "baseline_import_torch_s": round(torch_s, 3),
        "first_frame_s": round(first_s, 3),
        "first_frame_minus_textual_s": round(first_s - textual_s, 3),
        "ready_s": round(ready_s, 3),
        "ready_minus_torch_s": round(ready_s - torch_s, 3),
        "startup_runs": [[round(a, 3), round(b, 3)] for a, b in runs],
        "keypress_10k_idle": idle,
        "keypress_10k_while_pass_runs": busy,
        "no_tuning": {"keypress_10k_idle": idle_off, "keypress_10k_while_pass_runs": busy_off},
        "tuning_effect": {  # tuned / untuned, measured in this run
            "keypress_idle_p95_ratio": _ratio(idle["p95_ms"], idle_off["p95_ms"]),
            "keypress_busy_p95_ratio": _ratio(busy["p95_ms"], busy_off["p95_ms"]),
            "keypress_busy_median_ratio": _ratio(busy["median_ms"], busy_off["median_ms"]),
            "pass_seconds_ratio": _ratio(busy["pass_median_s"], busy_off["pass_median_s"]),
        },
        "targets": {"first_frame_minus_textual_s": 0.3, "ready_minus_torch_s": 1.0, "keypress_ms": 50},
    }
    ok = {
        "first frame": result["first_frame_minus_textual_s"] <= 0.3,
        "ready": result["ready_minus_torch_s"] <= 1.0,
        "keys idle": idle["p95_ms"] <= 50,
        "keys busy": busy["p95_ms"] <= 50,
    }
    rows = [
        ("python -c 'import textual'", f"{textual_s:.3f} s", "baseline"),
        ("python -c 'import torch'", f"{torch_s:.3f} s", "baseline"),
        ("first frame (jsc-toy)", f"{first_s:.3f} s", f"+{first_s - textual_s:.3f} s vs textual "
                                                       f"(target +0.3) {'ok' if ok['first frame'] else 'MISSED'}"),
        ("ready: jsc-toy tree shown", f"{ready_s:.3f} s", f"+{ready_s - torch_s:.3f} s vs torch "
                                                          f"(target +1.0) {'ok' if ok['ready'] else 'MISSED'}"),
        ("10,001-node graph ready", f"{idle['ready_s']:.3f} s", "trace + metadata + tree"),
        ("keypress, 10k graph, idle", f"{idle['median_ms']} ms", f"p95 {idle['p95_ms']} max {idle['max_ms']} "
                                                                 f"(target 50) {'ok' if ok['keys idle'] else 'MISSED'}"),
        ("keypress, 10k graph, pass running", f"{busy['median_ms']} ms",
         f"p95 {busy['p95_ms']} max {busy['max_ms']} (target 50) {'ok' if ok['keys busy'] else 'MISSED'}"),
        ("expand 100 rows / 3 rows, idle", " / ".join(f"{e} ms" for e in idle["expand_ms"]), ""),
        ("keypress idle, no tuning", f"{idle_off['median_ms']} ms",
         f"p95 {idle_off['p95_ms']} max {idle_off['max_ms']}"),
        ("keypress pass running, no tuning", f"{busy_off['median_ms']} ms",
         f"p95 {busy_off['p95_ms']} max {busy_off['max_ms']}"),
        ("profile_statistics while keys: tuned", f"{busy['pass_median_s']} s", f"runs {busy['pass_s']}"),
        ("profile_statistics while keys: untuned", f"{busy_off['pass_median_s']} s", f"runs {busy_off['pass_s']}"),
        ("tuning effect (tuned/untuned)", "", f"busy keys p95 x{result['tuning_effect']['keypress_busy_p95_ratio']}, "
                                              f"pass time x{result['tuning_effect']['pass_seconds_ratio']}"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>14}  note")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>14}  {note}")
    result["ok"] = ok
    text = json.dumps(result)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


def _ratio(a, b):
    return None if a is None or not b else round(a / b, 3)


if __name__ == "__main__":
    sys.exit(main())
