"""bench_app_profile: profile_statistics on resnet18 in the real app, against the bare forwards it needs.

Issue 11: "profile_statistics on resnet18 (the Passes tab defaults) shows progress and finishes
within 1.5x the bare forwards it needs; keypresses stay under 50 ms while it runs".

The app runs as ``mase-tui inspect resnet18`` opens it (the CLI's own parser and
``MaseTuiApp.from_args``; resnet18's data is imagenet-synthetic, batch 8 of 3x224x224, so the
default 32 samples are 4 forwards) in a pseudo-terminal of 120x36, driven with
``benchmarks/bench_tui.py``'s helpers (``PtyApp``, ``key_latency``, ``wait_for``,
``wait_quiet``). The child process is that app plus two keys of its own: F9 does what the
command palette's "Run pass" does (``mase_tui.commands_palette.run_pass_with_defaults``: show
the Passes tab, load the pass's declared defaults into its editor and run them with the tab's
worker, progress bar and ``Session.run_pass``; the node tree keeps the focus); F10 times the
bare forwards in a thread of the same process. The pass function is wrapped by a timer (the
module attribute the registry resolves; the pass itself is unchanged) that also logs each
progress call. Events carry ``time.perf_counter()`` stamps (CLOCK_MONOTONIC, the same clock in
both processes) in a log file.

Measured in one app process:

- the pass, ``--runs`` times alone and ``--runs`` times while keys are pressed, alternately:
  the pass function's own time, ``PassRun.seconds`` (the session's: plus copying the graph)
  and what the user waits (F9 until the app has redrawn after ``PassFinished``);
- the bare forwards, before and after the passes: the session's graph module (the graph the
  pass profiles) in eval mode under no_grad on the batches the pass draws
  (``ceil(num_samples / batch)`` from the session's own input generator), same process, same
  torch threads; drawing the batches is timed apart. Goal: pass / bare forwards <= 1.5;
- keypress to render: ``j``/``k`` on the node tree about every 100 ms (a user browsing), each
  timed with bench_tui's ``key_latency`` (until the output is quiet for 40 ms): idle on the
  Graph tab, while the pass runs (keys sent between F9 and the end of the run), in the 1.5 s
  after each run (the panes redraw, costs are recomputed) and idle on the Passes tab. Goal:
  < 50 ms while it runs. The progress bar redraws on its own (15 times a second until the
  first batch is done, then once a batch) and can land in a key's quiet window, so each key
  also gets "own frames" (the same rule over the output that draws more than the bar) and
  "first frame" (the first of that output: the key's effect; Textual settles the scrollbars
  a frame later, ~20 ms on its 60 fps clock);
- progress: the screen (rebuilt from the pty output) just before each batch's successor must
  show a determinate bar next to "running", filled further batch after batch, with the right
  percentage when there is room for it.

Usage: .venv/bin/python benchmarks/bench_app_profile.py [--runs 4] [--keys 30] [--bare-repeats 3]
       [--no-tuning] [--app-threads N] [--json out.json]
Prints two tables, then one JSON object. About a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_tui import COLS, PY, QUIET, REPO, ROWS, PtyApp, app_env  # noqa: E402

MODEL = "resnet18"
PASS = "profile_statistics_analysis_pass"
F9, F10 = b"\x1b[20~", b"\x1b[21~"  # xterm's F9 (run the pass) and F10 (bare forwards)
KEY_EVERY = 0.1  # seconds between keys: a user browsing, not a key held down
AFTER_RUN = 1.5  # seconds of keys after a run ends, reported apart
GOAL_RATIO, GOAL_KEY_MS = 1.5, 50.0


# ----------------------------------------------------------------------------- child process
def child_main(log_path: str) -> None:
    """``mase-tui inspect resnet18`` plus F9 (run the pass as the palette does) and F10 (bare
    forwards), logging events to ``log_path``."""
    sys.path.insert(0, str(REPO))
    from textual import work
    from textual.binding import Binding

    from mase_tui.app import MaseTuiApp
    from mase_tui.cli import build_parser

    def log(event: str, **fields) -> None:
        with open(log_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"event": event, "t": time.perf_counter(), **fields}) + "\n")

    class BenchApp(MaseTuiApp):
        CSS_PATH = str(REPO / "mase_tui" / "app.tcss")
        BINDINGS = [Binding("f9", "bench_pass", show=False), Binding("f10", "bench_bare", show=False)]

        def on_session_loaded(self, message) -> None:
            # Textual also calls MaseTuiApp.on_session_loaded (handlers run along the MRO)
            log("loaded")

        def action_bench_pass(self) -> None:
            from mase_tui.commands_palette import run_pass_with_defaults

            _time_pass_function(log)
            log("request")
            run_pass_with_defaults(self, PASS)

        def on_pass_finished(self, message) -> None:
            run = message.run
            info = run.info or {}
            log("finished", seconds=run.seconds, ok=run.ok, error=run.error,
                samples=info.get("num_samples"), batches=info.get("num_batches"),
                replayed=info.get("replayed_statistics"))
            self.call_after_refresh(log, "redrawn")

        def action_bench_bare(self) -> None:
            self._bare()

        @work(thread=True, group="bench-bare", exit_on_error=False)
        def _bare(self) -> None:
            try:
                log("bare", **_bare_forwards(self.session, int(os.environ.get("BENCH_BARE_REPEATS", "3"))))
            except Exception as exc:  # reported by the parent, which would otherwise wait
                log("bare", error=f"{type(exc).__name__}: {exc}")

    args = build_parser().parse_args(["inspect", MODEL])
    BenchApp.from_args(args).run()


def _time_pass_function(log) -> None:
    """Wrap the pass function (the module attribute the registry resolves) with a timer that
    also logs each progress call; the pass itself runs unchanged."""
    import torch

    import core.passes.analysis.profile_statistics as module
    from core.passes.registry import PASSES

    inner = module.profile_statistics_analysis_pass
    if getattr(inner, "bench_timed", False):
        return

    def timed(graph, pass_args=None):
        args = dict(pass_args or {})
        report = args.get("progress")
        if report is not None:
            def progress(*values):
                log("progress", values=[v for v in values if isinstance(v, (int, float))])
                report(*values)

            args["progress"] = progress
        shown = {k: v for k, v in args.items() if k not in ("input_generator", "progress", "cancel")}
        log("fn_start", threads=torch.get_num_threads(), args=shown,
            generator=type(args.get("input_generator")).__name__)
        try:
            return inner(graph, args)
        finally:
            log("fn_end")

    timed.bench_timed = True
    module.profile_statistics_analysis_pass = timed
    if PASSES[PASS].fn is not timed:
        raise RuntimeError("the registry does not resolve the pass through its module attribute")


def _bare_forwards(session, repeats: int) -> dict:
    """The forwards profile_statistics needs, bare: the session's graph module, eval, no_grad,
    on the batches the session's input generator gives; and drawing those batches."""
    import torch

    from core.passes.registry import PASSES

    num_samples = PASSES[PASS].editable_defaults()["num_samples"]
    graph = session.current
    gm = graph.model
    names = graph.placeholder_names()
    draws, batches = [], []
    for _ in range(repeats):  # a fresh generator per run, as complete_args gives every run
        gen = session.input_generator("train", names)
        start = time.perf_counter()
        batches, done = [], 0
        while done < num_samples:
            batch = next(gen)
            batches.append(batch)
            done += next(iter(batch.values())).shape[0]
        draws.append(time.perf_counter() - start)
    modes = [(m, m.training) for m in gm.modules()]
    gm.eval()
    forwards, per_batch = [], []
    try:
        with torch.no_grad():
            gm(**batches[0])  # the same warm state as the pass, which runs after the session's load
            for _ in range(repeats):
                start = time.perf_counter()
                for batch in batches:
                    t0 = time.perf_counter()
                    gm(**batch)
                    per_batch.append(time.perf_counter() - t0)
                forwards.append(time.perf_counter() - start)
    finally:
        for module, mode in modes:
            module.training = mode
    return {"threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
            "batches": len(batches), "batch_shape": list(next(iter(batches[0].values())).shape),
            "num_samples": num_samples, "forwards_s": forwards, "draw_s": draws, "per_batch_s": per_batch,
            "graph_training": modes[0][1]}


