"""Importing the engine never pulls in the TUI, and listing passes or models never pulls in torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_core_never_imports_textual():
    out = run(
        "import sys\n"
        "import core, core.ir, core.passes, core.session, core.models\n"
        "import core.passes.analysis.common_metadata, core.passes.interface.save_load\n"
        "from core.passes import PASSES\n"
        "print('textual' in sys.modules, 'rich' in sys.modules, 'torch' in sys.modules)\n"
    )
    assert out == "False False True"  # core.ir needs torch; neither front-end library is loaded


def test_registry_session_and_zoo_listing_do_not_import_torch():
    out = run(
        "import sys\n"
        "import core, core.passes, core.session, core.models\n"
        "from core.passes import PASSES\n"
        "from core.models import list_models\n"
        "names = [s.name for s in list_models()]\n"
        "descriptions = [p.description for p in PASSES.values()]\n"
        "print('torch' in sys.modules, len(names) >= 9, len(descriptions) >= 15)\n"
    )
    assert out == "False True True"
