"""examples/passes/count_ops.py (Lab 2's optional task as a user pass) against the built-in
cost_analysis_pass node by node, against the reference numbers for jsc-toy (float32 and the
lab's 8-bit config), and against torch's FlopCounterMode on a small CNN."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from core.config import load_config
from core.passes.user_passes import load_pass_file, unload_pass_file
from core.session import Session

REPO = Path(__file__).resolve().parents[2]
COUNT_OPS = REPO / "examples" / "passes" / "count_ops.py"
LAB_CONFIG = REPO / "configs" / "examples" / "jsc_toy_by_type.toml"


@pytest.fixture(scope="module", autouse=True)
def count_ops():
    load_pass_file(COUNT_OPS)
    yield
    unload_pass_file(COUNT_OPS)


def both(session: Session) -> tuple[dict, dict]:
    mine, cost = session.run_pass("count_ops"), session.run_pass("cost_analysis_pass")
    assert mine.ok and cost.ok, (mine.error, cost.error)
    return mine.info, cost.info


@pytest.mark.parametrize("model,batch", [("jsc-toy", 8), ("toy-cnn", 4), ("tiny-transformer", 2)])
def test_every_node_matches_the_built_in_cost_pass(model, batch):
    session = Session(model, batch_size=batch).load(progress=lambda _: None)
    mine, cost = both(session)
    built_in = {row["name"]: row for row in cost["nodes"]}
    assert [row["node"] for row in mine["nodes"]] == list(built_in)
    for row in mine["nodes"]:
        ref = built_in[row["node"]]
        assert (row["macs"], row["flops"], row["bitops"]) == (ref["macs"], ref["flops_total"], ref["bitops"]), row
    totals = cost["totals_per_sample"]
    assert mine["totals"] == {"macs": totals["macs"], "flops": totals["flops_total"], "bitops": totals["bitops"]}
    assert mine["totals"]["macs"] > 0 and mine["batch_size"] == batch


def test_jsc_toy_reference_numbers_before_and_after_the_lab_quantisation():
    session = Session("jsc-toy", batch_size=8).load(progress=lambda _: None)
    mine, _ = both(session)
    # cost-quant-jsc.md: 232 MACs, 596 FLOPs (core 464 + bias 21 + BN 2 x 40 + ReLU 31), BitOPs 232 x 32 x 32
    assert mine["totals"] == {"macs": 232, "flops": 596, "bitops": 237_568}
    (quantize,) = [e for e in load_config(LAB_CONFIG).passes if e.name == "quantize_transform_pass"]
    assert session.run_pass(quantize.name, quantize.args).ok
    mine, _ = both(session)
    # the lab's config: the three linears at 8-bit inputs and weights: 232 x 8 x 8
    assert mine["totals"]["bitops"] == 14_848
    assert {r["node"]: r["bitops"] for r in mine["nodes"] if r["bitops"]} == {
        "seq_blocks_2": 128 * 64, "seq_blocks_5": 64 * 64, "seq_blocks_8": 40 * 64}


def test_toy_cnn_mac_flops_equal_flop_counter_mode():
    batch = 4
    session = Session("toy-cnn", batch_size=batch).load(progress=lambda _: None)
    mine, _ = both(session)
    x = next(iter(session.dummy_in.values()))
    model = session.current.model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    # FlopCounterMode counts 2 FLOPs per MAC of conv and linear, bias excluded
    assert 2 * mine["totals"]["macs"] == counter.get_total_flops() // batch
