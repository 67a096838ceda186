"""Finding 3: every op with FLOPs has a rule. The oracle is torch's FlopCounterMode with the math
attention kernel and MHA's fused fast path off (plain FlopCounterMode counts the CPU fast paths
as 0). FlopCounterMode counts only multiply-accumulate ops (mm, addmm, bmm, baddbmm,
convolution), so our core FLOPs (2 x MACs) must equal its total; the elementwise bucket is
checked by hand against the documented formulas."""

from __future__ import annotations

from collections import defaultdict

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from core.passes.analysis.cost import cost_analysis_pass
from tests.helpers import annotated
from tests.pattern_models import (
    CrossAttention,
    EinsumNet,
    GroupedConvNet,
    SDPAModel,
    SwinBlock,
    ViTBlock,
)

# FlopCounterMode's ops -> the family our rows belong to
_FAMILY = {"aten.mm": "matmul", "aten.addmm": "matmul", "aten.bmm": "matmul", "aten.baddbmm": "matmul",
           "aten.convolution": "conv"}
_OUR_FAMILY = {"conv1d": "conv", "conv2d": "conv", "conv3d": "conv", "convtranspose2d": "conv",
               "conv_transpose2d": "conv"}


def oracle(model: nn.Module, x: torch.Tensor) -> dict[str, int]:
    """FlopCounterMode per family, math attention, no MHA fast path."""
    counter = FlopCounterMode(display=False)
    before = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), counter:
            model.eval()(x)
    finally:
        torch.backends.mha.set_fastpath_enabled(before)
    out: dict[str, int] = defaultdict(int)
    for op, flops in counter.get_flop_counts()["Global"].items():
        out[_FAMILY[str(op).removesuffix(".default")]] += flops
    return dict(out)


def ours(model: nn.Module, x: torch.Tensor, **kwargs) -> tuple[dict[str, int], dict]:
    graph = annotated(model, {"x": x}, **kwargs)
    info = cost_analysis_pass(graph, {})[1]
    batch = x.shape[0] if x.dim() > 2 or model.__class__.__name__ != "CrossAttention" else 1
    out: dict[str, int] = defaultdict(int)
    for row in info["nodes"]:
        if row["flops_core"]:
            out[_OUR_FAMILY.get(row["mase_op"], "matmul")] += row["flops_core"] * batch
    return dict(out), info


@pytest.mark.parametrize("batch_first,need_weights", [(True, False), (True, True), (False, True)])
def test_vit_block_with_multihead_attention(batch_first, need_weights):
    torch.manual_seed(0)
    model = ViTBlock(16, 2, batch_first=batch_first, need_weights=need_weights)
    x = torch.randn(2, 5, 16) if batch_first else torch.randn(5, 2, 16)
    # hand count (B 2, L 5, E 16): in_proj 2*5*48*16 + QK^T, AV 2 x 2*5*5*16 + out 2*5*16*16 + mlp 2 x 2*5*32*16
    macs = 2 * 5 * 48 * 16 + 2 * (2 * 5 * 5 * 16) + 2 * 5 * 16 * 16 + 2 * (2 * 5 * 32 * 16)
    expected = oracle(model, x)
    assert expected == {"matmul": 2 * macs}
    if batch_first:
        assert ours(model, x)[0] == expected
    else:  # [L, B, E]: the dummy batch is dim 0 for the cost pass, so compare per graph
        graph = annotated(model, {"x": x})
        info = cost_analysis_pass(graph, {})[1]
        assert sum(r["flops_core"] for r in info["nodes"]) * 5 == 2 * macs


def test_cross_attention_with_kdim_vdim_bias_kv_and_zero_attn():
    torch.manual_seed(0)
    model = CrossAttention()
    x = torch.randn(6, 2, 16)  # L 6, B 2
    expected = oracle(model, x)["matmul"]
    graph = annotated(model, {"x": x})
    info = cost_analysis_pass(graph, {})[1]
    rows = {r["name"]: r for r in info["nodes"]}
    # per graph (the pass divides by dim 0 = 6 here): multiply back
    total = sum(r["flops_core"] for r in info["nodes"]) * 6
    assert total == expected
    # attention alone by hand: S = 3 keys + bias_k + zero row = 5
    b, length, s, e = 2, 6, 5, 16
    attn = b * length * e * e + b * 3 * e * 12 + b * 3 * e * 10 + 2 * b * length * s * e + b * length * e * e
    assert rows["attn"]["macs"] * 6 == attn


