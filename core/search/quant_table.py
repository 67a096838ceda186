"""The quantiser table (names, suffixes, validation) for the search config and the editor.

``core.quant.config`` imports without torch, so a search config is checked against every
quantiser the engine knows (new ones included) before torch is imported; one accessor keeps
the call sites independent of where the table lives.
"""

from __future__ import annotations

from types import ModuleType


def quant_config() -> ModuleType:
    import core.quant.config

    return core.quant.config
