"""The node tree's model (grouping, folding, chunking, filter) and its lazy widget."""

from __future__ import annotations

import pytest
import torch
from textual.app import App

from core.ir import MaseGraph
from core.models import get_model
from core.passes import PASSES
from mase_tui.node_index import (
    CHUNK,
    Chunk,
    Fold,
    Group,
    NodeRow,
    ancestors,
    build_hierarchy,
    filter_rows,
    iter_rows,
    node_rows,
    parse_query,
)
from mase_tui.widgets.node_tree import NodeTree


def annotated(name: str, dummy: torch.Tensor) -> MaseGraph:
    torch.manual_seed(0)
    graph = MaseGraph(get_model(name).eval())
    graph, _ = PASSES["init_metadata_analysis_pass"].fn(graph, None)
    placeholder = graph.placeholder_names()[0]
    graph, _ = PASSES["add_common_metadata_analysis_pass"].fn(graph, {"dummy_in": {placeholder: dummy}})
    return graph


def child(group, label: str):
    return next(c for c in group.children if getattr(c, "label", None) == label or getattr(c, "name", None) == label)


def test_jsc_toy_groups_by_module_path():
    rows = node_rows(annotated("jsc-toy", torch.randn(8, 16)))
    root = build_hierarchy(rows)
    assert [getattr(c, "name", getattr(c, "label", None)) for c in root.children] == ["x", "seq_blocks", "output"]
    seq = root.children[1]
    assert isinstance(seq, Group) and seq.size == 11
    assert [r.name for r in seq.children] == [f"seq_blocks_{i}" for i in range(11)]
    lin = seq.children[2]
    assert (lin.mase_op, lin.mase_type, lin.out_shape, lin.module_class) == ("linear", "module_related_func", [8, 8], "Linear")
    assert [8, 16] in lin.shapes  # the weight
    assert ancestors(lin) == [seq]


def test_resnet18_folds_identical_blocks_only():
    root = build_hierarchy(node_rows(annotated("resnet18", torch.randn(1, 3, 224, 224))))
    layer1 = child(root, "layer1")
    fold = layer1.children[0]
    assert isinstance(fold, Fold) and fold.label == "layer1.[0-1]" and len(fold.members) == 2
    assert [m.path for m in fold.members] == ["layer1.0", "layer1.1"] and fold.size == 14
    # layer2.0 has a downsample, layer2.1 has not: not folded
    layer2 = child(root, "layer2")
    assert [c.path for c in layer2.children] == ["layer2.0", "layer2.1"]
    assert all(isinstance(c, Group) for c in layer2.children)
    # layers 2, 3, 4 differ in shapes: no fold at the top level
    assert not any(isinstance(c, Fold) for c in root.children)
    assert sum(1 for _ in iter_rows(root)) == 71


def test_transformer_layers_fold_as_x12():
    root = build_hierarchy(node_rows(annotated("tiny-transformer-12", torch.randint(0, 256, (2, 32)))))
    layers = child(root, "layers")
    assert len(layers.children) == 1
    fold = layers.children[0]
    assert isinstance(fold, Fold) and fold.label == "layers.[0-11]" and len(fold.members) == 12
    assert all(m.size == fold.members[0].size for m in fold.members)
    assert fold.size == layers.size


def fake_rows(n: int) -> list[NodeRow]:
    """n nodes in blocks of three (linear, relu, identity) under blocks.<i>, like a deep nn.Sequential."""
    rows = [NodeRow("x", "placeholder", "x", "placeholder", "placeholder", [8, 16], "float", [32], [[8, 16]], None, ())]
    kinds = [("linear", "module_related_func", "Linear"), ("relu", "module_related_func", "ReLU"),
             ("identity", "module_related_func", "Identity")]
    for i in range(n // 3):
        for j, (op, mtype, cls) in enumerate(kinds):
            target = f"blocks.{i}.{j}"
            rows.append(NodeRow(target.replace(".", "_"), "call_module", target, mtype, op, [8, 16], "float", [32],
                                [[8, 16], [16, 16]] if op == "linear" else [[8, 16]], cls, ("blocks", f"blocks.{i}")))
    rows.append(NodeRow("output", "output", "output", "output", "output", [8, 16], "float", [32], [[8, 16]], None, ()))
    return rows


def test_long_lists_are_chunked_and_blocks_folded():
    rows = fake_rows(10_000)
    root = build_hierarchy(rows)
    blocks = child(root, "blocks")
    fold = blocks.children[0]
    assert isinstance(fold, Fold) and len(fold.members) == 3333
    assert len(fold.children) == 34 and all(isinstance(c, Chunk) for c in fold.children)
    assert all(len(c.children) <= CHUNK for c in fold.children)
    assert fold.children[1].label == "[100-199]"
    last = rows[-2]
    assert [type(a).__name__ for a in ancestors(last)] == ["Group", "Fold", "Chunk", "Group"]


@pytest.mark.parametrize("query, kinds", [
    ("op:linear", [("op", "linear")]),
    ("OP:Linear seq", [("op", "linear"), ("name", "seq")]),
    ("shape:8,16 type:module", [("shape", "8,16"), ("type", "module")]),
    ("size:3", [("name", "size:3")]),  # unknown prefix: a name search
])
def test_parse_query(query, kinds):
    assert [(t.kind, t.value) for t in parse_query(query)] == kinds


def test_filter_globs_and_shapes():
    rows = fake_rows(30)
    assert len(filter_rows(rows, "op:linear")) == 10
    assert len(filter_rows(rows, "op:id*")) == 10
    assert len(filter_rows(rows, "shape:16,16")) == 10  # the linears' weights
    assert len(filter_rows(rows, "shape:*,16")) == 32  # every node
    assert [r.name for r in filter_rows(rows, "blocks_3_ op:relu")] == ["blocks_3_1"]
    assert filter_rows(rows, "type:Identity")[0].name == "blocks_0_2"
    assert filter_rows(rows, "") == []


class TreeApp(App):
    def __init__(self, rows) -> None:
        super().__init__()
        self.rows = rows

    def compose(self):
        yield NodeTree(id="node-tree")

    def on_mount(self) -> None:
        self.query_one(NodeTree).set_rows(self.rows)


def count_tree_nodes(node) -> int:
    return 1 + sum(count_tree_nodes(c) for c in node.children)


async def test_ten_thousand_nodes_build_a_screenful_of_rows():
    rows = fake_rows(10_000)
    app = TreeApp(rows)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        tree = app.query_one(NodeTree)
        assert len(rows) == 10_001
        assert count_tree_nodes(tree.root) < 60
        # reveal a node deep inside: only its path is built
        assert tree.reveal("blocks_2345_1")
        await pilot.pause()
        assert tree.current_name() == "blocks_2345_1"
        assert count_tree_nodes(tree.root) < 400
        # filtering 3,333 matches keeps only the current match's path open
        assert tree.apply_filter("op:relu") == 3333
        assert tree.current_name() == "blocks_0_1"
        assert count_tree_nodes(tree.root) < 300
        assert tree.step_match(-1) == "blocks_3332_1"
        assert tree.current_name() == "blocks_3332_1"
