"""Loading checkpoints into models: ``pt`` (state dict), ``pl`` (Lightning) and ``mz`` (MaseGraph).

``pt`` and ``pl`` files are read with ``torch.load(weights_only=True)``, which only rebuilds
tensors and plain containers. A file that needs arbitrary classes unpickled (a whole pickled
model, a custom object) could run code while loading: it is refused unless the caller passes
``trust=True`` (the CLI's ``--trust-checkpoint``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.errors import CheckpointError

logger = logging.getLogger(__name__)

LOAD_TYPES = ("pt", "pl", "mz")
TRUST_FLAG = "--trust-checkpoint"
_LIGHTNING_PREFIX = "model."
_LIST_LIMIT = 6


class CheckpointMismatchError(CheckpointError):
    """A readable checkpoint whose tensors do not fit the model; the lists are kept for display."""

    def __init__(self, path: Path, missing: list[str], unexpected: list[str],
                 mismatched: list[tuple[str, list[int], list[int]]], hint: str | None = None) -> None:
        self.path = path
        self.missing = missing
        self.unexpected = unexpected
        self.mismatched = mismatched
        parts = []
        if missing:
            parts.append(f"{_count(missing, 'missing key')} ({_names(missing)})")
        if unexpected:
            parts.append(f"{_count(unexpected, 'unexpected key')} ({_names(unexpected)})")
        if mismatched:
            shown = "; ".join(f"{k}: checkpoint {c} vs model {m}" for k, c, m in mismatched[:_LIST_LIMIT])
            more = f"; +{len(mismatched) - _LIST_LIMIT} more" if len(mismatched) > _LIST_LIMIT else ""
            parts.append(f"{_count(mismatched, 'shape mismatch', 'shape mismatches')} ({shown}{more})")
        super().__init__(
            f"checkpoint {path.name} does not fit the model: " + ", ".join(parts),
            hint=hint or "is it a checkpoint of this model? check the model name and --load-type",
        )

    def details(self) -> str:
        """Every difference, one a line, for a dialog or --debug output."""
        lines = [f"missing: {k}" for k in self.missing]
        lines += [f"unexpected: {k}" for k in self.unexpected]
        lines += [f"shape: {k}: checkpoint {c} vs model {m}" for k, c, m in self.mismatched]
        return "\n".join(lines)


def _count(items: list, noun: str, plural: str | None = None) -> str:
    return f"{len(items)} {noun if len(items) == 1 else (plural or noun + 's')}"


def _names(keys: list[str]) -> str:
    shown = ", ".join(keys[:_LIST_LIMIT])
    return shown + (f", +{len(keys) - _LIST_LIMIT} more" if len(keys) > _LIST_LIMIT else "")


def infer_load_type(load_name: str | Path) -> str:
    """Guess from the path: a directory or ``.mz`` is a saved graph, ``.ckpt`` a Lightning
    checkpoint, ``.pt``/``.pth``/``.bin`` or any other existing file a state dict; a path that
    names nothing yet keeps MASE's default, mz (the CLI, the app and transform all ask here)."""
    path = Path(load_name).expanduser()
    suffix = path.suffix.lower()
    if path.is_dir() or suffix == ".mz":
        return "mz"
    if suffix == ".ckpt":
        return "pl"
    if suffix in (".pt", ".pth", ".bin") or path.is_file():
        return "pt"
    return "mz"


