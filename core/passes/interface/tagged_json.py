"""Tagged JSON for saved graphs: real Python and torch values, no pickled code.

JSON has no tuples, dtypes or tensors, so such values are written as one-key objects whose key
is a tag (``{"__tuple__": [1, 2]}``, ``{"__dtype__": "float32"}``, ``{"__tensor__": "t3"}``).
Tensors and numpy arrays go to a side table saved with ``torch.save`` and read back with
``weights_only=True``. Functions and classes are written as qualified names
(``"operator:add"``, ``"torch.nn.modules.linear:Linear"``) and only resolved from an allow-list
of modules, so reading a file never imports or runs code it names. Anything else (a user's
class, a lambda) is kept aside as an *untrusted* object that only loads when the user says
they trust the file.
"""

from __future__ import annotations

import builtins
import functools
import importlib
import math
import operator
from typing import Any, Callable

import torch
import torch.fx as fx

try:  # numpy is a dependency, but metadata without it must still round-trip
    import numpy as np
except ImportError:  # pragma: no cover
    np = None

TAGS = frozenset({
    "__tuple__", "__node__", "__slice__", "__dtype__", "__device__", "__ellipsis__", "__size__",
    "__float__", "__complex__", "__tensor__", "__ndarray__", "__npscalar__", "__npdtype__",
    "__set__", "__frozenset__", "__dict__", "__ref__", "__partial__", "__memory_format__",
    "__layout__", "__untrusted__",
})

# Modules whose functions a graph may call. Everything in them is plain tensor maths; the few
# names that touch files or global state are refused below.
FUNCTION_MODULES = ("operator", "math", "torch", "torch.nn.functional", "torch.fft", "torch.linalg",
                    "torch.special")
_FUNCTION_MODULE_PREFIXES = ("core.quant.",)
_DENIED = {
    "torch": {"load", "save", "from_file", "set_default_device", "set_default_dtype", "set_default_tensor_type",
              "manual_seed", "seed", "compile", "use_deterministic_algorithms", "set_printoptions",
              "set_num_threads", "set_num_interop_threads", "set_grad_enabled", "set_warn_always"},
    "operator": {"attrgetter", "methodcaller", "call", "setitem", "delitem"},
}
_PRIVATE_ALLOWED = {("torch", "_assert")}
_BUILTINS = {"getattr", "int", "float", "bool", "str", "complex", "list", "tuple", "dict", "set",
             "frozenset", "len", "abs", "min", "max", "round", "range", "slice", "type"}
# Classes (modules, quantised modules) a saved graph may construct.
CLASS_MODULE_PREFIXES = ("torch.nn.", "core.quant.")

_DTYPES = {str(d).removeprefix("torch."): d for d in vars(torch).values() if isinstance(d, torch.dtype)}
_MEMORY_FORMATS = {str(f).removeprefix("torch."): f for f in vars(torch).values()
                   if isinstance(f, torch.memory_format)}
_LAYOUTS = {str(v).removeprefix("torch."): v for v in vars(torch).values() if isinstance(v, torch.layout)}


class UntrustedReference(Exception):
    """A name that is not on the allow-list (raised while reading)."""


# aten operators (the nodes of exported graphs) are pure tensor operations: all are allowed.
ATEN_MODULE = "torch.ops.aten"


def _aten_overload(ref: str, name: str) -> Any:
    packet, _, overload = name.partition(".")
    if not (packet.isidentifier() and overload.isidentifier()):
        raise UntrustedReference(ref)
    op = getattr(getattr(torch.ops.aten, packet, None), overload, None)
    if not isinstance(op, torch._ops.OpOverload):
        raise UntrustedReference(ref)
    return op


def _module_allowed(module: str, *, classes: bool) -> bool:
    if classes:
        return module == "builtins" or module.startswith(CLASS_MODULE_PREFIXES) or module == "core.quant"
    return module in FUNCTION_MODULES or module == "builtins" or module.startswith(_FUNCTION_MODULE_PREFIXES) \
        or module == "core.quant"


def _name_allowed(module: str, name: str) -> bool:
    if not name.isidentifier():
        return False
    if module == "builtins":
        return name in _BUILTINS
    if name in _DENIED.get(module, ()):
        return False
    return not name.startswith("_") or (module, name) in _PRIVATE_ALLOWED


