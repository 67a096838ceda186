"""The quantiser table (names, suffixes, validation) without importing torch.

``core.quant.config`` is plain Python, but importing it runs ``core/quant/__init__.py``, which
imports the quantised modules and so torch (about 2 s). A search config is checked before that
import, so a mistake costs nothing: this loads the same file as a stand-alone module once.
When torch is already imported (a worker, the app) the package module itself is used.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from functools import lru_cache
from pathlib import Path
from types import ModuleType


@lru_cache(maxsize=1)
def quant_config() -> ModuleType:
    if "core.quant.config" in sys.modules or "torch" in sys.modules:
        return importlib.import_module("core.quant.config")
    path = Path(__file__).resolve().parents[1] / "quant" / "config.py"
    spec = importlib.util.spec_from_file_location("core_search_quant_config_light", path)
    if spec is None or spec.loader is None:  # pragma: no cover - the file ships with the package
        return importlib.import_module("core.quant.config")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ImportError:
        # the file started to import something heavier: fall back to the package
        return importlib.import_module("core.quant.config")
    return module
