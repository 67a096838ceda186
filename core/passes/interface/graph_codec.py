"""A GraphModule as plain data (nodes, module tree, tensor placement) and back.

Modules called by the graph are rebuilt from class + constructor kwargs (see module_spec);
the containers above them become plain ``nn.Module`` holders, so every qualified name and
state-dict key is the same as before. Parameters and buffers that live directly on holders
(``get_attr`` targets such as a positional embedding or a traced tensor constant) are
registered from the state dict.
"""

from __future__ import annotations

import builtins
import logging
from typing import Any

import torch
import torch.fx as fx
from torch import nn

from core.errors import CheckpointError
from core.passes.interface.module_spec import NotRebuildable, build_module, describe_module
from core.passes.interface.tagged_json import (
    Decoder,
    Encoder,
    UntrustedReference,
    resolve_reference,
)

logger = logging.getLogger(__name__)

OPS = ("placeholder", "get_attr", "call_function", "call_method", "call_module", "output")


def _safe_attr_name(name: Any) -> bool:
    """Method and attribute names a graph may use without trust: no dunders or privates,
    which is how a crafted graph would reach interpreter internals."""
    return isinstance(name, str) and name.isidentifier() and not name.startswith("_")


def _valid_path(path: Any) -> bool:
    return isinstance(path, str) and all(p.isidentifier() or p.isdigit() for p in path.split("."))


def _under(path: str, prefixes: list[str]) -> bool:
    return any(path.startswith(p + ".") for p in prefixes)


def describe_graph(graph, enc: Encoder) -> tuple[dict[str, Any], dict[str, torch.Tensor], dict[str, tuple]]:
    """(graph.json document, extra tensors, untrusted modules {path: (module, why)})."""
    gm: fx.GraphModule = graph.model
    called = sorted({n.target for n in gm.graph.nodes if n.op == "call_module"})
    units: list[str] = []
    for target in called:  # an ancestor sorts before its descendants
        if not _under(target, units):
            units.append(target)
    skip: list[str] = []
    seen: dict[int, str] = {}
    records: list[dict[str, Any]] = []
    untrusted: dict[str, tuple] = {}
    for path, module in gm.named_modules(remove_duplicate=False):
        if not path or _under(path, skip):
            continue
        if id(module) in seen:
            records.append({"path": path, "kind": "alias", "of": seen[id(module)]})
            skip.append(path)
            continue
        seen[id(module)] = path
        is_unit = path in units or (not module._modules and type(module) is not nn.Module)
        if not is_unit:
            records.append({"path": path, "kind": "holder"})
            continue
        skip.append(path)
        try:
            records.append({"path": path, "kind": "module", **describe_module(module, f"module {path}")})
        except NotRebuildable as exc:
            cls = type(module)
            untrusted[path] = (module, str(exc))
            records.append({"path": path, "kind": "untrusted", "class": f"{cls.__module__}:{cls.__qualname__}"})
    unit_paths = {r["path"] for r in records if r["kind"] in ("module", "untrusted")}
    holder_tensors, extra = _tensor_placement(gm, unit_paths, skip)
    nodes = [_describe_node(node, enc) for node in gm.graph.nodes]
    for node in gm.graph.nodes:
        if node.op == "call_method" and not _safe_attr_name(node.target):
            enc.reasons.append(f"node {node.name}: calls method '{node.target}'")
        if node.op == "call_function" and node.target is builtins.getattr and len(node.args) > 1 \
                and not _safe_attr_name(node.args[1]):
            enc.reasons.append(f"node {node.name}: reads attribute {node.args[1]!r}")
    if type(gm.graph._codegen) is not fx.graph.CodeGen:
        raise CheckpointError(f"cannot save {type(gm).__name__}: its graph uses {type(gm.graph._codegen).__name__}",
                              hint="trace without structured concrete_args")
    doc = {
        "class_name": type(gm).__name__,
        "nodes": nodes,
        "modules": records,
        "holder_tensors": holder_tensors,
        "training": {path: m.training for path, m in gm.named_modules()},
        "frozen_parameters": [n for n, p in gm.named_parameters() if not p.requires_grad],
        "ties": _ties(gm),
        "cf_args": enc.encode(getattr(graph, "cf_args", None), "cf_args"),
        "capture": to_plain_capture(gm),
        "custom_leaf_modules": [enc.callable_ref(c, "custom leaf module") for c in getattr(graph, "custom_leaf_modules", ())],
        "custom_leaf_functions": [enc.callable_ref(f, "custom leaf function") for f in getattr(graph, "custom_leaf_functions", ())],
    }
    return doc, extra, untrusted


