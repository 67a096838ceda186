"""The model zoo: names, factories and the inputs each model expects.

Kept free of torch imports so front ends can list models before torch is loaded.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from core.errors import ModelError

USER_MODULE_PREFIX = "mase_user_model_"


@dataclass(frozen=True)
class InputSpec:
    """What one sample looks like: ``kind`` is features, image or tokens."""

    name: str
    kind: str
    shape: tuple[int, ...]
    vocab_size: int = 0


@dataclass(frozen=True)
class ModelSpec:
    name: str
    factory: str  # "module:Class"
    description: str
    inputs: tuple[InputSpec, ...]
    dataset: str
    num_classes: int
    kwargs: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"  # "meta" for models too large to hold: built without weight memory
    batch_size: int | None = None  # the dummy batch when the user gives none (None: the default 8)
    extra: str = ""  # the optional dependency group the model needs ("hf": transformers)

    def build(self, **overrides: Any):
        module_name, _, attr = self.factory.partition(":")
        cls = getattr(importlib.import_module(module_name), attr)
        return cls(**{**self.kwargs, **overrides})

    def random_inputs(self, batch: int, seed: int = 0, generator: Any = None) -> dict[str, Any]:
        """A dummy batch keyed by input name: token ids uniform over the vocabulary, everything
        else standard normal. Reproducible from ``seed``; pass ``generator`` to draw several
        batches from one stream."""
        import torch

        gen = generator if generator is not None else torch.Generator().manual_seed(seed)
        out = {}
        for spec in self.inputs:
            if spec.kind == "tokens":
                out[spec.name] = torch.randint(0, spec.vocab_size, (batch, *spec.shape), generator=gen)
            else:
                out[spec.name] = torch.randn((batch, *spec.shape), generator=gen)
        return out


_JSC_IN = (InputSpec("x", "features", (16,)),)

_LM_TOKENS = (InputSpec("input_ids", "tokens", (128,), vocab_size=512),)
# Hugging Face transformers (optional extra "hf"), random weights from configs; see core/models/hf.py
_HF_MODELS = (
    ModelSpec("bert-tiny", "core.models.hf:bert_tiny", "HF BertForSequenceClassification, hidden 64, 2 layers, 128 tokens (torch.export)",
              _LM_TOKENS, "tokens-synthetic", 2, extra="hf"),
    ModelSpec("gpt2-tiny", "core.models.hf:gpt2_tiny", "HF GPT2LMHeadModel, n_embd 64, 2 layers, 128 tokens (torch.export)",
              _LM_TOKENS, "tokens-synthetic", 2, extra="hf"),
    ModelSpec("vit-tiny", "core.models.hf:vit_tiny", "HF ViTForImageClassification, hidden 64, 2 layers, 3x32x32 (torch.export)",
              (InputSpec("pixel_values", "image", (3, 32, 32)),), "cifar-synthetic", 10, extra="hf"),
    ModelSpec("llama-tiny", "core.models.hf:llama_tiny", "HF LlamaForCausalLM, hidden 64, 2 layers, 4/2 heads, 128 tokens (torch.export)",
              _LM_TOKENS, "tokens-synthetic", 2, extra="hf"),
    ModelSpec("llama-7b", "core.models.hf:llama_7b", "HF LlamaForCausalLM, Llama-2-7B shape (6.74B params), 128 tokens, meta device",
              (InputSpec("input_ids", "tokens", (128,), vocab_size=32000),), "tokens-synthetic", 2,
              device="meta", batch_size=1, extra="hf"),
)

MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        ModelSpec("jsc-tiny", "core.models.jsc:JSC_Tiny", "MASE JSC-Tiny: BN, ReLU, Linear(16,5), ReLU (117 params)", _JSC_IN, "jsc", 5),
        ModelSpec("jsc-toy", "core.models.jsc:JSC_Toy", "MASE JSC-Toy: 3 Linear/BN/ReLU blocks (327 params)", _JSC_IN, "jsc", 5),
        ModelSpec("jsc-s", "core.models.jsc:JSC_S", "MASE JSC-S: 16-64-32-32-32-5 LogicNets layers (5,615 params)", _JSC_IN, "jsc", 5),
        ModelSpec("jsc-mlp", "core.models.jsc:JSC_MLP", "hls4ml three-layer model 16-64-32-32-5 (4,389 params)", _JSC_IN, "jsc", 5),
        ModelSpec("toy", "core.models.toy:ToyNet", "MLP over 28x28 images with size/view (MASE ToyNet)", (InputSpec("x", "image", (784,)),), "mnist-synthetic", 10),
        ModelSpec("toy-fn", "core.models.toy:ToyFnNet", "Functional kitchen sink: relu, add/mul/sub, matmul, bmm, conv1d/2d, pooling, constant", (InputSpec("x", "image", (192,)),), "image-synthetic", 10),
        ModelSpec("toy-cnn", "core.models.toy:ToyCNN", "Small CNN: 2 conv/BN/ReLU/pool blocks + linear, 3x32x32", (InputSpec("x", "image", (3, 32, 32)),), "cifar-synthetic", 10),
        ModelSpec("resnet18", "core.models.resnet:ResNet18", "ResNet-18 (torchvision shapes), 3x224x224", (InputSpec("x", "image", (3, 224, 224)),), "imagenet-synthetic", 1000),
        ModelSpec("tiny-transformer", "core.models.transformer:TinyTransformer", "2-layer encoder, attention via bmm/matmul/softmax, 32 tokens", (InputSpec("input_ids", "tokens", (32,), vocab_size=256),), "tokens-synthetic", 2),
        ModelSpec("tiny-transformer-12", "core.models.transformer:TinyTransformer", "12-layer variant of tiny-transformer (benchmarks)", (InputSpec("input_ids", "tokens", (32,), vocab_size=256),), "tokens-synthetic", 2, {"num_layers": 12}),
        *_HF_MODELS,
    ]
}


def list_models() -> list[ModelSpec]:
    return list(MODELS.values())


def get_model_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        known = ", ".join(MODELS)
        raise ModelError(
            f"unknown model '{name}'",
            hint=f"choose one of: {known}; or give path/to/file.py:factory",
        ) from None


def is_user_model_ref(name: str) -> bool:
    return ":" in name and name not in MODELS


def get_model(name: str, **kwargs: Any):
    """Build a zoo model by name, or a user model from ``file.py:factory`` / ``pkg.mod:factory``."""
    if is_user_model_ref(name):
        return load_user_model(name, **kwargs)
    return get_model_spec(name).build(**kwargs)


def load_user_model(ref: str, **kwargs: Any):
    target, _, attr = ref.rpartition(":")
    if not target or not attr:
        raise ModelError(f"bad model reference '{ref}'", hint="write path/to/file.py:factory or package.module:factory")
    module = _import_target(target, ref)
    factory: Callable[..., Any] | None = getattr(module, attr, None)
    if factory is None:
        raise ModelError(f"'{target}' has no attribute '{attr}'", hint="name a function or class that returns an nn.Module")
    try:
        model = factory(**kwargs)
    except Exception as exc:  # the user's code: report it in one line
        raise ModelError(f"calling {ref} failed: {type(exc).__name__}: {exc}") from exc
    import torch

    if not isinstance(model, torch.nn.Module):
        raise ModelError(f"{ref} returned {type(model).__name__}, not a torch.nn.Module")
    return model


def import_module_file(path: str | Path, name: str):
    """Import the file ``path`` as module ``name``, registered in sys.modules so that pickles
    naming its classes resolve. A failing import leaves no half-made module behind."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _import_target(target: str, ref: str):
    if target.endswith(".py") or "/" in target:
        path = Path(target).expanduser()
        if not path.is_file():
            raise ModelError(f"model file not found: {path}", hint="check the path before the ':'")
        # The name must be the same in every process (str hashes are salted per process), so
        # a trusted pickle that names a class from this file can find it again.
        digest = hashlib.sha1(str(path.resolve()).encode("utf-8")).hexdigest()[:16]
        try:
            return import_module_file(path, f"{USER_MODULE_PREFIX}{digest}")
        except Exception as exc:
            raise ModelError(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
    try:
        return importlib.import_module(target)
    except Exception as exc:
        raise ModelError(f"cannot import '{target}' for {ref}: {exc}") from exc
