"""Statistics for profile_statistics_analysis_pass, updated a batch at a time.

MASE's statistics, names, options and output keys (``record``, ``variance_online``,
``variance_precise``, ``range_n_sigma``, ``range_min_max``, ``range_quantile``, ``abs_mean``).
What a "sample" is follows MASE: for activations each row of the batch (shape ``[1, ...]``),
for weights the whole tensor once. ``count`` is the number of elements reduced into each
result: the numel seen for ``dims="all"``, the number of samples for ``dims=None``, and
samples x the listed dims' sizes for a list of (sample) dims.

Moments are merged exactly (Chan et al.) in float64, so ``variance_online`` is the population
variance (M2 / n) and ``variance_precise`` the unbiased one (M2 / (n - 1)) of all elements seen,
without storing them. Only ``record`` and ``range_quantile`` keep the data.
"""

from __future__ import annotations

import difflib
import math
from typing import Any, Sequence

import torch
from torch import Tensor

from core.errors import ConfigError

NA = "NA"
_QUANTILE_LIMIT = 2**24  # torch.quantile refuses larger inputs


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

    def __init__(self, **kwargs: Any) -> None:
        for key, default in self.options.items():
            setattr(self, key, kwargs.get(key, default))
        self.device = torch.device(self.device) if self.device not in (None, NA) else None

    def _prepare(self, t: Tensor, batched: bool, copy: bool = False) -> Tensor:
        t = t.detach()
        if self.device is not None and t.device != self.device:
            t = t.to(self.device)
        if t.dtype != torch.float32:
            t = t.float()
        elif copy:
            t = t.clone()  # stored data must not change when an in-place op later edits the input
        if getattr(self, "abs", False):
            t = t.abs()
        return _as_samples(t, batched)

    def update(self, t: Tensor, batched: bool, owned: bool = False) -> None:
        """Add samples. ``owned``: ``t`` is a private copy the statistic may keep as is."""
        raise NotImplementedError

    def compute(self) -> dict[str, Any]:
        raise NotImplementedError

    def export(self) -> dict[str, dict[str, Any]]:
        return {self.name: {k: _export(v) for k, v in self.compute().items()}}


