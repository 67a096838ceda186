"""Graph matching for the Compare view: by name, then by position and op."""

from __future__ import annotations

import operator

import pytest

from core.compare import (
    ADDED,
    CHANGED,
    REMOVED,
    UNCHANGED,
    NodeInfo,
    compare_graphs,
    compare_nodes,
    summary_line,
)


def _n(name, op="call_function", target="relu", mase_op=None, module_class=None, precisions=()):
    return NodeInfo(name, op, target, module_class, mase_op or target, tuple(precisions))


def test_identical_lists_are_unchanged():
    nodes = [_n("x", "placeholder", "x"), _n("relu"), _n("output", "output", "output")]
    diff = compare_nodes(nodes, list(nodes))
    assert [r.status for r in diff.rows] == [UNCHANGED] * 3
    assert diff.differences() == []
    assert diff.next_difference(0) is None


def test_module_swap_and_precision_are_reported():
    before = _n("fc", "call_module", "fc", "linear", "Linear",
                [("data_in_0", "float", (32,)), ("weight", "float", (32,))])
    after = _n("fc", "call_module", "fc", "linear", "LinearInteger",
               [("data_in_0", "integer", (8, 4)), ("weight", "integer", (8, 4))])
    diff = compare_nodes([before], [after])
    row = diff.rows[0]
    assert row.status == CHANGED and row.mark == "~"
    described = [c.describe() for c in row.changes]
    assert described == [
        "module: Linear -> LinearInteger",
        "precision data_in_0: float32 -> integer[8,4]",
        "precision weight: float32 -> integer[8,4]",
    ]


def test_functional_replacement_keeps_name_and_changes_target():
    left = [_n("x", "placeholder", "x"), _n("add", target="add"), _n("output", "output", "output")]
    right = [_n("x", "placeholder", "x"), _n("add", target="add_integer", mase_op="add"),
             _n("output", "output", "output")]
    diff = compare_nodes(left, right)
    assert [r.status for r in diff.rows] == [UNCHANGED, CHANGED, UNCHANGED]
    assert diff.rows[1].changes[0].describe() == "target: add -> add_integer"


def test_inserted_and_removed_nodes_fall_back_on_position_and_op():
    left = [_n("x", "placeholder", "x"), _n("relu"), _n("linear", target="linear"),
            _n("output", "output", "output")]
    # relu renamed to relu_q (same op: paired), a quantise node inserted, linear removed
    right = [_n("x", "placeholder", "x"), _n("quant_in", target="quantize"), _n("relu_q"),
             _n("output", "output", "output")]
    diff = compare_nodes(left, right)
    got = [(r.mark, r.original.name if r.original else None, r.current.name if r.current else None)
           for r in diff.rows]
    assert got == [
        (" ", "x", "x"),
        ("+", None, "quant_in"),
        (" ", "relu", "relu_q"),
        ("-", "linear", None),
        (" ", "output", "output"),
    ]
    assert diff.counts() == {UNCHANGED: 3, CHANGED: 0, ADDED: 1, REMOVED: 1}
    assert summary_line(diff) == "0 changed, 1 added, 1 removed, 3 unchanged"


def test_moved_node_is_one_row():
    left = [_n("a"), _n("b"), _n("c")]
    right = [_n("b"), _n("c"), _n("a")]
    diff = compare_nodes(left, right)
    assert sorted(r.name for r in diff.rows) == ["a", "b", "c"]
    assert all(r.status == UNCHANGED for r in diff.rows)


def test_next_and_previous_difference_wrap():
    left = [_n(f"n{i}") for i in range(6)]
    right = [_n(f"n{i}", target="relu_integer" if i in (1, 4) else "relu") for i in range(6)]
    diff = compare_nodes(left, right)
    assert diff.differences() == [1, 4]
    assert diff.next_difference(0) == 1
    assert diff.next_difference(1) == 4
    assert diff.next_difference(4) == 1  # wraps
    assert diff.next_difference(4, -1) == 1
    assert diff.next_difference(1, -1) == 4  # wraps
    assert diff.index_of("n4") == 4 and diff.index_of("zzz") is None


# ------------------------------------------------------------------ real graphs
@pytest.fixture(scope="module")
def jsc_toy():
    import torch

    from core.ir import MaseGraph
    from core.models import get_model
    from core.passes import PASSES

    torch.manual_seed(0)
    g = MaseGraph(get_model("jsc-toy"))
    g, _ = PASSES["init_metadata_analysis_pass"].fn(g, None)
    g, _ = PASSES["add_common_metadata_analysis_pass"].fn(g, {"dummy_in": {"x": torch.randn(8, 16)}})
    return g


def test_real_graph_module_swap_and_inserted_function(jsc_toy):
    import torch

    class LinearQ(torch.nn.Linear):
        pass

    new = jsc_toy.copy()
    old = new.model.get_submodule("seq_blocks.5")
    swapped = LinearQ(old.in_features, old.out_features)
    new.model.seq_blocks._modules["5"] = swapped
    new.node("seq_blocks_5").meta["mase"].parameters["common"]["args"]["weight"]["precision"] = [8, 4]
    # insert a call_function after seq_blocks_0: a node that did not exist before
    node0 = new.node("seq_blocks_0")
    with new.fx_graph.inserting_after(node0):
        extra = new.fx_graph.call_function(operator.mul, (node0, 1.0))
    node0.replace_all_uses_with(extra)
    extra.args = (node0, 1.0)
    new.recompile()

    diff = compare_graphs(jsc_toy, new)
    assert diff.changed_names() == ["seq_blocks_5"]
    row = diff.rows[diff.index_of("seq_blocks_5")]
    assert [c.describe() for c in row.changes] == [
        "module: Linear -> LinearQ",
        "precision weight: float32 -> float[8,4]",
    ]
    added = [r.current.name for r in diff.rows if r.status == ADDED]
    assert added == ["mul"]
    assert diff.counts()[UNCHANGED] == 12  # 13 nodes in jsc-toy, one changed
    # the new node sits right after seq_blocks_0 in the aligned rows
    order = [r.name for r in diff.rows]
    assert order.index("mul") == order.index("seq_blocks_0") + 1


