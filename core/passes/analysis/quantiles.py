"""Exact torch.quantile values from a stream of batches, without keeping every value.

``torch.quantile(x, q)`` (linear interpolation) reads two order statistics of the ``N`` values:
with ``rank = float32(q) * (N - 1)`` computed in float32 exactly as torch does, the values at
ascending positions ``floor(rank)`` and ``ceil(rank)``, blended by ``lerp`` with the weight
``rank - floor(rank)``; a row holding a NaN gives NaN. So an upper quantile needs only the
``N - floor(rank)`` largest values and a lower one the ``ceil(rank) + 1`` smallest. Once ``N``
is known in advance (the pass knows how many samples it will draw), :class:`Tails` keeps just
those two tails per row and answers bit for bit what ``torch.quantile`` gives on the pooled
data: one row (``dims = "all"``) behind thresholds (:class:`_FilteredTail`, optimistically
guessed from the first block when the caller can replay a failed guess), several rows merged
block by block with ``torch.topk``. When the tails would cover the data anyway (a quantile
near 0.5), the data is small, or ``N`` is unknown, it keeps every value and selects the order
statistics once at the end. :class:`SampleQuantiles` is the per-sample variant (MASE's mean of
each sample's quantiles).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from torch import Tensor

from core.errors import PassError


@functools.lru_cache(maxsize=256)
def linear_rank(q: float, n: int) -> tuple[int, int, Tensor]:
    """(position below, position above, weight) of torch.quantile's linear interpolation for
    ``n`` values, in the same float32 arithmetic (torch turns q into a tensor of the input's
    dtype, float32 here, and multiplies by n - 1). Plain host arithmetic: no tensor op, no sync."""
    rank = np.float32(q) * np.float32(n - 1)
    below, above = math.floor(rank), math.ceil(rank)
    return below, above, torch.tensor(rank - np.float32(below), dtype=torch.float32)


def needed_tails(q_low: float, q_high: float, n: int) -> tuple[int, int]:
    """How many smallest and largest values the two quantiles of ``n`` values read."""
    _, above_low, _ = linear_rank(q_low, n)
    below_high, _, _ = linear_rank(q_high, n)
    return above_low + 1, n - below_high


def _nan_where(values: Tensor, has_nan: Tensor) -> Tensor:
    return torch.where(has_nan, torch.full_like(values, math.nan), values)


SELECT_CHUNK = 1 << 16


def _chunks(a: np.ndarray) -> list[np.ndarray]:
    """``a`` in views of SELECT_CHUNK values (the last one shorter)."""
    return np.split(a, range(SELECT_CHUNK, a.size, SELECT_CHUNK))


def chunked_compress(a: np.ndarray, keep) -> np.ndarray:
    """``np.compress(keep(a), a)``, a cache-sized chunk at a time for a large ``a``: the masks
    stay in cache and no large temporary is page-faulted in (1.7x faster on a 224x224 ResNet's
    6.4M-value relu inputs)."""
    if a.size <= 2 * SELECT_CHUNK:
        return np.compress(keep(a), a)
    return np.concatenate([np.compress(keep(part), part) for part in _chunks(a)])


def _beyond(a: np.ndarray, lo: np.float32, hi: np.float32, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """The mask of values below ``lo`` or above ``hi`` (NaN counts as above), built in the
    caller's two boolean buffers (fresh masks per chunk cost 8% of a selection)."""
    np.less(a, lo, out=low)
    np.less_equal(a, hi, out=high)
    np.logical_not(high, out=high)  # not (a <= hi): NaN passes
    return np.logical_or(low, high, out=low)


def select_beyond(a: np.ndarray, lo: np.float32, hi: np.float32) -> list[np.ndarray]:
    """The values of ``a`` below ``lo`` or above ``hi`` (NaN included), in one or more arrays:
    one compare-and-compress for both tails (the scan's cost is mostly mispredicted branches on
    the values that pass, so one pass for both costs about what one tail alone does); a large
    ``a`` a cache-sized chunk at a time into two reused masks, with no block-sized temporary of
    selected values (on a 224x224 ResNet that fresh memory cost more than the selection)."""
    if a.size <= 2 * SELECT_CHUNK:
        return [np.compress(_beyond(a, lo, hi, np.empty(a.size, dtype=bool), np.empty(a.size, dtype=bool)), a)]
    low, high = np.empty(SELECT_CHUNK, dtype=bool), np.empty(SELECT_CHUNK, dtype=bool)
    return [np.compress(_beyond(part, lo, hi, low[:part.size], high[:part.size]), part) for part in _chunks(a)]


