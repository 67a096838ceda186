"""The generated data sets for the image and token models: names, shapes, sizes.

Kept free of torch imports so front ends can list data sets before torch is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GeneratedSpec:
    name: str
    kind: str                       # "image" or "tokens"
    shape: tuple[int, ...]          # one sample, without the batch dimension
    num_classes: int
    description: str
    sizes: tuple[int, int, int]     # train, validation, test samples
    vocab_size: int = 0


GENERATED: dict[str, GeneratedSpec] = {
    s.name: s
    for s in [
        GeneratedSpec("mnist-synthetic", "image", (1, 28, 28), 10,
                      "synthetic 28x28 grey images, 10 classes (for toy)", (4096, 512, 1024)),
        GeneratedSpec("image-synthetic", "image", (192,), 10,
                      "synthetic flattened 3x8x8 images, 10 classes (for toy-fn)", (4096, 512, 1024)),
        GeneratedSpec("cifar-synthetic", "image", (3, 32, 32), 10,
                      "synthetic 3x32x32 images, 10 classes (for toy-cnn)", (4096, 512, 1024)),
        GeneratedSpec("imagenet-synthetic", "image", (3, 224, 224), 1000,
                      "synthetic 3x224x224 images, 1000 classes, made per batch (for resnet18)", (512, 128, 128)),
        GeneratedSpec("tokens-synthetic", "tokens", (32,), 2,
                      "synthetic 32-token sequences over 256 ids, 2 classes (for tiny-transformer)",
                      (4096, 512, 1024), vocab_size=256),
    ]
}