# ------------------------------------------------------------------ quantised values
def _fixed(x, width, frac):
    import torch

    return torch.clamp(torch.round(x * 2**frac), -(2 ** (width - 1)), 2 ** (width - 1) - 1) / 2**frac


def test_quantised_views_of_a_quantised_linear(jsc_toy):
    from core.compare import quantised_views
    from core.passes import PASSES

    cfg = {"name": "integer", "data_in_width": 8, "data_in_frac_width": 4, "weight_width": 6,
           "weight_frac_width": 5, "bias_width": 8, "bias_frac_width": 3}
    graph, _ = PASSES["quantize_transform_pass"].fn(jsc_toy.copy(), {"by": "name", "seq_blocks_5": {"config": cfg}})
    assert quantised_views(graph, "seq_blocks_2") == []  # left in float
    assert quantised_views(graph, "seq_blocks_0") == []  # not quantisable
    views = quantised_views(graph, "seq_blocks_5")
    assert [(v.label, v.quantiser) for v in views] == [("weight", "integer"), ("bias", "integer")]
    layer = graph.model.get_submodule("seq_blocks.5")
    assert views[0].float_values.equal(layer.weight.detach())
    assert views[0].quant_values.equal(_fixed(layer.weight.detach(), 6, 5))
    assert views[1].quant_values.equal(_fixed(layer.bias.detach(), 8, 3))


def test_quantised_views_of_quantised_functions_capture_their_inputs():
    import torch

    from core.compare import quantised_views
    from core.ir import MaseGraph
    from core.models import get_model
    from core.passes import PASSES

    torch.manual_seed(0)
    g = MaseGraph(get_model("toy-fn"))
    x = {"x": torch.randn(4, 192)}
    g, _ = PASSES["init_metadata_analysis_pass"].fn(g, None)
    g, _ = PASSES["add_common_metadata_analysis_pass"].fn(g, {"dummy_in": x})
    integer = {"name": "integer", "data_in_width": 8, "data_in_frac_width": 4}
    q, _ = PASSES["quantize_transform_pass"].fn(g.copy(), {
        "by": "type", "add": {"config": integer},
        "matmul": {"config": {**integer, "weight_width": 6, "weight_frac_width": 3}}})
    # the oracle: the float inputs each node receives in the quantised graph (upstream
    # quantised adds change what matmul sees)
    seen = {}

    class Spy(torch.fx.Interpreter):
        def run_node(self, n):
            if n.name in ("add", "matmul"):
                seen[n.name] = self.fetch_args_kwargs_from_env(n)[0]
            return super().run_node(n)

    with torch.no_grad():
        Spy(q.model).run(x["x"])
    assert quantised_views(q, "add") == []  # without inputs there is nothing to show
    add = quantised_views(q, "add", x)
    assert [v.label for v in add] == ["data_in_0", "data_in_1"]
    for view, value in zip(add, seen["add"], strict=True):
        assert view.float_values.equal(value)
        assert view.quant_values.equal(_fixed(value, 8, 4))
    matmul = quantised_views(q, "matmul", x)
    assert [v.label for v in matmul] == ["data_in_0", "data_in_1"]
    assert matmul[0].quant_values.equal(_fixed(seen["matmul"][0], 8, 4))
    assert matmul[1].quant_values.equal(_fixed(seen["matmul"][1], 6, 3))  # the second operand: weight


def test_quantised_views_of_a_quantised_relu_module_capture_its_input(jsc_toy):
    import torch

    from core.compare import quantised_views
    from core.passes import PASSES

    cfg = {"name": "integer", "data_in_width": 6, "data_in_frac_width": 3}
    q, _ = PASSES["quantize_transform_pass"].fn(jsc_toy.copy(), {"by": "name", "seq_blocks_1": {"config": cfg}})
    x = {"x": torch.randn(8, 16, generator=torch.Generator().manual_seed(1))}
    assert type(q.model.get_submodule("seq_blocks.1")).__name__ == "ReLUInteger"
    assert quantised_views(q, "seq_blocks_1") == []  # no weights; inputs need a run
    with torch.no_grad():
        bn_out = q.model.get_submodule("seq_blocks.0")(x["x"])  # what the ReLU receives
    (view,) = quantised_views(q, "seq_blocks_1", x)
    assert (view.label, view.quantiser) == ("data_in_0", "integer")
    assert torch.allclose(view.float_values, bn_out)
    # a ReLU's fixed-point input is unsigned (MASE): [0, 63/8] on a 1/8 grid
    expected = torch.clamp(torch.round(bn_out * 8), 0, 63) / 8
    assert view.quant_values.equal(expected)
    assert float(view.quant_values.min()) == 0.0 and float(view.quant_values.max()) <= 63 / 8
