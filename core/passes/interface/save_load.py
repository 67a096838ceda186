"""Save and load a MaseGraph: graph, weights and metadata, without unpickling code by default.

A saved graph is a directory:

- ``manifest.json``: format and version, torch version, model class, node count, and what in
  the save (if anything) can only be loaded by trusting the file;
- ``graph.json``: the fx nodes (targets as allow-listed names such as ``"operator:add"``,
  arguments in tagged JSON) and the module tree (each called module as class + constructor
  kwargs; containers as plain holders so qualified names match);
- ``state_dict.pt`` (parameters and persistent buffers), ``extra_tensors.pt`` (non-persistent
  buffers and tensor attributes) and ``meta_tensors.pt`` (tensors named by the JSON files), all
  read with ``torch.load(weights_only=True)``;
- ``node_meta_param.json``: every node's ``parameters`` (common/software/hardware) and the
  graph-level metadata, in tagged JSON, so dtypes, tuples and tensors come back as themselves;
- ``untrusted_modules.pt`` (only when needed): modules, functions and values that cannot be
  described by name, pickled; ``load_mase_graph`` refuses them unless ``trust=True``.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from core.errors import CheckpointError
from core.ir.graph import MaseGraph
from core.ir.metadata import MaseMetadata
from core.passes.interface.graph_codec import describe_graph, rebuild_graph_module, verify_runs
from core.passes.interface.tagged_json import Decoder, Encoder, UntrustedReference
from core.passes.schema import Arg, mase_pass
from core.utils.atomic import atomic_dir

logger = logging.getLogger(__name__)

FORMAT = "mase-tui-graph"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
GRAPH = "graph.json"
META = "node_meta_param.json"
STATE = "state_dict.pt"
EXTRA = "extra_tensors.pt"
META_TENSORS = "meta_tensors.pt"
UNTRUSTED = "untrusted_modules.pt"
TRUST_HINT = "load it only if you trust where it came from: --trust-checkpoint (trust=True)"


def save_mase_graph(graph: MaseGraph, directory: str | Path) -> dict[str, Any]:
    """Write ``graph`` to ``directory`` (replaced atomically). Returns what was written."""
    directory = Path(directory).expanduser().resolve()
    _check_target(directory)
    gm = graph.model
    enc = Encoder()
    graph_doc, extra_tensors, untrusted_modules = describe_graph(graph, enc)
    meta_doc = _describe_metadata(graph, enc)
    state = {k: v.detach() for k, v in gm.state_dict().items()}
    untrusted = [f"module {path}: {why}" for path, (_, why) in untrusted_modules.items()] + enc.reasons
    files = [MANIFEST, GRAPH, META, STATE, EXTRA, META_TENSORS] + ([UNTRUSTED] if untrusted else [])
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "torch_version": torch.__version__,
        "model_class": graph_doc["class_name"],
        "node_count": len(graph_doc["nodes"]),
        "state_dict_keys": len(state),
        "files": files,
        "untrusted": untrusted,
        "user_model_files": _user_model_files(list(untrusted_modules.values()), enc.untrusted.values()),
    }
    with atomic_dir(directory) as tmp:
        _write_json(tmp / GRAPH, graph_doc)
        _write_json(tmp / META, meta_doc)
        torch.save(state, tmp / STATE)
        torch.save(extra_tensors, tmp / EXTRA)
        torch.save(enc.tensors, tmp / META_TENSORS)
        if untrusted:
            blob = {"modules": {p: m for p, (m, _) in untrusted_modules.items()}, "objects": enc.untrusted}
            try:
                torch.save(blob, tmp / UNTRUSTED)
            except Exception as exc:
                raise CheckpointError(
                    f"cannot save the graph: {untrusted[0]} and it cannot be pickled ({type(exc).__name__}: {exc})",
                    hint="register the module as a leaf from an importable file, or use torch.nn modules",
                ) from exc
        _write_json(tmp / MANIFEST, manifest)
    if untrusted:
        logger.warning("saved graph %s needs --trust-checkpoint to load: %s", directory, "; ".join(untrusted))
    logger.info("Saved mase graph to %s", directory)
    return {"save_dir": str(directory), "files": files, "nodes": manifest["node_count"],
            "state_dict_keys": len(state), "untrusted": untrusted}


def load_mase_graph(directory: str | Path, trust: bool = False) -> MaseGraph:
    """Read a graph written by ``save_mase_graph``. CheckpointError if it is missing, corrupt,
    does not run, or needs unpickling that ``trust`` does not allow."""
    graph, _ = _load(directory, trust)
    return graph


@mase_pass(
    "save_mase_graph_interface_pass",
    kind="interface",
    doc="Save graph, weights and metadata (no code is pickled)",
    args=[Arg("save_dir", "path", None, "directory to write", required=True, output="saved_graph")],
)
def save_mase_graph_interface_pass(graph, pass_args=None):
    """MASE's signature: ``pass_args`` is the directory, or ``{"save_dir": directory}``."""
    save_dir = pass_args.get("save_dir") if isinstance(pass_args, dict) else pass_args
    if not save_dir:
        raise CheckpointError("save_mase_graph needs a directory", hint='pass {"save_dir": "path/to/dir"}')
    return graph, save_mase_graph(graph, save_dir)