@pytest.mark.parametrize("kwargs", [{}, {"causal": True}, {"masked": True}])
def test_sdpa_block_with_and_without_masks(kwargs):
    torch.manual_seed(0)
    model = SDPAModel(**kwargs)
    x = torch.randn(2, 7, 16)
    expected = oracle(model, x)
    # qkv 2*7*48*16, attention 2 x 2*4*7*7*4, proj 2*7*16*16, head 2*7*5*16
    macs = 2 * 7 * 48 * 16 + 2 * (2 * 4 * 7 * 7 * 4) + 2 * 7 * 16 * 16 + 2 * 7 * 5 * 16
    assert expected == {"matmul": 2 * macs}
    got, info = ours(model, x)
    assert got == expected
    sdpa = next(r for r in info["nodes"] if r["mase_op"] == "scaled_dot_product_attention")
    # elementwise: scale + softmax (+ mask add) per score, per sample: 4 heads x 7 x 7
    assert sdpa["flops_elementwise"] == (3 if kwargs.get("masked") else 2) * 4 * 7 * 7


def test_plain_flop_counter_misses_the_fast_paths():
    """Why the oracle needs the switches: the defaults count attention as 0 on CPU."""
    torch.manual_seed(0)
    model = ViTBlock(16, 2).eval()
    x = torch.randn(2, 5, 16)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(x)
    assert counter.get_total_flops() == 2 * 2 * (2 * 5 * 32 * 16)  # only the MLP: MHA took its fast path


def test_swin_block_every_piece_is_costed():
    torch.manual_seed(0)
    model = SwinBlock(16, 2, window=4, shift=2)
    x = torch.randn(1, 6, 6, 16)  # padded to 8 x 8: 4 windows of 16 tokens
    expected = oracle(model, x)
    tokens, n, c = 64, 16, 16
    attention = tokens * 3 * c * c + 2 * tokens * n * c + tokens * c * c
    mlp = 2 * (36 * 32 * 16)
    assert expected == {"matmul": 2 * (attention + mlp)}
    got, info = ours(model, x)
    assert got == expected
    assert info["unruled_ops"] == []


