"""`ch transform` end to end with the example configs for MASE's other arithmetics and the OCP
MX formats, each on toy-cnn and jsc-toy; BitOPs and storage worked out by hand."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import pytest

from mase_tui.cli import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "configs" / "examples"
CONFIGS = ["jsc_toy_binary", "jsc_toy_ternary_scaled", "toy_cnn_block_minifloat", "jsc_toy_block_log",
           "jsc_toy_binary_residual", "toy_cnn_mxfp4", "toy_cnn_mxfp8", "jsc_toy_mxint8"]
MODELS = {"jsc-toy": "jsc", "toy-cnn": "cifar-synthetic"}
# jsc-toy: Linear 16->8, 8->8, 8->5 (MACs 128 + 64 + 40); BatchNorm 16, 8, 8, 5 (74 affine params)
JSC_MACS, JSC_BN_PARAMS = 232, 2 * (16 + 8 + 8 + 5)
# toy-cnn: conv 3->16 and 16->32 (3x3, 32x32 then 16x16), Linear 2048->10
CNN_MACS = 442_368 + 1_179_648 + 20_480


def transform(tmp_path: Path, capsys, config: str, model: str) -> tuple[int, str, str, Path]:
    code = main(["transform", model, MODELS[model], "--config", str(EXAMPLES / f"{config}.toml"),
                 "--project-dir", str(tmp_path), "--project", "p", "--batch-size", "2", "--no-eval"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err, tmp_path / "p" / "software" / "transform"


def histogram(out: Path) -> dict[str, list[int]]:
    with open(out / "quantize" / "quantize_histogram.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    return {r[0]: [int(v) for v in r[2:]] for r in rows[1:]}


def cost(out: Path, key: str, scope: str = "totals_per_sample") -> tuple:
    pair = json.loads((out / "cost" / "cost.json").read_text())["comparison"][scope][key]
    return pair["a"], pair["b"]


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("config", CONFIGS)
def test_example_runs_end_to_end(tmp_path, capsys, caplog, config, model):
    with caplog.at_level(logging.WARNING):
        code, out_text, err, out = transform(tmp_path, capsys, config, model)
    if config == "jsc_toy_ternary_scaled" and model == "toy-cnn":
        # toy-cnn has no node seq_blocks_1: a key that is neither an op nor a node stays an error
        assert code == 2 and "unknown op 'seq_blocks_1'" in err and len(err.strip().splitlines()) == 1
        return
    assert code == 0, err
    assert "Transformation is completed" in out_text
    passes = [p["pass"] for p in json.loads((out / "summary.json").read_text())["passes"]]
    assert passes == ["quantize_transform_pass", "summarize_quantization_analysis_pass",
                      "calculate_avg_bits_mg_analysis_pass", "cost_analysis_pass"]
    hist = histogram(out)
    linear = hist["Linear"]
    assert linear[1] == linear[0] == (3 if model == "jsc-toy" else 1)  # every Linear quantised
    if config == "jsc_toy_ternary_scaled":
        warned = [r.getMessage() for r in caplog.records if "entry 'seq_blocks_1' is a node name" in r.getMessage()]
        assert len(warned) == 1 and 'use by = "name"' in warned[0]


def test_mxint8_on_jsc_toy_bitops_and_storage_by_hand(tmp_path, capsys):
    code, _, err, out = transform(tmp_path, capsys, "jsc_toy_mxint8", "jsc-toy")
    assert code == 0, err
    assert cost(out, "bitops") == (JSC_MACS * 32 * 32, JSC_MACS * 8 * 8)
    # 8 bits an element plus one 8-bit scale per row-block of 32: weights [8,16], [8,8], [5,8]
    # have one block a row, biases [8], [8], [5] one block each; BatchNorm stays float32
    weights = 128 * 8 + 8 * 8 + 64 * 8 + 8 * 8 + 40 * 8 + 5 * 8
    biases = (8 * 8 + 8) + (8 * 8 + 8) + (5 * 8 + 8)
    assert cost(out, "param_bits", "totals_model") == (327 * 32, weights + biases + JSC_BN_PARAMS * 32)


def test_mxfp4_on_toy_cnn_bitops_and_storage_by_hand(tmp_path, capsys):
    code, _, err, out = transform(tmp_path, capsys, "toy_cnn_mxfp4", "toy-cnn")
    assert code == 0, err
    assert cost(out, "bitops") == (CNN_MACS * 32 * 32, CNN_MACS * 4 * 4)
    # conv weights block over C_in*3*3 (27 -> 1 block, 144 -> 5 blocks a filter), the Linear over
    # 2048 inputs (64 blocks a row); 4-bit elements, 8-bit scales
    conv1 = 432 * 4 + 16 * 1 * 8 + (16 * 4 + 8)
    conv2 = 4608 * 4 + 32 * 5 * 8 + (32 * 4 + 8)
    fc = 20480 * 4 + 10 * 64 * 8 + (10 * 4 + 8)
    bn = 2 * (16 + 32) * 32
    assert cost(out, "param_bits", "totals_model") == (25_674 * 32, conv1 + conv2 + fc + bn)


def test_binary_on_jsc_toy_keeps_inputs_and_biases_float(tmp_path, capsys):
    code, _, err, out = transform(tmp_path, capsys, "jsc_toy_binary", "jsc-toy")
    assert code == 0, err
    # MASE's LinearBinary: 1-bit weights, float32 inputs -> 32 x 1 bits a MAC
    assert cost(out, "bitops") == (JSC_MACS * 32 * 32, JSC_MACS * 32 * 1)
    assert cost(out, "param_bits", "totals_model") == (327 * 32, 232 * 1 + 21 * 32 + JSC_BN_PARAMS * 32)
    assert histogram(out)["ReLU"] == [4, 4, 0]  # swapped for ReLUBinary, which quantises nothing
