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


def _apart(picked: np.ndarray, lo: np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Values selected by :func:`_beyond` told apart: (those above, those below). One compare:
    what is not below ``lo`` passed as above (NaN included)."""
    below = picked < lo
    return np.compress(~below, picked), np.compress(below, picked)


SORT_MAX = 1 << 16  # rows up to this long are sorted whole (numpy's SIMD sort, ~2 ns a value)


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


def _select(data: np.ndarray, positions: list[int]) -> dict[int, np.ndarray]:
    """Values at ascending ``positions`` (sorted, distinct) of long rows: one single-kth
    numpy.partition (introselect, ~1 ns a value) per position that is not the smallest or
    largest of what is left, each on the values above the last one placed; a next position
    right above it is the minimum of those. (Several kth in one numpy.partition call cost 5-8x
    one.) In a row holding a NaN only the last position (NaN) is exact: min/max propagate NaN;
    callers report NaN for such rows."""
    picked: dict[int, np.ndarray] = {}
    part, offset = data, 0  # part: the values at ascending positions offset.. (in any order)
    for p in positions:
        rel = p - offset
        if rel == 0:
            picked[p] = part.min(axis=-1)
        elif rel == part.shape[-1] - 1:
            picked[p] = part.max(axis=-1)
        else:
            part = np.partition(part, rel, axis=-1)
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


def _from_row_tails(bottom: np.ndarray, top: np.ndarray, n: int, q_low: float,
                    q_high: float) -> tuple[Tensor, Tensor]:
    """:func:`_from_tails` for one row kept as numpy arrays: each order statistic from one
    single-kth numpy.partition of its tail (a tail is a few thousand values: half the cost
    of sorting it), blended by torch.lerp as torch.quantile does."""
    if np.isnan(top).any():
        nan = torch.tensor([math.nan], dtype=torch.float32)
        return nan, nan.clone()
    b, a, w_low = linear_rank(q_low, n)
    low = _select(bottom, [b, a] if a != b else [b])
    b_h, a_h, w_high = linear_rank(q_high, n)
    m = top.size  # ascending position p of all n values is m - n + p among the m largest
    high = _select(top, [m - n + b_h, m - n + a_h] if a_h != b_h else [m - n + b_h])
    ends = torch.from_numpy(np.array([[low[b], high[m - n + b_h]], [low[a], high[m - n + a_h]]], dtype=np.float32))
    out = torch.lerp(ends[0:1], ends[1:2], _weights(float(w_low), float(w_high)))
    return out[..., 0], out[..., 1]


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


class _FilteredTail:
    """The k largest (or smallest) values of a single row of float32 values on the CPU, behind
    a threshold: a new value can only matter if it beats the k-th best kept so far, so a block
    costs one comparison per value plus a copy of the few that pass (numpy's compare and
    compress on the block still in cache: ~6 us for 16k values, 5x torch's boolean indexing,
    which also holds the GIL throughout). Kept values are cut back to k once they pass 3k (a
    guessed threshold lets about 2k through in a whole run: no cut at all then), by
    one numpy.partition (introselect; 6x a torch.topk of the same size), which also gives the
    new threshold.

    Invariant: every value seen beyond the threshold is kept, and at least k kept values are at
    or beyond it; so the kept values, best first, are exactly the best values seen (values
    kept besides those only ever rank after the k best, which is all a tail is asked for).
    NaN ranks above every number (as in a sort): it passes an upper threshold and is never a
    threshold itself."""

    def __init__(self, k: int, largest: bool) -> None:
        self.k, self.largest = k, largest
        self.parts: list[np.ndarray] = []
        self.count = 0
        self.threshold: np.float32 | None = None
        self.guessed = False  # the threshold is a guess not yet proven (see :meth:`exact`)

    def _beyond(self, a: np.ndarray, t: np.float32, inclusive: bool) -> np.ndarray:
        if self.largest:  # not (a <= t): NaN passes
            return chunked_compress(a, (lambda p: ~(p < t)) if inclusive else (lambda p: ~(p <= t)))
        return chunked_compress(a, (lambda p: p <= t) if inclusive else (lambda p: p < t))

    def add(self, block: Tensor, owned: bool) -> None:
        a = block.reshape(-1).numpy()
        if self.threshold is None:
            part = self._prefilter(a) if self.count + a.size > 2 * self.k else None
            if part is None:
                part = a if owned else a.copy()
        else:
            part = self._beyond(a, self.threshold, inclusive=False)
        self.take(part)

    def take(self, part: np.ndarray) -> None:
        """Keep ``part``: values beyond the threshold (strictly), selected by the caller."""
        self.take_parts([part])

    def take_parts(self, parts: list[np.ndarray]) -> None:
        self.parts.extend(parts)
        self.count += sum(p.size for p in parts)
        if self.count > self.CUT * self.k:
            self._cut()

    SUBSAMPLE = 1 << 12
    CUT = 3

    def _prefilter(self, a: np.ndarray) -> np.ndarray | None:
        """The values of a large first block at or beyond a threshold guessed from a uniform
        subsample, placed a few standard deviations on the safe side of the k-th best, so
        that one comparison replaces a selection over the whole block. The guess is checked
        (at least k values pass); if it fails, None: the caller keeps the whole block."""
        n = a.size
        if n < 4 * self.SUBSAMPLE or self.k * 4 > n:
            return None
        sample = a.take(_subsample_index(n, self.SUBSAMPLE))
        m = sample.size
        j = min(m, _with_margin(self.k * m / n))
        t = self._kth_best(sample, j)
        if t is None:
            return None
        part = self._beyond(a, t, inclusive=True)
        if part.size < self.k:
            return None
        self.threshold = t
        return part

    def start(self, part: np.ndarray, threshold: np.float32) -> None:
        """Begin from a guessed threshold (``part``: the first block's values at or beyond it)."""
        self.threshold, self.guessed = threshold, True
        self.take(part)

    def exact(self, needed: int) -> bool:
        """Do the kept values hold the ``needed`` best of all seen? Always, unless the threshold
        is an unproven guess: then when at least ``needed`` values passed it (every value
        beyond it is kept, and every kept value is at or beyond it)."""
        return not self.guessed or self.count >= needed

    def has_nan(self) -> bool:
        return any(np.isnan(p).any() for p in self.parts)

    def _kth_best(self, data: np.ndarray, j: int) -> np.float32 | None:
        """The j-th best value of ``data`` (NaN sorted last); None if that is NaN."""
        pos = data.size - j if self.largest else j - 1
        t = np.partition(data, pos)[pos]
        return None if np.isnan(t) else t

    def _cut(self) -> None:
        data = self.parts[0] if len(self.parts) == 1 else np.concatenate(self.parts)
        n, k = data.size, self.k
        pos = n - k if self.largest else k - 1
        parted = np.partition(data, pos)
        best = parted[pos:].copy() if self.largest else parted[:k].copy()
        t = parted[pos]
        self.parts, self.count = [best], k
        self.guessed = False  # k kept, and all values beyond the new threshold: proven
        # a NaN k-th best: the upper tail holds k NaNs, so only NaN can still enter; the lower
        # one holds NaNs, so the answer is NaN whatever it keeps (the upper tail keeps them all)
        self.threshold = np.float32(np.inf) if np.isnan(t) else t

    def size(self) -> int:
        return self.count

    def data(self) -> np.ndarray:
        if len(self.parts) > 1:
            self.parts = [np.concatenate(self.parts)]
        return self.parts[0] if self.parts else np.empty(0, dtype=np.float32)


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
        self.top: _MergedTail | _FilteredTail | None = None
        self.bottom: _MergedTail | _FilteredTail | None = None
        # values beyond either threshold, not yet told apart (see :meth:`_split`)
        self.pool: list[np.ndarray] = []
        self.pooled = 0

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
        if self.top is None:
            single = block.shape[0] == 1 and block.device.type == "cpu" and block.dtype == torch.float32
            if single:
                self.top, self.bottom = _FilteredTail(self.k_high, True), _FilteredTail(self.k_low, False)
                if self.optimistic and self._guess(block.reshape(-1).numpy()):
                    return
            else:
                self.top, self.bottom = _MergedTail(self.k_high, True), _MergedTail(self.k_low, False)
        top, bottom = self.top, self.bottom
        if isinstance(top, _FilteredTail) and top.threshold is not None and bottom.threshold is not None:
            # both tails in one selection: the scan's cost is mostly mispredicted branches on
            # the values that pass, so one pass over the block for both costs about what one
            # tail alone does; a small block's selected values are pooled and told apart
            # later, once (:meth:`_split`), a large block's chunk by chunk (:meth:`_split_chunks`)
            lo, hi = bottom.threshold, top.threshold
            a = block.reshape(-1).numpy()
            if a.size > 2 * SELECT_CHUNK:
                self._split_chunks(a, lo, hi)
                return
            picked = np.compress(_beyond(a, lo, hi, np.empty(a.size, dtype=bool), np.empty(a.size, dtype=bool)), a)
            if picked.size:
                self.pool.append(picked)
                self.pooled += picked.size
                # no more kept in all than two tails may hold between cuts
                if self.pooled + top.count + bottom.count > _FilteredTail.CUT * (self.k_low + self.k_high):
                    self._split()
            return
        top.add(block, owned)
        bottom.add(block, owned)

    def _split_chunks(self, a: np.ndarray, lo: np.float32, hi: np.float32) -> None:
        """A large block's values beyond the thresholds, selected and told apart a cache-sized
        chunk at a time: the masks and the selected values stay in cache, and no block-sized
        temporary of selected values is page-faulted in (on a 224x224 ResNet that fresh memory
        cost more than the selection)."""
        tops, bottoms = [], []
        low, high = np.empty(SELECT_CHUNK, dtype=bool), np.empty(SELECT_CHUNK, dtype=bool)
        for part in _chunks(a):
            n = part.size
            picked = np.compress(_beyond(part, lo, hi, low[:n], high[:n]), part)
            if picked.size:
                top, bottom = _apart(picked, lo)
                tops.append(top)
                bottoms.append(bottom)
        self.top.take_parts(tops)
        self.bottom.take_parts(bottoms)

    def _split(self) -> None:
        """Hand the pooled values of small blocks to their tails. Splitting each block's few
        selected values cost a third of its selection (two compares and two compresses on a few
        thousand values, per input per batch: a transformer's linear inputs); pooled, that runs
        once or twice per run. The thresholds cannot change while values are pooled: only a
        tail's :meth:`_FilteredTail.take` moves them, and it runs here, after the pool is
        emptied."""
        if not self.pool:
            return
        picked = self.pool[0] if len(self.pool) == 1 else np.concatenate(self.pool)
        self.pool, self.pooled = [], 0
        top, bottom = _apart(picked, self.bottom.threshold)
        self.top.take(top)
        self.bottom.take(bottom)

    GUESS_MIN = 1 << 10
    GUESS_SAMPLE = 1 << 12
    # tail shares vary between batches far more than sampling alone would make them (a batch of
    # 8 sequences of one transformer input: 3103-4905 values beyond a threshold that should
    # leave 4648), so the guess aims at twice the share; a little more per-block work, far
    # fewer replays
    GUESS_SLACK = 2.0

    def _guess(self, a: np.ndarray) -> bool:
        """Optimistic thresholds from the first block, for both tails: the values that leave
        beyond them twice this block's share of what each tail needs over the whole run, plus
        four standard deviations, read from one sorted uniform subsample of the block. Later
        blocks then pass ~(1 - q) of their values instead of the much larger share a provably
        safe threshold lets through early on (the k best of the first block are a quarter of
        it when it is an eighth of the run). Whether a guess held is known only at the end
        (:meth:`exact`); the pass replays the run when one did not. False: no guess (a small
        block, or NaN where a threshold would be), the caller goes on without."""
        n = a.size
        sample = a if n <= self.GUESS_SAMPLE else a.take(_subsample_index(n, self.GUESS_SAMPLE))
        m = sample.size
        js = [_with_margin(self.GUESS_SLACK * k / self.total * m) for k in (self.k_low, self.k_high)]
        if n < self.GUESS_MIN or 4 * max(js) > m:
            return False
        ordered = np.sort(sample)  # NaN last
        lo, hi = ordered[js[0] - 1], ordered[m - js[1]]
        if np.isnan(lo) or np.isnan(hi):
            return False
        picked = chunked_compress(a, lambda p: (p <= lo) | ~(p < hi))  # at or beyond; NaN passes
        self.top.start(np.compress(~(picked < hi), picked), hi)
        self.bottom.start(np.compress(picked <= lo, picked), lo)
        return True

    def kept_values(self) -> int:
        if self.keep_all:
            return sum(c.numel() for c in self.chunks)
        return 0 if self.top is None else self.top.size() + self.bottom.size() + self.pooled

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
        if isinstance(self.top, _MergedTail):
            return torch.aminmax(torch.cat((self.bottom.values(), self.top.values()), dim=-1))
        self._split()
        top, bottom = self.top.data(), self.bottom.data()
        if np.isnan(top).any():
            nan = torch.tensor(math.nan)
            return nan, nan.clone()
        return torch.tensor(bottom.min()), torch.tensor(top.max())

    def exact(self) -> bool:
        """False when an optimistic guess failed: the kept tails may miss values, and the
        values must be fed again to a fresh, non-optimistic Tails."""
        if not isinstance(self.top, _FilteredTail) or self.seen == 0:
            return True
        self._split()
        k_low, k_high = needed_tails(self.q_low, self.q_high, self.seen)
        if self.top.exact(k_high) and self.bottom.exact(k_low):
            return True
        return self.top.has_nan()  # a NaN passed the upper threshold: the quantiles are NaN anyway

    def quantiles(self) -> tuple[Tensor, Tensor]:
        """(torch.quantile at q_low, at q_high) over the ``seen`` columns, one value per row."""
        n = self.seen
        if self.keep_all:
            data = self._all_values()
            if data.shape[0] == 1 and data.device.type == "cpu" and data.dtype == torch.float32:
                row = data.reshape(-1).numpy()  # one row: its own two tails
                return _from_row_tails(row, row, n, self.q_low, self.q_high)
            return quantile_pair_rows(data, self.q_low, self.q_high)
        # fewer columns than announced (the generator ran out) need shorter tails: still exact
        if isinstance(self.top, _FilteredTail):
            self._split()
            return _from_row_tails(self.bottom.data(), self.top.data(), n, self.q_low, self.q_high)
        return _from_tails(self.bottom.values(), self.top.values(), n, self.q_low, self.q_high)
