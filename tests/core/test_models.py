"""ModelSpec.random_inputs: the dummy batch tests and benchmarks build graphs from."""

from __future__ import annotations

import torch

from core.models import get_model_spec


def test_random_inputs_follow_the_spec_and_the_seed():
    images = get_model_spec("toy-cnn").random_inputs(3)
    assert list(images) == ["x"]
    assert images["x"].shape == (3, 3, 32, 32) and images["x"].dtype == torch.float32
    tokens = get_model_spec("tiny-transformer").random_inputs(2, seed=5)
    ids = tokens["input_ids"]
    assert ids.shape == (2, 32) and ids.dtype == torch.int64
    assert 0 <= ids.min() and ids.max() < 256
    assert torch.equal(ids, get_model_spec("tiny-transformer").random_inputs(2, seed=5)["input_ids"])
    assert not torch.equal(ids, get_model_spec("tiny-transformer").random_inputs(2, seed=6)["input_ids"])
    # the same draw as a Generator seeded by hand
    gen = torch.Generator().manual_seed(0)
    assert torch.equal(get_model_spec("jsc-tiny").random_inputs(4)["x"], torch.randn((4, 16), generator=gen))


def test_one_generator_gives_successive_batches():
    gen = torch.Generator().manual_seed(1)
    spec = get_model_spec("jsc-toy")
    first, second = spec.random_inputs(2, generator=gen), spec.random_inputs(2, generator=gen)
    both = torch.randn((4, 16), generator=torch.Generator().manual_seed(1))
    assert torch.equal(torch.cat([first["x"], second["x"]]), both)
