"""MACs of ``torch.einsum`` from its equation and operand shapes, contracted as torch does.

torch (ATen ``einsum``) contracts the operands pairwise, left to right (or along opt_einsum's
path when that package is installed and enabled). Before each pair, a label that only one
operand has and that neither the output nor a later operand needs is summed out of it; the pair
is then one ``bmm`` over every label either operand still has (MACs = the product of their
sizes) when they share a label to sum over, and a broadcast multiply (no MACs) when they do
not. A size-1 dimension broadcasts, so it counts as absent. Summing out and multiplying are
elementwise FLOPs. This reproduces FlopCounterMode's count (it sees the ``bmm``s).
"""

from __future__ import annotations

import math
import string

_SPARE_LABELS = string.ascii_uppercase + string.ascii_lowercase


def parse_equation(equation: str, ndims: list[int]) -> tuple[list[str], str]:
    """(labels of each operand, output labels); ``...`` is expanded into fresh labels, and an
    implicit output is every label used once, in alphabetical order, after the ellipsis."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(f"einsum equation {equation!r} has {len(terms)} operands, metadata {len(ndims)}")
    used = set(equation.replace("...", "").replace(",", "").replace("-", "").replace(">", ""))
    spare = [c for c in _SPARE_LABELS if c not in used]
    max_ellipsis = max((nd - len(t.replace("...", "")) for t, nd in zip(terms, ndims, strict=True) if "..." in t),
                       default=0)
    ellipsis = "".join(spare[:max_ellipsis])
    operands = []
    for term, nd in zip(terms, ndims, strict=True):
        if "..." in term:
            n = nd - len(term.replace("...", ""))
            term = term.replace("...", ellipsis[max_ellipsis - n:] if n else "")
        if len(term) != nd:
            raise ValueError(f"einsum term {term!r} does not match a {nd}-D operand")
        operands.append(term)
    if arrow:
        output = rhs.replace("...", ellipsis)
    else:
        counts: dict[str, int] = {}
        for term in operands:
            for c in term:
                counts[c] = counts.get(c, 0) + 1
        output = ellipsis + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ellipsis))
    return operands, output


def einsum_cost(equation: str, shapes: list[list[int]]) -> tuple[int, int, int]:
    """(MACs, elementwise FLOPs, accumulation depth of the largest contraction)."""
    operands, output = parse_equation(equation, [len(s) for s in shapes])
    sizes: dict[str, int] = {}
    present: list[set[str]] = []
    for term, shape in zip(operands, shapes, strict=True):
        labels = set()
        for label, dim in zip(term, shape, strict=True):
            dim = int(dim)
            sizes[label] = max(sizes.get(label, 1), dim)
            if dim != 1:
                labels.add(label)
        present.append(labels)
    out_labels = set(output)

    def numel(labels: set[str]) -> int:
        return math.prod(sizes[c] for c in labels)

    macs = elementwise = fan_in = 0
    if len(present) == 1:
        (only,) = present
        return 0, (numel(only) if only - out_labels else 0), 0
    order, result_first = _contraction_order(equation, shapes, len(present))
    ops = list(present)
    for i, j in order:
        a, b = ops[i], ops[j]
        rest = [ops[k] for k in range(len(ops)) if k not in (i, j)]
        later = out_labels.union(*rest) if rest else set(out_labels)
        only_a = {c for c in a - b if c not in later}
        only_b = {c for c in b - a if c not in later}
        if only_a:
            elementwise += numel(a)
            a = a - only_a
        if only_b:
            elementwise += numel(b)
            b = b - only_b
        summed = {c for c in a & b if c not in later}
        if summed:
            macs += numel(a | b)
            fan_in = max(fan_in, numel(summed))
        else:
            elementwise += numel(a | b)
        result = (a | b) - summed
        ops = [ops[k] for k in range(len(ops)) if k not in (i, j)]
        if result_first:
            ops.insert(0, result)
        else:
            ops.append(result)
    final = ops[0]
    if final - out_labels:
        elementwise += numel(final)
    return macs, elementwise, fan_in


def _contraction_order(equation: str, shapes: list[list[int]], n: int) -> tuple[list[tuple[int, int]], bool]:
    """(pairs to contract, whether each result goes first): torch's default is always the first
    two operands with the result kept first; opt_einsum's pairs append the result."""
    if n > 2:
        path = _opt_einsum_path(equation, shapes)
        if path is not None:
            return path, False
    return [(0, 1)] * (n - 1), True


def _opt_einsum_path(equation: str, shapes: list[list[int]]) -> list[tuple[int, int]] | None:
    """opt_einsum's pairs (operands removed, result appended), as torch uses them when the
    package is installed and ``torch.backends.opt_einsum`` is enabled."""
    try:
        import torch.backends.opt_einsum as backend
    except ImportError:  # pragma: no cover
        return None
    if not (backend.is_available() and backend.enabled):
        return None
    import opt_einsum

    path, _ = opt_einsum.contract_path(equation, *[tuple(int(d) for d in s) for s in shapes], shapes=True,
                                       optimize=backend.strategy)
    return [tuple(sorted(p)) for p in path]
