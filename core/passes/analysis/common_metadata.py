"""add_common_metadata_analysis_pass: MASE types/ops, shapes, dtypes and precisions."""

from __future__ import annotations

import inspect
import logging
from typing import Any

import torch
import torch.fx as fx
from torch.fx.operator_schemas import normalize_function

from core.errors import PassError
from core.ir.classify import UNKNOWN, classify_node
from core.ir.export_values import results_from_export
from core.ir.leaves import LEAF_MODULE_CLASSES
from core.ir.metadata import get_mase
from core.ir.values import container_items, is_container, plain_value, value_entry
from core.passes.schema import Arg, mase_pass

logger = logging.getLogger(__name__)

# Functional ops whose tensor parameters keep their names (weight, bias, ...), as modules do.
_NAMED_PARAM_OPS = {
    "linear", "conv1d", "conv2d", "conv_transpose2d", "layer_norm", "batch_norm", "group_norm",
    "instance_norm", "embedding", "embedding_bag", "bilinear", "rms_norm", "conv3d", "conv_transpose1d",
    "conv_transpose3d",
}
_NAMED_PARAMS = ("weight", "bias", "running_mean", "running_var")
# Module attributes a cost rule needs that no tensor shape shows (MHA's layout and extra key row).
_MODULE_ATTRS = {"multihead_attention": ("num_heads", "batch_first", "add_zero_attn"), "embedding_bag": ("mode",)}
# Parameter names for C builtins and operators that fx cannot normalise (their schemas are
# overloaded), so their arguments are named as their Python signatures name them.
_POSITIONAL_NAMES = {
    "conv1d": ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
    "conv2d": ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
    "conv_transpose2d": ("input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation"),
    "linear": ("input", "weight", "bias"),
    "layer_norm": ("input", "normalized_shape", "weight", "bias", "eps"),
    "batch_norm": ("input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps"),
    "add": ("input", "other"), "sub": ("input", "other"), "mul": ("input", "other"),
    "truediv": ("input", "other"), "floordiv": ("input", "other"), "div": ("input", "other"),
    "matmul": ("input", "other"), "bmm": ("input", "mat2"), "mm": ("input", "mat2"),
    "getitem": ("input", "index"), "getattr": ("input", "name"),
}


def tensor_entry(t: torch.Tensor, source: str | None, add_value: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "shape": list(t.shape),
        "torch_dtype": t.dtype,
        **type_precision(t.dtype),
        "from": source,
    }
    if add_value and t.device.type != "meta":
        entry["value"] = (t.value if isinstance(t, _Seen) else t.detach()).clone()
    return entry


class _Seen:
    """Shape, dtype and device of a result tensor (plus a copy taken as it was produced, when
    values are kept), so the interpreter can free the tensor after its last user has run and
    a later in-place op (JSC's ReLU(inplace=True)) cannot rewrite the recorded value."""

    __slots__ = ("shape", "dtype", "device", "value")

    def __init__(self, t: torch.Tensor, keep_value: bool) -> None:
        self.shape, self.dtype, self.device = t.shape, t.dtype, t.device
        self.value = t.detach().clone() if keep_value and t.device.type != "meta" else None


_TENSORS = (torch.Tensor, _Seen)


class _Items:
    """A container result (tuple, named tuple, list, mapping, dataclass) element by element,
    tensors summarised as ``_Seen``: ``(out, None)`` from attention is two elements, not a
    sequence of length 2."""

    __slots__ = ("type_name", "names", "items")

    def __init__(self, value: Any, keep_value: bool) -> None:
        self.type_name = type(value).__name__
        pairs = container_items(value)
        self.names = [name for name, _ in pairs]
        # nested containers (an LSTM's (out, (h, c))) are summarised too, so no tensor is kept alive
        self.items = [_summary(v, keep_value) for _, v in pairs]


def type_precision(dtype: torch.dtype) -> dict[str, Any]:
    if dtype.is_floating_point:
        return {"type": "float", "precision": [torch.finfo(dtype).bits]}
    if dtype == torch.bool:
        return {"type": "bool", "precision": [1]}
    if dtype.is_complex:
        return {"type": "complex", "precision": [torch.finfo(dtype).bits * 2]}
    return {"type": "int", "precision": [torch.iinfo(dtype).bits]}


