"""Text histograms of float vs quantised values, and the quantisation error between them.

Plain strings of unicode block characters, so they fit a terminal (80 columns at the default
width), survive copy/paste and need no plotting library. numpy is imported on first use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

BLOCKS = " ▁▂▃▄▅▆▇█"
LABEL_WIDTH = 10


@dataclass(frozen=True)
class QuantError:
    count: int
    max_abs_error: float
    mean_abs_error: float
    sqnr_db: float  # inf when the quantised values equal the float ones

    def describe(self) -> str:
        sqnr = "inf" if math.isinf(self.sqnr_db) else f"{self.sqnr_db:.1f}"
        return (f"max|err| {self.max_abs_error:.3g}  mean|err| {self.mean_abs_error:.3g}  "
                f"SQNR {sqnr} dB")


def _flat(values: Any):
    import numpy as np

    if hasattr(values, "detach"):
        values = values.detach().cpu().float().numpy()
    return np.asarray(values, dtype=np.float64).ravel()


def quant_error(float_values: Any, quant_values: Any) -> QuantError:
    """Max and mean absolute error, and SQNR = 10 log10(sum x^2 / sum (x - q)^2) in dB."""
    import numpy as np

    x, q = _flat(float_values), _flat(quant_values)
    if x.shape != q.shape:
        raise ValueError(f"shapes differ: {x.shape} vs {q.shape}")
    finite = np.isfinite(x) & np.isfinite(q)  # an MX block holding a NaN dequantises to NaN
    x, q = x[finite], q[finite]
    if x.size == 0:
        return QuantError(0, 0.0, 0.0, math.inf)
    err = x - q
    noise = float(np.sum(err * err))
    signal = float(np.sum(x * x))
    if noise == 0.0:
        sqnr = math.inf
    elif signal == 0.0:
        sqnr = -math.inf
    else:
        sqnr = 10.0 * math.log10(signal / noise)
    return QuantError(int(x.size), float(np.max(np.abs(err))), float(np.mean(np.abs(err))), sqnr)


def bin_counts(values: Any, lo: float, hi: float, bins: int) -> list[int]:
    import numpy as np

    x = _flat(values)
    if hi <= lo:
        hi = lo + 1e-12
    counts, _ = np.histogram(np.clip(x, lo, hi), bins=bins, range=(lo, hi))
    return [int(c) for c in counts]


def bar_rows(counts: Sequence[int], height: int) -> list[str]:
    """Vertical bars, top row first, each column one bin, eighth-block resolution."""
    peak = max(counts) if counts else 0
    levels = [0 if peak == 0 else math.ceil(c * height * 8 / peak) for c in counts]
    rows = []
    for row in range(height - 1, -1, -1):
        chars = []
        for level in levels:
            fill = min(8, max(0, level - row * 8))
            chars.append(BLOCKS[fill])
        rows.append("".join(chars))
    return rows


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def axis_line(lo: float, hi: float, bins: int) -> str:
    """The value range under the bars: low end, zero (when inside) and high end."""
    line = [" "] * bins
    left, right = _fmt(lo), _fmt(hi)
    if lo < 0 < hi:
        zero = min(bins - 1, int((0 - lo) / (hi - lo) * bins))
        if len(left) < zero - 1 and zero + 2 < bins - len(right):
            line[zero] = "0"
    line[: len(left)] = list(left)
    line[bins - len(right):] = list(right)
    return "".join(line[:bins])


def compare_histogram(float_values: Any, quant_values: Any, *, width: int = 80,
                      height: int = 3) -> list[str]:
    """Two stacked histograms on one shared value axis: float on top, quantised below.

    Each series is scaled to its own peak (quantised values pile up on the grid), and the peak
    count per bin is written under the label ("13/bin": the tallest bin holds 13 values) so the
    heights can be read as numbers.
    """
    import numpy as np

    x, q = _flat(float_values), _flat(quant_values)
    dropped = int((~np.isfinite(x)).sum() + (~np.isfinite(q)).sum())
    x, q = x[np.isfinite(x)], q[np.isfinite(q)]  # NaN/inf have no place on the value axis
    both = [v for v in (x, q) if v.size]
    if not both:
        return ["(no finite values)" if dropped else "(no values)"]
    lo = float(min(v.min() for v in both))
    hi = float(max(v.max() for v in both))
    bins = max(8, width - LABEL_WIDTH - 1)
    lines: list[str] = []
    for label, values in (("float", x), ("quantised", q)):
        counts = bin_counts(values, lo, hi, bins)
        rows = bar_rows(counts, height)
        peak = f"{max(counts)}/bin" if counts else ""  # the tallest bin's count, not a value
        heads = [label, peak] + [""] * height
        for i, row in enumerate(rows):
            lines.append(f"{heads[i]:<{LABEL_WIDTH}}│{row}")
    lines.append(" " * LABEL_WIDTH + "└" + axis_line(lo, hi, bins))
    if dropped:
        lines.append(f"{dropped} NaN/inf value(s) not drawn")
    return lines
