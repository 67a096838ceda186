"""Generated inputs for the zoo's image and token models, with a class structure to learn.

Images: each class has a fixed random low-resolution prototype; a sample is its class prototype
(upsampled to full size) plus Gaussian noise. Tokens: a sample of class c draws most of its
tokens from the c-th slice of the vocabulary and the rest uniformly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

PROTOTYPE_SIDE = 8          # prototypes are at most 8x8: large images are upsampled per batch
IMAGE_SIGNAL = 0.5          # prototype amplitude against unit noise
TOKEN_CLASS_SHARE = 0.6     # share of a sample's tokens that come from its class's slice


class ImageBatches:
    """``make_batch`` for image data sets: ``(images [B, *shape], labels [B])``."""

    def __init__(self, shape: tuple[int, ...], num_classes: int, seed: int) -> None:
        self.shape = tuple(shape)
        self.num_classes = num_classes
        gen = torch.Generator().manual_seed(seed)
        if len(self.shape) == 3:
            c, h, w = self.shape
            self._proto_shape = (c, min(h, PROTOTYPE_SIDE), min(w, PROTOTYPE_SIDE))
        else:
            self._proto_shape = self.shape
        self.prototypes = torch.randn((num_classes, *self._proto_shape), generator=gen)

    def __call__(self, gen: torch.Generator, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.randint(0, self.num_classes, (size,), generator=gen)
        signal = self.prototypes.index_select(0, labels)
        if len(self.shape) == 3 and signal.shape[-2:] != self.shape[-2:]:
            signal = F.interpolate(signal, size=self.shape[-2:], mode="nearest")
        noise = torch.randn((size, *self.shape), generator=gen)
        return IMAGE_SIGNAL * signal + noise, labels


class TokenBatches:
    """``make_batch`` for token data sets: ``(ids [B, T] int64, labels [B])``."""

    def __init__(self, length: int, vocab_size: int, num_classes: int) -> None:
        self.length = length
        self.vocab_size = vocab_size
        self.num_classes = num_classes
        self.slice = vocab_size // num_classes

    def __call__(self, gen: torch.Generator, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.randint(0, self.num_classes, (size,), generator=gen)
        in_slice = torch.randint(0, self.slice, (size, self.length), generator=gen) + labels[:, None] * self.slice
        uniform = torch.randint(0, self.vocab_size, (size, self.length), generator=gen)
        from_class = torch.rand((size, self.length), generator=gen) < TOKEN_CLASS_SHARE
        return torch.where(from_class, in_slice, uniform), labels