def load_model(load_name: str | Path, load_type: str | None, model: Any = None, trust: bool = False) -> Any:
    """Load ``load_name`` into ``model`` (pt/pl; returns the model) or load a saved MaseGraph (mz;
    returns the graph). ``load_type`` None or "auto" guesses from the name (infer_load_type).
    Every failure is a one-line CheckpointError."""
    load_type = (load_type or "auto").lower()
    if load_type == "auto":
        load_type = infer_load_type(load_name)
    if load_type not in LOAD_TYPES:
        hint = "Hugging Face checkpoints are not supported" if load_type == "hf" else f"use one of {', '.join(LOAD_TYPES)}"
        raise CheckpointError(f"unknown load type '{load_type}'", hint=hint)
    path = Path(load_name).expanduser()
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}", hint="check the --load path")
    if load_type == "mz":
        return _load_mz(path, trust)
    if model is None:
        raise CheckpointError(f"a {load_type} checkpoint holds weights only and needs a model to load into")
    if path.is_dir():
        raise CheckpointError(f"{path} is a directory", hint="give the checkpoint file, or use --load-type mz for a saved graph")
    obj = read_checkpoint(path, trust=trust)
    if load_type == "pl":
        if not path.name.endswith(".ckpt"):
            logger.info("%s does not end in .ckpt; loading it as a Lightning checkpoint anyway", path.name)
        state = _pl_state_dict(obj, path, model)
        _load_into(model, state, path)
        logger.info("Loaded pytorch lightning checkpoint from %s", path)
    else:
        state = _pt_state_dict(obj, path)
        hint = None
        if state and all(k.startswith(_LIGHTNING_PREFIX) for k in state):
            hint = "its keys start with 'model.', as in a Lightning checkpoint: use --load-type pl"
        _load_into(model, state, path, hint)
        logger.info("Loaded pytorch checkpoint from %s", path)
    return model


def read_checkpoint(path: Path, trust: bool = False) -> Any:
    """``torch.load`` with weights_only=True; pickled code is refused unless ``trust``."""
    import pickle

    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(exc))
        if found is None:
            raise CheckpointError(f"cannot read checkpoint {path}: the file is corrupt or not a torch checkpoint") from exc
        if not trust:
            raise CheckpointError(
                f"checkpoint {path.name} contains pickled Python objects ({found.group(1)}), and unpickling "
                "them can run arbitrary code, so it was not loaded",
                hint=f"if you trust where the file came from, rerun with {TRUST_FLAG}",
            ) from exc
        logger.warning("loading %s with full unpickling because it was trusted explicitly", path)
        try:
            return torch.load(path, map_location="cpu", weights_only=False)
        except Exception as inner:  # the file's own code failed: report it, do not crash
            raise CheckpointError(f"cannot unpickle trusted checkpoint {path.name}: {type(inner).__name__}: {inner}") from inner
    except Exception as exc:  # torch raises RuntimeError, EOFError, KeyError ... for a bad file
        raise CheckpointError(
            f"cannot read checkpoint {path}: the file is corrupt or not a torch checkpoint ({type(exc).__name__})"
        ) from exc


def _tensor_map(obj: Any, path: Path, what: str) -> dict[str, Any]:
    import torch

    if isinstance(obj, torch.nn.Module):  # only reachable for trusted files
        return dict(obj.state_dict())
    if not isinstance(obj, Mapping) or not obj:
        raise CheckpointError(f"{path.name} holds a {type(obj).__name__}, not a {what}")
    bad = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"{path.name}: entries {_names([str(k) for k in bad])} are not tensors", hint=f"expected a {what}")
    return dict(obj)


def _pt_state_dict(obj: Any, path: Path) -> dict[str, Any]:
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    return _tensor_map(obj, path, "state dict")


def _pl_state_dict(obj: Any, path: Path, model: Any) -> dict[str, Any]:
    if not isinstance(obj, Mapping) or not isinstance(obj.get("state_dict"), Mapping):
        raise CheckpointError(f"{path.name} is not a Lightning checkpoint (no 'state_dict' entry)", hint="try --load-type pt")
    raw = _tensor_map(obj["state_dict"], path, "state dict")
    own = set(model.state_dict())
    state: dict[str, Any] = {}
    for key, value in raw.items():
        if _LIGHTNING_PREFIX in key:
            state[key.split(".", 1)[1]] = value  # MASE strips the wrapper's first component
        elif key in own:
            state[key] = value
        else:
            # Other wrapper attributes (metrics, loss modules) are not part of the model, as in MASE.
            logger.debug("ignoring %s from %s: not a model entry", key, path.name)
    return state


def _load_into(model: Any, state: dict[str, Any], path: Path, hint: str | None = None) -> None:
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [(k, list(state[k].shape), list(own[k].shape))
                  for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or mismatched:
        raise CheckpointMismatchError(path, missing, unexpected, mismatched, hint)
    model.load_state_dict(state, strict=True)


def _load_mz(path: Path, trust: bool) -> Any:
    try:
        from core.passes.interface.save_load import load_mase_graph
    except ImportError as exc:
        raise CheckpointError("loading saved MaseGraphs (--load-type mz) is not available in this build") from exc
    return load_mase_graph(path, trust=trust)
