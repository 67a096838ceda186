"""Node tables (name, fx op, mase_type, mase_op) of every zoo model, written out by hand.

ResNet-18 and the transformers are generated per block by small functions below that only
know the architectures (layer names, fx naming of repeated ops), not the classification code.
"""

from __future__ import annotations

import pytest
import torch

from core.ir import MaseGraph
from core.models import get_model, get_model_spec
from core.passes.analysis.common_metadata import add_common_metadata_analysis_pass
from core.passes.analysis.init_metadata import init_metadata_analysis_pass

PH = ("placeholder", "placeholder", "placeholder")
OUT = ("output", "output", "output")
CM, CF, CMETH = "call_module", "call_function", "call_method"
MRF, MOD, BIF, IMP = "module_related_func", "module", "builtin_func", "implicit_func"


def row(name, op, mase_type, mase_op):
    return (name, op, mase_type, mase_op)


def ph(name="x"):
    return (name, *PH)


def out():
    return ("output", *OUT)


JSC_TINY = [
    ph(),
    row("seq_blocks_0", CM, MOD, "batch_norm1d"),
    row("seq_blocks_1", CM, MRF, "relu"),
    row("seq_blocks_2", CM, MRF, "linear"),
    row("seq_blocks_3", CM, MRF, "relu"),
    out(),
]

JSC_TOY = [
    ph(),
    row("seq_blocks_0", CM, MOD, "batch_norm1d"),
    row("seq_blocks_1", CM, MRF, "relu"),
    row("seq_blocks_2", CM, MRF, "linear"),
    row("seq_blocks_3", CM, MOD, "batch_norm1d"),
    row("seq_blocks_4", CM, MRF, "relu"),
    row("seq_blocks_5", CM, MRF, "linear"),
    row("seq_blocks_6", CM, MOD, "batch_norm1d"),
    row("seq_blocks_7", CM, MRF, "relu"),
    row("seq_blocks_8", CM, MRF, "linear"),
    row("seq_blocks_9", CM, MOD, "batch_norm1d"),
    row("seq_blocks_10", CM, MRF, "relu"),
    out(),
]

JSC_S = [
    ph(),
    row("module_list_0", CM, MOD, "batch_norm1d"),
    row("module_list_1", CM, MRF, "relu"),
    row("module_list_2", CM, MRF, "linear"),
    row("module_list_3", CM, MOD, "batch_norm1d"),
    row("module_list_4", CM, MRF, "relu"),
    row("module_list_5", CM, MRF, "linear"),
    row("module_list_6", CM, MRF, "relu"),
    row("module_list_7", CM, MRF, "linear"),
    row("module_list_8", CM, MRF, "relu"),
    row("module_list_9", CM, MRF, "linear"),
    row("module_list_10", CM, MRF, "relu"),
    row("module_list_11", CM, MRF, "linear"),
    row("module_list_12", CM, MOD, "batch_norm1d"),
    row("module_list_13", CM, MRF, "relu"),
    out(),
]

JSC_MLP = [
    ph(),
    row("fc1", CM, MRF, "linear"),
    row("act", CM, MRF, "relu"),
    row("fc2", CM, MRF, "linear"),
    row("act_1", CM, MRF, "relu"),
    row("fc3", CM, MRF, "linear"),
    row("act_2", CM, MRF, "relu"),
    row("fc4", CM, MRF, "linear"),
    out(),
]

TOY = [
    ph(),
    row("size", CMETH, IMP, "size"),
    row("view", CMETH, IMP, "view"),
    row("seq_blocks_0", CM, MRF, "linear"),
    row("seq_blocks_1", CM, MRF, "relu"),
    row("seq_blocks_2", CM, MRF, "linear"),
    row("seq_blocks_3", CM, MRF, "relu"),
    row("seq_blocks_4", CM, MRF, "linear"),
    out(),
]