def swin_attention_leaf(x, qkv_weight, proj_weight, relative_position_bias, window_size, num_heads, shift_size,
                        attention_dropout=0.0, dropout=0.0, qkv_bias=None, proj_bias=None, logit_scale=None,
                        training=True):
    """torchvision's shifted_window_attention signature, no shift or mask (enough for the MACs),
    kept as one fx node as torchvision keeps it."""
    b, h, w, c = x.shape
    wh, ww = window_size
    x = F.pad(x, (0, 0, 0, (ww - w % ww) % ww, 0, (wh - h % wh) % wh))
    _, ph, pw, _ = x.shape
    x = x.view(b, ph // wh, wh, pw // ww, ww, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, wh * ww, c)
    qkv = F.linear(x, qkv_weight, qkv_bias).reshape(x.size(0), wh * ww, 3, num_heads, c // num_heads)
    q, k, v = qkv.permute(2, 0, 3, 1, 4)
    attn = (q * (c // num_heads) ** -0.5).matmul(k.transpose(-2, -1)) + relative_position_bias
    out = attn.softmax(-1).matmul(v).transpose(1, 2).reshape(x.size(0), wh * ww, c)
    out = F.linear(out, proj_weight, proj_bias)
    return out.view(b, ph // wh, pw // ww, wh, ww, c).permute(0, 1, 3, 2, 4, 5).reshape(b, ph, pw, c)[:, :h, :w]


shifted_window_attention = swin_attention_leaf  # the op is named after the function it stands for
shifted_window_attention.__name__ = "shifted_window_attention"


class SwinLeafBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Linear(16, 48)
        self.proj = nn.Linear(16, 16)
        self.bias = nn.Parameter(torch.zeros(1, 2, 16, 16))

    def forward(self, x):
        return shifted_window_attention(x, self.qkv.weight, self.proj.weight, self.bias, [4, 4], 2, [2, 2],
                                        qkv_bias=self.qkv.bias, proj_bias=self.proj.bias, training=self.training)


def test_torchvision_style_shifted_window_attention_node():
    torch.manual_seed(0)
    model = SwinLeafBlock()
    x = torch.randn(2, 6, 7, 16)  # padded to 8 x 8
    expected = oracle(model, x)
    got, info = ours(model, x, custom_leaf_functions=(shifted_window_attention,))
    (row,) = [r for r in info["nodes"] if r["mase_op"] == "shifted_window_attention"]
    assert got == expected == {"matmul": 2 * (128 * 48 * 16 + 2 * 128 * 16 * 16 + 128 * 16 * 16)}
    assert row["rule"] == "mac"


def test_einsum_attention_and_projections():
    torch.manual_seed(0)
    model = EinsumNet()
    x = torch.randn(3, 5, 16)
    expected = oracle(model, x)
    assert expected["matmul"] > 0
    got, info = ours(model, x)
    assert got == expected
    assert {r["mase_op"] for r in info["nodes"] if r["rule"] == "unruled"} == set()


@pytest.mark.parametrize("equation,shapes", [
    ("ij,jk->ik", [(3, 4), (4, 5)]), ("ij,jk->i", [(3, 4), (4, 5)]), ("ij,ij->", [(3, 4), (3, 4)]),
    ("bij,bjk,bkl->bil", [(2, 3, 4), (2, 4, 5), (2, 5, 6)]), ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
    ("bhnd,bhmd->bhnm", [(2, 1, 3, 4), (2, 5, 6, 4)]), ("bnd,bmd->bd", [(2, 3, 4), (2, 5, 4)]),
    ("ij,jk", [(3, 4), (4, 5)]), ("i,i", [(7,), (7,)]),
])
def test_einsum_equations_match_flop_counter(equation, shapes):
    from core.cost.einsum import einsum_cost

    tensors = [torch.randn(*s) for s in shapes]
    counter = FlopCounterMode(display=False)
    with counter:
        torch.einsum(equation, *tensors)
    assert 2 * einsum_cost(equation, [list(s) for s in shapes])[0] == counter.get_total_flops()


def test_grouped_depthwise_and_transposed_convolutions():
    torch.manual_seed(0)
    model = GroupedConvNet()
    x = torch.randn(2, 6, 8, 8)
    expected = oracle(model, x)
    got, info = ours(model, x)
    assert got == expected
    rows = {r["name"]: r for r in info["nodes"]}
    # depthwise conv1d: per sample out 6 x 64, 1 x 3 per output
    assert rows["dw1"]["macs"] == 6 * 64 * 3
    # grouped transposed conv2d (12 -> 6, groups 2, k 2): in 12 x 4 x 4, C_out/groups 3 x k 4
    assert rows["up"]["macs"] == 12 * 16 * 3 * 4


def test_norms_and_pools_are_in_the_elementwise_bucket():
    class Norms(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bn = nn.BatchNorm3d(4)
            self.gn = nn.GroupNorm(2, 4)
            self.inorm = nn.InstanceNorm3d(4, affine=True)
            self.ln = nn.LayerNorm(5)
            self.rms = nn.RMSNorm(5)
            self.pool = nn.MaxPool3d(2)
            self.apool = nn.AdaptiveAvgPool3d(1)

        def forward(self, x):  # [B, 4, 2, 4, 5]
            y = self.ln(self.gn(self.inorm(self.bn(x))))
            y = self.rms(y) + F.rms_norm(y, (5,))
            return self.apool(self.pool(y[..., :4])).flatten(1)

    graph = annotated(Norms(), {"x": torch.randn(2, 4, 2, 4, 5)})
    info = cost_analysis_pass(graph, {})[1]
    rows = {r["name"]: r for r in info["nodes"]}
    n = 4 * 2 * 4 * 5  # per sample
    assert rows["bn"]["flops_elementwise"] == 2 * n
    assert (rows["gn"]["flops_elementwise"], rows["inorm"]["flops_elementwise"], rows["ln"]["flops_elementwise"]) == (
        5 * n, 5 * n, 5 * n)
    assert rows["rms"]["flops_elementwise"] == 4 * n and rows["rms_norm"]["flops_elementwise"] == 3 * n
    assert rows["pool"]["flops_elementwise"] == 4 * 2 * 4 * 4 and rows["apool"]["flops_elementwise"] == 4 * 1 * 2 * 2
    assert all(r["macs"] == 0 for r in info["nodes"]) and info["unruled_ops"] == []


def test_matrix_vector_bilinear_embedding_bag_and_recurrent_rules():
    class Misc(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bil = nn.Bilinear(4, 3, 5)
            self.bag = nn.EmbeddingBag(10, 4, mode="sum")
            self.lstm = nn.LSTM(4, 6, num_layers=2, bidirectional=True)
            self.register_buffer("idx", torch.tensor([[1, 2, 3], [4, 5, 6]]))

        def forward(self, x):  # [2, 4]
            a = torch.mv(x.t(), x[:, 0])                        # [4, 2] @ [2]
            b = torch.addbmm(torch.zeros(4, 4), x.unsqueeze(0).transpose(1, 2), x.unsqueeze(0))
            c = self.bil(x, x[:, :3])
            d = self.bag(self.idx)
            out, _ = self.lstm(x.unsqueeze(0).expand(3, 2, 4))  # T 3, B 2
            return a.sum() + b.sum() + c.sum() + d.sum() + out.sum()

    graph = annotated(Misc(), {"x": torch.randn(2, 4)})
    info = cost_analysis_pass(graph, {"batch_size": 2})[1]
    rows = {r["mase_op"]: r for r in info["nodes"]}
    per = 2  # rows are per sample of the dummy batch 2
    assert rows["mv"]["macs"] * per == 8
    assert rows["addbmm"]["macs"] * per == 1 * 4 * 2 * 4
    assert rows["bilinear"]["macs"] * per == 2 * 5 * 4 * 3
    assert rows["embedding_bag"]["flops_elementwise"] * per == 6 * 4  # 6 indices x dim 4, sum mode
    # LSTM: tokens 6; layer 0: (24 x 4 + 24 x 6) x 2 dirs; layer 1: (24 x 12 + 24 x 6) x 2 dirs
    assert rows["lstm"]["macs"] * per == 6 * ((24 * 4 + 24 * 6) * 2 + (24 * 12 + 24 * 6) * 2)
    assert info["unruled_ops"] == []


class Seq2Seq(nn.Module):
    """torch.nn's transformer modules (each one fx node): an encoder stack, a decoder layer
    reading its memory, and a full nn.Transformer."""

    def __init__(self, batch_first: bool = True) -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=batch_first)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoderLayer(16, 4, 24, dropout=0.0, batch_first=batch_first)
        self.full = nn.Transformer(16, 2, 1, 1, 20, dropout=0.0, batch_first=batch_first)

    def forward(self, x):
        memory = self.encoder(x)
        tgt = x[:, :3] if self.full.batch_first else x[:3]
        y = self.decoder(tgt, memory)
        return self.full(x, y).sum()


def test_torch_transformer_modules():
    torch.manual_seed(0)
    model = Seq2Seq()
    x = torch.randn(2, 5, 16)
    expected = oracle(model, x)
    got, info = ours(model, x)
    assert got == expected
    rows = {r["name"]: r for r in info["nodes"]}
    # decoder layer by hand (B 2, tgt 3, memory 5, E 16, ff 24): self in/out proj, cross q/out on
    # target tokens, cross k/v on memory tokens, ff, plus attention 2·B·3·3·E + 2·B·3·5·E
    dec = 2 * 3 * (3 * 16 * 16 + 16 * 16) + 2 * 3 * (16 * 16 + 16 * 16) + 2 * 5 * 2 * 16 * 16 \
        + 2 * 3 * 2 * 24 * 16 + 2 * 2 * 3 * 3 * 16 + 2 * 2 * 3 * 5 * 16
    assert rows["decoder"]["macs"] * 2 == dec
