"""`mase-tui cost MODEL [--config TOML] [--batch-size N] [--json] [--uniq]`, run in-process, and
the rich renderers it prints."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from mase_tui.cli import main
from mase_tui.render import (
    RENDERERS,
    render_cost,
    render_cost_compare,
    render_pass_result,
    renderer_for,
)

REPO = Path(__file__).resolve().parents[2]
LAB_CONFIG = REPO / "configs" / "examples" / "jsc_toy_by_type.toml"


def cost_json(capsys, *argv: str) -> dict:
    assert main(["cost", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def text_of(renderable, width: int = 160) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))
    console.print(renderable)
    return console.export_text()


def test_cost_json_of_jsc_tiny_per_sample_and_per_batch(capsys):
    doc = cost_json(capsys, "jsc-tiny", "--batch-size", "4", "--uniq")
    info = doc["cost"]
    assert doc["batch_size"] == 4 and info["batch_size"] == 4 and info["dummy_batch_size"] == 4
    assert info["totals_per_sample"]["flops_core"] == 160
    assert info["totals_per_batch"]["flops_core"] == 640
    assert info["totals_per_sample"]["bitops"] == 81_920
    assert info["totals_per_sample"]["bitops_uniq"] == 87_360
    assert info["totals_model"] == {"params": 117, "param_bits": 117 * 32, "param_bytes": 117 * 4}


def test_cost_with_the_lab_config_compares_original_and_quantised(capsys):
    doc = cost_json(capsys, "jsc-toy", "--config", str(LAB_CONFIG))
    assert doc["original"]["totals_per_sample"]["bitops"] == 237_568
    assert doc["quantised"]["totals_per_sample"]["bitops"] == 14_848
    cmp = doc["compare"]
    assert cmp["bitops_ratio"] == 0.0625
    assert cmp["storage_ratio"] == (74 * 32 + 253 * 8) / (327 * 32)
    assert cmp["flops_delta"] == 0
    assert cmp["changed_nodes"] == ["seq_blocks_2", "seq_blocks_5", "seq_blocks_8"]


def test_cost_table_output(capsys):
    assert main(["cost", "jsc-tiny", "--config", str(LAB_CONFIG)]) == 0
    out = capsys.readouterr().out
    assert "per sample" in out and "per batch of 8" in out
    assert "81,920" in out and "5,120" in out and "0.0625x" in out
    assert "seq_blocks_2" in out and "fp32 -> int[8,4]" in out


def test_errors_are_one_line_with_exit_2(capsys, tmp_path):
    assert main(["cost", "jsc-tiny", "--config", str(tmp_path / "missing.toml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: config file not found") and "\n" not in err
    no_quant = tmp_path / "reports.toml"
    no_quant.write_text('model = "jsc-tiny"\n[passes.report_graph]\n')
    assert main(["cost", "jsc-tiny", "--config", str(no_quant)]) == 2
    assert "has no [passes.quantize] table" in capsys.readouterr().err
    bad = tmp_path / "bad_quant.toml"
    bad.write_text('[passes.quantize]\nby = "type"\n[passes.quantize.linear.config]\nname = "integerr"\n')
    assert main(["cost", "jsc-tiny", "--config", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    # refused when the config loads (before torch), naming the file, the table and the typo
    assert err.startswith("error: ") and "[passes.quantize]: entry 'linear': unknown quantiser 'integerr'" in err
    assert "did you mean 'integer'?" in err and "\n" not in err
    assert main(["cost", "no-such-model"]) == 2
    assert "unknown model" in capsys.readouterr().err


def _jsc_tiny_graph():
    import torch

    from core.ir import MaseGraph
    from core.models import get_model
    from core.passes import PASSES

    torch.manual_seed(0)
    graph = MaseGraph(get_model("jsc-tiny").eval())
    graph, _ = PASSES["init_metadata_analysis_pass"].fn(graph, None)
    graph, _ = PASSES["add_common_metadata_analysis_pass"].fn(graph, {"dummy_in": {"x": torch.randn(8, 16)}})
    return graph


def _info(graph=None, **args) -> dict:
    from core.passes.analysis.cost import cost_analysis_pass

    return cost_analysis_pass(graph or _jsc_tiny_graph(), args)[1]


def test_render_cost_registered_and_labelled():
    assert RENDERERS["cost"] is render_cost and renderer_for("cost_analysis_pass") is render_cost
    text = text_of(render_pass_result("cost_analysis_pass", _info(uniq=True, batch_size=16)))
    assert "per batch of 16" in text and "dummy batch of 8" in text
    assert "BitOPs UNIQ" in text and "87,360" in text and "1,397,760" in text  # 87,360 x 16
    assert "seq_blocks_2" in text and "placeholder x1" in text  # zero-cost nodes summarised


def test_render_cost_compare():
    from core.cost import compare_costs
    from core.ir.metadata import get_mase

    graph = _jsc_tiny_graph()
    before = _info(graph)
    args = get_mase(graph.node("seq_blocks_2")).parameters["common"]["args"]
    for name in ("data_in_0", "weight", "bias"):
        args[name]["type"], args[name]["precision"] = "integer", [8, 4]
    after = _info(graph)
    text = text_of(render_cost_compare(compare_costs(before, after)))
    assert "original" in text and "quantised" in text
    assert "0.0625x" in text and "-76,800" in text
    assert "fp32 -> int[8,4]" in text
    assert "no node changed cost" in text_of(render_cost_compare(compare_costs(before, before)))
