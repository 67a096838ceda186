"""Read ``@mase_pass`` declarations from a module's source without importing the module.

Built-in pass modules import torch; listing passes (``mase-tui passes``, config validation, the
app's first frame) must not. The declarations are literal, so the source says everything: this
module parses it with ``ast`` and builds the same PassSpec the decorator builds at import time
(a test checks that the two agree for every built-in pass).
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from core.passes.schema import Arg, PassSpec, declare

DECORATOR = "mase_pass"
_DECORATOR = re.compile(r"^@(?:[A-Za-z_][\w.]*\.)?mase_pass\(", re.M)
_DEF = re.compile(r"^(?:async\s+)?def\s+(\w+)", re.M)


def read_declarations(module: str) -> list[PassSpec]:
    """The passes declared in ``module`` (a dotted name), in source order."""
    found = importlib.util.find_spec(module)  # imports parent packages only (torch-free)
    if found is None or not found.origin:
        raise ConfigError(f"pass module {module} not found", hint="check core.passes.registry.BUILTIN_MODULES")
    path = found.origin
    source = Path(path).read_text(encoding="utf-8")
    specs = []
    # Parsing only each decorated function's head keeps this a few ms for all built-ins
    # (parsing whole modules costs ten times more, on every start of the CLI and the app).
    for start in _DECORATOR.finditer(source):
        head = _DEF.search(source, start.start())
        if head is None:
            raise ConfigError(f"{path}: @{DECORATOR} is not followed by a function")
        snippet = source[start.start():head.start()] + f"def {head.group(1)}(): pass\n"
        tree = ast.parse(snippet, filename=path)
        ast.increment_lineno(tree, source.count("\n", 0, start.start()))
        function = tree.body[0]
        for deco in function.decorator_list:
            if isinstance(deco, ast.Call) and _called_name(deco.func) == DECORATOR:
                where = f"{path}:{deco.lineno}"
                args = [_literal(a, where) for a in deco.args]
                kwargs = {k.arg: _literal(k.value, where) for k in deco.keywords if k.arg}
                # the first decorator's line is the function's co_firstlineno, as at import time
                line = function.decorator_list[0].lineno
                specs.append(declare(*args, **kwargs, module=module, func=head.group(1), file=path, line=line))
    return specs


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _literal(node: ast.expr, where: str) -> Any:
    """Constants, containers of them, and ``Arg(...)`` with literal arguments."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.Tuple, ast.List)):
        items = [_literal(e, where) for e in node.elts]
        return tuple(items) if isinstance(node, ast.Tuple) else items
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {_literal(k, where): _literal(v, where) for k, v in zip(node.keys, node.values, strict=True)}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand, where)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Call) and _called_name(node.func) == "Arg":
        args = [_literal(a, where) for a in node.args]
        kwargs = {k.arg: _literal(k.value, where) for k in node.keywords if k.arg}
        return Arg(*args, **kwargs)
    raise ConfigError(f"{where}: a built-in @mase_pass declaration must be literal, found {ast.unparse(node)!r}",
                      hint="use constants, lists, dicts and Arg(...) so passes can be listed without importing torch")
