"""The app in a real terminal: tmux runs `python -m mase_tui.cli`, we send keys and read the screen."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path


def test_tmux_is_installed():
    """tmux is a system package (.ci/run installs it): without it the tests below fail, not skip."""
    assert shutil.which("tmux"), "tmux is not installed: apt-get install tmux"

REPO = Path(__file__).resolve().parents[2]


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=20).stdout


def screen(name: str) -> str:
    return tmux("capture-pane", "-t", name, "-p")


def wait_for(name: str, predicate, timeout: float = 90.0) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = screen(name)
        if predicate(text):
            return text
        time.sleep(0.2)
    raise AssertionError(f"timed out; the screen was:\n{text}")


def send(name: str, *keys: str) -> None:
    for key in keys:
        tmux("send-keys", "-t", name, key)
        time.sleep(0.15)


def session_alive(name: str) -> bool:
    return subprocess.run(["tmux", "has-session", "-t", name], capture_output=True).returncode == 0


def test_app_in_tmux_moves_filters_and_quits(tmp_path):
    name = f"mase-tui-test-{os.getpid()}"
    env = {"PYTHONPATH": str(REPO), "MASE_TUI_KEYS": str(tmp_path / "none.toml"), "TERM": "xterm-256color"}
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    # COLUMNS/LINES left in the tmux server's environment would override the pane size
    command = f"cd {shlex.quote(str(tmp_path))} && env -u MASE_TUI_JSC_PATH -u COLUMNS -u LINES {exports} " \
              f"{shlex.quote(sys.executable)} -m mase_tui.cli"
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "120", "-y", "36", command], check=True)
    try:
        # a freshly started tmux server may ignore -x/-y for the first session: insist
        tmux("resize-window", "-t", name, "-x", "120", "-y", "36")
        assert tmux("display-message", "-p", "-t", name, "#{window_width}x#{window_height}").strip() == "120x36"
        # the tree is built once the session has loaded
        text = wait_for(name, lambda s: "seq_blocks_10" in s and "passes 0" in s)
        assert "jsc-synthetic (synthetic)" in text and "graph original" in text
        send(name, "j", "j")
        text = wait_for(name, lambda s: "target seq_blocks.0" in s)
        assert "mase op batch_norm1d" in text
        assert "data_in_0 [8,16] float32 <- x" in text
        send(name, "j", "j")
        text = wait_for(name, lambda s: "target seq_blocks.2" in s)
        assert "weight    [8,16] float32 (parameter)" in text
        assert "mase type module_related_func  mase op" in text and "linear" in text
        send(name, "/")
        for ch in "op:linear":
            send(name, ch)
        send(name, "Enter")
        text = wait_for(name, lambda s: "1/3 matches" in s)
        tree = "\n".join(line[:28] for line in text.splitlines())
        assert "seq_blocks_5" in tree and "seq_blocks_8" in tree and "seq_blocks_4" not in tree
        send(name, "n")
        text = wait_for(name, lambda s: "2/3 matches" in s)
        assert "target seq_blocks.5" in text
        send(name, "q")
        deadline = time.monotonic() + 20
        while session_alive(name) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not session_alive(name), "q did not quit the app"
    finally:
        if session_alive(name):
            tmux("kill-session", "-t", name)


def _start(name: str, tmp_path: Path, args: str, size: tuple[int, int]) -> None:
    env = {"PYTHONPATH": str(REPO), "MASE_TUI_KEYS": str(tmp_path / "none.toml"), "TERM": "xterm-256color",
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    command = f"cd {shlex.quote(str(tmp_path))} && env -u MASE_TUI_JSC_PATH -u COLUMNS -u LINES {exports} " \
              f"{shlex.quote(sys.executable)} -m mase_tui.cli {args}"
    cols, rows = size
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", str(cols), "-y", str(rows), command], check=True)
    tmux("resize-window", "-t", name, "-x", str(cols), "-y", str(rows))
    assert tmux("display-message", "-p", "-t", name, "#{window_width}x#{window_height}").strip() == f"{cols}x{rows}"


def _pick_pass(name: str, description: str) -> None:
    """Move the pass list's cursor (focused) until the description line names the pass."""
    for key in ["Up"] * 12 + ["Down"] * 24:
        if description in screen(name):
            return
        send(name, key)
    raise AssertionError(f"{description} never selected; the screen was:\n{screen(name)}")


def test_lab2_flow_at_80x24(tmp_path):
    """Open with the lab config, profile, quantise, Compare (3 linears), Costs (BitOPs), export, quit."""
    name = f"mase-tui-lab2-{os.getpid()}"
    shutil.copy(REPO / "configs" / "examples" / "jsc_toy_by_type.toml", tmp_path / "lab.toml")
    _start(name, tmp_path, "inspect jsc-toy --config lab.toml", (80, 24))
    try:
        # --config opens the Passes tab with the config's table loaded
        wait_for(name, lambda s: "loaded [passes.quantize] of lab.toml" in s, timeout=120)
        _pick_pass(name, "profile_statistics_analysis_pass:")
        send(name, "C-r")
        wait_for(name, lambda s: "profile_statistics_analysis_pass finished" in s, timeout=120)
        _pick_pass(name, "quantize_transform_pass:")
        text = screen(name)
        assert "# from lab.toml [passes.quantize]" in text  # the lab config is still in the editor
        send(name, "C-r")
        wait_for(name, lambda s: "quantize_transform_pass finished" in s, timeout=120)
        send(name, "2")
        # the Compare table has the focus: the footer no longer lists the Passes tab's keys
        text = wait_for(name, lambda s: "3 changed, 0 added, 0 removed" in s and "Run pass" not in s, timeout=30)
        marked = [line.split()[1] for line in text.splitlines()
                  if line.split()[:1] == ["~"] and line.split()[1].startswith("seq_blocks")]
        assert marked == ["seq_blocks_2", "seq_blocks_5"], text  # the rows that fit; ] shows the rest
        seen = []
        for _ in range(3):
            send(name, "]")
            text = wait_for(name, lambda s: any(f"~ {n}  changed" in s for n in ("seq_blocks_2", "seq_blocks_5",
                                                                                 "seq_blocks_8") if n not in seen))
            seen.append(next(n for n in ("seq_blocks_2", "seq_blocks_5", "seq_blocks_8")
                             if f"~ {n}  changed" in text and n not in seen))
        assert seen == ["seq_blocks_2", "seq_blocks_5", "seq_blocks_8"]
        send(name, "]")  # wraps around: no fourth difference
        wait_for(name, lambda s: "~ seq_blocks_2  changed" in s)
        send(name, "4")
        text = wait_for(name, lambda s: "237,568" in s and "14,848" in s)
        bitops = next(line for line in text.splitlines() if "BitOPs" in line and "237,568" in line)
        assert bitops.split()[1:4] == ["237,568", "14,848", "-222,720"], bitops
        send(name, "e")
        wait_for(name, lambda s: "Markdown" in s)
        send(name, "c")
        wait_for(name, lambda s: (tmp_path / "mase-tui-jsc-toy-costs.csv").is_file())
        send(name, "q")
        deadline = time.monotonic() + 20
        while session_alive(name) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not session_alive(name), "q did not quit the app"
    finally:
        if session_alive(name):
            tmux("kill-session", "-t", name)
    header = (tmp_path / "mase-tui-jsc-toy-costs.csv").read_text().splitlines()[0]
    assert "bitops original" in header and "bitops current" in header
