"""Helpers several test modules share. (Suite-wide settings are in conftest.py.)"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from core.ir import MaseGraph
from core.passes import PASSES
from core.quant.quantizers import integer_quantizer

# The lab's Linear config: 8-bit fixed point with 4 fractional bits for inputs, weights and biases.
INT84 = {"name": "integer", "data_in_width": 8, "data_in_frac_width": 4, "weight_width": 8,
         "weight_frac_width": 4, "bias_width": 8, "bias_frac_width": 4}
# The lab's quantize pass arguments: Linear layers to INT84, everything else left as it is.
LAB_ARGS = {"by": "type", "default": {"config": {"name": None}}, "linear": {"config": dict(INT84)}}


def q84(x: torch.Tensor) -> torch.Tensor:
    """What INT84 does to a tensor: round to multiples of 1/16, clamp to [-8, 7.9375]."""
    return integer_quantizer(x, 8, 4)


def annotated(
    model: nn.Module,
    dummy_in: dict[str, Any],
    *,
    software: bool = True,
    custom_leaf_modules: tuple = (),
    custom_leaf_functions: tuple = (),
    **common_args: Any,
) -> MaseGraph:
    """Trace ``model`` and add init, common (with ``common_args``, e.g. add_value) and, unless
    ``software`` is False, software metadata: the graph a session starts from."""
    graph = MaseGraph(model, custom_leaf_modules=custom_leaf_modules, custom_leaf_functions=custom_leaf_functions)
    graph, _ = PASSES["init_metadata_analysis_pass"].fn(graph, None)
    graph, _ = PASSES["add_common_metadata_analysis_pass"].fn(graph, {"dummy_in": dummy_in, **common_args})
    if software:
        graph, _ = PASSES["add_software_metadata_analysis_pass"].fn(graph, None)
    return graph


class Batches:
    """A MASE-style input generator over fixed data: ``{name: rows}`` batches, one pass, and the
    ``batch_size`` attribute the passes read."""

    def __init__(self, data: torch.Tensor, batch_size: int, name: str = "x") -> None:
        self.data, self.batch_size, self.name, self.i = data, batch_size, name, 0

    def __iter__(self) -> "Batches":
        return self

    def __next__(self) -> dict[str, torch.Tensor]:
        if self.i >= len(self.data):
            raise StopIteration
        batch = self.data[self.i:self.i + self.batch_size]
        self.i += self.batch_size
        return {self.name: batch}


def load_config_in_fresh_python(path: Any) -> tuple[str, bool]:
    """Load the TOML config at ``path`` in a fresh interpreter: (the MaseError's message, or ""
    when it loads, and whether loading imported torch)."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys\nfrom core.config import load_config\nfrom core.errors import MaseError\n"
            f"try:\n    load_config({str(path)!r})\n    print('')\nexcept MaseError as e:\n    print(e.message)\n"
            "print('torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    message, torch_loaded = done.stdout.rstrip("\n").split("\n")[-2:]
    return message, torch_loaded == "True"