SORT_MAX = 1 << 11  # rows up to this long are sorted whole; longer ones: partitions (8 rows of 4096
# values, the 5 positions a quantile pair reads: 134 us vs a sort's 180 us; of 16384: 462 vs 1067 us)


def order_statistics(rows: Tensor, positions: list[int]) -> Tensor:
    """The values at ascending ``positions`` of each row (last dim), NaN ranked last as by a
    sort: ``rows.sort().values[..., positions]``. On CPU through numpy: rows of up to
    SORT_MAX values are sorted whole (numpy's SIMD sort, 20x torch.sort on short rows);
    longer ones go through :func:`_select`. The values are the order statistics themselves,
    so the result is the same bit for bit. Releases the GIL."""
    if rows.device.type != "cpu" or rows.dtype not in (torch.float32, torch.float64):
        return rows.sort(dim=-1).values[..., positions]
    data = rows.detach().contiguous().numpy()
    if data.shape[-1] <= SORT_MAX:
        return torch.from_numpy(np.sort(data, axis=-1)[..., positions])
    picked = _select(data, sorted(set(positions)))
    return torch.from_numpy(np.stack([picked[p] for p in positions], axis=-1))


def _select(data: np.ndarray, positions: list[int], inplace: bool = False) -> dict[int, np.ndarray]:
    """Values at ascending ``positions`` (sorted, distinct) of long rows: one single-kth
    numpy.partition (introselect, ~1 ns a value) per position that is not the smallest or
    largest of what is left, each on the values above the last one placed; a next position
    right above it is the minimum of those. (Several kth in one numpy.partition call cost 5-8x
    one.) In a row holding a NaN only the last position (NaN) is exact: min/max propagate NaN;
    callers report NaN for such rows. ``inplace``: reorder ``data`` itself (no copies), for
    callers that own it and need only its values, not their order."""
    picked: dict[int, np.ndarray] = {}
    part, offset = data, 0  # part: the values at ascending positions offset.. (in any order)
    for p in positions:
        rel = p - offset
        if rel == 0:
            picked[p] = part.min(axis=-1)
        elif rel == part.shape[-1] - 1:
            picked[p] = part.max(axis=-1)
        else:
            if inplace:
                part.partition(rel, axis=-1)
            else:
                part, inplace = np.partition(part, rel, axis=-1), True  # a copy of our own from here
            picked[p] = part[..., rel]
            part, offset = part[..., rel + 1:], p + 1
    return picked


@functools.lru_cache(maxsize=256)
def _weights(w_low: float, w_high: float) -> Tensor:
    return torch.tensor([w_low, w_high], dtype=torch.float32)


def _pair_positions(q_low: float, q_high: float, n: int) -> list[int]:
    """The order statistics :func:`_blend` needs from ``n`` values: below and above each rank,
    and the last (NaN sorts last)."""
    b_low, a_low, _ = linear_rank(q_low, n)
    b_high, a_high, _ = linear_rank(q_high, n)
    return [b_low, b_high, a_low, a_high, n - 1]


def _blend(v: Tensor, q_low: float, q_high: float, n: int) -> Tensor:
    """[..., 2] quantiles (low, high) from [..., 5] order statistics at :func:`_pair_positions`:
    one torch.lerp (the kernel torch.quantile uses, with its weights as a tensor); a row
    holding NaN gives NaN."""
    w_low, w_high = linear_rank(q_low, n)[2], linear_rank(q_high, n)[2]
    out = torch.lerp(v[..., 0:2], v[..., 2:4], _weights(float(w_low), float(w_high)).to(v.device))
    return out.masked_fill_(torch.isnan(v[..., 4:5]), math.nan)


