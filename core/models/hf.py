"""Hugging Face transformers models built from configs with random weights (nothing downloads).

Needs the optional extra ``hf`` (``pip install -e .[hf]``). Every model is built with
``use_cache=False`` (no key/value cache object among the outputs) and SDPA attention, so an
exported graph returns plain tensors and has one ``scaled_dot_product_attention`` node per
layer. ``llama_7b`` has the Llama-2-7B shape (6,738,415,616 parameters); the zoo builds it on
the meta device (no weight memory).
"""

from __future__ import annotations

from typing import Any

from core.errors import ModelError

TINY_VOCAB = 512


def _transformers():
    try:
        import transformers
    except ImportError:
        raise ModelError("this model needs Hugging Face transformers",
                         hint="install the optional extra: pip install -e '.[hf]'") from None
    return transformers


def bert_tiny(num_labels: int = 2, vocab_size: int = TINY_VOCAB):
    """BertForSequenceClassification: hidden 64, 2 layers, 2 heads, intermediate 128."""
    tf = _transformers()
    config = tf.BertConfig(vocab_size=vocab_size, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=128, max_position_embeddings=512, num_labels=num_labels,
                           hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return tf.BertForSequenceClassification(config)


def gpt2_tiny(vocab_size: int = TINY_VOCAB):
    """GPT2LMHeadModel: n_embd 64, 2 layers, 2 heads (its projections are Conv1D = addmm)."""
    tf = _transformers()
    config = tf.GPT2Config(vocab_size=vocab_size, n_embd=64, n_layer=2, n_head=2, n_positions=512,
                           bos_token_id=vocab_size - 1, eos_token_id=vocab_size - 1,
                           use_cache=False, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    return tf.GPT2LMHeadModel(config)


def vit_tiny(num_labels: int = 10, image_size: int = 32):
    """ViTForImageClassification: hidden 64, 2 layers, 2 heads, 3x32x32 images, patch 8."""
    tf = _transformers()
    config = tf.ViTConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128,
                          image_size=image_size, patch_size=8, num_channels=3, num_labels=num_labels,
                          hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return tf.ViTForImageClassification(config)


def llama_tiny(vocab_size: int = TINY_VOCAB):
    """LlamaForCausalLM: hidden 64, 2 layers, 4 heads / 2 key-value heads, intermediate 128."""
    tf = _transformers()
    config = tf.LlamaConfig(vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                            use_cache=False)
    return tf.LlamaForCausalLM(config)


def llama_7b():
    """LlamaForCausalLM with the Llama-2-7B shape: hidden 4096, intermediate 11008, 32 layers,
    32 heads, vocabulary 32000 (6,738,415,616 parameters). Build it on the meta device."""
    tf = _transformers()
    config = tf.LlamaConfig(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                            num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=4096,
                            use_cache=False)
    return tf.LlamaForCausalLM(config)


def config_inputs(model) -> dict[str, Any]:
    """What a Hugging Face model's config says about its input: ``{"kind": "tokens",
    "vocab_size": V}`` or ``{"kind": "image", "shape": (C, H, W)}``; empty for other models."""
    config = getattr(model, "config", None)
    if config is None:
        return {}
    image = getattr(config, "image_size", None)
    if image is not None and getattr(config, "num_channels", None):
        side = image if isinstance(image, int) else image[0]
        return {"kind": "image", "shape": (int(config.num_channels), int(side), int(side))}
    vocab = getattr(config, "vocab_size", None)
    if vocab:
        return {"kind": "tokens", "vocab_size": int(vocab)}
    return {}
