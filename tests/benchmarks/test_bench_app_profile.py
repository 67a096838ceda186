"""The pty-output readers of benchmarks/bench_app_profile.py (no app, no timing: fixed bytes)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench_app_profile as bench  # noqa: E402

SGR = b"\x1b[38;5;32;48;5;233m"
# a progress update as Textual writes it: the bar's row, then the cursor put back (row 14)
BAR_ONLY = b"\x1b[21;31H" + SGR + "━━━━━━".encode() + b"\x1b[0m" + SGR + "╺━━━━".encode() + b"\x1b[0m" + \
    b"\x1b[21;56H" + "  25%".encode() + b"\x1b[21;61H\x1b[14;37H"
TREE_ROW = b"\x1b[7;1H" + SGR + "● layer1_0_conv1  conv2d".encode() + b"\x1b[0m\x1b[14;37H"


class FakeApp:
    def __init__(self, chunks: list[tuple[float, bytes]]) -> None:
        self.chunks, self.lock = chunks, threading.Lock()


def test_screen_lines_follow_cursor_moves_and_erases():
    text = "\x1b[2J\x1b[1;1H\x1b[1mtitle\x1b[0m\x1b[3;5Habc\r\nxy\x1b[3;6H\x1b[K"
    lines = bench.screen_lines(text)
    assert lines[0] == "title" and lines[2] == "    a" and lines[3] == "xy"


def test_progress_only_tells_bar_redraws_from_other_output():
    assert bench.progress_only(BAR_ONLY) is True
    assert bench.progress_only(TREE_ROW) is False
    assert bench.progress_only(BAR_ONLY + TREE_ROW) is False  # one frame drawing both
    assert bench.progress_only(b"\x1b[14;37H") is None  # draws nothing: counts as the chunk before


def test_bar_fill_reads_cells_and_skips_the_animation():
    assert bench.bar_fill("━━━━━━╺━━━━━━━━━━━━━━━━━━  25%running") == 6.0
    assert bench.bar_fill("━━━━━━━━━━━━╸━━━━━━━━━━━━ 50%running") == 12.5
    assert bench.bar_fill("━━━━╺━━━━━━━━━━╸━━━━━━━━━ running") is None  # indeterminate: two ends
    assert bench.bar_fill("ctrl+r run · x cancel") is None
    m = bench._BAR.search("━━━━━━╺━━━━━━━━━━━━━━━━━━  25%running")
    assert m.group(2) == "25"


def test_own_latency_leaves_out_bar_redraws():
    sent = 100.0
    chunks = [(99.0, TREE_ROW), (100.012, TREE_ROW), (100.030, TREE_ROW), (100.061, BAR_ONLY),
              (100.070, b"\x1b[14;37H"), (100.2, TREE_ROW)]
    first, own = bench.own_latency(FakeApp(chunks), 1, sent)
    # the key's frames at +12 and +30 ms; the bar (and the cursor move after it) do not extend it
    assert round(first * 1000) == 12 and round(own * 1000) == 30
