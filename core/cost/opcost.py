"""What a cost rule returns: MAC blocks with their operands, and elementwise FLOPs."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.cost.bits import is_tensor_entry


class MissingShape(KeyError):
    """A rule needs a tensor entry the metadata does not have."""


@dataclass(frozen=True)
class MacPart:
    """One multiply-accumulate block: ``macs`` MACs with accumulation depth ``fan_in`` whose
    operands are the tensors named ``a`` and ``b`` in the node's args."""

    macs: int
    fan_in: int
    a: str
    b: str


@dataclass
class OpCost:
    mac_parts: list[MacPart] = field(default_factory=list)
    elementwise: int = 0
    detail: str = ""

    @property
    def macs(self) -> int:
        return sum(p.macs for p in self.mac_parts)


def shape_of(args: dict, name: str) -> list[int]:
    """The shape of tensor entry ``name``, or MissingShape."""
    entry = args.get(name)
    if not is_tensor_entry(entry):
        raise MissingShape(name)
    return [int(d) for d in entry["shape"]]