def to_plain_capture(gm: nn.Module) -> dict[str, Any]:
    from core.ir.capture import capture_info

    return capture_info(gm)


def _describe_node(node: fx.Node, enc: Encoder) -> dict[str, Any]:
    where = f"node {node.name}"
    target = enc.callable_ref(node.target, where) if node.op == "call_function" else node.target
    record = {"name": node.name, "op": node.op, "target": target,
              "args": enc.encode(tuple(node.args), where), "kwargs": enc.encode(dict(node.kwargs), where)}
    stack = module_stack_plain(node)
    if stack:
        record["module_stack"] = stack  # exported graphs: the module tree of the node view
    return record


def module_stack_plain(node: fx.Node) -> list[list[str]]:
    """``nn_module_stack`` as [[path, class name], ...] (strings only)."""
    out = []
    for value in (node.meta.get("nn_module_stack") or {}).values():
        if isinstance(value, (tuple, list)) and len(value) == 2:
            out.append([str(value[0]), value[1] if isinstance(value[1], str) else
                        f"{getattr(value[1], '__module__', '')}.{getattr(value[1], '__qualname__', value[1])}"])
    return out


def _tensor_placement(gm: nn.Module, unit_paths: set[str], skip: list[str]):
    """Tensors the state dict alone cannot place: everything held by holders, and the
    non-persistent buffers and tensor attributes anywhere."""
    holder_tensors: list[dict[str, Any]] = []
    extra: dict[str, torch.Tensor] = {}
    for path, module in gm.named_modules():
        is_holder = path not in unit_paths and not _under(path, skip)
        prefix = f"{path}." if path else ""
        for name, param in module._parameters.items():
            if is_holder and param is not None:
                holder_tensors.append({"owner": path, "name": name, "kind": "parameter",
                                       "requires_grad": bool(param.requires_grad)})
        for name, buf in module._buffers.items():
            if buf is None:
                continue
            persistent = name not in module._non_persistent_buffers_set
            if not persistent:
                extra[prefix + name] = buf.detach()
            if is_holder or not persistent:
                holder_tensors.append({"owner": path, "name": name, "kind": "buffer", "persistent": persistent,
                                       "holder": is_holder})
        for name, value in vars(module).items():
            if isinstance(value, torch.Tensor) and not name.startswith("_"):
                extra[prefix + name] = value.detach()
                holder_tensors.append({"owner": path, "name": name, "kind": "attr", "holder": is_holder})
    return holder_tensors, extra


def _ties(gm: nn.Module) -> dict[str, str]:
    first: dict[int, str] = {}
    ties: dict[str, str] = {}
    for name, p in gm.named_parameters(remove_duplicate=False):
        if id(p) in first:
            ties[name] = first[id(p)]
        else:
            first[id(p)] = name
    return ties


# --------------------------------------------------------------------------- rebuilding


