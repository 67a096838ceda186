"""Statistics for profile_statistics_analysis_pass, updated a batch at a time.

MASE's statistics, names, options and output keys (``record``, ``variance_online``,
``variance_precise``, ``range_n_sigma``, ``range_min_max``, ``range_quantile``, ``abs_mean``).
What a "sample" is follows MASE: for activations each row of the batch (shape ``[1, ...]``),
for weights the whole tensor once. ``count`` is the number of elements reduced into each
result: the numel seen for ``dims="all"``, the number of samples for ``dims=None``, and
samples x the listed dims' sizes for a list of (sample) dims.

Moments are merged exactly (Chan et al.) in float64, so ``variance_online`` is the population
variance (M2 / n) and ``variance_precise`` the unbiased one (M2 / (n - 1)) of all elements seen,
without storing them. ``range_quantile`` keeps only the tails its quantiles read (quantiles.py);
only ``record`` keeps the data.

Inputs are profiled as float32 (integers too, as MASE does). NaN propagates: a NaN among the
values a result reduces makes that result NaN, as torch.var / torch.quantile / torch.amin do.
Infinities are values: min, max and quantiles may be +-inf, means follow IEEE sums, and a
variance (so range_n_sigma) that sees an infinity is NaN, as torch.var's is.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from core.errors import ConfigError, PassError
from core.passes.analysis.partials import ExtremaParts, MomentParts, SumParts, abs_sum_flat
from core.passes.analysis.quantiles import SampleQuantiles, Tails
from core.passes.analysis.stat_options import NA, OPTIONS, check_name, check_options, check_spec


def _as_samples(t: Tensor, batched: bool) -> Tensor:
    """Stack samples along a new dim 0 (a view): each sample keeps its own shape."""
    return t.unsqueeze(1) if batched else t.unsqueeze(0)


def _reduce_dims(samples: Tensor, dims: Any) -> tuple[int, ...]:
    if dims == "all":
        return tuple(range(samples.ndim))
    if dims is None:
        return (0,)
    sample_ndim = samples.ndim - 1
    out = {0}
    for d in dims:
        if not -sample_ndim <= d < sample_ndim:
            raise ConfigError(f"statistic dims {list(dims)} do not fit samples of shape {list(samples.shape[1:])}")
        out.add((d % sample_ndim) + 1)
    return tuple(sorted(out))


def _count(samples: Tensor, reduce: tuple[int, ...]) -> int:
    return math.prod(samples.shape[d] for d in reduce)


def _export(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.tolist()
    return value


class Stat:
    """Base: ``update(tensor, batched)`` then ``compute()``; ``export()`` gives plain data."""

    name = ""
    options: dict[str, Any] = {"device": None}
    abs = False  # statistics with an ``abs`` option profile absolute values when it is set

    def __init__(self, **kwargs: Any) -> None:
        for key, default in self.options.items():
            setattr(self, key, kwargs.get(key, default))
        self.device = torch.device(self.device) if self.device not in (None, NA) else None

    def _as_float32(self, t: Tensor) -> tuple[Tensor, bool]:
        """The input as float32 on the statistic's device (absolute values with ``abs``), and
        whether that is a new tensor rather than the caller's. Called per node per batch: the
        common case (float32 on the right device) costs nothing."""
        fresh = False
        if t.requires_grad:
            t = t.detach()
        if self.device is not None and t.device != self.device:
            t, fresh = t.to(self.device), True
        if t.dtype != torch.float32:  # integers and other floats are profiled as float32, as in MASE
            t, fresh = t.float(), True
        if self.abs:
            t, fresh = t.abs(), True
        return t, fresh

    def _prepare_fresh(self, t: Tensor, batched: bool) -> tuple[Tensor, bool]:
        """The input as float32 samples stacked along a new dim 0, and whether it is new."""
        t, fresh = self._as_float32(t)
        return _as_samples(t, batched), fresh

    def _prepare_flat(self, t: Tensor) -> tuple[Tensor, bool]:
        """All values of the input as one float32 1-d tensor (``dims = "all"``: samples need
        not be told apart), and whether it is a new tensor."""
        t, fresh = self._as_float32(t)
        if t.is_contiguous():
            return t.view(-1), fresh
        return t.reshape(-1), True

    def _prepare(self, t: Tensor, batched: bool, copy: bool = False) -> Tensor:
        s, fresh = self._prepare_fresh(t, batched)
        # stored data must not change when an in-place op later edits the input
        return s.clone() if copy and not fresh else s

    def expect(self, samples: int, replayable: bool = False) -> None:
        """At most this many samples will arrive (the pass knows it): statistics that keep
        values can then keep only what their exact answer needs. ``replayable``: the caller
        can feed the same values again after a :meth:`restart`, so a statistic may bet on a
        guess and ask for that (:meth:`needs_replay`) when the guess fails."""

    def may_guess(self) -> bool:
        """Could this statistic bet on a guess when told ``replayable`` (so the batches are worth
        keeping)?"""
        return False

    def needs_replay(self) -> bool:
        return False

    def kept_values(self) -> int:
        """How many values this statistic holds for its final result (what computing it will
        read: range_quantile's tails)."""
        return 0

    def restart(self) -> None:
        """Forget what was fed, for a replay of the same values; no guessing this time."""

    def update(self, t: Tensor, batched: bool, owned: bool = False) -> None:
        """Add samples. ``owned``: ``t`` is a private copy the statistic may keep as is."""
        raise NotImplementedError

    def compute(self) -> dict[str, Any]:
        raise NotImplementedError

    def export(self) -> dict[str, dict[str, Any]]:
        return {self.name: {k: _export(v) for k, v in self.compute().items()}}


class _Moments(Stat):
    """Count, mean and M2 per kept element (partials.MomentParts); statistics with the same
    options on the same input share one (``share``), so variance_online, variance_precise and
    range_n_sigma together reduce each input once."""

    options = OPTIONS["variance_online"]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.parts = MomentParts()
        self.leader = True

    def share_key(self) -> tuple:
        return ("moments", self.dims if self.dims is None else str(self.dims), str(self.device),
                bool(self.abs))

    def share(self, leader: "_Moments") -> None:
        """Read ``leader``'s moments instead of reducing the same input again."""
        self.parts, self.leader = leader.parts, False

    def update(self, t: Tensor, batched: bool, owned: bool = False) -> None:
        if not self.leader:
            return
        if self.dims == "all":
            flat, _ = self._prepare_flat(t)
            self.parts.add_flat(flat)
            return
        s = self._prepare(t, batched)
        reduce = _reduce_dims(s, self.dims)
        self.parts.add_reduced(s, reduce, _count(s, reduce))

    def moments(self, unbiased: bool) -> tuple[int, Any, Any]:
        """(count, mean, variance) in float64: Python floats for ``dims = "all"`` (one value
        each: plain arithmetic beats a dozen 0-d tensor ops per profiled tensor), else tensors."""
        merged = self.parts.merge()
        if merged is None:
            return 0, None, None
        n, total, m2 = merged
        if total.ndim == 0:
            total, m2 = total.item(), m2.item()
        if n < 2:
            return n, None, None
        return n, total / n, m2 / (n - 1 if unbiased else n)


_F32_OVERFLOW = 2.0 ** 128 - 2.0 ** 103  # float64 values from here round to inf in float32


def _f32(value: Any) -> Any:
    """A float64 result rounded to float32, as the statistics report (a float or a tensor)."""
    if not isinstance(value, float):
        return value.float()
    if abs(value) >= _F32_OVERFLOW:  # numpy would warn about the overflow; torch gives inf
        return math.copysign(math.inf, value)
    return float(np.float32(value))


class VarianceOnline(_Moments):
    name = "variance_online"
    unbiased = False

    def compute(self) -> dict[str, Any]:
        n, mean, var = self.moments(self.unbiased)
        if n < 2:
            return {"mean": NA, "variance": NA, "count": n}
        return {"mean": _f32(mean), "variance": _f32(var), "count": n}


class VariancePrecise(VarianceOnline):
    name = "variance_precise"
    options = OPTIONS[name]
    unbiased = True


class RangeNSigma(_Moments):
    name = "range_n_sigma"
    options = OPTIONS[name]

    def compute(self) -> dict[str, Any]:
        n, mean, var = self.moments(self.var_mode == "precise")
        if n < 2:
            return {"min": NA, "max": NA, "range": NA, "count": n}
        # sigma of the float32-rounded variance, as reported by variance_online / _precise
        if isinstance(var, float):
            sigma = math.sqrt(_f32(var))
            lo, hi = _f32(mean - self.num_sigma * sigma), _f32(mean + self.num_sigma * sigma)
            return {"min": lo, "max": hi, "range": float(np.float32(hi) - np.float32(lo)), "count": n}
        sigma = var.float().double().sqrt()
        lo = (mean - self.num_sigma * sigma).float()
        hi = (mean + self.num_sigma * sigma).float()
        return {"min": lo, "max": hi, "range": hi - lo, "count": n}


class RangeMinMax(Stat):
    name = "range_min_max"
    options = OPTIONS[name]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n = 0
        self.parts = ExtremaParts()
        self.source: RangeQuantile | None = None

    def read_from(self, quantile: "RangeQuantile") -> None:
        """Take the minimum and maximum from ``quantile``'s kept tails (they hold the smallest
        and largest values) instead of reducing the same input again."""
        self.source = quantile

    def update(self, t: Tensor, batched: bool, owned: bool = False) -> None:
        if self.source is not None:
            self.n += t.numel()
            return
        if self.dims == "all":
            flat, _ = self._prepare_flat(t)
            if flat.numel():
                self.parts.add(*torch.aminmax(flat))
                self.n += flat.numel()
            return
        s = self._prepare(t, batched)
        reduce = _reduce_dims(s, self.dims)
        if s.numel() == 0:
            return
        self.parts.add(s.amin(dim=reduce), s.amax(dim=reduce))
        self.n += _count(s, reduce)

    def compute(self) -> dict[str, Any]:
        merged = self.parts.merge() if self.source is None else self.source.extrema()
        if merged is None:
            return {"min": NA, "max": NA, "range": NA, "count": 0}
        lo, hi = merged
        rng = hi - lo if self.n >= 2 else NA
        return {"min": lo, "max": hi, "range": rng, "count": self.n}


class AbsMean(Stat):
    name = "abs_mean"
    options = OPTIONS[name]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n = 0
        self.parts = SumParts()

    def update(self, t: Tensor, batched: bool, owned: bool = False) -> None:
        if self.dims == "all":
            flat, fresh = self._prepare_flat(t)
            if fresh:  # a private float32 copy already: no scratch needed
                self.parts.add(flat.abs_().sum())
            else:
                for part in abs_sum_flat(flat):
                    self.parts.add(part)
            self.n += flat.numel()
            return
        s = self._prepare(t, batched)
        reduce = _reduce_dims(s, self.dims)
        self.parts.add(s.abs().sum(dim=reduce))
        self.n += _count(s, reduce)

    def compute(self) -> dict[str, Any]:
        if self.n < 2:
            return {"abs_mean": NA, "count": self.n}
        return {"abs_mean": (self.parts.merge() / self.n).float(), "count": self.n}


class Record(Stat):
    """Every value, as MASE's ``record``: samples concatenated along dim 0 (or stacked along a
    new dim 1 with ``add_new_dim_before_concat``). Once the pass has announced how many
    samples will arrive, batches are copied straight into one tensor of that size (one copy
    per value; clone-then-concatenate wrote every value twice, into fresh memory both times)."""

    name = "record"
    options = OPTIONS[name]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.chunks: list[Tensor] = []
        self.n = 0
        self.samples_expected: int | None = None
        self.buffer: Tensor | None = None
        self.filled = 0

    def expect(self, samples: int, replayable: bool = False) -> None:
        self.samples_expected = samples

    def update(self, t: Tensor, batched: bool, owned: bool = False) -> None:
        if batched and t.ndim and self.samples_expected is not None and self._into_buffer(t):
            self.n += t.shape[0]
            return
        s = self._prepare(t, batched, copy=not owned)  # [samples, *sample shape]
        self.n += s.shape[0]
        if self.add_new_dim_before_concat:
            self.chunks.append(s)
        else:
            self.chunks.append(s.flatten(0, 1))  # samples concatenated along their own dim 0

    def _into_buffer(self, t: Tensor) -> bool:
        """Copy a batch into the preallocated tensor; False when it does not fit (more samples
        than announced, or another shape): the batch then goes the general way."""
        rows = t.shape[0]
        row_shape = (1, *t.shape[1:]) if self.add_new_dim_before_concat else tuple(t.shape[1:])
        if self.buffer is None and not self.chunks:
            device = self.device if self.device is not None else t.device
            self.buffer = torch.empty((max(self.samples_expected, rows), *row_shape), dtype=torch.float32,
                                      device=device)
        if self.buffer is None or tuple(self.buffer.shape[1:]) != row_shape \
                or self.filled + rows > self.buffer.shape[0]:
            self._spill()
            return False
        target = self.buffer[self.filled:self.filled + rows]
        (target[:, 0] if self.add_new_dim_before_concat else target).copy_(t.detach())  # converts to float32
        self.filled += rows
        return True

    def _spill(self) -> None:
        """Go on with a list of chunks, starting from what the buffer holds."""
        if self.buffer is not None and self.filled:
            self.chunks.append(self.buffer[:self.filled])
        self.buffer = None

    def data(self) -> Tensor | None:
        if self.buffer is not None:
            if self.filled == self.buffer.shape[0]:
                return self.buffer
            self._spill()  # fewer samples than announced: keep only what arrived
            self.chunks = [self.chunks[0].clone()] if self.chunks else []
        if not self.chunks:
            return None
        if len(self.chunks) > 1:
            self.chunks = [torch.cat(self.chunks, dim=0)]
        return self.chunks[0]

    def compute(self) -> dict[str, Any]:
        data = self.data()
        size = 0 if data is None else data.element_size() * data.nelement()
        return {"data": data if data is not None else NA, "count": self.n, "size_in_bytes": size}

    def export(self) -> dict[str, dict[str, Any]]:
        # the data stays a tensor: MASE's nested lists cost far more than the recording itself
        # (about a microsecond a value); exports of the metadata still write lists
        return {self.name: self.compute()}


class RangeQuantile(Stat):
    """Quantile range, exact with respect to torch.quantile's linear interpolation.

    ``mode = "pooled"`` (default, what MASE computes): ``min``/``max`` are the (1 - q) and q
    quantiles of all values pooled over every sample (per kept element for ``dims`` None or a
    list). Only the two tails those quantiles read are kept (:class:`Tails`), sized from the
    number of samples the pass announces through :meth:`expect`.
    ``mode = "per_sample_mean"``: the quantiles of each sample on its own, averaged over samples
    (two running sums per kept element).
    """

    name = "range_quantile"
    options = OPTIONS[name]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.samples_expected: int | None = None
        self.optimistic = False
        self.tails: Tails | None = None
        self.kept_shape: list[int] | None = None
        self.count = 0
        self.per_sample: SampleQuantiles | None = None

    def expect(self, samples: int, replayable: bool = False) -> None:
        self.samples_expected = samples
        self.optimistic = replayable

    def may_guess(self) -> bool:
        return self.mode == "pooled"

    def needs_replay(self) -> bool:
        return self.tails is not None and not self.tails.exact()

    def restart(self) -> None:
        self.tails, self.count, self.optimistic = None, 0, False

    def _layout(self, s: Tensor) -> tuple[list[int], list[int]]:
        reduce = _reduce_dims(s, self.dims)
        keep = [d for d in range(s.ndim) if d not in reduce]
        shape = [s.shape[d] for d in keep]
        if self.kept_shape is None:
            self.kept_shape = shape
        elif shape != self.kept_shape:
            raise PassError(f"range_quantile: inputs of shape {list(s.shape[1:])} do not match earlier ones "
                            f"(kept dims {self.kept_shape})", hint="use dims = \"all\" for inputs whose shape varies")
        return keep, list(reduce)

    def update(self, t: Tensor, batched: bool, owned: bool = False) -> None:
        if self.dims == "all" and self.mode == "pooled":  # one row: no layout to work out
            flat, fresh = self._prepare_flat(t)
            if self.tails is None:
                self.kept_shape = []
                self._start_tails(flat.numel() // (t.shape[0] if batched and t.ndim else 1), self.optimistic)
            self.count += flat.numel()
            self.tails.add(flat.view(1, -1), owned=owned or fresh)
            return
        if self.dims == "all" and batched and t.ndim:  # per_sample_mean, each sample one row
            flat, _ = self._prepare_flat(t)
            self.kept_shape = []
            self.count += flat.numel()
            if flat.numel():
                self._sample_quantiles().add(flat.view(t.shape[0], 1, -1))
            return
        s, fresh = self._prepare_fresh(t, batched)
        keep, reduce = self._layout(s)
        self.count += _count(s, reduce)
        if self.mode == "per_sample_mean":
            self._update_per_sample(s, keep, reduce)
            return
        k = math.prod(self.kept_shape)
        if not keep:
            rows = s.reshape(1, -1)  # a view when contiguous
        else:
            rows = s.permute(*keep, *reduce).reshape(k, -1)
        if self.tails is None:
            self._start_tails(rows.shape[-1] // s.shape[0], optimistic=False)
        copied = rows.untyped_storage().data_ptr() != s.untyped_storage().data_ptr()
        self.tails.add(rows, owned=owned or fresh or copied)

    def _update_per_sample(self, s: Tensor, keep: list[int], reduce: list[int]) -> None:
        inner_keep = [d for d in keep if d != 0]
        inner_reduce = [d for d in reduce if d != 0]
        rows = s.permute(0, *inner_keep, *inner_reduce).reshape(s.shape[0], math.prod(self.kept_shape), -1)
        self._sample_quantiles().add(rows)

    def _start_tails(self, per_sample: int, optimistic: bool) -> None:
        """Pooled mode: tails sized for the announced samples of ``per_sample`` values each."""
        total = None if self.samples_expected is None else self.samples_expected * per_sample
        self.tails = Tails(1 - self.quantile, self.quantile, total, optimistic)

    def _sample_quantiles(self) -> SampleQuantiles:
        if self.per_sample is None:
            self.per_sample = SampleQuantiles(1 - self.quantile, self.quantile)
        return self.per_sample

    def kept_values(self) -> int:
        return 0 if self.tails is None else self.tails.kept_values()

    def extrema(self) -> tuple[Tensor, Tensor] | None:
        """(min, max) of every value seen, pooled mode (see :meth:`Tails.extrema`)."""
        return None if self.tails is None else self.tails.extrema()

    def compute(self) -> dict[str, Any]:
        if self.count < 2:
            return {"min": NA, "max": NA, "range": NA, "count": self.count}
        if self.mode == "per_sample_mean":
            lo, hi = self.per_sample.means()
        else:
            lo, hi = self.tails.quantiles()
        lo, hi = lo.reshape(self.kept_shape), hi.reshape(self.kept_shape)
        return {"min": lo, "max": hi, "range": hi - lo, "count": self.count}


STATS: dict[str, type[Stat]] = {
    cls.name: cls for cls in (Record, VarianceOnline, VariancePrecise, RangeNSigma, RangeMinMax, RangeQuantile, AbsMean)
}


def _check_device(name: str, kwargs: dict[str, Any], where: str) -> None:
    """The one option check that needs torch (the others are in stat_options)."""
    device = kwargs.get("device")
    if device not in (None, NA):
        try:
            torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ConfigError(f"{where}: {name} device {device!r} is not a torch device ({exc})") from None


def _build(name: str, kwargs: dict[str, Any]) -> Stat:
    """Statistic ``name`` from checked options (MASE's spellings of dims normalised)."""
    kwargs = dict(kwargs)
    if kwargs.get("dims") == NA:
        kwargs["dims"] = None
    if isinstance(kwargs.get("dims"), tuple):
        kwargs["dims"] = list(kwargs["dims"])
    return STATS[name](**kwargs)


def create_stat(name: str, kwargs: dict[str, Any] | None = None, where: str = "profile_statistics") -> Stat:
    """A fresh statistic; ConfigError for unknown names or options."""
    check_name(name, where)
    kwargs = dict(kwargs or {})
    check_options(name, kwargs, where)
    _check_device(name, kwargs, where)
    return _build(name, kwargs)


def create_stats(spec: dict[str, Any] | None, where: str) -> list[Stat]:
    """Fresh statistics for one input, as ``spec`` ({name: options}) asks."""
    return stat_factory(spec, where)()


def stat_factory(spec: dict[str, Any] | None, where: str) -> Callable[[], list[Stat]]:
    """Checks ``spec`` now (ConfigError: the config loader's checks, then the device against
    torch) and returns a maker of fresh statistics for one input, which skips the checks (the
    pass makes a set per profiled input: hundreds per run)."""
    if spec is None:
        return list
    check_spec(spec, where)
    protos = []
    for name, opts in spec.items():
        _check_device(name, opts or {}, where)
        proto = _build(name, opts or {})
        protos.append((type(proto), {key: getattr(proto, key) for key in proto.options}))
    return lambda: _shared([cls(**kwargs) for cls, kwargs in protos])


def _shared(out: list[Stat]) -> list[Stat]:
    """One input reduced once for all its moment statistics with the same options; and
    range_min_max read from a pooled range_quantile's tails over the same values."""
    leaders: dict[tuple, _Moments] = {}
    for stat in out:
        if isinstance(stat, _Moments):
            leader = leaders.setdefault(stat.share_key(), stat)
            if leader is not stat:
                stat.share(leader)
    pooled = {(str(s.device), bool(s.abs)): s for s in out
              if isinstance(s, RangeQuantile) and s.mode == "pooled" and s.dims == "all"}
    for stat in out:
        if isinstance(stat, RangeMinMax) and stat.dims == "all":
            source = pooled.get((str(stat.device), bool(stat.abs)))
            if source is not None:
                stat.read_from(source)
    return out


def merged_export(stats: Sequence[Stat]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for stat in stats:
        out.update(stat.export())
    return out


def plain_view(exported: dict[str, Any]) -> dict[str, Any]:
    """``merged_export`` as plain data for a pass's info: recorded tensors become their shape
    (the data itself is in the node's metadata)."""
    out: dict[str, Any] = {}
    for name, values in exported.items():
        if isinstance(values, dict) and any(isinstance(v, Tensor) for v in values.values()):
            values = {("shape" if isinstance(v, Tensor) else k): (list(v.shape) if isinstance(v, Tensor) else v)
                      for k, v in values.items()}
        out[name] = values
    return out
