"""The Llama-2-7B shape on the meta device: no weight memory, numbers from shapes alone.

One test (the export of 32 layers takes several seconds). Oracles are hand counts from the
model's shape, which equal FlopCounterMode with the math attention kernel (1,700,001,742,848 in
reference/export-capture.md) and ``sum(p.numel())`` of the HF model (6,738,415,616).
"""

from __future__ import annotations

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from core.errors import MaseError
from core.session import Session

HIDDEN, INTER, LAYERS, HEADS, VOCAB, TOKENS = 4096, 11008, 32, 32, 32000, 128
HEAD_DIM = HIDDEN // HEADS
LINEAR_PARAMS = LAYERS * (4 * HIDDEN * HIDDEN + 3 * HIDDEN * INTER) + HIDDEN * VOCAB  # q k v o, gate up down; lm_head
LINEAR_MACS = TOKENS * LINEAR_PARAMS
ATTENTION_MACS = LAYERS * 2 * HEADS * TOKENS * TOKENS * HEAD_DIM  # QK^T and PV
OTHER_PARAMS = VOCAB * HIDDEN + (2 * LAYERS + 1) * HIDDEN  # embedding, RMSNorm weights


def test_llama_7b_on_meta_cost_quantise_plan_and_refusals():
    session = Session("llama-7b").load(progress=lambda msg: None)
    assert session.device == "meta" and session.batch_size == 1
    graph = session.original
    assert graph.capture["tracer"] == "export"
    assert next(graph.model.parameters()).device.type == "meta"
    x = next(iter(session.dummy_in.values()))
    assert tuple(x.shape) == (1, TOKENS)

    run = session.run_pass("cost_analysis_pass")
    assert run.ok, run.error
    per_sample, model = run.info["totals_per_sample"], run.info["totals_model"]
    assert model["params"] == LINEAR_PARAMS + OTHER_PARAMS == 6_738_415_616
    assert per_sample["flops_core"] == 2 * (LINEAR_MACS + ATTENTION_MACS) == 1_700_001_742_848
    assert run.info["unruled_ops"] == []
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter, torch.no_grad():
        graph.model(x.to("meta"))
    assert counter.get_total_flops() == per_sample["flops_core"]

    # quantisation on meta is a plan: precisions, BitOPs and storage follow the config
    int8 = {"name": "integer", "data_in_width": 8, "data_in_frac_width": 4, "weight_width": 8,
            "weight_frac_width": 4, "bias_width": 8, "bias_frac_width": 4}
    quant = session.run_pass("quantize_transform_pass", {"by": "type", "linear": {"config": int8}})
    assert quant.ok, quant.error
    assert quant.info["counts"]["quantized"] == LAYERS * 7 + 1
    assert quant.info["plan"].startswith("meta device: a plan")
    assert all(q["metadata"]["weight"]["precision"] == [8, 4] for q in quant.info["quantized"])
    after = session.run_pass("cost_analysis_pass")
    assert after.ok, after.error
    assert after.info["totals_per_sample"]["bitops"] == LINEAR_MACS * 8 * 8 + ATTENTION_MACS * 32 * 32
    assert after.info["totals_model"]["param_bits"] == LINEAR_PARAMS * 8 + OTHER_PARAMS * 32

    # what needs real values says so in one line
    for name in ("profile_statistics_analysis_pass", "verify_quantization_analysis_pass"):
        refused = session.run_pass(name)
        assert not refused.ok and "needs real weights" in refused.error and "meta device" in refused.error
    with pytest.raises(MaseError, match="needs real weights"):
        session.evaluate(max_batches=1)
