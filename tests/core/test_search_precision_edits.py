"""The precision editor's model: per-node configs validated as set, one by-name quantize config,
costs from metadata equal to hand-computed BitOPs, a TOML that `ch transform` reproduces."""

from __future__ import annotations

import pytest
import torch

from core.config import parse_toml
from core.errors import QuantError
from core.search.precision_edits import PrecisionEdits, costs


def integer(node_op: str, width: int, frac: int, bias: bool = True) -> dict:
    config = {"name": "integer", "data_in_width": width, "data_in_frac_width": frac}
    if node_op == "linear":
        config.update(weight_width=width, weight_frac_width=frac)
        if bias:
            config.update(bias_width=width, bias_frac_width=frac)
    return config


@pytest.fixture(scope="module")
def session():
    from core.session import Session

    return Session("jsc-toy").load(progress=lambda m: None)


@pytest.fixture
def edits(session):
    e = PrecisionEdits(session.original)
    e.set("seq_blocks_2", integer("linear", 4, 2))
    e.set("seq_blocks_5", integer("linear", 8, 4))
    e.set("seq_blocks_8", integer("linear", 8, 4))
    return e


def test_bitops_follow_the_edits_without_a_forward(edits):
    c = costs(edits.apply())
    # MACs per sample 16x8, 8x8, 8x5 times input bits times weight bits
    assert c["bitops"] == 128 * 4 * 4 + 64 * 8 * 8 + 40 * 8 * 8 == 8704
    assert c["nodes"]["seq_blocks_2"]["bitops"] == 2048
    # storage: weights + biases of the linears at their widths, BatchNorm affine params at 32 bits
    linear_bits = (128 + 8) * 4 + (64 + 8) * 8 + (40 + 5) * 8
    batchnorm_bits = 2 * (16 + 8 + 8 + 5) * 32
    assert c["param_bits"] == linear_bits + batchnorm_bits
    assert c["average_bits"] == pytest.approx((128 * 4 + 64 * 8 + 40 * 8) / 232)


def test_the_config_is_one_by_name_quantize_in_graph_order(edits):
    args = edits.pass_args()
    assert list(args) == ["by", "default", "seq_blocks_2", "seq_blocks_5", "seq_blocks_8"]
    assert args["by"] == "name" and args["default"] == {"config": {"name": None}}
    assert args["seq_blocks_2"]["config"] == integer("linear", 4, 2)


def test_invalid_values_are_refused_and_change_nothing(edits):
    before = edits.pass_args()
    with pytest.raises(QuantError, match="data_in_frac_width 9 is above data_in_width 8"):
        edits.set("seq_blocks_5", {**integer("linear", 8, 4), "data_in_frac_width": 9})
    with pytest.raises(QuantError, match="unknown quantiser 'integr'"):
        edits.set("seq_blocks_5", {**integer("linear", 8, 4), "name": "integr"})
    with pytest.raises(QuantError, match="cannot be quantised"):
        edits.set("seq_blocks_3", integer("linear", 8, 4))  # a BatchNorm
    assert edits.pass_args() == before


def test_step_width_and_copy_to_the_same_op(edits):
    assert edits.step_width("seq_blocks_2", +1)["weight_width"] == 5
    edits.step_width("seq_blocks_2", -3)
    config = edits.config_of("seq_blocks_2")
    assert config["weight_width"] == 2 and config["weight_frac_width"] == 2  # frac follows the width down
    with pytest.raises(QuantError):
        edits.step_width("seq_blocks_2", -2)  # width 0
    assert edits.config_of("seq_blocks_2")["weight_width"] == 2
    assert edits.step_width("seq_blocks_1", +1) == integer("relu", 8, 4)  # a float node starts at 8/4
    assert set(edits.copy_to("seq_blocks_2", edits.same_op("seq_blocks_2"))) == {"seq_blocks_5", "seq_blocks_8"}
    assert edits.config_of("seq_blocks_8") == edits.config_of("seq_blocks_2")
    # siblings of a ReLU are every quantisable node of seq_blocks; a ReLU copied to a linear
    # gives the linear its data_in format for every operand
    targets = edits.siblings("seq_blocks_1")
    assert targets == ["seq_blocks_1", "seq_blocks_2", "seq_blocks_4", "seq_blocks_5", "seq_blocks_7",
                       "seq_blocks_8", "seq_blocks_10"]
    edits.copy_to("seq_blocks_1", targets)
    assert edits.config_of("seq_blocks_5") == integer("linear", 8, 4)
    assert edits.config_of("seq_blocks_10") == integer("relu", 8, 4)


def test_toml_round_trip_and_ch_transform_reproduce_the_graph(edits, session, tmp_path, capsys):
    from core.data import get_datamodule
    from core.passes.interface.save_load import load_mase_graph
    from mase_tui.cli import main

    text = edits.toml({"model": "jsc-toy", "dataset": "jsc", "project": "edited"})
    loaded = PrecisionEdits(session.original)
    loaded.load(parse_toml(text)["passes"]["quantize"])
    assert loaded.pass_args() == edits.pass_args()

    path = tmp_path / "edited.toml"
    path.write_text(text)
    assert main(["transform", "--config", str(path), "--project-dir", str(tmp_path), "--eval-batches", "1"]) == 0
    capsys.readouterr()
    saved = load_mase_graph(str(tmp_path / "edited" / "software" / "transform" / "transformed_ckpt"))
    mine = edits.apply()
    for name in ("seq_blocks.2", "seq_blocks.5", "seq_blocks.8"):
        a, b = mine.model.get_submodule(name), saved.model.get_submodule(name)
        assert type(a) is type(b) and a.config == b.config
    x, _ = next(iter(get_datamodule("jsc", model_name="jsc-toy", batch_size=256).dataloader("validation", shuffle=False)))
    mine.model.eval()
    saved.model.eval()
    with torch.no_grad():
        assert torch.equal(mine.model(x), saved.model(x))


def test_accuracy_on_the_fixed_subset_equals_a_plain_loop(edits, session):
    import threading

    from core.errors import MaseError
    from core.search.evaluator import EvalSubset

    graph = edits.apply()
    subset = EvalSubset(session.datamodule, "validation", 1000, chunk=256)
    seen = []
    result = subset.evaluate(graph, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    x, y = next(iter(session.datamodule.dataloader("validation", shuffle=False, batch_size=1000)))
    graph.model.eval()
    with torch.no_grad():
        correct = (graph.model(x).argmax(dim=1) == y).sum().item()
    assert result["accuracy"] == correct / 1000 and result["samples"] == 1000
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(MaseError, match="cancelled"):
        subset.evaluate(graph, cancel=cancel)
