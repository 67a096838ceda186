"""Batch loaders over in-memory tensors and over generated batches.

A torch DataLoader over a TensorDataset indexes and collates sample by sample, which costs more
than a whole jsc-toy training step; slicing whole batches keeps the data out of the way.
Both loaders are seeded: the k-th pass over a shuffled loader always yields the same batches.
"""

from __future__ import annotations

import math
from typing import Callable, Iterator

import torch


class TensorBatchLoader:
    """Iterates ``(x, y)`` batches of two tensors; reshuffles each pass when ``shuffle``."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, *, shuffle: bool = False,
                 seed: int = 0, drop_last: bool = False) -> None:
        self.x = x
        self.y = y
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.passes = 0

    @property
    def num_samples(self) -> int:
        return len(self.x)

    @property
    def dataset(self) -> torch.utils.data.TensorDataset:
        return torch.utils.data.TensorDataset(self.x, self.y)

    def __len__(self) -> int:
        n = len(self.x) / self.batch_size
        return math.floor(n) if self.drop_last else math.ceil(n)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.x)
        stop = len(self) * self.batch_size
        if self.shuffle:
            gen = torch.Generator().manual_seed(mix_seed(self.seed, self.passes))
            self.passes += 1
            order = torch.randperm(n, generator=gen)
            for start in range(0, min(stop, n), self.batch_size):
                idx = order[start:start + self.batch_size]
                yield self.x.index_select(0, idx), self.y.index_select(0, idx)
        else:
            for start in range(0, min(stop, n), self.batch_size):
                yield self.x[start:start + self.batch_size], self.y[start:start + self.batch_size]


def mix_seed(*parts: int) -> int:
    """Combine integers into one generator seed (fits torch's signed 64-bit seeds)."""
    value = 0x9E3779B9
    for part in parts:
        value = (value * 1_000_003 + int(part)) % (2**63 - 1)
    return value


BatchFn = Callable[[torch.Generator, int], "tuple[torch.Tensor, torch.Tensor]"]


class GeneratedBatchLoader:
    """Makes each batch on demand with ``make_batch(generator, size)``.

    Batch ``b`` of pass ``p`` is generated from its own seed, so nothing is held in memory
    (ResNet-18 inputs are 600 KB a sample) and every run sees the same numbers. A training
    loader (``fresh_each_pass``) draws new samples each pass; evaluation loaders repeat theirs.
    """

    def __init__(self, make_batch: BatchFn, num_samples: int, batch_size: int, *, seed: int,
                 fresh_each_pass: bool = False) -> None:
        self.make_batch = make_batch
        self._num_samples = int(num_samples)
        self.batch_size = int(batch_size)
        self.seed = seed
        self.fresh_each_pass = fresh_each_pass
        self.passes = 0

    @property
    def num_samples(self) -> int:
        return self._num_samples

    def __len__(self) -> int:
        return math.ceil(self._num_samples / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        pass_index = self.passes if self.fresh_each_pass else 0
        self.passes += 1
        for b, start in enumerate(range(0, self._num_samples, self.batch_size)):
            size = min(self.batch_size, self._num_samples - start)
            gen = torch.Generator().manual_seed(mix_seed(self.seed, pass_index, b))
            yield self.make_batch(gen, size)