@mase_pass(
    "load_mase_graph_interface_pass",
    kind="interface",
    doc="Load a graph saved by save_mase_graph",
    args=[
        Arg("load_dir", "path", None, "directory to read", required=True),
        Arg("trust", "bool", None, "allow unpickling the modules the save could not describe (only for saves "
            "you trust; default: the session's --trust-checkpoint)", supplied="trust_checkpoint"),
    ],
    changes_graph=True,
)
def load_mase_graph_interface_pass(graph=None, pass_args=None):
    """Returns the loaded graph (the ``graph`` argument is only there for MASE's signature)."""
    args = pass_args if isinstance(pass_args, dict) else {"load_dir": pass_args}
    load_dir = args.get("load_dir")
    if not load_dir:
        raise CheckpointError("load_mase_graph needs a directory", hint='pass {"load_dir": "path/to/dir"}')
    return _load(load_dir, bool(args.get("trust", False)))


# --------------------------------------------------------------------------- internals


def _user_model_files(modules, objects) -> dict[str, str]:
    """Model files loaded by path (``file.py:factory``) that untrusted pickles name classes or
    functions from: a trusted load imports them again under the same module name."""
    from core.models.registry import USER_MODULE_PREFIX

    found = {}
    things = [m for m, _ in modules] + list(objects)
    for obj in things:
        is_named = isinstance(obj, type) or (callable(obj) and hasattr(obj, "__qualname__"))
        name = obj.__module__ if is_named else type(obj).__module__
        module = sys.modules.get(name or "")
        if name and name.startswith(USER_MODULE_PREFIX) and getattr(module, "__file__", None):
            found[name] = str(Path(module.__file__).resolve())
    return found


def _import_user_model_files(files: dict[str, str]) -> None:
    from core.models.registry import USER_MODULE_PREFIX, import_module_file

    for name, file in files.items():
        if name in sys.modules or not name.startswith(USER_MODULE_PREFIX) or not Path(file).is_file():
            continue
        try:
            import_module_file(file, name)
        except Exception as exc:
            raise CheckpointError(f"importing {file} for the saved graph failed: {type(exc).__name__}: {exc}",
                                  hint="the model file the graph was saved from must still work") from exc


def _check_target(directory: Path) -> None:
    """The save replaces the whole directory, so only ever replace an earlier save."""
    if directory.is_file():
        raise CheckpointError(f"cannot save the graph to {directory}: it is a file",
                              hint="give a directory path (it is created)")
    if directory.is_dir() and any(directory.iterdir()):
        try:
            manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise CheckpointError(
                f"cannot save the graph to {directory}: it holds other files, which the save would replace",
                hint="choose a new or empty directory")


def _describe_metadata(graph: MaseGraph, enc: Encoder) -> dict[str, Any]:
    nodes = {}
    for node in graph.fx_graph.nodes:
        meta = node.meta.get("mase")
        if isinstance(meta, MaseMetadata):
            nodes[node.name] = enc.encode(meta.parameters, f"metadata of {node.name}")
    graph_meta = graph.meta.get("mase") if isinstance(getattr(graph, "meta", None), dict) else None
    encoded_graph = enc.encode(graph_meta.parameters, "graph metadata") if graph_meta is not None else None
    return {"graph": encoded_graph, "nodes": nodes}


def _write_json(path: Path, doc: Any) -> None:
    try:
        text = json.dumps(doc, indent=1, allow_nan=False)
    except (TypeError, ValueError) as exc:  # a codec bug, not a user error
        raise CheckpointError(f"cannot write {path.name}: {exc}") from exc
    path.write_text(text + "\n", encoding="utf-8")


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise CheckpointError(f"{path.parent} is not a complete saved graph: {path.name} is missing",
                              hint="save it again with save_mase_graph / `save_mase_graph_interface_pass`")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} is corrupt: {exc}", hint="save the graph again") from exc


