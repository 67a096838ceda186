"""The meta device: models with shapes but no weights (a 7B Llama in a few hundred MB).

Everything that needs only shapes works on such a graph (metadata from the export's fake
values, reports, cost, quantisation as a plan). Whatever needs real values says so clearly.
"""

from __future__ import annotations

from core.errors import PassError


def on_meta(graph_or_model) -> bool:
    """True when the model's parameters or buffers live on the meta device."""
    model = getattr(graph_or_model, "model", graph_or_model)
    for tensor in _first_tensors(model):
        return tensor.device.type == "meta"
    return False


def _first_tensors(model):
    yield from model.parameters()
    yield from model.buffers()


def require_real_weights(graph_or_model, what: str) -> None:
    """Raise one clear line when ``what`` (a pass, an evaluation) would need real weights."""
    if on_meta(graph_or_model):
        raise PassError(f"{what} needs real weights and real data, but the model is on the meta device "
                        "(shapes only)", hint="run it on a model built without --device meta")
