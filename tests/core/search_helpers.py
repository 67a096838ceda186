"""Shared by the search tests: a small jsc-toy search config and independent checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# MACs per sample of jsc-toy's three Linear layers: 16x8, 8x8, 8x5
JSC_TOY_LINEAR_MACS = {"seq_blocks_2": 128, "seq_blocks_5": 64, "seq_blocks_8": 40}

SEARCH_TOML = """
model = "jsc-toy"
dataset = "jsc"
seed = 7
[search.search_space]
name = "graph/quantize/mixed_precision_ptq"
[search.search_space.setup]
by = "name"
[search.search_space.seed.default.config]
name = ["integer"]
data_in_width = [4, 8]
data_in_frac_width = [2, 3, 4]
weight_width = [2, 4, 8]
weight_frac_width = [1, 2, 3, 4]
bias_width = [8]
bias_frac_width = [4]
[search.strategy]
name = "optuna"
[search.strategy.sw_runner.basic_evaluation]
data_loader = "val_dataloader"
num_samples = 256
[search.strategy.setup]
n_trials = {n_trials}
sampler = "{sampler}"
sum_scaled_metrics = false
[search.strategy.metrics]
accuracy.scale = 1.0
accuracy.direction = "maximize"
bitops.scale = 1.0
bitops.direction = "minimize"
"""


def write_config(tmp_path: Path, n_trials: int = 20, sampler: str = "tpe", name: str = "search.toml") -> Path:
    path = tmp_path / name
    path.write_text(SEARCH_TOML.replace("{n_trials}", str(n_trials)).replace("{sampler}", sampler))
    return path


def settings() -> dict[str, Any]:
    return {"model": "jsc-toy", "dataset": "jsc", "seed": 7, "pretrained": True}


def hand_bitops(config: dict[str, Any]) -> int:
    """BitOPs per sample = sum over the Linear layers of MACs x input width x weight width."""
    total = 0
    for node, macs in JSC_TOY_LINEAR_MACS.items():
        c = (config.get(node) or {}).get("config") or {"name": None}
        a = c["data_in_width"] if c.get("name") else 32
        w = c["weight_width"] if c.get("name") else 32
        total += macs * a * w
    return total


def assert_valid_formats(config: dict[str, Any]) -> None:
    for key, entry in config.items():
        if key in ("by", "default"):
            continue
        c = entry["config"]
        for operand in ("data_in", "weight", "bias"):
            if f"{operand}_width" in c:
                assert c[f"{operand}_frac_width"] <= c[f"{operand}_width"], (key, c)


def study_trials(storage_url: str, study: str):
    import optuna

    return optuna.load_study(study_name=study, storage=storage_url).get_trials(deepcopy=False)