def quantile_pair_rows(rows: Tensor, q_low: float, q_high: float) -> tuple[Tensor, Tensor]:
    """torch.quantile of each row of ``rows`` (last dim) at q_low and q_high, bit for bit."""
    n = rows.shape[-1]
    out = _blend(order_statistics(rows, _pair_positions(q_low, q_high, n)), q_low, q_high, n)
    return out[..., 0], out[..., 1]


class SampleQuantiles:
    """Sums over samples of each sample's torch.quantile at q_low and q_high (per kept
    element), bit for bit per sample. A batch costs only the sort that finds its order
    statistics; blending them (torch.lerp, NaN rows) and summing runs once per MERGE_EVERY
    batches over all of them, so the memory stays bounded."""

    MERGE_EVERY = 64

    def __init__(self, q_low: float, q_high: float) -> None:
        self.q_low, self.q_high = q_low, q_high
        self.pending: list[Tensor] = []  # [samples, kept, 5]: the order statistics lerp needs
        self.width = 0  # values per row of the pending batches
        self.sums: Tensor | None = None  # float64 [kept, 2]
        self.samples = 0

    def add(self, rows: Tensor) -> None:
        """``rows``: [samples, kept, values of one sample for that element]."""
        n = rows.shape[-1]
        if self.pending and n != self.width:
            self._merge()
        self.width = n
        self.pending.append(order_statistics(rows, _pair_positions(self.q_low, self.q_high, n)))
        self.samples += rows.shape[0]
        if len(self.pending) >= self.MERGE_EVERY:
            self._merge()

    def _merge(self) -> None:
        if not self.pending:
            return
        v = self.pending[0] if len(self.pending) == 1 else torch.cat(self.pending)
        self.pending = []
        total = _blend(v, self.q_low, self.q_high, self.width).sum(dim=0, dtype=torch.float64)
        self.sums = total if self.sums is None else self.sums + total

    def means(self) -> tuple[Tensor, Tensor]:
        """(mean low quantile, mean high quantile) per kept element, float32."""
        self._merge()
        mean = (self.sums / self.samples).float()
        return mean[..., 0], mean[..., 1]


def _from_tails(bottom: Tensor, top: Tensor, n: int, q_low: float, q_high: float) -> tuple[Tensor, Tensor]:
    """Quantiles of ``n`` values from the tails they read: ``bottom`` holds (at least) the
    smallest values and ``top`` the largest, in any order (NaN counts as largest)."""
    has_nan = torch.isnan(top).any(dim=-1)
    b, a, w = linear_rank(q_low, n)
    v = order_statistics(bottom, [b, a])
    low = torch.lerp(v[..., 0], v[..., 1], w)
    b, a, w = linear_rank(q_high, n)
    m = top.shape[-1]  # ascending position p of all n values is m - n + p among the m largest
    v = order_statistics(top, [m - n + b, m - n + a])
    high = torch.lerp(v[..., 0], v[..., 1], w)
    return _nan_where(low, has_nan), _nan_where(high, has_nan)


POOL_SORT_MAX = 1 << 12  # pools up to this long are sorted whole (below ~6k values a sort beats the partitions)


def _pool_quantiles(pool: np.ndarray, n: int, q_low: float, q_high: float,
                    inplace: bool = False) -> tuple[Tensor, Tensor]:
    """torch.quantile at q_low and q_high of ``n`` values, read from ``pool``: values that hold
    the ones the low quantile reads at the same ascending positions as in all ``n``, and those
    the high one reads at the same descending positions (see :class:`_RowTails`; the whole row
    qualifies). The order statistics from one sort of a small pool, else one single-kth
    numpy.partition each (:func:`_select`), blended by torch.lerp as torch.quantile does; NaN
    anywhere gives NaN. ``inplace``: the caller owns ``pool`` and lets the selections reorder it."""
    b, a, w_low = linear_rank(q_low, n)
    shift = pool.size - n  # ascending position p of all n values is p + shift in the pool's top
    b_h, a_h, w_high = linear_rank(q_high, n)
    b_h, a_h = b_h + shift, a_h + shift
    if pool.size <= POOL_SORT_MAX:
        picked = np.sort(pool)  # NaN last
        has_nan = np.isnan(picked[-1])
    else:
        has_nan = np.isnan(pool).any()
        picked = None if has_nan else _select(pool, sorted({b, a, b_h, a_h}), inplace)
    if has_nan:
        return torch.tensor(math.nan), torch.tensor(math.nan)
    ends = torch.from_numpy(np.array([[picked[b], picked[b_h]], [picked[a], picked[a_h]]], dtype=np.float32))
    return torch.lerp(*ends.unbind(), _weights(float(w_low), float(w_high))).unbind()  # torch indexing: ~2 us an op