def _plain(value: Any) -> Any:
    """Non-tensor arguments as plain data (fx nodes by name, no live objects)."""
    if isinstance(value, fx.Node):
        return value.name
    if isinstance(value, _Seen):
        return f"tensor{list(value.shape)}"
    if isinstance(value, _Items):
        return [_plain(v) for v in value.items]
    if isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
        items = [_plain(v) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return plain_value(value)


def _bound_arguments(node: fx.Node, model, mase_op: str = "") -> list[tuple[str, Any]]:
    """(parameter name, fx argument) pairs in call order."""
    if node.op == "call_module":
        module = model.get_submodule(node.target)
        try:
            bound = inspect.signature(module.forward).bind(*node.args, **node.kwargs)
            return list(bound.arguments.items())
        except (TypeError, ValueError):
            pass
    elif node.op == "call_function":
        try:
            normalized = normalize_function(node.target, node.args, node.kwargs, normalize_to_only_use_kwargs=True)
        except Exception:  # fx cannot always find a schema (overloads, C builtins)
            normalized = None
        # aten overloads have one schema, whose names (weight, bias, mat2 ...) are the right ones
        if normalized is not None and (mase_op not in _POSITIONAL_NAMES or _is_overload(node.target)):
            return list(normalized.kwargs.items())
    elif node.op == "call_method":
        pairs = [("self", node.args[0])] if node.args else []
        pairs += [(f"arg_{i}", a) for i, a in enumerate(node.args[1:])]
        return pairs + list(node.kwargs.items())
    names = _POSITIONAL_NAMES.get(mase_op, ())
    pairs = [(names[i] if i < len(names) else f"arg_{i}", a) for i, a in enumerate(node.args)]
    return pairs + list(node.kwargs.items())


def _is_overload(target) -> bool:
    return isinstance(target, torch._ops.OpOverload)


def _flatten_tensors(value, env):
    """Yield (fx producer name or None, tensor) for tensors inside an argument."""
    if isinstance(value, fx.Node):
        result = env.get(value.name)
        if isinstance(result, _TENSORS):
            yield value.name, result
        elif isinstance(result, (list, tuple, _Items)):
            for item in (result.items if isinstance(result, _Items) else result):
                if isinstance(item, _TENSORS):
                    yield value.name, item
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _flatten_tensors(item, env)


def _describe_args(node, model, env, mase_op, add_value) -> dict[str, Any]:
    args: dict[str, Any] = {}
    index = 0
    for name, value in _bound_arguments(node, model, mase_op):
        tensors = list(_flatten_tensors(value, env))
        if tensors:
            for source, t in tensors:
                if mase_op in _NAMED_PARAM_OPS and name in _NAMED_PARAMS and len(tensors) == 1:
                    key = name
                else:
                    key = f"data_in_{index}"
                    index += 1
                args[key] = tensor_entry(t, source, add_value)
        elif value is not None or name in ("bias",):
            args[name] = _plain(value)
    if node.op == "call_module":
        module = model.get_submodule(node.target)
        for pname, param in module.named_parameters(recurse=True):
            args[pname.replace(".", "_")] = tensor_entry(param, None, add_value)
        for attr in _MODULE_ATTRS.get(mase_op, ()):
            args[attr] = _plain(getattr(module, attr, None))
        if mase_op.startswith("transformer"):
            # the layout flag lives on the attention submodules
            attn = next((m for m in module.modules() if type(m).__name__ == "MultiheadAttention"), None)
            args["batch_first"] = bool(getattr(attn, "batch_first", False))
    return args


def _describe_result(value, add_value) -> dict[str, Any]:
    if not isinstance(value, (_Items, *_TENSORS)) and is_container(value) and not _only_scalars(value):
        value = _Items(value, False)  # an exported graph's recorded values come unsummarised
    if isinstance(value, _TENSORS):
        return {"data_out_0": tensor_entry(value, None, add_value)}
    if isinstance(value, _Items):
        out = {}
        for i, (name, item) in enumerate(zip(value.names, value.items, strict=True)):
            if isinstance(item, _TENSORS):
                entry = tensor_entry(item, None, add_value)
            elif isinstance(item, _Items):
                entry = {"type": item.type_name, "shape": [len(item.items)], "value": _plain(item)}
            else:
                entry = value_entry(item)
            if name is not None:
                entry["name"] = name
            out[f"data_out_{i}"] = entry
        return out or {"data_out_0": {"type": value.type_name, "shape": [0], "value": []}}
    return {"data_out_0": value_entry(value)}


def _summary(value: Any, keep_value: bool) -> Any:
    """What the interpreter keeps of a result: tensors as ``_Seen``; containers element by
    element, unless they hold only plain scalars (a tuple of sizes stays one value)."""
    if isinstance(value, torch.Tensor):
        return _Seen(value, keep_value)
    if is_container(value) and not _only_scalars(value):
        return _Items(value, keep_value)
    return value


def _only_scalars(value: Any) -> bool:
    if not isinstance(value, (list, tuple)) or hasattr(value, "_fields"):
        return False
    return all(v is None or isinstance(v, (bool, int, float, str)) for v in value) and \
        not all(v is None for v in value)


class _MetaInterpreter(fx.Interpreter):
    """Runs the graph once and keeps a summary of every node's result (``results``); on the
    meta device when asked. Tensors are freed as in a plain forward pass."""

    def __init__(self, module, on_meta: bool, keep_values: bool = False):
        super().__init__(module)
        self.on_meta = on_meta
        self.keep_values = keep_values
        self.results: dict[fx.Node, Any] = {}

    def run_node(self, n):
        result = super().run_node(n)
        self.results[n] = _summary(result, self.keep_values)
        return result

    def get_attr(self, target, args, kwargs):
        value = super().get_attr(target, args, kwargs)
        if self.on_meta and isinstance(value, torch.Tensor):
            value = torch.empty_like(value, device="meta")
        return value

    def call_module(self, target, args, kwargs):
        if not self.on_meta:
            return super().call_module(target, args, kwargs)
        module = self.fetch_attr(target)
        state = {k: torch.empty_like(v, device="meta") for k, v in module.state_dict(keep_vars=True).items()}
        return torch.func.functional_call(module, state, args, kwargs)


@mase_pass(
    "add_common_metadata_analysis_pass",
    kind="analysis",
    doc="MASE types and ops, shapes, dtypes and precisions of every node (runs the dummy input)",
    args=[
        Arg("dummy_in", "object", None, "dict of input tensors keyed by placeholder name", required=True,
            supplied="dummy_in"),
        Arg("add_value", "bool", False, "store tensor values in the metadata"),
        Arg("force_device_meta", "bool", False, "run on the meta device (shapes only)"),
    ],
    writes_metadata=True,
)
def add_common_metadata_analysis_pass(graph, pass_args=None):
    args = dict(pass_args or {})
    dummy_in = args.get("dummy_in")
    placeholders = [n.name for n in graph.fx_graph.nodes if n.op == "placeholder"]
    if not isinstance(dummy_in, dict) or any(p not in dummy_in for p in placeholders):
        raise PassError(
            "add_common_metadata needs dummy_in: a dict of input tensors keyed by placeholder name",
            hint=f"placeholders are {placeholders}",
        )
    on_meta = bool(args.get("force_device_meta"))
    add_value = bool(args.get("add_value")) and not on_meta
    model = graph.model
    # leaves registered in a model's file (the CLI's only way) count as user modules too
    leaf_types = tuple(getattr(graph, "custom_leaf_modules", ())) + tuple(LEAF_MODULE_CLASSES)

    inputs = []
    for name in placeholders:
        value = dummy_in[name]
        if on_meta and isinstance(value, torch.Tensor):
            value = torch.empty_like(value, device="meta")
        elif isinstance(value, torch.Tensor):
            value = value.clone()  # an in-place first op must not rewrite the caller's dummy_in
        inputs.append(value)
    # an exported graph carries every node's result (as a fake tensor): no forward run needed
    env = None if add_value else results_from_export(graph, dummy_in)
    if env is None:
        env = _run_graph(model, inputs, on_meta, add_value)

    unknown: list[str] = []
    last_value = None
    for node in graph.fx_graph.nodes:
        mase_type, mase_op = classify_node(node, model, leaf_types)
        if mase_type == UNKNOWN:
            unknown.append(f"{node.name} ({mase_op})")
        meta = get_mase(node)
        meta.node, meta.model = node, model
        common = {"mase_type": mase_type, "mase_op": mase_op}
        if node.op == "placeholder":
            common["args"] = {}
            common["results"] = _describe_result(env[node.name], add_value)
        elif node.op == "output":
            common["args"] = {}
            common["results"] = _describe_result(last_value, add_value)
            common["args"] = {
                f"data_in_{i}": tensor_entry(t, src, add_value)
                for i, (src, t) in enumerate(_flatten_tensors(node.args[0], env))
            }
        else:
            common["args"] = _describe_args(node, model, env, mase_op, add_value)
            common["results"] = _describe_result(env[node.name], add_value)
            last_value = env[node.name]
        _apply_quant_precision(node, model, common)
        meta.parameters["common"] = common
        if node.op in ("placeholder", "output") or mase_type == "implicit_func":
            meta.parameters["hardware"]["is_implicit"] = True

    _graph_level(graph)
    if unknown:
        logger.warning("no MASE op table knows %d node(s): %s", len(unknown), ", ".join(unknown))
    return graph, {"nodes": len(graph.fx_graph.nodes), "unknown_ops": unknown, "device": "meta" if on_meta else "real"}


def _run_graph(model, inputs, on_meta: bool, add_value: bool) -> dict:
    """Run the graph once and summarise every node's result."""
    interp = _MetaInterpreter(model, on_meta, keep_values=add_value)
    modes = {m: m.training for m in model.modules()}  # restored one by one: model.train(flag)
    model.eval()                                        # would reset a submodule left in train mode
    try:
        with torch.no_grad():
            interp.run(*inputs)
    except Exception as exc:
        failing = _failing_node(interp)
        raise PassError(
            f"running the dummy input through the graph failed at node '{failing}': {type(exc).__name__}: {exc}",
            hint="check the dummy input's shape and dtype against the model",
        ) from exc
    finally:
        for m, flag in modes.items():
            m.training = flag
    return {n.name: v for n, v in interp.results.items()}


def _quant_config(node: fx.Node, model) -> dict | None:
    """The quantisation config a quantised module or function carries, if any."""
    if node.op == "call_module":
        config = getattr(model.get_submodule(node.target), "config", None)
    elif node.op == "call_function":
        config = node.kwargs.get("config")
    else:
        return None
    return config if isinstance(config, dict) and config.get("name") else None


def _apply_quant_precision(node: fx.Node, model, common: dict) -> None:
    """Re-analysing a quantised graph (a reload, a re-trace) keeps the quantised precisions:
    they come from the quantised op's own config, as quantize_transform_pass wrote them."""
    config = _quant_config(node, model)
    if config is None or config.get("bypass"):
        return
    from core.quant.config import quantized_metadata_entries, write_quantized_entry

    kind = "module" if node.op == "call_module" else "function"
    for _, entry, operand in quantized_metadata_entries(common, common["mase_op"], config, kind):
        write_quantized_entry(entry, config, common["mase_op"], operand)


def _failing_node(interp: fx.Interpreter) -> str:
    done = set(interp.results)
    for node in interp.module.graph.nodes:
        if node not in done:
            return node.name
    return "?"


def _graph_level(graph) -> None:
    nodes = list(graph.fx_graph.nodes)
    real = [n for n in nodes if n.op not in ("placeholder", "output", "get_attr")
            and get_mase(n).parameters["common"]["mase_type"] != "implicit_func"]
    placeholders = {n for n in nodes if n.op == "placeholder"}
    nodes_in = [n for n in real if any(a in placeholders or _only_implicit_from(a, placeholders) for a in n.all_input_nodes)]
    output = nodes[-1]
    nodes_out = _real_producers(output.all_input_nodes)
    gcommon = graph.meta["mase"].parameters["common"]
    gcommon["nodes_in"] = [n.name for n in nodes_in]
    gcommon["nodes_out"] = [n.name for n in nodes_out]
    gcommon["args"] = {}
    for n in nodes_in:
        for k, v in get_mase(n).parameters["common"]["args"].items():
            if k.startswith("data_in"):
                gcommon["args"][f"{n.name}.{k}"] = {kk: vv for kk, vv in v.items() if kk != "value"}
    gcommon["results"] = {}
    for n in nodes_out:
        for k, v in get_mase(n).parameters["common"]["results"].items():
            gcommon["results"][f"{n.name}.{k}"] = {kk: vv for kk, vv in v.items() if kk != "value"}


def _only_implicit_from(node, placeholders) -> bool:
    seen = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        if n in placeholders:
            return True
        if n.op == "get_attr":
            continue
        if get_mase(n).parameters["common"].get("mase_type") != "implicit_func":
            return False
        stack.extend(n.all_input_nodes)
    return False


def _real_producers(inputs) -> list:
    out, stack, seen = [], list(inputs), set()
    while stack:
        n = stack.pop(0)
        if n in seen:
            continue
        seen.add(n)
        if n.op in ("placeholder", "get_attr"):
            continue
        if get_mase(n).parameters["common"].get("mase_type") == "implicit_func":
            stack.extend(n.all_input_nodes)
        else:
            out.append(n)
    return out
