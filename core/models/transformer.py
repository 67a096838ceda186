"""A tiny encoder-only transformer whose attention is written with matmul/softmax, so every
op is visible to the graph (no fused scaled_dot_product_attention)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.scale = 1.0 / math.sqrt(self.head_dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        qkv = self.qkv(x).view(b, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q = q.reshape(b * self.heads, t, self.head_dim)
        k = k.reshape(b * self.heads, t, self.head_dim)
        v = v.reshape(b * self.heads, t, self.head_dim)
        scores = torch.bmm(q, k.transpose(1, 2)) * self.scale
        attn = F.softmax(scores, dim=-1)
        out = torch.matmul(attn, v)
        out = out.view(b, self.heads, t, self.head_dim).transpose(1, 2).reshape(b, t, d)
        return self.proj(out)


class EncoderLayer(nn.Module):
    def __init__(self, dim: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads)
        self.ln2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        h = F.gelu(self.fc1(self.ln2(x)))
        return x + self.fc2(h)


class TinyTransformer(nn.Module):
    """Token ids [B, T] -> class logits [B, num_classes]."""

    def __init__(
        self,
        vocab_size: int = 256,
        max_len: int = 32,
        dim: int = 64,
        heads: int = 4,
        hidden: int = 128,
        num_layers: int = 2,
        num_classes: int = 2,
    ) -> None:
        super().__init__()
        self.max_len = max_len
        self.vocab_size = vocab_size
        self.embed = nn.Embedding(vocab_size, dim)
        self.pos = nn.Parameter(torch.zeros(1, max_len, dim))
        self.layers = nn.ModuleList(EncoderLayer(dim, heads, hidden) for _ in range(num_layers))
        self.ln_f = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, input_ids):
        x = self.embed(input_ids) + self.pos
        for layer in self.layers:
            x = layer(x)
        x = self.ln_f(x)
        return self.head(x.mean(dim=1))