TOY_FN = [
    ph(),
    row("flatten", CF, IMP, "flatten"),
    row("fc", CM, MRF, "linear"),
    row("act", CM, MRF, "relu"),
    row("relu", CF, MRF, "relu"),
    row("add", CF, BIF, "add"),
    row("add_1", CF, BIF, "add"),
    row("mul", CF, BIF, "mul"),
    row("mul_1", CF, BIF, "mul"),
    row("sub", CF, BIF, "sub"),
    row("sub_1", CF, BIF, "sub"),
    row("size", CMETH, IMP, "size"),
    row("view", CMETH, IMP, "view"),
    row("conv_w", "get_attr", "get_attr", "constant"),
    row("conv2d", CF, MRF, "conv2d"),
    row("adaptive_avg_pool2d", CF, MRF, "adaptive_avg_pool2d"),
    row("view_1", CMETH, IMP, "view"),
    row("conv1d_w", "get_attr", "get_attr", "constant"),
    row("conv1d", CF, MRF, "conv1d"),
    row("_tensor_constant0", "get_attr", IMP, "constant"),
    row("matmul", CF, BIF, "matmul"),
    row("view_2", CMETH, IMP, "view"),
    row("bmm", CF, BIF, "bmm"),
    row("view_3", CMETH, IMP, "view"),
    row("head", CM, MRF, "linear"),
    out(),
]

TOY_CNN = [
    ph(),
    row("features_0", CM, MRF, "conv2d"),
    row("features_1", CM, MOD, "batch_norm2d"),
    row("features_2", CM, MRF, "relu"),
    row("features_3", CM, MRF, "max_pool2d"),
    row("features_4", CM, MRF, "conv2d"),
    row("features_5", CM, MOD, "batch_norm2d"),
    row("features_6", CM, MRF, "relu"),
    row("features_7", CM, MRF, "max_pool2d"),
    row("flatten", CM, IMP, "flatten"),
    row("classifier", CM, MRF, "linear"),
    out(),
]


def nth(base: str, k: int) -> str:
    """fx names the k-th use of a name base, base_1, base_2, ..."""
    return base if k == 0 else f"{base}_{k}"


def resnet18_table():
    rows = [
        ph(),
        row("conv1", CM, MRF, "conv2d"),
        row("bn1", CM, MOD, "batch_norm2d"),
        row("relu", CM, MRF, "relu"),
        row("maxpool", CM, MRF, "max_pool2d"),
    ]
    adds = 0
    for layer in range(1, 5):
        for block in range(2):
            p = f"layer{layer}_{block}_"
            rows += [
                row(p + "conv1", CM, MRF, "conv2d"),
                row(p + "bn1", CM, MOD, "batch_norm2d"),
                row(p + "relu", CM, MRF, "relu"),
                row(p + "conv2", CM, MRF, "conv2d"),
                row(p + "bn2", CM, MOD, "batch_norm2d"),
            ]
            if layer > 1 and block == 0:  # stride-2 blocks project the identity
                rows += [row(p + "downsample_0", CM, MRF, "conv2d"), row(p + "downsample_1", CM, MOD, "batch_norm2d")]
            rows += [row(nth("add", adds), CF, BIF, "add"), row(p + "relu_1", CM, MRF, "relu")]
            adds += 1
    rows += [
        row("avgpool", CM, MRF, "adaptive_avg_pool2d"),
        row("flatten", CMETH, IMP, "flatten"),
        row("fc", CM, MRF, "linear"),
        out(),
    ]
    return rows