def reference_of(obj: Any) -> str | None:
    """``"module:name"`` for an allow-listed function or class, else None."""
    if isinstance(obj, torch._ops.OpOverload) and obj.namespace == "aten":  # exported graphs
        return f"{ATEN_MODULE}:{obj.overloadpacket.__name__}.{obj._overloadname}"
    name = getattr(obj, "__name__", None)
    if not isinstance(name, str):
        return None
    if isinstance(obj, type):
        module = getattr(obj, "__module__", "") or ""
        qualname = getattr(obj, "__qualname__", name)
        if qualname == name and _module_allowed(module, classes=True) and _name_allowed(module, name):
            if _resolve(module, name) is obj:
                return f"{module}:{name}"
        return None
    candidates = []
    own = getattr(obj, "__module__", None)
    if isinstance(own, str) and own.startswith(("core.quant",)):
        candidates.append(own)
    candidates += ["operator", "torch.nn.functional", "torch", "math", "torch.fft", "torch.linalg",
                   "torch.special", "builtins"]
    for module in candidates:
        if _name_allowed(module, name) and _resolve(module, name) is obj:
            return f"{module}:{name}"
    return None


def _resolve(module: str, name: str) -> Any:
    if module == "builtins":
        return getattr(builtins, name, None)
    if module == "operator":
        return getattr(operator, name, None)
    if module == "math":
        return getattr(math, name, None)
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    return getattr(mod, name, None)


def resolve_reference(ref: str, *, classes: bool = False) -> Any:
    """The object an allow-listed reference names; UntrustedReference if it is not allowed."""
    module, sep, name = ref.partition(":")
    if module == ATEN_MODULE and not classes:
        return _aten_overload(ref, name)
    if not sep or not _module_allowed(module, classes=classes) or not _name_allowed(module, name):
        raise UntrustedReference(ref)
    if not all(part.isidentifier() for part in module.split(".")):
        raise UntrustedReference(ref)
    obj = _resolve(module, name)
    if obj is None:
        raise UntrustedReference(ref)
    if classes and not isinstance(obj, type):
        raise UntrustedReference(ref)
    return obj


