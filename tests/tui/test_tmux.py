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
