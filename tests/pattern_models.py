"""Small models that reproduce what real third-party model code does (torchvision, timm, HF),
written with plain torch so the tests need no extra package. Each names the library pattern it
stands for."""

from __future__ import annotations

import math
from collections import namedtuple
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

NetOutputs = namedtuple("NetOutputs", ["logits", "aux_logits"])  # like torchvision's GoogLeNetOutputs


class AuxHeadNet(nn.Module):
    """GoogLeNet/Inception: an auxiliary head that only runs in training, returning a namedtuple."""

    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Linear(16, 12)
        self.aux = nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 5))
        self.head = nn.Linear(12, 5)

    def forward(self, x):
        h = torch.relu(self.trunk(x))
        aux = self.aux(h) if self.training else None
        out = self.head(h)
        if self.training:
            return NetOutputs(out, aux)
        return out


def stochastic_depth(x: torch.Tensor, p: float, mode: str, training: bool = True) -> torch.Tensor:
    """torchvision.ops.stochastic_depth's behaviour (torchvision fx.wraps it: one graph node)."""
    if not training or p == 0.0:
        return x
    size = [x.shape[0]] + [1] * (x.ndim - 1) if mode == "row" else [1] * x.ndim
    noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(1.0 - p)
    return x * noise.div_(1.0 - p)


class StochasticDepthNet(nn.Module):
    """EfficientNet/ConvNeXt/Swin residual blocks: stochastic depth with ``training=self.training``."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = p
        self.blocks = nn.ModuleList(nn.Linear(16, 16) for _ in range(3))
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        for block in self.blocks:
            x = x + stochastic_depth(torch.tanh(block(x)), self.p, "row", self.training)
        return self.head(x)


class FunctionalBatchNormNet(nn.Module):
    """A BatchNorm called functionally with ``training=self.training`` (timm's BatchNormAct2d)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(16, 8)
        self.register_buffer("running_mean", torch.linspace(-0.5, 0.5, 8))
        self.register_buffer("running_var", torch.linspace(0.5, 2.0, 8))
        self.weight = nn.Parameter(torch.linspace(0.5, 1.5, 8))
        self.bias = nn.Parameter(torch.linspace(-0.1, 0.1, 8))
        self.out = nn.Linear(8, 5)

    def forward(self, x):
        h = F.batch_norm(self.fc(x), self.running_mean, self.running_var, self.weight, self.bias,
                         training=self.training, momentum=0.1, eps=1e-5)
        return self.out(torch.relu(h))


class OptionalArgsNet(nn.Module):
    """timm's ``forward(self, x, attn_mask=None, is_causal=False)``: optional arguments the data
    does not supply."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(16, 16)
        self.head = nn.Linear(16, 5)

    def forward(self, x, attn_mask=None, is_causal=False, scale=1.0, taps=(1, 2)):
        h = self.fc(x)
        if attn_mask is not None:
            h = h + attn_mask
        if is_causal:
            h = torch.tril(h)
        return self.head(h * scale * taps[1])


@dataclass
class AttentionOutput:
    """An HF-style ModelOutput stand-in (a dataclass result)."""

    hidden: torch.Tensor
    weights: torch.Tensor | None


class ViTBlock(nn.Module):
    """torchvision's EncoderBlock: nn.MultiheadAttention with need_weights=False returns
    ``(tensor, None)``; the block takes ``[0]``."""

    def __init__(self, dim: int = 16, heads: int = 2, batch_first: bool = True, need_weights: bool = False) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=batch_first)
        self.ln_2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.need_weights = need_weights

    def forward(self, x):
        h = self.ln_1(x)
        a, _ = self.attn(h, h, h, need_weights=self.need_weights)
        x = x + a
        return x + self.mlp(self.ln_2(x))


class CrossAttention(nn.Module):
    """nn.MultiheadAttention with separate key/value sizes, bias_k/v and a zero attention row."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 4, kdim=12, vdim=10, add_bias_kv=True, add_zero_attn=True)
        self.kv = nn.Linear(16, 12)
        self.v = nn.Linear(16, 10)

    def forward(self, x):  # x: [L, B, 16] (batch second, the default)
        k, v = self.kv(x[:3]), self.v(x[:3])
        out, weights = self.attn(x, k, v)
        return out, weights


class SDPABlock(nn.Module):
    """HF-style self-attention with F.scaled_dot_product_attention; returns ``(tensor, None)``."""

    def __init__(self, dim: int = 16, heads: int = 4, causal: bool = False, masked: bool = False) -> None:
        super().__init__()
        self.heads, self.causal, self.masked = heads, causal, masked
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        mask = None
        if self.masked:
            mask = torch.ones((n, n), dtype=torch.bool, device=x.device).triu(1).logical_not()
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=self.causal)
        return self.proj(out.transpose(1, 2).reshape(b, n, c)), None


class SDPAModel(nn.Module):
    def __init__(self, **kwargs) -> None:
        super().__init__()
        self.attn = SDPABlock(**kwargs)
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        h, _ = self.attn(x)
        return self.head(h)


