"""Reductions of a stream of tensors into per-batch partial results, merged only when asked.

A statistic updated once per node per batch must not pay a dozen small tensor ops each time
(float64 conversions, a Chan merge of running moments): on a transformer's 16k-value linear
inputs those ops cost more than the reduction itself. Here each update does only the
reduction (a mean and a sum of squared deviations, an aminmax, a sum of absolute values) and
appends the result to a list; the lists are merged in float64 by one vectorised step when the
result is read, or when a list grows long. Large tensors (a weight of millions of values) are
reduced a chunk at a time through a reused scratch buffer: one big temporary would cost more
in page faults of fresh memory than the arithmetic.
"""

from __future__ import annotations

import threading

import torch
from torch import Tensor

CHUNK = 1 << 17  # values per chunk: fits the L2 cache with its scratch copy
MERGE_EVERY = 256  # partials kept before they are merged (bounds memory for long runs)

_local = threading.local()


def scratch(n: int, device: torch.device) -> Tensor:
    """A float32 buffer of at least ``n`` values, reused by this thread (never shared by two
    threads, so passes running in parallel workers do not race on it)."""
    buffers = getattr(_local, "buffers", None)
    if buffers is None:
        buffers = _local.buffers = {}
    buf = buffers.get(device)
    if buf is None or buf.numel() < n:
        buf = buffers[device] = torch.empty(max(n, CHUNK), dtype=torch.float32, device=device)
    return buf[:n]


def chunks(flat: Tensor) -> list[Tensor]:
    n = flat.numel()
    if n <= CHUNK:
        return [flat]
    return list(flat.split(CHUNK))


class MomentParts:
    """Count, sum and M2 (sum of squared deviations) of everything added, per kept element.

    Each part is reduced about its own mean (two passes over data that is still in cache:
    relative error ~1e-7, where sum-of-squares formulas lose digits to cancellation), and
    parts merge exactly (Chan et al.) in float64. The centre of a part is its float32 mean,
    within an ulp or two of the exact one; M2 about it exceeds the exact M2 by
    n (mean - centre)^2, a relative 1e-13 (mean / std)^2."""

    def __init__(self) -> None:
        self.counts: list[int] = []
        self.sums: list[Tensor] = []
        self.m2s: list[Tensor] = []
        self.merged: tuple[int, Tensor, Tensor] | None = None  # (n, float64 sum, float64 M2)

    def add_flat(self, flat: Tensor) -> None:
        """All values of a float32 1-d tensor reduce into one result."""
        n = flat.numel()
        if n <= CHUNK:  # small: a fresh temporary comes from the heap, faster than ``out=``
            if n:
                total = flat.sum()
                d = torch.sub(flat, total, alpha=1.0 / n)
                self._append(n, total, d.mul_(d).sum())
            return
        for c in flat.split(CHUNK):
            n = c.numel()
            total = c.sum()
            d = torch.sub(c, total, alpha=1.0 / n, out=scratch(n, c.device))
            self._append(n, total, d.mul_(d).sum())

    def add_reduced(self, s: Tensor, reduce: tuple[int, ...], n: int) -> None:
        """Reduce ``s`` over ``reduce`` (``n`` values each), keeping the other dims."""
        if n == 0:
            return
        total = s.sum(dim=reduce, keepdim=True)
        d = torch.sub(s, total, alpha=1.0 / n)
        self._append(n, total.squeeze(reduce), d.mul_(d).sum(dim=reduce))

    def _append(self, n: int, total: Tensor, m2: Tensor) -> None:
        self.counts.append(n)
        self.sums.append(total)
        self.m2s.append(m2)
        if len(self.counts) >= MERGE_EVERY:
            self.merge()

    def merge(self) -> tuple[int, Tensor, Tensor] | None:
        """(count, sum, M2) in float64 over everything added so far."""
        if not self.counts:
            return self.merged
        if len(self.counts) == 1 and self.merged is None:  # a weight, or one batch: nothing to merge
            self.merged = (self.counts[0], self.sums[0].double(), self.m2s[0].double())
            self.counts, self.sums, self.m2s = [], [], []
            return self.merged
        counts, sums, m2s = list(self.counts), list(self.sums), list(self.m2s)
        if self.merged is not None:
            counts.append(self.merged[0])
            sums.append(self.merged[1])
            m2s.append(self.merged[2])
        self.counts, self.sums, self.m2s = [], [], []
        n = sum(counts)
        sum_stack = torch.stack(sums).double()
        shape = (len(counts),) + (1,) * (sum_stack.ndim - 1)
        w = torch.tensor(counts, dtype=torch.float64, device=sum_stack.device).reshape(shape)
        total = sum_stack.sum(dim=0)
        dev = sum_stack / w - total / n
        m2 = torch.stack(m2s).double().sum(dim=0) + (w * dev * dev).sum(dim=0)
        self.merged = (n, total, m2)
        return self.merged


class ExtremaParts:
    """Elementwise min and max of everything added (NaN propagates, as torch.amin does)."""

    def __init__(self) -> None:
        self.lows: list[Tensor] = []
        self.highs: list[Tensor] = []

    def add(self, lo: Tensor, hi: Tensor) -> None:
        self.lows.append(lo)
        self.highs.append(hi)
        if len(self.lows) >= MERGE_EVERY:
            self.merge()

    def merge(self) -> tuple[Tensor, Tensor] | None:
        if not self.lows:
            return None
        if len(self.lows) > 1:
            self.lows = [torch.stack(self.lows).amin(dim=0)]
            self.highs = [torch.stack(self.highs).amax(dim=0)]
        return self.lows[0], self.highs[0]


class SumParts:
    """A float64 sum of float32 partial sums (each a cascaded float32 reduction)."""

    def __init__(self) -> None:
        self.parts: list[Tensor] = []

    def add(self, part: Tensor) -> None:
        self.parts.append(part)
        if len(self.parts) >= MERGE_EVERY:
            self.merge()

    def merge(self) -> Tensor | None:
        if not self.parts:
            return None
        if len(self.parts) > 1 or self.parts[0].dtype != torch.float64:
            self.parts = [torch.stack([p.double() for p in self.parts]).sum(dim=0)]
        return self.parts[0]


def abs_sum_flat(flat: Tensor) -> list[Tensor]:
    """Sums of |x| over chunks of a float32 1-d tensor (through the scratch buffer)."""
    return [torch.abs(c, out=scratch(c.numel(), c.device)).sum() for c in chunks(flat) if c.numel()]
