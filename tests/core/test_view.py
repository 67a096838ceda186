"""core.ir.view: the precision formatter and the typed node views, against hand-written strings."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from core.ir.view import format_precision, join_precisions, node_view, node_views, short_label
from tests.helpers import LAB_ARGS, annotated

REPO = Path(__file__).resolve().parents[2]


def test_format_precision_spellings():
    assert format_precision("float", [32]) == "float32"
    assert format_precision("float", [16], torch.bfloat16) == "bfloat16"  # [16] alone would say float16
    assert format_precision("float", [32], torch.float32) == "float32"
    assert format_precision("int", [64]) == "int64"
    assert format_precision("bool", [1]) == "bool"
    assert format_precision("integer", [8, 4]) == "integer[8,4]"
    assert format_precision("integer", (8, 4), torch.float32) == "integer[8,4]"  # fake-quantised float tensor
    assert format_precision("fixed", [16, 8]) == "fixed[16,8]"
    assert format_precision("block_fp", [8, 8, 127, [1, 16]]) == "block_fp[8,8,127,[1,16]]"
    assert format_precision("minifloat_ieee", [8, 4, 7]) == "minifloat_ieee[8,4,7]"
    assert format_precision(int, [32]) == "int32"  # a Python int argument records its type
    assert format_precision("float", None) == "float"
    assert format_precision(None, None) == ""


def test_short_and_joined_labels():
    assert format_precision("float", [32], short=True) == "fp32"
    assert format_precision("float", [16], torch.bfloat16, short=True) == "bf16"
    assert format_precision("integer", [8, 4], short=True) == "int[8,4]"
    assert short_label("block_fp[8,8,127,[1,16]]") == "block_fp[8,8,127,[1,16]]"
    assert join_precisions({}) == "" and join_precisions(None) == ""
    assert join_precisions({"data_in_0": "integer[8,4]", "weight": "integer[8,4]"}) == "integer[8,4]"
    assert join_precisions({"data_in_0": "float32", "weight": "integer[8,4]"}) == \
        "data_in_0 float32, weight integer[8,4]"
    assert join_precisions({"data_in_0": "float32", "weight": "integer[8,4]"}, short=True) == \
        "data_in_0 fp32, weight int[8,4]"
    assert join_precisions("float32", short=True) == "fp32"


def _graph():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU()).eval()
    return annotated(model, {"input_1": torch.randn(2, 4)})


def test_node_view_of_a_linear_before_and_after_quantising():
    from core.passes import PASSES

    graph = _graph()
    view = node_view(graph.node("_0"), dict(graph.model.named_modules()))
    assert (view.name, view.op, view.target, view.mase_type, view.mase_op, view.module_class) == \
        ("_0", "call_module", "0", "module_related_func", "linear", "Linear")
    assert list(view.args) == ["data_in_0", "weight", "bias"] and list(view.results) == ["data_out_0"]
    x = view.args["data_in_0"]
    assert (x.shape, x.type, x.precision, x.dtype, x.source, x.label) == ((2, 4), "float", (32,), "float32",
                                                                           "input_1", "float32")
    assert x.dtype_implied and not x.quantised
    assert view.args["weight"].shape == (3, 4) and view.output.shape == (2, 3)
    assert view.precisions == {"data_in_0": "float32", "weight": "float32", "bias": "float32",
                               "data_out_0": "float32"}
    assert view.first_quantised is None and view.has_metadata

    quantised, _ = PASSES["quantize_transform_pass"].fn(graph.copy(), LAB_ARGS)
    after = node_view(quantised.node("_0"), model=quantised.model)
    assert after.module_class == "LinearInteger"
    assert after.precisions == {"data_in_0": "integer[8,4]", "weight": "integer[8,4]", "bias": "integer[8,4]",
                                "data_out_0": "float32"}
    w = after.args["weight"]
    assert (w.type, w.precision, w.label, w.dtype_implied, w.quantised) == ("integer", (8, 4), "integer[8,4]",
                                                                            False, True)
    assert after.first_quantised.name == "data_in_0"


def test_views_read_statistics_and_never_write():
    graph = _graph()
    node = graph.node("_0")
    node.meta["mase"].parameters["software"]["args"]["weight"]["stat"]["variance_precise"] = {"mean": 0.5, "count": 12}
    view = node_view(node)
    assert view.statistics == {("weight", "variance_precise"): {"mean": 0.5, "count": 12}}
    del graph.node("_1").meta["mase"]
    bare = node_view(graph.node("_1"))
    assert (bare.mase_op, bare.args, bare.has_metadata) == (None, {}, False)
    assert "mase" not in graph.node("_1").meta  # reading did not create metadata
    assert [v.name for v in node_views(graph)] == ["input_1", "_0", "_1", "output"]


def test_front_ends_read_metadata_only_through_views():
    """No file under mase_tui/ walks node.meta["mase"] or MaseMetadata.parameters itself."""
    pattern = re.compile(r"""meta\s*(\[\s*|\.get\(\s*)["']mase["']|\.parameters\s*(\[|\.get\()|\bget_mase\b""")
    offenders = [f"{path.relative_to(REPO)}:{n}" for path in sorted((REPO / "mase_tui").rglob("*.py"))
                 for n, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []


def test_a_width_the_dtype_does_not_have_is_shown_as_recorded():
    assert format_precision("float", [8, 4], torch.float32) == "float[8,4]"
    assert format_precision("float", [16], torch.float32) == "float16"
    assert format_precision("int", [8], torch.int8) == "int8"
    assert format_precision("bool", [1], torch.bool) == "bool"


def test_search_results_spell_precisions_with_the_same_formatter():
    from core.search.results import precision_summary

    config = {"by": "name", "default": {"config": {"name": None}},
              "seq_blocks_2": {"config": {"name": "integer", "data_in_width": 8, "data_in_frac_width": 4,
                                          "weight_width": 4, "weight_frac_width": 2,
                                          "bias_width": 8, "bias_frac_width": 4}},
              "seq_blocks_5": {"config": {"name": None}}}
    assert precision_summary(config) == ["seq_blocks_2 in int[8,4] w int[4,2] b int[8,4]"]
    assert precision_summary({"by": "type", "default": {"config": {"name": None}}}) == ["float"]