def window_partition(x: torch.Tensor, ws: int) -> torch.Tensor:
    b, h, w, c = x.shape
    x = x.view(b, h // ws, ws, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, ws * ws, c)


class SwinBlock(nn.Module):
    """torchvision's shifted_window_attention written out in plain torch ops: pad, roll, window
    partition, qkv linear, q @ k^T + relative position bias + shift mask, softmax, @ v, proj,
    reverse roll, plus the MLP."""

    def __init__(self, dim: int = 16, heads: int = 2, window: int = 4, shift: int = 2) -> None:
        super().__init__()
        self.dim, self.heads, self.window, self.shift = dim, heads, window, shift
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.bias_table = nn.Parameter(torch.randn((2 * window - 1) ** 2, heads) * 0.02)
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
        self.register_buffer("rel_index", (rel[..., 0] * (2 * window - 1) + rel[..., 1]).flatten())
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def attention(self, x):
        b, h, w, c = x.shape
        ws, sh = self.window, self.shift
        pad_b, pad_r = (ws - h % ws) % ws, (ws - w % ws) % ws
        x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        ph, pw = h + pad_b, w + pad_r
        x = torch.roll(x, shifts=(-sh, -sh), dims=(1, 2))
        windows = window_partition(x, ws)
        n = ws * ws
        qkv = self.qkv(windows).reshape(windows.size(0), n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q = q * (c // self.heads) ** -0.5
        attn = q.matmul(k.transpose(-2, -1))
        bias = self.bias_table[self.rel_index].view(n, n, -1).permute(2, 0, 1).contiguous()
        attn = attn + bias.unsqueeze(0)
        # region ids of the shifted layout (torchvision fills them by slices, inside its wrapped
        # function; slice assignment does not trace, so the same ids come from comparisons)
        rows = torch.arange(ph, device=x.device)
        cols = torch.arange(pw, device=x.device)
        region_h = (rows >= ph - ws).long() + (rows >= ph - sh).long()
        region_w = (cols >= pw - ws).long() + (cols >= pw - sh).long()
        mask = (region_h.unsqueeze(1) * 3 + region_w.unsqueeze(0)).to(x.dtype)
        mask = mask.view(ph // ws, ws, pw // ws, ws).permute(0, 2, 1, 3).reshape(-1, n)
        mask = mask.unsqueeze(1) - mask.unsqueeze(2)
        mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
        nw = mask.size(0)
        attn = attn.view(-1, nw, self.heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
        attn = F.softmax(attn.view(-1, self.heads, n, n), dim=-1)
        out = attn.matmul(v).transpose(1, 2).reshape(-1, n, c)
        out = self.proj(out)
        out = out.view(b, ph // ws, pw // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(b, ph, pw, c)
        out = torch.roll(out, shifts=(sh, sh), dims=(1, 2))
        return out[:, :h, :w, :].contiguous()

    def forward(self, x):  # x: [B, H, W, C]
        x = x + self.attention(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class EinsumNet(nn.Module):
    """Attention and projections written with torch.einsum (timm/perceiver style)."""

    def __init__(self, dim: int = 16, heads: int = 2) -> None:
        super().__init__()
        self.heads = heads
        self.w = nn.Parameter(torch.randn(dim, heads, dim // heads) * 0.1)
        self.out = nn.Parameter(torch.randn(heads, dim // heads, dim) * 0.1)

    def forward(self, x):  # [B, N, D]
        q = torch.einsum("bnd,dhe->bhne", x, self.w)
        scores = torch.einsum("bhne,bhme->bhnm", q, q) / math.sqrt(q.shape[-1])
        ctx = torch.einsum("bhnm,bhme->bnhe", scores.softmax(-1), q)
        y = torch.einsum("bnhe,hed->bnd", ctx, self.out)
        return torch.einsum("bnd->bd", y) + torch.einsum("bnd,bmd->bd", y, x)


class GroupedConvNet(nn.Module):
    """MobileNet/ConvNeXt/ResNeXt: depthwise and grouped convolutions in 1-D, 2-D and 3-D, and a
    grouped transposed convolution."""

    def __init__(self) -> None:
        super().__init__()
        self.dw1 = nn.Conv1d(6, 6, 3, padding=1, groups=6)
        self.g2 = nn.Conv2d(6, 12, 3, stride=2, padding=1, groups=3)
        self.dw2 = nn.Conv2d(12, 12, 5, padding=2, groups=12, bias=False)
        self.g3 = nn.Conv3d(12, 8, (1, 3, 3), padding=(0, 1, 1), groups=4)
        self.up = nn.ConvTranspose2d(12, 6, 2, stride=2, groups=2)
        self.pw = nn.Conv2d(6, 4, 1)

    def forward(self, x):  # [B, 6, 8, 8]
        b = x.shape[0]
        rows = self.dw1(x.flatten(2)).view(b, 6, 8, 8)
        y = self.dw2(self.g2(rows))
        z = self.g3(y.unsqueeze(2)).squeeze(2)
        return self.pw(self.up(y)).sum() + z.sum() + F.conv2d(x, torch.ones(6, 2, 3, 3), groups=3).sum()


def dtype_info(dtype: torch.dtype) -> torch.finfo:
    """``torch.finfo`` behind a function the tracer keeps as a node (register it as a leaf
    function), as HF-style masking code computes its fill value."""
    return torch.finfo(dtype)


class FinfoNet(nn.Module):
    """Nodes whose results are a ``torch.finfo``, a dtype, a device and a ``torch.Size``."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(16, 16)

    def forward(self, x):
        h = self.fc(x)
        dtype, device, size = h.dtype, h.device, h.size()
        fill = dtype_info(dtype).min
        mask = torch.zeros(size, dtype=dtype, device=device)
        return h + mask.masked_fill(h < -10.0, fill).clamp(min=-1.0)


class DataclassResultNet(nn.Module):
    """A submodule returning a dataclass (an HF ModelOutput-like result), read by attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Linear(16, 16)

    def forward(self, x):
        out = make_output(self.block(x), None)
        return out.hidden * 2


def make_output(hidden, weights) -> AttentionOutput:
    return AttentionOutput(hidden, weights)