class _MergedTail:
    """The k largest (or smallest) values of each row, merged block by block with topk: fixed
    shapes, one op per block for all rows (used when there are several rows)."""

    def __init__(self, k: int, largest: bool) -> None:
        self.k, self.largest = k, largest
        self.kept: Tensor | None = None

    def add(self, block: Tensor, owned: bool) -> None:
        merged = block if self.kept is None else torch.cat((self.kept, block), dim=-1)
        if merged.shape[-1] > self.k:
            merged = merged.topk(self.k, dim=-1, largest=self.largest, sorted=False).values
        elif self.kept is None and not owned:
            merged = merged.clone()
        self.kept = merged

    def size(self) -> int:
        return 0 if self.kept is None else self.kept.numel()

    def values(self) -> Tensor:
        return self.kept


def _with_margin(expected: float) -> int:
    """How many of a subsample's best values to go down to so that, with four standard
    deviations of margin, a threshold read there leaves at least ``expected`` beyond it."""
    return math.ceil(expected + 4 * math.sqrt(expected) + 1)


@functools.lru_cache(maxsize=64)
def _subsample_index(n: int, m: int) -> np.ndarray:
    """``m`` positions in ``range(n)`` drawn uniformly (fixed seed, so runs repeat). Not a
    stride: a stride that divides an inner dim samples only some features (every 8th of 64
    channels), whose tails differ from the others', the guessed threshold then fails its check
    and the whole block is kept (it did so for a third of a transformer's linear inputs)."""
    return np.random.default_rng(0x5EED).integers(0, n, m)