# ----------------------------------------------------------------------------- screen
_ESCAPE = re.compile(r"\x1b\[([0-9;?<>=]*)([ -/]*[@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b.")
_MOVE = re.compile(rb"\x1b\[(\d+);\d+H")
_CONTROL = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[^\[]")
BAR_CELLS = "━╸╺"  # what Textual's progress bar draws
_BAR = re.compile(r"([━╸╺]{10,})\s*(?:(\d+)%)?\s*running")  # the Passes tab: bar, percentage, status


def screen_lines(text: str) -> list[str]:
    """The screen the output draws (cursor moves, erases and text; attributes ignored)."""
    grid = [[" "] * COLS for _ in range(ROWS)]
    row = col = 0

    def put(chunk: str) -> None:
        nonlocal row, col
        for ch in chunk:
            if ch == "\r":
                col = 0
            elif ch == "\n":
                row += 1
            elif ch >= " " and 0 <= row < ROWS and 0 <= col < COLS:
                grid[row][col] = ch
                col += 1

    pos = 0
    for m in _ESCAPE.finditer(text):
        put(text[pos:m.start()])
        pos = m.end()
        params, final = m.group(1), m.group(2)
        if final is None:
            continue
        if final == "H" and params is not None and "?" not in params:
            parts = [int(p) if p else 1 for p in params.split(";")] if params else [1, 1]
            row, col = parts[0] - 1, (parts[1] if len(parts) > 1 else 1) - 1
        elif final == "J" and params == "2":
            grid = [[" "] * COLS for _ in range(ROWS)]
        elif final == "K" and 0 <= row < ROWS:
            grid[row][col:] = [" "] * (COLS - col)
    put(text[pos:])
    return ["".join(r).rstrip() for r in grid]


def screen_at(app: PtyApp, when: float) -> list[str]:
    with app.lock:
        data = b"".join(d for t, d in app.chunks if t <= when)
    return screen_lines(data.decode("utf-8", "replace"))


def progress_only(data: bytes) -> bool | None:
    """Whether a chunk of output only redraws the progress bar (its cells and percentage);
    None when it draws nothing (the rest of a frame split by the read, a cursor move)."""
    text = "".join(_CONTROL.sub(b"", part).decode("utf-8", "replace") for part in _MOVE.split(data)[2::2])
    text = text.replace("\r", "").replace("\n", "")
    if not text:
        return None
    return any(ch in BAR_CELLS for ch in text) and all(ch in BAR_CELLS or ch in " 0123456789%" for ch in text)


def own_latency(app: PtyApp, seen: int, sent: float) -> tuple[float | None, float | None]:
    """(first, complete): key_latency's rule over the chunks after the key that draw something
    else than the progress bar (the Passes tab redraws it on its own: 15 times a second until
    the first batch is done, then once a batch), and the first of those chunks (the key's
    effect on screen; the app then settles the scrollbars in a later frame)."""
    with app.lock:
        new = app.chunks[seen:]
    times, previous = [], False
    for t, data in new:
        skipped = progress_only(data)
        skipped = previous if skipped is None else skipped
        previous = skipped
        if not skipped:
            times.append(t)
    for i, t in enumerate(times):
        if i + 1 == len(times) or times[i + 1] - t >= QUIET:
            return times[0] - sent, t - sent
    return None, None


def bar_fill(line: str | None) -> float | None:
    """Cells filled in the progress bar of a screen line (``━`` cells, a half cell drawn as
    ``╸`` / the rest starting at ``╺``); None when the line has no determinate bar."""
    m = _BAR.search(line or "")
    if not m:
        return None
    bar = m.group(1)
    halves = [i for i, ch in enumerate(bar) if ch in "╸╺"]
    if len(halves) != 1:  # none: empty or full; two: the indeterminate animation
        return None
    i = halves[0]
    return i + 0.5 if bar[i] == "╸" else float(i)


# ----------------------------------------------------------------------------- parent
class Events:
    def __init__(self, path: str) -> None:
        self.path = path

    def all(self, event: str | None = None) -> list[dict]:
        try:
            lines = Path(self.path).read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            try:
                doc = json.loads(line)
            except json.JSONDecodeError:  # a line being written
                continue
            if event is None or doc["event"] == event:
                out.append(doc)
        return out

    def wait(self, event: str, count: int, app: PtyApp, timeout: float = 120.0) -> list[dict]:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            found = self.all(event)
            if len(found) >= count:
                return found
            if app.proc.poll() is not None:
                raise RuntimeError(f"the app exited ({app.proc.returncode}) before {event!r}")
            time.sleep(0.01)
        raise TimeoutError(f"no {event!r} #{count} within {timeout} s")


def press(app: PtyApp, key: bytes) -> dict:
    with app.lock:
        seen = len(app.chunks)
    sent = time.perf_counter()
    raw = app.key_latency(key)
    first, own = own_latency(app, seen, sent)
    return {"sent": sent, "raw": raw, "own": raw if own is None else own, "first": raw if first is None else first}


def browse(app: PtyApp, count: int) -> list[dict]:
    """``count`` keys about every 100 ms: j, j, ... then k for the last quarter."""
    out = []
    for i in range(count):
        out.append(press(app, b"j" if i < count - count // 4 else b"k"))
        time.sleep(KEY_EVERY)
    return out


def run_pass(app: PtyApp, events: Events, index: int, keys: bool) -> dict:
    """F9, then (with ``keys``) j/k every 100 ms until the run ends and for AFTER_RUN more."""
    sent = time.perf_counter()
    os.write(app.fd, F9)
    events.wait("fn_start", index, app)
    during, after = [], []
    i = 0
    while len(events.all("finished")) < index:
        if keys:
            during.append(press(app, b"j" if i % 2 == 0 else b"k"))
            i += 1
            time.sleep(KEY_EVERY)
        else:
            time.sleep(0.01)
        if app.proc.poll() is not None:
            raise RuntimeError(f"the app exited ({app.proc.returncode}) during run {index}")
    events.wait("redrawn", index, app)
    end = time.perf_counter() + AFTER_RUN
    while keys and time.perf_counter() < end:
        after.append(press(app, b"j" if i % 2 == 0 else b"k"))
        i += 1
        time.sleep(KEY_EVERY)
    app.wait_quiet(0.5, timeout=10)
    return {"f9_sent": sent, "during": during, "after": after}


def bare_forwards(app: PtyApp, events: Events, index: int) -> dict:
    """F10: the bare forwards, timed in a thread of the app while nothing else runs."""
    app.wait_quiet(1.0)
    os.write(app.fd, F10)
    bare = events.wait("bare", index, app, timeout=300)[index - 1]
    if "error" in bare:
        raise RuntimeError(f"bare forwards failed in the app: {bare['error']}")
    app.wait_quiet(0.5)
    return bare


def summarize(samples: list[dict], which: str = "raw") -> dict:
    values = sorted(s[which] for s in samples)
    if not values:
        return {"keys": 0, "median_ms": None, "p95_ms": None, "max_ms": None}
    return {"keys": len(values), "median_ms": round(1000 * statistics.median(values), 1),
            "p95_ms": round(1000 * values[int(0.95 * (len(values) - 1))], 1), "max_ms": round(1000 * values[-1], 1)}


def pass_times(events: Events, runs: list[dict]) -> list[dict]:
    request, start, end = events.all("request"), events.all("fn_start"), events.all("fn_end")
    finished, redrawn = events.all("finished"), events.all("redrawn")
    progress = events.all("progress")
    out = []
    for i, run in enumerate(runs):
        steps = [p for p in progress if start[i]["t"] <= p["t"] <= end[i]["t"]]
        out.append({
            "pass_s": end[i]["t"] - start[i]["t"],  # the pass function
            "session_s": finished[i]["seconds"],  # PassRun.seconds: plus the graph copy
            "user_s": redrawn[i]["t"] - run["f9_sent"],  # key F9 to the redraw after PassFinished
            "f9_to_request_s": request[i]["t"] - run["f9_sent"],
            "request_to_pass_s": start[i]["t"] - request[i]["t"],  # worker start, args, graph copy
            "finished_to_redrawn_s": redrawn[i]["t"] - finished[i]["t"],
            "first_batch_s": steps[0]["t"] - start[i]["t"] if steps else None,
            "batch_steps_s": [b["t"] - a["t"] for a, b in zip(steps, steps[1:], strict=False)],
            "after_last_batch_s": end[i]["t"] - steps[-1]["t"] if steps else None,
            "ok": finished[i]["ok"], "error": finished[i]["error"], "samples": finished[i]["samples"],
            "batches": finished[i]["batches"], "replayed": finished[i]["replayed"],
            "progress": [p["values"] for p in steps],
        })
    return out


def check_progress(app: PtyApp, events: Events, runs: list[dict]) -> list[dict]:
    """Per run: the screen just before each progress call after the first (the update of the
    one before has been drawn by then, a batch later) shows a determinate progress bar next to
    the "running" status, filled further batch after batch, with the percentage done when
    there is room for it."""
    start, end = events.all("fn_start"), events.all("fn_end")
    progress = events.all("progress")
    out = []
    for i in range(len(runs)):
        steps = [p for p in progress if start[i]["t"] <= p["t"] <= end[i]["t"]]
        seen = []
        for step, after in zip(steps, steps[1:], strict=False):
            lines = screen_at(app, after["t"] - 0.005)
            m = next((found for found in map(_BAR.search, lines) if found), None)
            done, total = step["values"][:2]
            seen.append({"at_s": round(step["t"] - start[i]["t"], 3), "done": [done, total],
                         "cells": bar_fill(m and m.group(0)), "percent": m and m.group(2) and int(m.group(2)),
                         "expected_percent": round(100 * done / total), "line": m and m.group(0)})
        cells = [s["cells"] for s in seen]
        shown = bool(cells) and all(c is not None for c in cells) and cells[0] > 0 and \
            all(b > a for a, b in zip(cells, cells[1:], strict=False)) and \
            all(s["percent"] in (None, s["expected_percent"]) for s in seen)
        out.append({"shown": shown, "cells": cells, "percent": [s["percent"] for s in seen], "steps": seen})
    return out


def measure(args: argparse.Namespace) -> dict:
    log_path = tempfile.NamedTemporaryFile(prefix="bench-app-profile-", suffix=".jsonl", delete=False).name
    events = Events(log_path)
    argv = [PY, "-c", f"import sys; sys.path.insert(0, {str(REPO / 'benchmarks')!r}); import bench_app_profile; "
                      f"bench_app_profile.child_main({log_path!r})"]
    env = app_env(tuning=not args.no_tuning)
    env["BENCH_BARE_REPEATS"] = str(args.bare_repeats)
    if args.app_threads:
        env["OMP_NUM_THREADS"] = str(args.app_threads)
    app = PtyApp(argv, env)
    try:
        events.wait("loaded", 1, app, timeout=300)
        ready = app.wait_for("imagenet-synthetic", timeout=60)  # the status line, once loaded
        app.wait_quiet(3.0)  # the cost and overview workers done
        idle = browse(app, args.keys)
        app.wait_quiet(1.0)
        bare = [bare_forwards(app, events, 1)]
        runs = []
        for n in range(args.runs):  # alternately alone and with keys, so drift hits both alike
            runs.append(run_pass(app, events, 2 * n + 1, keys=False))
            runs.append(run_pass(app, events, 2 * n + 2, keys=True))
        bare.append(bare_forwards(app, events, 2))
        idle_passes_tab = browse(app, args.keys)
        times = pass_times(events, runs)
        progress = check_progress(app, events, runs)
        fn_args = events.all("fn_start")[0]
    finally:
        app.close()
        os.unlink(log_path)
    return {"ready_s": ready, "idle": idle, "idle_passes_tab": idle_passes_tab, "runs": runs, "times": times,
            "progress": progress, "bare": bare, "fn_start": fn_args}


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=4,
                        help="pass runs while keys are pressed, each after one while none are")
    parser.add_argument("--keys", type=int, default=30, help="keys per idle phase")
    parser.add_argument("--bare-repeats", type=int, default=3,
                        help="runs of the bare forwards, before and after the passes (median of all)")
    parser.add_argument("--no-tuning", action="store_true", help="the app with MASE_TUI_NO_TUNING=1")
    parser.add_argument("--app-threads", type=int, default=None,
                        help="experiment: OMP_NUM_THREADS for the app (default: unset, torch's own choice)")
    parser.add_argument("--json", default=None, help="also write the JSON here")
    args = parser.parse_args(argv)

    from _common import print_json, print_table

    load_before = os.getloadavg()
    wall = time.perf_counter()
    m = measure(args)
    load_after = os.getloadavg()
    times, bares = m["times"], m["bare"]
    alone, keyed = times[0::2], times[1::2]
    bare = bares[0]
    forwards = [x for b in bares for x in b["forwards_s"]]
    bare_s = statistics.median(forwards)
    draw_s = statistics.median(x for b in bares for x in b["draw_s"])

    def med(runs: list[dict], key: str) -> float:
        return statistics.median(t[key] for t in runs)

    pass_alone, pass_keyed = med(alone, "pass_s"), med(keyed, "pass_s")
    during = [k for r in m["runs"][1::2] for k in r["during"]]
    after = [k for r in m["runs"][1::2] for k in r["after"]]
    phases = {"idle_graph_tab": m["idle"], "while_pass_runs": during, "after_pass_1_5s": after,
              "idle_passes_tab": m["idle_passes_tab"]}
    keys = {phase: {which: summarize(samples, which) for which in ("raw", "own", "first")}
            for phase, samples in phases.items()}
    busy = keys["while_pass_runs"]

    def under(stats: dict) -> bool:
        return stats["keys"] > 0 and stats["p95_ms"] < GOAL_KEY_MS and stats["max_ms"] < GOAL_KEY_MS

    ok = {
        "pass <= 1.5x bare forwards (alone)": pass_alone / bare_s <= GOAL_RATIO,
        "pass <= 1.5x bare forwards (keys pressed)": pass_keyed / bare_s <= GOAL_RATIO,
        "keys < 50 ms while the pass runs (bench_tui, p95 and max)": under(busy["raw"]),
        "keys < 50 ms while the pass runs (own frames, p95 and max)": under(busy["own"]),
        "keys < 50 ms while the pass runs (first frame, p95 and max)": under(busy["first"]),
        "progress shown": all(p["shown"] for p in m["progress"]),
        "all runs ok": all(t["ok"] for t in times),
    }
    result = {
        "model": MODEL, "pass": PASS, "pass_args": m["fn_start"]["args"], "generator": m["fn_start"]["generator"],
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                    "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in load_after]},
        "torch_threads": {"pass": m["fn_start"]["threads"], "bare": bare["threads"]},
        "tuning": not args.no_tuning, "app_threads_env": args.app_threads,
        "ready_s": round(m["ready_s"], 3),
        "bare": {"batches": bare["batches"], "batch_shape": bare["batch_shape"],
                 "forwards_s": [round(x, 3) for x in forwards], "forwards_median_s": round(bare_s, 3),
                 "per_batch_median_s": round(statistics.median(x for b in bares for x in b["per_batch_s"]), 4),
                 "draw_batches_median_s": round(draw_s, 4)},
        "pass_alone_median_s": round(pass_alone, 3), "pass_keys_median_s": round(pass_keyed, 3),
        "ratio_pass_over_bare": {"alone": round(pass_alone / bare_s, 3), "keys": round(pass_keyed / bare_s, 3),
                                 "alone_vs_bare_and_drawing": round(pass_alone / (bare_s + draw_s), 3),
                                 "session_alone": round(med(alone, "session_s") / bare_s, 3),
                                 "user_wait_alone": round(med(alone, "user_s") / bare_s, 3)},
        "runs": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in t.items() if k != "batch_steps_s"}
                 | {"batch_steps_s": [round(x, 3) for x in t["batch_steps_s"]], "keys_during": len(r["during"])}
                 for t, r in zip(times, m["runs"], strict=True)],
        "keys": keys,
        "progress": [{"shown": p["shown"], "bar_cells_per_batch": p["cells"], "percent_per_batch": p["percent"],
                      "line": p["steps"][0]["line"] if p["steps"] else None} for p in m["progress"]],
        "targets": {"pass_over_bare": GOAL_RATIO, "keypress_ms": GOAL_KEY_MS},
        "ok": ok,
        "bench_wall_s": round(time.perf_counter() - wall, 1),
    }

    def mark(goal: str) -> str:
        return "ok" if ok[goal] else "MISSED"

    rows = [
        ("app ready (resnet18, imagenet-synthetic)", f"{m['ready_s']:.2f} s", "spawn to status line"),
        ("bare forwards", f"{bare_s:.3f} s",
         f"{bare['batches']} x {bare['batch_shape']}, the session's graph module, eval, no_grad, "
         f"{bare['threads']} threads; runs {result['bare']['forwards_s']}"),
        ("drawing those batches", f"{draw_s * 1000:.1f} ms", "session input generator, fresh per run"),
        (f"pass alone (median of {len(alone)})", f"{pass_alone:.3f} s",
         f"x{pass_alone / bare_s:.2f} bare (goal 1.5) {mark('pass <= 1.5x bare forwards (alone)')}, "
         f"x{pass_alone / (bare_s + draw_s):.2f} bare + drawing; "
         "runs " + ", ".join(f"{t['pass_s']:.3f}" for t in alone)),
        ("  run_pass (+ graph copy) / user waits", f"{med(alone, 'session_s'):.3f} s",
         f"F9 to the redraw after PassFinished: {med(alone, 'user_s'):.3f} s"),
        (f"pass, keys pressed (median of {len(keyed)})", f"{pass_keyed:.3f} s",
         f"x{pass_keyed / bare_s:.2f} bare; runs " + ", ".join(f"{t['pass_s']:.3f}" for t in keyed)),
        ("  run_pass (+ graph copy) / user waits", f"{med(keyed, 'session_s'):.3f} s",
         f"F9 to the redraw after PassFinished: {med(keyed, 'user_s'):.3f} s"),
    ]
    shown = m["progress"][0]
    rows.append(("progress shown while it runs", "yes" if ok["progress shown"] else "NO",
                 f"bar cells after each batch {shown['cells']}, percentages {shown['percent']}, "
                 f"e.g. {shown['steps'][0]['line'] if shown['steps'] else None!r}"))
    print_table(("measure", "value", "note"), rows)
    print()
    key_rows = []
    for name, phase in (("idle, Graph tab", "idle_graph_tab"), ("while the pass runs", "while_pass_runs"),
                        ("1.5 s after each run", "after_pass_1_5s"), ("idle, Passes tab", "idle_passes_tab")):
        k = keys[phase]
        key_rows.append((name, str(k["raw"]["keys"]),
                         *(f"{_ms(k[w]['median_ms'])} / {_ms(k[w]['p95_ms'])} / {_ms(k[w]['max_ms'])}"
                           for w in ("raw", "own", "first"))))
    print_table(("keys j/k every 100 ms", "n", "bench_tui: median / p95 / max", "own frames", "first frame"),
                key_rows,
                note="bench_tui: until the output is quiet for 40 ms; own frames: the same, ignoring redraws of "
                     "the progress bar alone; first frame: the first of those\n"
                     f"load average before {result['machine']['loadavg_before']}, after "
                     f"{result['machine']['loadavg_after']}\ngoals: " +
                     "; ".join(f"{k}: {'ok' if v else 'MISSED'}" for k, v in ok.items()))
    print_json(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