class _Moments(Stat):
    """Running count, mean and M2 per kept element, merged batch by batch."""

    options = {"device": None, "dims": "all"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n = 0
        self.mean: Tensor | None = None
        self.m2: Tensor | None = None

    def update(self, t: Tensor, batched: bool, owned: bool = False) -> None:
        s = self._prepare(t, batched)
        reduce = _reduce_dims(s, self.dims)
        n_b = _count(s, reduce)
        if n_b == 0:
            return
        # two passes (mean, then squared deviations): much faster than torch.var_mean's Welford
        # reduction on CPU, and as accurate for one batch; batches merge in float64 below
        if len(reduce) == s.ndim:
            mean_k = s.sum() / n_b
            d = (s - mean_k).reshape(-1)
            mean_b, m2_b = mean_k.double(), torch.dot(d, d).double()
        else:
            mean_k = s.sum(dim=reduce, keepdim=True) / n_b
            d = s - mean_k
            mean_b, m2_b = mean_k.squeeze(reduce).double(), (d * d).sum(dim=reduce).double()
        if self.mean is None:
            self.n, self.mean, self.m2 = n_b, mean_b, m2_b
            return
        n = self.n + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (n_b / n)
        self.m2 = self.m2 + m2_b + delta * delta * (self.n * n_b / n)
        self.n = n

    def variance(self, unbiased: bool) -> Tensor:
        assert self.m2 is not None
        return (self.m2 / (self.n - 1 if unbiased else self.n)).float()


class VarianceOnline(_Moments):
    name = "variance_online"
    unbiased = False

    def compute(self) -> dict[str, Any]:
        if self.n < 2:
            return {"mean": NA, "variance": NA, "count": self.n}
        return {"mean": self.mean.float(), "variance": self.variance(self.unbiased), "count": self.n}


class VariancePrecise(VarianceOnline):
    name = "variance_precise"
    unbiased = True


class RangeNSigma(_Moments):
    name = "range_n_sigma"
    options = {"device": None, "dims": "all", "abs": False, "var_mode": "online", "num_sigma": 3}

    def compute(self) -> dict[str, Any]:
        if self.n < 2:
            return {"min": NA, "max": NA, "range": NA, "count": self.n}
        sigma = self.variance(self.var_mode == "precise").double().sqrt()
        lo = (self.mean - self.num_sigma * sigma).float()
        hi = (self.mean + self.num_sigma * sigma).float()
        return {"min": lo, "max": hi, "range": hi - lo, "count": self.n}


class RangeMinMax(Stat):
    name = "range_min_max"
    options = {"device": None, "dims": "all", "abs": False}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n = 0
        self.min: Tensor | None = None
        self.max: Tensor | None = None

    def update(self, t: Tensor, batched: bool, owned: bool = False) -> None:
        s = self._prepare(t, batched)
        reduce = _reduce_dims(s, self.dims)
        if s.numel() == 0:
            return
        lo, hi = torch.aminmax(s, dim=None) if len(reduce) == s.ndim else (s.amin(dim=reduce), s.amax(dim=reduce))
        self.min = lo if self.min is None else torch.minimum(self.min, lo)
        self.max = hi if self.max is None else torch.maximum(self.max, hi)
        self.n += _count(s, reduce)

    def compute(self) -> dict[str, Any]:
        if self.min is None:
            return {"min": NA, "max": NA, "range": NA, "count": 0}
        rng = self.max - self.min if self.n >= 2 else NA
        return {"min": self.min, "max": self.max, "range": rng, "count": self.n}


class AbsMean(Stat):
    name = "abs_mean"
    options = {"device": None, "dims": "all"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n = 0
        self.total: Tensor | None = None

    def update(self, t: Tensor, batched: bool, owned: bool = False) -> None:
        s = self._prepare(t, batched)
        reduce = _reduce_dims(s, self.dims)
        part = s.abs().sum(dim=reduce).double()  # float64 across batches
        self.total = part if self.total is None else self.total + part
        self.n += _count(s, reduce)

    def compute(self) -> dict[str, Any]:
        if self.n < 2:
            return {"abs_mean": NA, "count": self.n}
        return {"abs_mean": (self.total / self.n).float(), "count": self.n}


class Record(Stat):
    name = "record"
    options = {"device": None, "add_new_dim_before_concat": False}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.chunks: list[Tensor] = []
        self.n = 0

    def update(self, t: Tensor, batched: bool, owned: bool = False) -> None:
        s = self._prepare(t, batched, copy=not owned)  # [samples, *sample shape]
        self.n += s.shape[0]
        if self.add_new_dim_before_concat:
            self.chunks.append(s)
        else:
            self.chunks.append(s.flatten(0, 1))  # samples concatenated along their own dim 0

    def data(self) -> Tensor | None:
        if not self.chunks:
            return None
        if len(self.chunks) > 1:
            self.chunks = [torch.cat(self.chunks, dim=0)]
        return self.chunks[0]

    def compute(self) -> dict[str, Any]:
        data = self.data()
        size = 0 if data is None else data.element_size() * data.nelement()
        return {"data": data if data is not None else NA, "count": self.n, "size_in_bytes": size}


def _quantiles(data: Tensor, lo_q: float, hi_q: float) -> tuple[Tensor, Tensor]:
    """torch.quantile's linear interpolation over the last dim, for two levels at once.
    1-D data uses selection (kthvalue) instead of a full sort; it has no size limit either."""
    n = data.shape[-1]
    if data.ndim == 1:
        def pick(q: float) -> Tensor:
            pos = q * (n - 1)
            below = math.floor(pos)
            v_lo = torch.kthvalue(data, below + 1).values
            if pos == below:
                return v_lo
            return torch.lerp(v_lo, torch.kthvalue(data, below + 2).values, pos - below)
        return pick(lo_q), pick(hi_q)
    if data.numel() <= _QUANTILE_LIMIT:
        both = torch.quantile(data, torch.tensor([lo_q, hi_q], dtype=data.dtype), dim=-1)
        return both[0], both[1]
    ordered = data.sort(dim=-1).values
    out = []
    for q in (lo_q, hi_q):
        pos = q * (n - 1)
        below, above = math.floor(pos), math.ceil(pos)
        out.append(torch.lerp(ordered[..., below], ordered[..., above], pos - below))
    return out[0], out[1]


class RangeQuantile(Stat):
    name = "range_quantile"
    options = {"device": None, "abs": False, "dims": "all", "quantile": 0.975}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.chunks: list[Tensor] = []

    def update(self, t: Tensor, batched: bool, owned: bool = False) -> None:
        self.chunks.append(self._prepare(t, batched, copy=not owned))

    def compute(self) -> dict[str, Any]:
        if not self.chunks:
            return {"min": NA, "max": NA, "range": NA, "count": 0}
        s = torch.cat(self.chunks, dim=0)
        self.chunks = [s]
        reduce = _reduce_dims(s, self.dims)
        count = _count(s, reduce)
        if count < 2:
            return {"min": NA, "max": NA, "range": NA, "count": count}
        keep = [d for d in range(s.ndim) if d not in reduce]
        flat = s.permute(*keep, *reduce).reshape(*[s.shape[d] for d in keep], count)
        lo, hi = _quantiles(flat, 1 - self.quantile, self.quantile)
        return {"min": lo, "max": hi, "range": hi - lo, "count": count}


STATS: dict[str, type[Stat]] = {
    cls.name: cls for cls in (Record, VarianceOnline, VariancePrecise, RangeNSigma, RangeMinMax, RangeQuantile, AbsMean)
}


def _check_options(name: str, kwargs: dict[str, Any], where: str) -> None:
    options = STATS[name].options
    for key in kwargs:
        if key not in options:
            close = difflib.get_close_matches(key, list(options), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"options of {name}: {', '.join(options)}"
            raise ConfigError(f"{where}: statistic '{name}' has no option '{key}'", hint=hint)
    dims = kwargs.get("dims", "all")
    if not (dims in ("all", None, NA) or (isinstance(dims, (list, tuple))
                                          and all(isinstance(d, int) and not isinstance(d, bool) for d in dims))):
        raise ConfigError(f"{where}: {name} dims must be \"all\", None or a list of ints, got {dims!r}")
    q = kwargs.get("quantile", 0.975)
    if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0.0 <= q <= 1.0:
        raise ConfigError(f"{where}: {name} quantile must be a number in [0, 1], got {q!r}")
    if kwargs.get("var_mode", "online") not in ("online", "precise"):
        raise ConfigError(f"{where}: {name} var_mode must be \"online\" or \"precise\", got {kwargs['var_mode']!r}")
    sigma = kwargs.get("num_sigma", 3)
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or sigma <= 0:
        raise ConfigError(f"{where}: {name} num_sigma must be a positive number, got {sigma!r}")
    device = kwargs.get("device")
    if device not in (None, NA):
        try:
            torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ConfigError(f"{where}: {name} device {device!r} is not a torch device ({exc})") from None


def create_stat(name: str, kwargs: dict[str, Any] | None = None, where: str = "profile_statistics") -> Stat:
    """A fresh statistic; ConfigError for unknown names or options."""
    if name not in STATS:
        close = difflib.get_close_matches(str(name), list(STATS), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"available: {', '.join(STATS)}"
        raise ConfigError(f"{where}: unknown statistic '{name}'", hint=hint)
    kwargs = dict(kwargs or {})
    _check_options(name, kwargs, where)
    if kwargs.get("dims") == NA:
        kwargs["dims"] = None
    if isinstance(kwargs.get("dims"), tuple):
        kwargs["dims"] = list(kwargs["dims"])
    return STATS[name](**kwargs)


def create_stats(spec: dict[str, Any] | None, where: str) -> list[Stat]:
    if spec is None:
        return []
    if not isinstance(spec, dict):
        raise ConfigError(f"{where} must be a table of statistic name -> options, got {type(spec).__name__}")
    out = []
    for name, opts in spec.items():
        if opts is not None and not isinstance(opts, dict):
            raise ConfigError(f"{where}: options of '{name}' must be a table, got {opts!r}")
        out.append(create_stat(name, opts, where))
    return out


def merged_export(stats: Sequence[Stat]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for stat in stats:
        out.update(stat.export())
    return out