class _RowTails:
    """Both tails of a single row of float32 values on the CPU, kept together in one pool: the
    values below a low threshold ``lo`` and above a high one ``hi`` (NaN counts as above every
    number, as in a sort). Until the first thresholds are set every value is kept.

    Invariant: the pool holds every value seen below ``lo`` and every value seen above ``hi``
    (and maybe some at or between them). Then, as long as at least ``need`` pooled values are at
    or below ``lo``, the ``need`` smallest values seen are the ``need`` smallest of the pool (a
    value missing from the pool is at or above ``lo``, so it ranks after them, or ties them);
    likewise at the top. So an order statistic near an end of the data is the one at the same
    distance from that end of the pool (:func:`_pool_quantiles`), and the tails are never told
    apart: splitting the pooled values into two arrays (about half go each way: mispredicted
    branches on every value) cost more than the final selections themselves.

    A guessed threshold that many values share (a post-relu input's zeros, integer data) would
    let later values equal to it go unpooled while the pool may lack enough of them: such a
    tie is counted per block instead and, when the pool is next read, that many copies of the
    threshold (at most k) join it.

    A block costs one compare-and-compress (:func:`select_beyond`). The pool is cut back to the
    ``k_low`` smallest and ``k_high`` largest once it passes CUT times that, by one
    numpy.partition per tail (introselect; 6x a torch.topk of the same size), which also gives
    the new thresholds."""

    CUT = 3
    SUBSAMPLE = 1 << 12

    def __init__(self, k_low: int, k_high: int) -> None:
        self.k_low, self.k_high = k_low, k_high
        self.parts: list[np.ndarray] = []
        self.count = 0
        self.open = True  # no thresholds yet: every value is kept
        self.lo, self.hi = np.float32(np.inf), np.float32(-np.inf)  # what "open" means
        self.tied = [False, False]  # (low, high): a guessed threshold many values share
        self.ties = [0, 0]  # values equal to it seen since, not yet in the pool

    def add(self, a: np.ndarray, owned: bool) -> None:
        if not self.open:
            if self.tied[0]:
                self.ties[0] += np.count_nonzero(a == self.lo)
            if self.tied[1]:
                self.ties[1] += np.count_nonzero(a == self.hi)
            self.take(select_beyond(a, self.lo, self.hi))
            return
        if self.count + a.size > 2 * (self.k_low + self.k_high) and self._prefilter(a):
            return
        self.take([a if owned else a.copy()])

    def take(self, parts: list[np.ndarray]) -> None:
        self.parts.extend(parts)
        self.count += sum(p.size for p in parts)
        if self.count > self.CUT * (self.k_low + self.k_high):
            self._cut()

    def _sample_thresholds(self, a: np.ndarray, share_low: float, share_high: float) -> tuple | None:
        """(lo, hi, lo is a tie, hi is a tie) read from one sorted uniform subsample of ``a``:
        the values that leave ``share`` of it beyond them, plus four standard deviations on the
        safe side; a tie: another value of the subsample equals it. None when the subsample is
        too small for that, or a threshold would be NaN."""
        n = a.size
        sample = a if n <= self.SUBSAMPLE else a.take(_subsample_index(n, self.SUBSAMPLE))
        m = sample.size
        j_low, j_high = _with_margin(share_low * m), _with_margin(share_high * m)
        if 4 * max(j_low, j_high) > m:
            return None
        ordered = np.sort(sample)  # NaN last
        lo, hi = ordered[j_low - 1], ordered[m - j_high]
        if np.isnan(lo) or np.isnan(hi):
            return None
        return lo, hi, np.count_nonzero(ordered == lo) > 1, np.count_nonzero(ordered == hi) > 1

    @staticmethod
    def _at_or_beyond(a: np.ndarray, lo: np.float32, hi: np.float32) -> np.ndarray:
        return chunked_compress(a, lambda p: (p <= lo) | ~(p < hi))  # NaN passes

    def _prefilter(self, a: np.ndarray) -> bool:
        """Provably safe thresholds from a large first block (no replay to fall back on): read
        from a subsample a few standard deviations on the safe side of each tail's k-th best,
        then checked on the whole block (at least k values at or beyond each), so one comparison
        replaces a selection over the block. False (nothing kept): the caller keeps the block."""
        n = a.size
        if n < 4 * self.SUBSAMPLE or 4 * max(self.k_low, self.k_high) > n:
            return False
        found = self._sample_thresholds(a, self.k_low / n, self.k_high / n)
        if found is None:
            return False
        lo, hi, _, _ = found  # proven on this block: ties later are never needed
        part = self._at_or_beyond(a, lo, hi)
        if np.count_nonzero(part <= lo) < self.k_low or part.size - np.count_nonzero(part < hi) < self.k_high:
            return False
        self.open, self.lo, self.hi = False, lo, hi
        self.take([part])
        return True

    def guess(self, a: np.ndarray, share_low: float, share_high: float) -> bool:
        """Optimistic thresholds from the first block: those that leave ``share`` of it beyond
        them, plus four standard deviations. Whether they held is known at the end
        (:meth:`exact`). False: no guess (a small block, NaN where a threshold would be)."""
        found = self._sample_thresholds(a, share_low, share_high)
        if found is None:
            return False
        lo, hi, *tied = found
        self.open, self.lo, self.hi, self.tied = False, lo, hi, tied
        self.take([self._at_or_beyond(a, lo, hi)])
        return True

    def _cut(self) -> None:
        """Keep the k_low smallest and k_high largest pooled values and move the thresholds to
        them. A tail with fewer than k pooled values at or beyond its threshold (a guess that
        let too few through, or NaNs) keeps all of those and its threshold."""
        data = self.data()
        low_ok = np.count_nonzero(data <= self.lo) >= self.k_low
        high_ok = data.size - np.count_nonzero(data < self.hi) >= self.k_high  # NaN included
        keep = []
        if low_ok:  # the k_low smallest are pooled: the new lo is proven, its ties never needed
            self.tied[0] = False
            data.partition(self.k_low - 1)  # our own array (compressed, copied or owned)
            self.lo = data[self.k_low - 1]  # not NaN: k_low numbers are at or below the old lo
            keep.append(data[:self.k_low])
            data = data[self.k_low:]
        else:
            keep.append(data[data <= self.lo])
        if high_ok:
            self.tied[1] = False
            pos = data.size - self.k_high
            data.partition(pos)
            # a NaN k-th best: the pool holds k NaNs on top, only NaN can still matter there
            self.hi = np.float32(np.inf) if np.isnan(data[pos]) else data[pos]
            keep.append(data[pos:])
        else:
            keep.append(data[~(data < self.hi)])
        self.open = False
        self.parts = [np.concatenate(keep)]
        self.count = self.parts[0].size

    def data(self) -> np.ndarray:
        """The pool as one array, with the counted ties joined (see the class)."""
        caps = [self.k_low, self.k_high]
        if self.lo == self.hi and self.ties[0] and self.ties[1]:  # both counted the same values
            self.ties[1], caps[0] = 0, self.k_low + self.k_high
        for side, value in ((0, self.lo), (1, self.hi)):
            if self.ties[side]:
                self.parts.append(np.full(min(self.ties[side], caps[side]), value, dtype=np.float32))
                self.count += self.parts[-1].size
                self.ties[side] = 0
        if len(self.parts) != 1:
            self.parts = [np.concatenate(self.parts) if self.parts else np.empty(0, dtype=np.float32)]
        return self.parts[0]

    def exact(self, need_low: int, need_high: int) -> bool:
        """Do the pooled values hold the ``need_low`` smallest and ``need_high`` largest values
        seen? Always, unless a threshold is a guess (:meth:`guess`) that let too few through.
        NaN anywhere: the quantiles are NaN whatever is missing."""
        data = self.data()
        if np.count_nonzero(data <= self.lo) >= need_low and data.size - np.count_nonzero(data < self.hi) >= need_high:
            return True
        return bool(np.isnan(data).any())

    def quantiles(self, n: int, q_low: float, q_high: float) -> tuple[Tensor, Tensor]:
        return _pool_quantiles(self.data(), n, q_low, q_high, inplace=True)  # values kept, order not

    def extrema(self) -> tuple[Tensor, Tensor]:
        """(min, max) of every value seen: the pool holds both ends (NaN when it holds one)."""
        data = self.data()
        if np.isnan(data).any():
            nan = torch.tensor(math.nan)
            return nan, nan.clone()
        return torch.tensor(data.min()), torch.tensor(data.max())


