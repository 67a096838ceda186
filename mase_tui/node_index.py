"""The node tree's model: rows of a MaseGraph grouped by module path, repeated blocks folded.

Pure data (no Textual, no torch import): the NodeTree widget turns it into tree rows lazily,
and tests check grouping, folding and filtering without an app.

- ``node_rows(graph)`` reads one ``NodeRow`` per fx node, in graph order.
- ``build_hierarchy(rows)`` groups rows by module path (``layer1`` > ``layer1.0`` > node),
  folds runs of sibling groups with the same structure into a ``Fold`` ("layers.[0-11] x12")
  and splits long child lists into ``Chunk``s so no expansion adds more than CHUNK rows.
- ``parse_query`` / ``row_matches`` implement the ``/`` filter (name, ``op:``, ``type:``, ``shape:``).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Union

from core.ir.view import NodeView, node_view

CHUNK = 100  # at most this many children appear when one tree row is expanded

_CALL_SUFFIX = re.compile(r"@\d+$")  # fx marks a module's second call as "relu@1"


@dataclass
class NodeRow:
    name: str
    op: str  # fx opcode
    target: str
    mase_type: str
    mase_op: str
    out_shape: list | None
    value_type: str  # type of the first result ("float", "integer", ...)
    precision: list | None
    shapes: list[list]  # every arg and result shape, for the shape: filter
    module_class: str | None
    chain: tuple[str, ...]  # module paths from outermost to the group the node sits in
    types: tuple[str, ...] = ()  # the type of every arg and result ("float", "integer", ...)
    quant: str = ""  # first quantised arg/result precision, e.g. "integer[8,4]" after quantising
    out_label: str = ""  # the first result's precision as format_precision spells it ("float32")
    parent: Any = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> str:
        return "n:" + self.name


@dataclass
class Group:
    path: str  # "" for the root
    children: list = field(default_factory=list)
    parent: Any = field(default=None, repr=False)
    size: int = 0  # fx nodes under this group
    signature: int = 0

    @property
    def key(self) -> str:
        return "g:" + self.path

    @property
    def label(self) -> str:
        return self.path or "(graph)"


@dataclass
class Fold:
    """Consecutive sibling groups with identical structure, shown as one row "x N"."""

    members: list[Group]
    parent: Any = field(default=None, repr=False)
    children: list = field(default_factory=list)  # the members, chunked when there are many

    @property
    def size(self) -> int:
        return sum(m.size for m in self.members)

    @property
    def key(self) -> str:
        return "f:" + self.members[0].path

    @property
    def label(self) -> str:
        first, last = self.members[0].path, self.members[-1].path
        head, _, a = first.rpartition(".")
        head_b, _, b = last.rpartition(".")
        if head == head_b and a.isdigit() and b.isdigit():
            prefix = f"{head}." if head else ""
            return f"{prefix}[{a}-{b}]"
        return f"{first} .. {last}"


@dataclass
class Chunk:
    """A slice of a long child list, so expanding one row never adds thousands of rows."""

    items: list
    start: int
    parent: Any = field(default=None, repr=False)

    @property
    def children(self) -> list:
        return self.items

    @property
    def size(self) -> int:
        return sum(getattr(i, "size", 1) for i in self.items)

    @property
    def key(self) -> str:
        return f"c:{self.parent.key}:{self.start}"

    @property
    def label(self) -> str:
        return f"[{self.start}-{self.start + len(self.items) - 1}]"


Entry = Union[NodeRow, Group, Fold, Chunk]


# ---------------------------------------------------------------------------------- rows
def _group_chain(node) -> tuple[str, ...]:
    """Module paths enclosing the node: from fx's nn_module_stack, else the call_module target."""
    stack = node.meta.get("nn_module_stack") or {}
    paths = []
    for key, value in stack.items():
        path = value[0] if isinstance(value, tuple) and value and isinstance(value[0], str) else key
        paths.append(_CALL_SUFFIX.sub("", str(path)))
    if node.op == "call_module":
        own = str(node.target)
        if paths and paths[-1] == own:
            paths = paths[:-1]
        elif not paths and "." in own:
            paths = [own.rpartition(".")[0]]
    if not paths:
        return ()
    deepest = paths[-1]
    parts = deepest.split(".")
    return tuple(".".join(parts[: i + 1]) for i in range(len(parts)))


def _fallback_op(node, view: NodeView) -> str:
    """An op name for graphs without metadata (never the node's own path, so blocks still fold)."""
    if node.op == "call_module":
        return (view.module_class or "module").lower()
    if node.op in ("placeholder", "output", "get_attr"):
        return node.op
    return view.target


def node_row(node, modules: dict | None = None) -> NodeRow:
    view = node_view(node, modules)
    first = view.output
    shapes: list[list] = []
    types: dict[str, None] = {}
    quantised = None
    for value in (*view.args.values(), *view.results.values()):  # one pass: big graphs index fast
        if value.shape is not None:
            shapes.append(list(value.shape))
        if value.type:
            types[value.type] = None
        if quantised is None and value.quantised:
            quantised = value
    return NodeRow(
        name=node.name,
        op=node.op,
        target=view.target,
        mase_type=view.mase_type or node.op,
        mase_op=view.mase_op or _fallback_op(node, view),
        out_shape=list(first.shape) if first is not None and first.shape is not None else None,
        value_type=first.type if first is not None else "",
        precision=list(first.precision) if first is not None and first.precision else None,
        shapes=shapes,
        module_class=view.module_class,
        chain=_group_chain(node),
        types=tuple(types),
        quant=quantised.label if quantised is not None else "",
        out_label=first.label if first is not None else "",
    )