def rebuild_graph_module(doc: dict[str, Any], state: dict[str, torch.Tensor], extra: dict[str, torch.Tensor],
                         meta_tensors: dict[str, torch.Tensor], untrusted_modules: dict[str, nn.Module],
                         objects: dict[str, Any] | None) -> tuple[fx.GraphModule, dict[str, tuple]]:
    trusted = objects is not None
    dec = Decoder(meta_tensors, objects)
    root = nn.Module()
    for rec in doc["modules"]:
        _place_module(root, rec, dec, untrusted_modules, trusted)
    for rec in doc["holder_tensors"]:
        if rec.get("holder", True) or rec["kind"] == "parameter":
            _place_holder_tensor(root, rec, state, extra)
    graph = _rebuild_graph(doc["nodes"], meta_tensors, objects, trusted)
    gm = fx.GraphModule(root, graph, doc.get("class_name") or "GraphModule")
    if isinstance(doc.get("capture"), dict):
        gm.meta["mase_capture"] = {k: v for k, v in doc["capture"].items() if isinstance(k, str)}
    # GraphModule copies only what the graph uses; keep the whole saved tree.
    for name, child in root._modules.items():
        gm.add_module(name, child)
    for name, param in root._parameters.items():
        gm.register_parameter(name, param)
    for name, buf in root._buffers.items():
        gm.register_buffer(name, buf, persistent=name not in root._non_persistent_buffers_set)
    for rec in doc["holder_tensors"]:
        if rec["owner"] == "" and rec["kind"] == "attr":
            setattr(gm, rec["name"], extra[rec["name"]])
    _load_state(gm, state)
    for rec in doc["holder_tensors"]:
        if not rec.get("holder", True):
            _place_holder_tensor(gm, rec, state, extra)
    for name, canonical in doc.get("ties", {}).items():
        owner, _, attr = name.rpartition(".")
        gm.get_submodule(owner)._parameters[attr] = gm.get_parameter(canonical)
    for name in doc.get("frozen_parameters", []):
        gm.get_parameter(name).requires_grad_(False)
    for path, flag in doc.get("training", {}).items():
        gm.get_submodule(path).training = bool(flag)
    _check_no_meta(gm)
    leaves = {"modules": tuple(dec.decode(c) for c in doc.get("custom_leaf_modules", [])),
              "functions": tuple(dec.decode(f) for f in doc.get("custom_leaf_functions", []))}
    return gm, leaves


def _place_module(root: nn.Module, rec: dict[str, Any], dec: Decoder, untrusted_modules: dict[str, nn.Module],
                  trusted: bool) -> None:
    path, kind = rec["path"], rec["kind"]
    if not _valid_path(path):
        raise ValueError(f"bad module path {path!r}")
    parent_path, _, attr = path.rpartition(".")
    parent = root.get_submodule(parent_path)
    if kind == "holder":
        module = nn.Module()
    elif kind == "alias":
        module = root.get_submodule(rec["of"])
    elif kind == "module":
        cls = resolve_reference(rec["class"], classes=True)
        if not issubclass(cls, nn.Module):
            raise UntrustedReference(rec["class"])
        module = build_module(cls, dec.decode(rec["kwargs"]))
    elif kind == "untrusted":
        if not trusted:
            raise UntrustedReference(rec.get("class", path))
        module = untrusted_modules[path]
    else:
        raise ValueError(f"unknown module kind {kind!r}")
    parent.add_module(attr, module)


def _place_holder_tensor(root: nn.Module, rec: dict[str, Any], state: dict[str, torch.Tensor],
                         extra: dict[str, torch.Tensor]) -> None:
    owner = root.get_submodule(rec["owner"])
    full = f"{rec['owner']}.{rec['name']}" if rec["owner"] else rec["name"]
    kind = rec["kind"]
    if kind == "parameter":
        owner.register_parameter(rec["name"], nn.Parameter(state[full], requires_grad=bool(rec["requires_grad"])))
    elif kind == "buffer":
        value = state[full] if rec["persistent"] else extra[full]
        owner.register_buffer(rec["name"], value, persistent=bool(rec["persistent"]))
    elif kind == "attr":
        setattr(owner, rec["name"], extra[full])
    else:
        raise ValueError(f"unknown tensor kind {kind!r}")