def transformer_table(num_layers: int):
    rows = [
        ph("input_ids"),
        row("embed", CM, IMP, "embedding"),
        row("pos", "get_attr", "get_attr", "constant"),
        row("add", CF, BIF, "add"),
    ]
    for i in range(num_layers):
        p = f"layers_{i}_"
        getitems = [row(nth("getitem", 6 * i + k), CF, IMP, "getitem") for k in range(6)]
        muls = [row(nth("mul", 4 * i + k), CF, BIF, "mul") for k in range(4)]
        reshapes = [row(nth("reshape", 4 * i + k), CMETH, IMP, "reshape") for k in range(4)]
        rows += [
            row(p + "ln1", CM, MRF, "layer_norm"),
            row(f"getattr_{i + 1}", CF, IMP, "getattr"),  # b, t, d = x.shape
            *getitems[:3],
            row(p + "attn_qkv", CM, MRF, "linear"),
            row(nth("view", 2 * i), CMETH, IMP, "view"),
            row(nth("permute", i), CMETH, IMP, "permute"),
            *getitems[3:],  # q, k, v = qkv[0], qkv[1], qkv[2]
            muls[0], reshapes[0], muls[1], reshapes[1], muls[2], reshapes[2],  # b * heads
            row(nth("transpose", 2 * i), CMETH, IMP, "transpose"),
            row(nth("bmm", i), CF, BIF, "bmm"),
            muls[3],  # * scale
            row(nth("softmax", i), CF, MRF, "softmax"),
            row(nth("matmul", i), CF, BIF, "matmul"),
            row(nth("view", 2 * i + 1), CMETH, IMP, "view"),
            row(nth("transpose", 2 * i + 1), CMETH, IMP, "transpose"),
            reshapes[3],
            row(p + "attn_proj", CM, MRF, "linear"),
            row(nth("add", 2 * i + 1), CF, BIF, "add"),
            row(p + "ln2", CM, MRF, "layer_norm"),
            row(p + "fc1", CM, MRF, "linear"),
            row(nth("gelu", i), CF, MRF, "gelu"),
            row(p + "fc2", CM, MRF, "linear"),
            row(nth("add", 2 * i + 2), CF, BIF, "add"),
        ]
    rows += [
        row("ln_f", CM, MRF, "layer_norm"),
        row("mean", CMETH, BIF, "mean"),
        row("head", CM, MRF, "linear"),
        out(),
    ]
    return rows


EXPECTED = {
    "jsc-tiny": JSC_TINY,
    "jsc-toy": JSC_TOY,
    "jsc-s": JSC_S,
    "jsc-mlp": JSC_MLP,
    "toy": TOY,
    "toy-fn": TOY_FN,
    "toy-cnn": TOY_CNN,
    "resnet18": resnet18_table(),
    "tiny-transformer": transformer_table(2),
    "tiny-transformer-12": transformer_table(12),
}


def node_table(name: str):
    torch.manual_seed(0)
    graph = MaseGraph(get_model(name).eval())
    graph, _ = init_metadata_analysis_pass(graph)
    graph, info = add_common_metadata_analysis_pass(graph, {"dummy_in": get_model_spec(name).random_inputs(2)})
    table = []
    for node in graph.fx_graph.nodes:
        common = node.meta["mase"].parameters["common"]
        table.append((node.name, node.op, common["mase_type"], common["mase_op"]))
    return table, info


def test_every_zoo_model_has_a_table():
    from core.models import list_models

    assert sorted(EXPECTED) == sorted(spec.name for spec in list_models() if not spec.extra)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_node_table(name):
    table, info = node_table(name)
    expected = EXPECTED[name]
    assert len(table) == len(expected)
    for got, want in zip(table, expected, strict=True):
        assert got == want
    assert info["unknown_ops"] == []


def test_table_sizes_match_the_architectures():
    # independent counts: ResNet-18 has 20 convs (17 + 3 downsample) and 20 batch norms,
    # 8 residual adds; each transformer layer contributes 32 nodes (11 to the
    # q/k/v split, 8 muls and reshapes, 6 attention ops, 7 projection/residual/MLP nodes).
    resnet = resnet18_table()
    assert sum(r[3] == "conv2d" for r in resnet) == 20
    assert sum(r[3] == "batch_norm2d" for r in resnet) == 20
    assert sum(r[3] == "add" for r in resnet) == 8
    assert len(resnet) == 71
    assert len(transformer_table(2)) == 8 + 2 * 32
    assert len(transformer_table(12)) == 8 + 12 * 32


def test_matmul_1_is_matmul_not_mul():
    table = dict((r[0], r[3]) for r in EXPECTED["tiny-transformer"])
    assert table["matmul_1"] == "matmul"
    got = {r[0]: r[3] for r in node_table("tiny-transformer")[0]}
    assert got["matmul_1"] == "matmul"
    assert got["mul_1"] == "mul"
