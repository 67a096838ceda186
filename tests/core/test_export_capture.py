"""The torch.export front end on Hugging Face models (random weights from configs).

Oracles: the eager model's own output, and FlopCounterMode with the math SDPA kernel
(plain FlopCounterMode counts the CPU flash-attention kernel as 0 FLOPs).
"""

from __future__ import annotations

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from core.errors import MaseError, TraceError
from core.ir import MaseGraph
from core.session import Session

HF_MODELS = ("bert-tiny", "gpt2-tiny", "vit-tiny", "llama-tiny")


@pytest.fixture(scope="module")
def sessions():
    return {name: Session(name, batch_size=2).load(progress=lambda msg: None) for name in HF_MODELS}


def _eager(model, x):
    out = model(x)
    return out.logits if hasattr(out, "logits") else out


def _oracle_flops(model, x) -> int:
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter, torch.no_grad():
        _eager(model, x)
    return counter.get_total_flops()


@pytest.mark.parametrize("name", HF_MODELS)
def test_hf_model_opens_with_export_and_is_complete(sessions, name):
    session = sessions[name]
    graph = session.original
    assert graph.capture["tracer"] == "export"
    assert graph.capture["reason"].startswith("export: fx failed: ")
    types = {n.name: n.meta["mase"].parameters["common"]["mase_type"] for n in graph.fx_graph.nodes}
    assert [n for n, t in types.items() if t == "unknown"] == []
    x = next(iter(session.dummy_in.values()))
    expected_len = 128 if name != "vit-tiny" else None
    if expected_len:
        assert tuple(x.shape) == (2, 128)
        assert int(x.max()) < session.model.config.vocab_size
    else:
        assert tuple(x.shape) == (2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(graph.model(x), _eager(session.model, x))


@pytest.mark.parametrize("name", HF_MODELS)
def test_hf_flops_equal_flop_counter_with_math_attention(sessions, name):
    session = sessions[name]
    run = session.run_pass("cost_analysis_pass")
    assert run.ok, run.error
    x = next(iter(session.dummy_in.values()))
    per_sample = run.info["totals_per_sample"]["flops_core"]
    assert per_sample * x.shape[0] == _oracle_flops(session.model, x)
    assert run.info["unruled_ops"] == []
    assert run.info["totals_model"]["params"] == sum(p.numel() for p in session.model.parameters())


def test_linear_weights_are_named_args_with_shapes(sessions):
    graph = sessions["llama-tiny"].original
    node = next(n for n in graph.fx_graph.nodes if n.target is torch.ops.aten.linear.default)
    common = node.meta["mase"].parameters["common"]
    assert common["mase_op"] == "linear" and common["mase_type"] == "module_related_func"
    weight = graph.model.get_parameter("model.layers.0.self_attn.q_proj.weight")
    assert common["args"]["weight"]["shape"] == list(weight.shape) == [64, 64]
    assert common["args"]["data_in_0"]["shape"] == [2, 128, 64]
    stack = list(node.meta["nn_module_stack"].values())
    assert stack[-1] == ("model.layers.0.self_attn.q_proj", "torch.nn.modules.linear.Linear")


def test_bookkeeping_nodes_are_removed(sessions):
    graph = sessions["llama-tiny"].original
    targets = [str(n.target) for n in graph.fx_graph.nodes]
    assert not any("_assert_tensor_metadata" in t for t in targets)
    assert graph.capture["removed"]["_assert_tensor_metadata"] > 0


class _DataDependent(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = torch.nn.Linear(8, 8), torch.nn.Linear(8, 8)

    def forward(self, x):
        if x.sum() > 0:
            return self.a(x)
        return self.b(x)


def test_data_dependent_branch_names_both_tracers():
    with pytest.raises(TraceError) as err:
        MaseGraph(_DataDependent(), example_inputs=(torch.randn(4, 8),))
    line = str(err.value)
    assert "\n" not in line
    assert "fx: " in line and "export: " in line
    assert "data-dependent control flow" in line
    assert "if x.sum() > 0" in line


def test_tracer_choice():
    mlp = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
    x = torch.randn(2, 4)
    fx_graph = MaseGraph(mlp, example_inputs=(x,))
    assert fx_graph.capture["tracer"] == "fx"
    exported = MaseGraph(mlp, tracer="export", example_inputs=(x,))
    assert exported.capture == {"tracer": "export", "reason": "export: asked for (--tracer export)",
                                "removed": {}, "rewritten": {}, "mode": "eval"}
    with torch.no_grad():
        assert torch.equal(exported.model(x), mlp(x))
    with pytest.raises(MaseError, match="unknown tracer 'jit'"):
        MaseGraph(mlp, tracer="jit", example_inputs=(x,))


def test_tracer_fx_on_hf_model_fails_in_one_line():
    with pytest.raises(MaseError) as err:
        Session("llama-tiny", tracer="fx").load(progress=lambda msg: None)
    assert "cannot trace LlamaForCausalLM" in str(err.value)


# ------------------------------------------------------------------ quantise, save, load
_HIGH_PRECISION = {"name": "integer", "data_in_width": 16, "data_in_frac_width": 10, "weight_width": 16,
                   "weight_frac_width": 14, "bias_width": 16, "bias_frac_width": 14}
_MATMUL_CONFIG = {"name": "integer", "data_in_width": 16, "data_in_frac_width": 10, "weight_width": 16,
                  "weight_frac_width": 10}
_MAC_ATEN = (torch.ops.aten.linear.default, torch.ops.aten.matmul.default, torch.ops.aten.bmm.default)
# hand counts: llama 2 layers x (q, k, v, o, gate, up, down) + lm_head; gpt2 2 x (c_attn, c_proj,
# c_fc, mlp c_proj) Conv1D + lm_head; bert 2 x 6 + pooler + classifier; vit 2 x 6 + classifier
LINEARS = {"llama-tiny": 15, "gpt2-tiny": 9, "bert-tiny": 14, "vit-tiny": 13}


def _sqnr_db(reference: torch.Tensor, approx: torch.Tensor) -> float:
    noise = (reference - approx).pow(2).mean()
    return float(10 * torch.log10(reference.pow(2).mean() / noise))


@pytest.mark.parametrize("name", HF_MODELS)
def test_quantize_by_type_changes_exactly_the_linear_and_matmul_nodes(name, tmp_path):
    session = Session(name, batch_size=2).load(progress=lambda msg: None)
    before = {n.name: n.target for n in session.current.fx_graph.nodes}
    macs = {n for n, t in before.items() if t in _MAC_ATEN}
    assert sum(before[n] is torch.ops.aten.linear.default for n in macs) == LINEARS[name]
    run = session.run_pass("quantize_transform_pass", {"by": "type", "default": {"config": {"name": None}},
                                                       "linear": {"config": _HIGH_PRECISION},
                                                       "matmul": {"config": _MATMUL_CONFIG}})
    assert run.ok, run.error
    after = {n.name: n.target for n in session.current.fx_graph.nodes}
    changed = {n for n in before if after[n] is not before[n]}
    assert changed == macs
    from core.compare import compare_graphs, summary_line  # what the app's Compare tab shows

    assert summary_line(compare_graphs(session.original, session.current)).startswith(f"{len(macs)} changed, 0 added")
    assert {after[n].__name__ for n in changed} <= {"linear_integer", "matmul_integer", "bmm_integer"}
    # the weights are quantised in the forward pass: the 16-bit output stays close to float
    x = next(iter(session.dummy_in.values()))
    with torch.no_grad():
        reference, quantised = _eager(session.model, x), session.current.model(x)
    assert torch.isfinite(quantised).all()
    sqnr = _sqnr_db(reference, quantised)
    print(f"{name}: SQNR of the 16-bit linear graph vs float: {sqnr:.1f} dB")
    assert 30 < sqnr < 120
    # precision in the metadata, and BitOPs follow it: 16 x 16 per linear MAC
    node = next(iter(sorted(changed)))
    assert node.startswith("linear")
    assert session.current.node(node).meta["mase"].parameters["common"]["args"]["weight"]["precision"] == [16, 14]
    # save / load round trip: same outputs, same capture record, same module paths
    saved = session.run_pass("save_mase_graph_interface_pass", {"save_dir": str(tmp_path / "g")})
    assert saved.ok, saved.error
    from core.passes.interface.save_load import load_mase_graph

    loaded = load_mase_graph(str(tmp_path / "g"))
    with torch.no_grad():
        assert torch.equal(loaded.model(x), quantised)
    assert loaded.capture["tracer"] == "export"
    stacks = {n.name: list((n.meta.get("nn_module_stack") or {}).values()) for n in loaded.fx_graph.nodes}
    for n in session.current.fx_graph.nodes:
        assert stacks[n.name] == [tuple(v) for v in (n.meta.get("nn_module_stack") or {}).values()]


def test_gpt2_conv1d_projections_become_linear():
    session = Session("gpt2-tiny", batch_size=2).load(progress=lambda msg: None)
    graph = session.original
    assert graph.capture["rewritten"] == {"addmm (Conv1D) -> linear": 8}
    assert not any(n.target is torch.ops.aten.addmm.default for n in graph.fx_graph.nodes)
    c_attn = next(n for n in graph.fx_graph.nodes if n.target is torch.ops.aten.linear.default
                  and list(n.meta["nn_module_stack"].values())[-1][0] == "transformer.h.0.attn.c_attn")
    # Conv1D stores its weight as [in, out] = [64, 192]; the linear reads it transposed
    assert c_attn.meta["mase"].parameters["common"]["args"]["weight"]["shape"] == [192, 64]


def test_verify_and_profile_statistics_on_an_exported_graph(sessions):
    session = sessions["llama-tiny"]
    verify = session.run_pass("verify_common_metadata_analysis_pass")
    assert verify.ok and verify.info["problems"] == []
    run = session.run_pass("profile_statistics_analysis_pass",
                           {"target_weight_nodes": ["linear"], "target_activation_nodes": ["linear"], "num_samples": 4})
    assert run.ok, run.error
    weight = session.model.get_parameter("model.layers.0.self_attn.q_proj.weight").detach()  # node linear
    stat = run.info["stats"]["linear"]["weight"]["variance_precise"]
    assert stat["count"] == weight.numel() == 64 * 64
    assert stat["mean"] == pytest.approx(float(weight.mean()), rel=1e-6)
    assert stat["variance"] == pytest.approx(float(weight.var()), rel=1e-6)


# ------------------------------------------------------------------ data, accuracy, user files
HF_FACTORY = '''
from transformers import LlamaConfig, LlamaForCausalLM


def build():
    config = LlamaConfig(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2)
    return LlamaForCausalLM(config)
'''


def test_user_factory_file_returning_an_hf_model(tmp_path):
    path = tmp_path / "my_llama.py"
    path.write_text(HF_FACTORY)
    session = Session(f"{path}:build", dataset="tokens-synthetic", batch_size=2).load(progress=lambda m: None)
    assert session.original.capture["tracer"] == "export"
    (x,) = session.dummy_in.values()
    assert tuple(x.shape) == (2, 128)  # a Hugging Face language model reads 128 tokens by default
    assert int(x.max()) < 300  # ids drawn below the model's own vocabulary
    short = Session(f"{path}:build", dataset="tokens-synthetic", batch_size=2, seq_len=16).load(progress=lambda m: None)
    (x16,) = short.dummy_in.values()
    assert tuple(x16.shape) == (2, 16)
    # a causal LM returns per-token logits: accuracy says why it does not apply
    assert "accuracy needs class scores [batch, classes], but the graph returns [2, 16, 300]" in short.accuracy_problem()
    with pytest.raises(MaseError, match="accuracy needs class scores"):
        short.evaluate(max_batches=1)


def test_accuracy_of_an_exported_classifier_runs_at_its_captured_batch():
    session = Session("bert-tiny", batch_size=3).load(progress=lambda m: None)
    assert session.accuracy_problem() is None
    result = session.evaluate("original", max_batches=None)
    # 1024 test samples in batches of 3: the last, smaller batch cannot run a static-shape graph
    assert result["samples"] == 1023
    assert 0.0 <= result["accuracy"] <= 1.0


def test_integer_arithmetic_is_not_quantised(sessions):
    """Llama's position ids are aten.add on int64 tensors; only float adds are quantised. Hand
    count of float adds: per layer 2 residuals + 2 RMSNorm eps + 2 rotary (q and k) = 6, x 2
    layers, + the final norm's eps = 13."""
    session = sessions["llama-tiny"]
    try:
        run = session.run_pass("quantize_transform_pass", {"by": "type", "add": {"config": {
            "name": "integer", "data_in_width": 16, "data_in_frac_width": 8}}})
        assert run.ok, run.error
        assert run.info["counts"]["quantized"] == 13
        integer_adds = [n for n in session.current.fx_graph.nodes if n.target is torch.ops.aten.add.Tensor]
        assert len(integer_adds) == 3
        assert all(not n.meta["val"].is_floating_point() for n in integer_adds)
    finally:
        session.reset()
