"""InputGenerator: batches as dicts keyed by a graph's placeholder names (MASE's ``dummy_in``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Iterator

from core.errors import DataError

if TYPE_CHECKING:
    import torch


class InputGenerator:
    """``next(gen)`` gives ``{placeholder_name: input_batch}`` from one split of a data module.

    With ``cycle`` the split restarts when it runs out, so a profiler can draw any number of
    batches; without it iteration stops after one pass (or after ``max_batches``).
    """

    def __init__(self, datamodule, split: str = "train", placeholder_names: Iterable[str] = ("x",),
                 cycle: bool = True, max_batches: int | None = None) -> None:
        names = tuple(placeholder_names)
        if len(names) != 1:
            raise DataError(
                f"the data gives one input per batch but the graph has {len(names)} placeholders ({', '.join(names)})",
                hint="feed such graphs with dicts of your own inputs",
            )
        self.datamodule = datamodule
        self.split = split
        self.placeholder_names = names
        self.cycle = cycle
        self.max_batches = max_batches
        self.batch_size = datamodule.batch_size
        self.dataloader = datamodule.dataloader(split, shuffle=False)
        self._iterator: Iterator | None = None
        self.batches_drawn = 0

    def __iter__(self) -> "InputGenerator":
        return self

    def __next__(self) -> dict[str, torch.Tensor]:
        if self.max_batches is not None and self.batches_drawn >= self.max_batches:
            raise StopIteration
        if self._iterator is None:
            self._iterator = iter(self.dataloader)
        try:
            inputs, _labels = next(self._iterator)
        except StopIteration:
            if not self.cycle:
                raise
            self._iterator = iter(self.dataloader)
            try:
                inputs, _labels = next(self._iterator)
            except StopIteration:
                raise DataError(f"the {self.split} split of {self.datamodule.display_name} is empty") from None
        self.batches_drawn += 1
        return {self.placeholder_names[0]: inputs}