def node_rows(graph) -> list[NodeRow]:
    modules = dict(graph.model.named_modules())
    return [node_row(node, modules) for node in graph.fx_graph.nodes]


# ---------------------------------------------------------------------------------- hierarchy
def build_hierarchy(rows: Iterable[NodeRow], *, fold: bool = True, chunk: int = CHUNK) -> Group:
    root = Group("")
    groups: dict[str, Group] = {"": root}
    for row in rows:
        parent = root
        for path in row.chain:
            group = groups.get(path)
            if group is None:
                group = Group(path, parent=parent)
                groups[path] = group
                parent.children.append(group)
            parent = group
        row.parent = parent
        parent.children.append(row)
    _finish(root, fold, chunk)
    return root


def _row_signature(row: NodeRow, group_path: str) -> tuple:
    rel = row.target[len(group_path) + 1:] if row.op == "call_module" and group_path else row.target
    return (row.op, row.mase_op, rel if row.op == "call_module" else "", tuple(row.out_shape or ()))


def _finish(group: Group, fold: bool, chunk: int) -> None:
    """Sizes and structure signatures bottom-up, then folding and chunking of the children."""
    parts = []
    size = 0
    for child in group.children:
        if isinstance(child, Group):
            _finish(child, fold, chunk)
            size += child.size
            rel = child.path[len(group.path) + 1:] if group.path else child.path
            # a member's own index is not structure: layers.0 and layers.1 must match
            rel = re.sub(r"\d+", "#", rel)
            parts.append(("g", rel, child.signature))
        else:
            size += 1
            parts.append(_row_signature(child, group.path))
    group.size = size
    group.signature = hash(tuple(parts))
    children = _fold(group) if fold else list(group.children)
    for child in children:
        child.parent = group
    group.children = _chunked(children, group, chunk)


def _fold(group: Group) -> list:
    out: list = []
    run: list[Group] = []

    def flush() -> None:
        if len(run) >= 2:
            f = Fold(list(run))
            for member in run:
                member.parent = f
            out.append(f)
        else:
            out.extend(run)
        run.clear()

    for child in group.children:
        if isinstance(child, Group):
            if run and run[-1].signature != child.signature:
                flush()
            run.append(child)
        else:
            flush()
            out.append(child)
    flush()
    for entry in out:
        if isinstance(entry, Fold):
            entry.children = _chunked(list(entry.members), entry, CHUNK)
    return out


def _chunked(items: list, parent, chunk: int) -> list:
    if len(items) <= chunk:
        return items
    chunks = []
    for start in range(0, len(items), chunk):
        c = Chunk(items[start:start + chunk], start, parent=parent)
        for item in c.items:
            item.parent = c
        chunks.append(c)
    # Chunk lists can themselves be long (100,000 items): chunk them again
    return _chunked(chunks, parent, chunk) if len(chunks) > chunk else chunks


def ancestors(entry: Entry) -> list[Entry]:
    """From the outermost container down to the entry's parent (the root group excluded)."""
    chain = []
    parent = entry.parent
    while parent is not None and not (isinstance(parent, Group) and parent.path == "" and parent.parent is None):
        chain.append(parent)
        parent = parent.parent
    return list(reversed(chain))


def iter_rows(entry: Entry) -> Iterable[NodeRow]:
    if isinstance(entry, NodeRow):
        yield entry
        return
    for child in entry.children:
        yield from iter_rows(child)


# ---------------------------------------------------------------------------------- filter
@dataclass(frozen=True)
class Term:
    kind: str  # "name" | "op" | "type" | "shape"
    value: str


FILTER_PREFIXES = ("op", "type", "shape")


def parse_query(query: str) -> list[Term]:
    """``"op:linear seq"`` -> [Term(op, linear), Term(name, seq)]; all terms must match."""
    terms = []
    for word in query.split():
        kind, sep, value = word.partition(":")
        if sep and kind.lower() in FILTER_PREFIXES and value:
            terms.append(Term(kind.lower(), value.lower()))
        else:
            terms.append(Term("name", word.lower()))
    return terms


def _parse_shape(text: str) -> list[str]:
    return [p.strip() for p in text.strip("[]() ").replace("x", ",").split(",") if p.strip()]


def _shape_matches(pattern: list[str], shape: list) -> bool:
    if len(pattern) != len(shape):
        return False
    return all(p in ("*", "?") or p == str(s) for p, s in zip(pattern, shape, strict=True))


def _glob(pattern: str, value: str) -> bool:
    value = value.lower()
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatchcase(value, pattern)
    return value == pattern


def term_matches(term: Term, row: NodeRow) -> bool:
    if term.kind == "name":
        return term.value in row.name.lower() or term.value in row.target.lower()
    if term.kind == "op":
        return _glob(term.value, row.mase_op) or _glob(term.value, row.op)
    if term.kind == "type":
        candidates = [row.mase_type, row.module_class or "", *row.types]
        return any(_glob(term.value, c) for c in candidates if c)
    if term.kind == "shape":
        pattern = _parse_shape(term.value)
        return any(_shape_matches(pattern, s) for s in row.shapes)
    return False


def row_matches(terms: list[Term], row: NodeRow) -> bool:
    return all(term_matches(t, row) for t in terms)


def filter_rows(rows: Iterable[NodeRow], query: str) -> list[NodeRow]:
    terms = parse_query(query)
    if not terms:
        return []
    return [row for row in rows if row_matches(terms, row)]


def shape_text(shape: list | None) -> str:
    return "-" if shape is None else "[" + ",".join(str(s) for s in shape) + "]"
