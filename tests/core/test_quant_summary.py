"""summarize_quantization_analysis_pass: MASE's histogram text (reference 1.3), both signatures,
files, functional relu counted as changed, matching by name then position."""

from __future__ import annotations

import csv
import json
import logging

import pytest
import torch

from core.errors import ConfigError, PassError
from core.models import get_model
from core.passes import PASSES
from core.passes.analysis.quant_summary import orgtbl, summarize_quantization_analysis_pass
from tests.helpers import LAB_ARGS, annotated

# reference mase-lab2.md section 1.3, as printed by the lab notebook (tabulate orgtbl)
JSC_TINY_HISTOGRAM = """\
| Original type   | OP           |   Total |   Changed |   Unchanged |
|-----------------+--------------+---------+-----------+-------------|
| BatchNorm1d     | batch_norm1d |       1 |         0 |           1 |
| Linear          | linear       |       1 |         1 |           0 |
| ReLU            | relu         |       2 |         0 |           2 |
| output          | output       |       1 |         0 |           1 |
| x               | placeholder  |       1 |         0 |           1 |"""


def lab_pair(name="jsc-tiny", args=LAB_ARGS, shape=(8, 16)):
    torch.manual_seed(0)
    model = get_model(name)
    x = {"x": torch.randn(*shape)}
    mg, _ = PASSES["quantize_transform_pass"].fn(annotated(model, x), args)
    return annotated(model, x), mg  # a fresh original graph, as the lab notebook builds it


def test_lab_signature_prints_mase_histogram(tmp_path, caplog):
    ori, mg = lab_pair()
    with caplog.at_level(logging.INFO, logger="core.passes.analysis.quant_summary"):
        graph, info = summarize_quantization_analysis_pass(ori, mg, save_dir=str(tmp_path / "quantize_summary"))
    assert graph is mg
    assert info["text"]["histogram"] == JSC_TINY_HISTOGRAM
    assert "Quantized graph histogram:\n" + JSC_TINY_HISTOGRAM in caplog.text
    assert info["histogram"][1] == {"Original type": "Linear", "OP": "linear", "Total": 1, "Changed": 1, "Unchanged": 0}
    assert info["changed"] == 1 and info["unchanged"] == 5


def test_pass_args_signature_and_registry_call(tmp_path):
    ori, mg = lab_pair()
    _, info = PASSES["summarize_quantization_analysis_pass"].fn(mg, {"original_graph": ori, "save_dir": None})
    assert info["text"]["histogram"] == JSC_TINY_HISTOGRAM and info["files"] == {}
    _, info2 = PASSES["summarize_quantization_analysis_pass"](ori, mg, save_dir=tmp_path)
    assert info2["histogram"] == info["histogram"]
    json.dumps(info)  # plain data


def test_jsc_toy_histogram_rows():
    ori, mg = lab_pair("jsc-toy")
    _, info = summarize_quantization_analysis_pass(mg, {"original_graph": ori})
    rows = [[r[k] for k in ("Original type", "OP", "Total", "Changed", "Unchanged")] for r in info["histogram"]]
    assert rows == [["BatchNorm1d", "batch_norm1d", 4, 0, 4], ["Linear", "linear", 3, 3, 0],
                    ["ReLU", "relu", 4, 0, 4], ["output", "output", 1, 0, 1], ["x", "placeholder", 1, 0, 1]]


def test_files_are_mase_csv_and_json(tmp_path):
    ori, mg = lab_pair()
    out = tmp_path / "quantize_summary"
    _, info = summarize_quantization_analysis_pass(ori, mg, save_dir=out)
    table = (out / "quantize_table.csv").read_text().splitlines()
    assert table[0] == ",Ori name,New name,MASE_TYPE,Mase_OP,Original type,Quantized type,Changed"
    assert table[1] == "0,x,x,placeholder,placeholder,x,x,False"
    assert table[4] == "3,seq_blocks_2,seq_blocks_2,module_related_func,linear,Linear,LinearInteger,True"
    hist = list(csv.reader((out / "quantize_histogram.csv").open()))
    assert hist[0] == ["Original type", "OP", "Total", "Changed", "Unchanged"]
    assert hist[2] == ["Linear", "linear", "1", "1", "0"] and len(hist) == 6
    data = json.loads((out / "quantize_summary.json").read_text())
    assert data["histogram"] == info["histogram"] and len(data["table"]) == 6
    assert sorted(p.name for p in out.iterdir()) == ["quantize_histogram.csv", "quantize_summary.json", "quantize_table.csv"]


def test_functional_relu_replacement_counts_as_changed():
    args = {"by": "type", "default": {"config": {"name": None}},
            "relu": {"config": {"name": "integer", "data_in_width": 8, "data_in_frac_width": 4}},
            "add": {"config": {"name": "integer", "data_in_width": 8, "data_in_frac_width": 4}}}
    ori, mg = lab_pair("toy-fn", args, shape=(4, 192))
    _, info = summarize_quantization_analysis_pass(ori, mg)
    by_name = {r["New name"]: r for r in info["table"]}
    assert (by_name["relu"]["Original type"], by_name["relu"]["Quantized type"], by_name["relu"]["Changed"]) == \
        ("relu", "relu_integer", True)
    assert by_name["act"]["Quantized type"] == "ReLUInteger" and by_name["act"]["Changed"]
    assert by_name["add_1"]["Changed"] and not by_name["mul"]["Changed"]
    hist = {r["Original type"]: r for r in info["histogram"]}
    assert (hist["relu"]["Changed"], hist["ReLU"]["Changed"], hist["add"]["Changed"]) == (1, 1, 2)
    assert hist["mul"] == {"Original type": "mul", "OP": "mul", "Total": 2, "Changed": 0, "Unchanged": 2}
    keys = [r["Original type"] for r in info["histogram"]]
    assert keys == sorted(keys)  # ASCII order: upper-case class names first


def test_match_by_name_then_position():
    ori, mg = lab_pair()
    mg.node("seq_blocks_3")._rename("renamed_relu")
    _, info = summarize_quantization_analysis_pass(ori, mg)
    row = next(r for r in info["table"] if r["New name"] == "renamed_relu")
    assert row["Ori name"] == "seq_blocks_3" and row["Original type"] == "ReLU" and not row["Changed"]
    assert len(info["table"]) == 6


def test_missing_original_graph_is_a_clear_error():
    _, mg = lab_pair()
    with pytest.raises(PassError, match="needs the original graph"):
        summarize_quantization_analysis_pass(mg, {"save_dir": None})
    with pytest.raises(ConfigError, match="unknown argument.*original.*did you mean 'original_graph'"):
        summarize_quantization_analysis_pass(mg, {"original": mg})


def test_orgtbl_matches_tabulate_layout():
    text = orgtbl(["a", "Total"], [["xyz", 1], ["q", 10]])
    assert text.splitlines() == ["| a   |   Total |", "|-----+---------|", "| xyz |       1 |", "| q   |      10 |"]


def test_session_runtime_hooks_are_accepted():
    import threading

    ori, mg = lab_pair()
    _, info = summarize_quantization_analysis_pass(
        mg, {"original_graph": ori, "save_dir": None, "progress": print, "cancel": threading.Event()})
    assert info["changed"] == 1