class Tails:
    """The values of a [rows, N] table arriving a block of columns at a time, reduced to what
    torch.quantile(table, q_low / q_high, dim=-1) reads.

    ``total`` is the most columns that will arrive (``None``: unknown, keep everything).
    Memory: rows x (k_low + k_high) values, about 2 (1 - q) of the data for q > 0.5 (up to
    three times that for one row between cuts), plus the block being merged.
    """

    SMALL = 1 << 12  # values per row kept whole and sorted once

    def __init__(self, q_low: float, q_high: float, total: int | None, optimistic: bool = False) -> None:
        self.q_low, self.q_high, self.total = q_low, q_high, total
        self.optimistic = optimistic and total is not None
        self.seen = 0
        self.k_low = self.k_high = 0
        self.keep_all = total is None
        if total is not None:
            self.k_low, self.k_high = needed_tails(q_low, q_high, total)
            # few values (jsc-toy's 32 samples of 16 features): one sort at the end costs less
            # than the several ops a tail merge takes, and the memory is bounded anyway
            self.keep_all = self.k_low + self.k_high >= total // 2 or total <= self.SMALL
        self.chunks: list[Tensor] = []  # keep_all
        self.row: _RowTails | None = None  # one row of float32 on the CPU
        self.top: _MergedTail | None = None  # several rows
        self.bottom: _MergedTail | None = None

    def add(self, block: Tensor, owned: bool) -> None:
        """Add a [rows, r] block; ``owned``: the caller will not touch ``block`` again."""
        self.seen += block.shape[-1]
        if self.total is not None and self.seen > self.total:
            raise PassError(f"range_quantile: {self.seen} values per kept element arrived, at most {self.total} "
                            "were announced, so the kept tails may miss some", hint="profile inputs whose "
                            "leading size is the batch, or keep the batch size constant")
        if self.keep_all:
            self.chunks.append(block if owned else block.clone())
            return
        if self.row is not None:
            self.row.add(block.reshape(-1).numpy(), owned)
            return
        if self.top is None:
            if block.shape[0] == 1 and block.device.type == "cpu" and block.dtype == torch.float32:
                self.row = _RowTails(self.k_low, self.k_high)
                a = block.reshape(-1).numpy()
                if not (self.optimistic and self._guess(a)):
                    self.row.add(a, owned)
                return
            self.top, self.bottom = _MergedTail(self.k_high, True), _MergedTail(self.k_low, False)
        self.top.add(block, owned)
        self.bottom.add(block, owned)

    GUESS_MIN = 1 << 10
    # tail shares vary between batches far more than sampling alone would make them (a batch of
    # 8 sequences of one transformer input: 3103-4905 values beyond a threshold that should
    # leave 4648), so the guess aims at twice the share; a little more per-block work, far
    # fewer replays
    GUESS_SLACK = 2.0

    def _guess(self, a: np.ndarray) -> bool:
        """Optimistic thresholds from the first block, for both tails: the values that leave
        beyond them twice this block's share of what each tail needs over the whole run, plus
        four standard deviations (:meth:`_RowTails.guess`). Later blocks then pass ~(1 - q) of
        their values instead of the much larger share a provably safe threshold lets through
        early on (the k best of the first block are a quarter of it when it is an eighth of the
        run). Whether a guess held is known only at the end (:meth:`exact`); the pass replays
        the run when one did not."""
        if a.size < self.GUESS_MIN:
            return False
        return self.row.guess(a, self.GUESS_SLACK * self.k_low / self.total, self.GUESS_SLACK * self.k_high / self.total)

    def kept_values(self) -> int:
        if self.keep_all:
            return sum(c.numel() for c in self.chunks)
        if self.row is not None:
            return self.row.count
        return 0 if self.top is None else self.top.size() + self.bottom.size()

    def _all_values(self) -> Tensor:
        """keep_all: the blocks joined once into one [rows, seen] table (kept as the only block)."""
        data = self.chunks[0] if len(self.chunks) == 1 else torch.cat(self.chunks, dim=-1)
        self.chunks = [data]
        return data

    def extrema(self) -> tuple[Tensor, Tensor] | None:
        """(min, max) of every value seen, as torch.aminmax gives them (NaN when any value is
        NaN), read from the kept values: the tails hold the smallest and the largest values
        seen (NaN ranking above every number), as long as :meth:`exact` holds."""
        if self.seen == 0:
            return None
        if self.keep_all:
            data = self._all_values()
            return torch.aminmax(data) if data.numel() else None
        if self.row is not None:
            return self.row.extrema()
        return torch.aminmax(torch.cat((self.bottom.values(), self.top.values()), dim=-1))

    def exact(self) -> bool:
        """False when an optimistic guess failed: the kept tails may miss values, and the
        values must be fed again to a fresh, non-optimistic Tails."""
        if self.row is None or self.seen == 0:
            return True
        return self.row.exact(*needed_tails(self.q_low, self.q_high, self.seen))

    def quantiles(self) -> tuple[Tensor, Tensor]:
        """(torch.quantile at q_low, at q_high) over the ``seen`` columns, one value per row."""
        n = self.seen
        if self.keep_all:
            data = self._all_values()
            if data.shape[0] == 1 and data.device.type == "cpu" and data.dtype == torch.float32:
                return _pool_quantiles(data.reshape(-1).numpy(), n, self.q_low, self.q_high)  # all of it
            return quantile_pair_rows(data, self.q_low, self.q_high)
        # fewer columns than announced (the generator ran out) need shorter tails: still exact
        if self.row is not None:
            return self.row.quantiles(n, self.q_low, self.q_high)
        return _from_tails(self.bottom.values(), self.top.values(), n, self.q_low, self.q_high)