def _rebuild_graph(records: list[dict[str, Any]], meta_tensors, objects, trusted: bool) -> fx.Graph:
    graph = fx.Graph()
    nodes: dict[str, fx.Node] = {}
    dec = Decoder(meta_tensors, objects, nodes)
    for rec in records:
        op, name = rec["op"], rec["name"]
        if op not in OPS:
            raise ValueError(f"node {name}: unknown op {op!r}")
        target = rec["target"]
        if op == "call_function":
            target = dec.decode(target)
            if not callable(target):
                raise ValueError(f"node {name}: target is not callable")
        elif op in ("get_attr", "call_module") and not _valid_path(target):
            raise ValueError(f"node {name}: bad target {target!r}")
        elif op == "call_method" and not _safe_attr_name(target) and not trusted:
            raise UntrustedReference(f"method {target}")
        args, kwargs = dec.decode(rec["args"]), dec.decode(rec["kwargs"])
        if not isinstance(args, tuple) or not isinstance(kwargs, dict):
            raise ValueError(f"node {name}: args/kwargs have the wrong type")
        if target is builtins.getattr and len(args) > 1 and not _safe_attr_name(args[1]) and not trusted:
            raise UntrustedReference(f"attribute {args[1]}")
        node = graph.create_node(op, target, args, kwargs, name=name)
        if node.name != name:
            raise ValueError(f"node name {name!r} came back as {node.name!r}")
        stack = rec.get("module_stack")
        if isinstance(stack, list) and all(isinstance(e, list) and len(e) == 2 and all(isinstance(v, str) for v in e)
                                           for e in stack):
            node.meta["nn_module_stack"] = {path: (path, cls) for path, cls in stack}
        nodes[name] = node
    graph.lint()
    return graph


def _load_state(gm: fx.GraphModule, state: dict[str, torch.Tensor]) -> None:
    expected = gm.state_dict(keep_vars=True)
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        what = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise CheckpointError(f"state_dict.pt does not fit the saved module tree: {what}", hint="save the graph again")
    for key, value in expected.items():
        if tuple(value.shape) != tuple(state[key].shape):
            raise CheckpointError(f"state_dict.pt: {key} has shape {list(state[key].shape)}, "
                                  f"the module expects {list(value.shape)}", hint="save the graph again")
    gm.load_state_dict(state, strict=True, assign=True)


def _check_no_meta(gm: nn.Module) -> None:
    for kind, items in (("parameter", gm.named_parameters()), ("buffer", gm.named_buffers())):
        for name, t in items:
            if t.is_meta:
                raise CheckpointError(f"{kind} {name} has no saved value", hint="save the graph again")


# --------------------------------------------------------------------------- verification


def verify_runs(graph) -> str:
    """Run the loaded graph once on inputs shaped as its placeholder metadata (meta device
    first, CPU zeros if an op has no meta kernel). Returns how it was checked."""
    gm = graph.model
    inputs = []
    for node in gm.graph.nodes:
        if node.op != "placeholder":
            continue
        meta = node.meta.get("mase")
        entry = meta.parameters.get("common", {}).get("results", {}).get("data_out_0") if meta is not None else None
        if not isinstance(entry, dict) or "shape" not in entry or not isinstance(entry.get("torch_dtype"), torch.dtype):
            return "compiled"  # no input description: code generation succeeded, nothing to run
        inputs.append((entry["shape"], entry["torch_dtype"]))
    from core.passes.analysis.common_metadata import _MetaInterpreter

    modes = {m: m.training for m in gm.modules()}
    gm.eval()
    try:
        with torch.no_grad():
            try:
                interp = _MetaInterpreter(gm, on_meta=True)
                interp.run(*[torch.empty(s, dtype=d, device="meta") for s, d in inputs])
                how = "meta"
            except Exception:
                interp = _MetaInterpreter(gm, on_meta=False)
                interp.run(*[torch.zeros(s, dtype=d) for s, d in inputs])
                how = "cpu"
    except Exception as exc:
        raise CheckpointError(f"the loaded graph does not run: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                              hint="the save may be from an incompatible version; save it again") from exc
    finally:
        for m, flag in modes.items():
            m.training = flag
    _compare_shapes(interp)
    return how


def _compare_shapes(interp) -> None:
    stale = []
    for node, value in interp.results.items():
        meta = node.meta.get("mase")
        entry = meta.parameters.get("common", {}).get("results", {}).get("data_out_0") if meta is not None else None
        if hasattr(value, "shape") and isinstance(entry, dict) and "torch_dtype" in entry:
            if list(value.shape) != list(entry.get("shape", [])):
                stale.append(node.name)
    if stale:
        logger.warning("loaded graph: metadata shapes differ from a fresh run at %s (rerun add_common_metadata)",
                       ", ".join(stale[:5]))