class Encoder:
    """Turns values into tagged JSON. Tensors land in ``tensors``; objects that cannot be
    described safely land in ``untrusted`` (with ``reasons``), to be pickled separately."""

    def __init__(self) -> None:
        self.tensors: dict[str, torch.Tensor] = {}
        self._tensor_keys: dict[int, str] = {}
        self.untrusted: dict[str, Any] = {}
        self.reasons: list[str] = []

    def tensor_key(self, t: torch.Tensor) -> str:
        key = self._tensor_keys.get(id(t))
        if key is None:
            key = f"t{len(self.tensors)}"
            self.tensors[key] = t.detach().cpu() if t.device.type != "meta" else t.detach()
            self._tensor_keys[id(t)] = key
        return key

    def keep_untrusted(self, obj: Any, where: str, why: str) -> dict[str, str]:
        key = f"o{len(self.untrusted)}"
        self.untrusted[key] = obj
        self.reasons.append(f"{where}: {why}")
        return {"__untrusted__": key}

    def callable_ref(self, obj: Any, where: str) -> dict[str, Any]:
        ref = reference_of(obj)
        if ref is not None:
            return {"__ref__": ref}
        label = f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"
        return self.keep_untrusted(obj, where, f"{label} is not on the allow-list")

    def encode(self, value: Any, where: str = "value") -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int) and type(value) is int:
            return value
        if isinstance(value, float) and type(value) is float:
            if math.isfinite(value):
                return value
            return {"__float__": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
        if isinstance(value, fx.Node):
            return {"__node__": value.name}
        if isinstance(value, torch.Size):
            return {"__size__": list(value)}
        if isinstance(value, tuple) and not hasattr(value, "_fields"):
            return {"__tuple__": [self.encode(v, where) for v in value]}
        if isinstance(value, list):
            return [self.encode(v, where) for v in value]
        if isinstance(value, dict):
            if all(isinstance(k, str) for k in value) and not TAGS.intersection(value):
                return {k: self.encode(v, f"{where}.{k}") for k, v in value.items()}
            return {"__dict__": [[self.encode(k, where), self.encode(v, f"{where}.{k}")] for k, v in value.items()]}
        if isinstance(value, torch.Tensor):
            return {"__tensor__": self.tensor_key(value)}
        if isinstance(value, torch.dtype):
            return {"__dtype__": str(value).removeprefix("torch.")}
        if isinstance(value, torch.device):
            return {"__device__": str(value)}
        if isinstance(value, torch.memory_format):
            return {"__memory_format__": str(value).removeprefix("torch.")}
        if isinstance(value, torch.layout):
            return {"__layout__": str(value).removeprefix("torch.")}
        if value is Ellipsis:
            return {"__ellipsis__": None}
        if isinstance(value, slice):
            return {"__slice__": [self.encode(v, where) for v in (value.start, value.stop, value.step)]}
        if isinstance(value, complex):
            return {"__complex__": [self.encode(value.real), self.encode(value.imag)]}
        if isinstance(value, (set, frozenset)):
            tag = "__set__" if isinstance(value, set) else "__frozenset__"
            return {tag: [self.encode(v, where) for v in value]}
        if np is not None:
            encoded = self._encode_numpy(value, where)
            if encoded is not None:
                return encoded
        if isinstance(value, functools.partial):
            func = self.callable_ref(value.func, where)
            if "__ref__" in func:
                return {"__partial__": {"func": func["__ref__"], "args": self.encode(list(value.args), where),
                                        "keywords": self.encode(dict(value.keywords), where)}}
            return self.keep_untrusted(value, where, "a partial of a function not on the allow-list")
        if callable(value) and (isinstance(value, type) or hasattr(value, "__name__")):
            return self.callable_ref(value, where)
        if isinstance(value, (int, float)):  # int/float subclasses (bool handled above)
            return self.encode(int(value) if isinstance(value, int) else float(value), where)
        return self.keep_untrusted(value, where, f"a {type(value).__module__}.{type(value).__qualname__} value")

    def _encode_numpy(self, value: Any, where: str) -> Any:
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "biufc" and value.dtype.byteorder in "=|<":
                t = torch.from_numpy(np.ascontiguousarray(value).copy())
                key = f"t{len(self.tensors)}"
                self.tensors[key] = t
                return {"__ndarray__": {"key": key, "dtype": value.dtype.str}}
            return self.keep_untrusted(value, where, f"a numpy array of dtype {value.dtype}")
        if isinstance(value, np.generic):
            if value.dtype.kind in "biufc":
                return {"__npscalar__": {"dtype": value.dtype.str, "value": self.encode(value.item(), where)}}
            return self.keep_untrusted(value, where, f"a numpy scalar of dtype {value.dtype}")
        if isinstance(value, np.dtype):
            return {"__npdtype__": value.str}
        return None


class Decoder:
    """Reads tagged JSON back. ``nodes`` resolves ``__node__`` tags while a graph is rebuilt;
    ``untrusted`` is None unless the caller trusts the file."""

    def __init__(self, tensors: dict[str, torch.Tensor], untrusted: dict[str, Any] | None = None,
                 nodes: dict[str, fx.Node] | None = None) -> None:
        self.tensors = tensors
        self.untrusted = untrusted
        self.nodes = nodes if nodes is not None else {}

    def decode(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (tag, body), = value.items()
            if tag in TAGS:
                return self._tagged(tag, body)
        return {k: self.decode(v) for k, v in value.items()}

    def _tagged(self, tag: str, body: Any) -> Any:
        if tag == "__tuple__":
            return tuple(self.decode(v) for v in body)
        if tag == "__node__":
            if body not in self.nodes:
                raise ValueError(f"reference to unknown node '{body}'")
            return self.nodes[body]
        if tag == "__size__":
            return torch.Size(body)
        if tag == "__dtype__":
            return _DTYPES[body]
        if tag == "__device__":
            return torch.device(body)
        if tag == "__memory_format__":
            return _MEMORY_FORMATS[body]
        if tag == "__layout__":
            return _LAYOUTS[body]
        if tag == "__ellipsis__":
            return Ellipsis
        if tag == "__slice__":
            return slice(*(self.decode(v) for v in body))
        if tag == "__float__":
            return float(body)
        if tag == "__complex__":
            return complex(self.decode(body[0]), self.decode(body[1]))
        if tag == "__set__":
            return {self.decode(v) for v in body}
        if tag == "__frozenset__":
            return frozenset(self.decode(v) for v in body)
        if tag == "__dict__":
            return {self.decode(k): self.decode(v) for k, v in body}
        if tag == "__tensor__":
            return self.tensors[body]
        if tag == "__ndarray__":
            return self.tensors[body["key"]].numpy().astype(np.dtype(body["dtype"]), copy=False)
        if tag == "__npscalar__":
            return np.dtype(body["dtype"]).type(self.decode(body["value"]))
        if tag == "__npdtype__":
            return np.dtype(body)
        if tag == "__ref__":
            return self._reference(body)
        if tag == "__partial__":
            return functools.partial(self._reference(body["func"]), *self.decode(body["args"]),
                                     **self.decode(body["keywords"]))
        if tag == "__untrusted__":
            if self.untrusted is None:
                raise UntrustedReference(body)
            return self.untrusted[body]
        raise ValueError(f"unknown tag {tag}")  # pragma: no cover - TAGS is exhaustive

    @staticmethod
    def _reference(ref: str) -> Callable:
        module = ref.partition(":")[0]
        try:
            return resolve_reference(ref, classes=False)
        except UntrustedReference:
            if module.startswith(CLASS_MODULE_PREFIXES) or module == "builtins":
                return resolve_reference(ref, classes=True)
            raise