def _load_tensors(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise CheckpointError(f"{path.parent} is not a complete saved graph: {path.name} is missing",
                              hint="save it again with save_mase_graph")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path} cannot be read as tensors only: {type(exc).__name__}: {_first_line(exc)}",
                              hint="the file is corrupt or was not written by save_mase_graph") from exc
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} does not hold a dict of tensors", hint="save the graph again")
    return data


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else ""


def _load(directory: str | Path, trust: bool) -> tuple[MaseGraph, dict[str, Any]]:
    path = Path(directory).expanduser()
    if path.is_file():  # MASE accepts a file inside the directory
        path = path.parent
    if not path.is_dir():
        raise CheckpointError(f"no saved graph at {path}", hint="give the directory written by save_mase_graph")
    manifest = _read_json(path / MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a saved mase-tui graph (manifest format is {manifest.get('format')!r})"
                              if isinstance(manifest, dict) else f"{path}/manifest.json is corrupt")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path} uses save format {manifest.get('format_version')}, this build reads {FORMAT_VERSION}",
                              hint="save it again with this version of mase-tui")
    untrusted = manifest.get("untrusted") or []
    if untrusted and not trust:
        more = f" (and {len(untrusted) - 1} more)" if len(untrusted) > 1 else ""
        raise CheckpointError(f"{path} holds code that would be unpickled to load it: {untrusted[0]}{more}",
                              hint=TRUST_HINT)
    graph_doc = _read_json(path / GRAPH)
    meta_doc = _read_json(path / META)
    state = _load_tensors(path / STATE)
    extra = _load_tensors(path / EXTRA)
    meta_tensors = _load_tensors(path / META_TENSORS)
    modules, objects = ({}, None)
    if trust:
        _import_user_model_files(manifest.get("user_model_files") or {})
        modules, objects = _load_untrusted(path)
    try:
        gm, leaves = rebuild_graph_module(graph_doc, state, extra, meta_tensors, modules, objects)
        graph = MaseGraph(gm, custom_leaf_modules=leaves["modules"], custom_leaf_functions=leaves["functions"])
        graph.cf_args = Decoder(meta_tensors, objects).decode(graph_doc.get("cf_args"))
        _attach_metadata(graph, meta_doc, Decoder(meta_tensors, objects))
    except UntrustedReference as exc:
        raise CheckpointError(f"{path} names '{exc}', which is not on the allow-list of what a saved graph may use",
                              hint=TRUST_HINT) from exc
    except CheckpointError:
        raise
    except Exception as exc:
        raise CheckpointError(f"{path} is corrupt: {type(exc).__name__}: {_first_line(exc)}",
                              hint="save the graph again") from exc
    how = verify_runs(graph)
    logger.info("Loaded mase graph from %s", path)
    info = {"load_dir": str(path), "nodes": len(graph.fx_graph.nodes), "state_dict_keys": len(state),
            "verified": how, "trusted": list(untrusted) if trust else []}
    return graph, info


def _load_untrusted(path: Path) -> tuple[dict[str, nn.Module], dict[str, Any]]:
    file = path / UNTRUSTED
    if not file.is_file():
        return {}, {}
    try:
        blob = torch.load(file, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise CheckpointError(f"{file} cannot be unpickled: {type(exc).__name__}: {_first_line(exc)}",
                              hint="the classes it names must be importable (run from the same project)") from exc
    return dict(blob.get("modules", {})), dict(blob.get("objects", {}))


def _attach_metadata(graph: MaseGraph, meta_doc: dict[str, Any], dec: Decoder) -> None:
    nodes = meta_doc.get("nodes") or {}
    known = {n.name for n in graph.fx_graph.nodes}
    stray = set(nodes) - known
    if stray:
        raise CheckpointError(f"node_meta_param.json describes nodes the graph does not have: {sorted(stray)[:3]}",
                              hint="save the graph again")
    for node in graph.fx_graph.nodes:
        if node.name in nodes:
            meta = MaseMetadata(node=node, model=graph.model)
            meta.parameters = dec.decode(nodes[node.name])
            node.meta["mase"] = meta
    if meta_doc.get("graph") is not None:
        graph.meta["mase"].parameters = dec.decode(meta_doc["graph"])
