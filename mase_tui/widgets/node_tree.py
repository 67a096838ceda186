"""NodeTree: the graph's nodes grouped by module path, built lazily, with a name/op/type/shape filter.

Rows come from ``mase_tui.node_index`` (pure data). A tree row's children are created only when
the row is first expanded, and long child lists arrive in chunks of 100, so a graph of 10,000
nodes opens with a screenful of rows.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.widgets import Tree
from textual.widgets.tree import TreeNode
from textual.worker import get_current_worker

from mase_tui.messages import NodeFocused
from mase_tui.node_index import (
    Chunk,
    Fold,
    Group,
    NodeRow,
    ancestors,
    build_hierarchy,
    filter_rows,
    node_rows,
    shape_text,
)
from mase_tui.panes import host

AUTO_EXPAND_ROWS = 40  # open groups breadth-first while the tree stays about a screenful
FILTER_EXPAND_ALL = 200  # with more matches than this, only the current match's path opens

# MASE type -> (icon, style). Icons differ per type so colour is never the only cue.
TYPE_STYLE: dict[str, tuple[str, str]] = {
    "placeholder": ("→", "bold green"),
    "output": ("←", "bold green"),
    "get_attr": ("◇", "yellow"),
    "module": ("■", "magenta"),
    "module_related_func": ("●", "cyan"),
    "builtin_func": ("ƒ", "blue"),
    "implicit_func": ("·", "dim"),
}


def row_label(row: NodeRow) -> Text:
    icon, style = TYPE_STYLE.get(row.mase_type, ("?", "red"))
    label = Text.assemble((icon + " ", style), (row.name, "bold"), "  ", (row.mase_op, style))
    if row.out_shape is not None:
        label.append(" " + shape_text(row.out_shape), "dim")
    if row.quant:
        label.append(f" {row.quant}", "bold yellow")
    return label


def entry_label(entry) -> Text:
    if isinstance(entry, NodeRow):
        return row_label(entry)
    if isinstance(entry, Fold):
        return Text.assemble(("▤ ", "bold"), (entry.label, "bold"), (f" ×{len(entry.members)}", "bold yellow"),
                             (f"  {entry.size} nodes", "dim"))
    if isinstance(entry, Chunk):
        return Text.assemble(("… ", "dim"), (entry.label, "italic"), (f"  {entry.size} nodes", "dim"))
    return Text.assemble(("▣ ", "bold"), (entry.label, "bold"), (f"  {entry.size}", "dim"))


class NodeTree(Tree):
    """The node tree. Highlighting a node posts ``NodeFocused(name, "tree")``."""

    HELP_SCOPE = "Node tree"
    BINDINGS = [
        Binding("down,j", "cursor_down", "Next row", show=False, id="tree.down"),
        Binding("up,k", "cursor_up", "Previous row", show=False, id="tree.up"),
        Binding("left,h", "collapse_or_parent", "Collapse / parent", show=False, id="tree.left"),
        Binding("right,l", "expand_or_child", "Expand / first child", show=False, id="tree.right"),
        Binding("home,g", "scroll_home", "First row", show=False, id="tree.top"),
        Binding("end,G", "scroll_end", "Last row", show=False, id="tree.bottom"),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, id="tree.page_up"),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False, id="tree.page_down"),
        Binding("asterisk", "expand_all_here", "Expand all under this row", show=False, id="tree.expand_all"),
        # Textual's own Tree keys, given ids so they can be remapped too
        Binding("enter", "select_cursor", "Open / close group", show=False, id="tree.select"),
        Binding("space", "toggle_node", "Expand / collapse", show=False, id="tree.toggle"),
        Binding("shift+space", "toggle_expand_all", "Expand or collapse siblings", show=False, id="tree.toggle_siblings"),
        Binding("shift+left", "cursor_parent", "Parent", show=False, id="tree.parent"),
        Binding("shift+right", "cursor_parent_next_sibling", "Parent's next sibling", show=False,
                id="tree.parent_next"),
        Binding("shift+up", "cursor_previous_sibling", "Previous sibling", show=False, id="tree.previous_sibling"),
        Binding("shift+down", "cursor_next_sibling", "Next sibling", show=False, id="tree.next_sibling"),
    ]

    def __init__(self, *, id: str | None = None, on_cursor=None) -> None:  # noqa: A002 - Textual's keyword
        super().__init__("graph", id=id)
        # called with the row's entry as the cursor moves, before the repaint (see watch_cursor_line)
        self.on_cursor = on_cursor
        self.show_root = False
        self.guide_depth = 2
        self.auto_expand = True  # enter or a click on a group row opens or closes it
        self.rows: list[NodeRow] = []
        self.hierarchy: Group | None = None
        self.query_text = ""
        self.matches: list[str] = []
        self.match_index = -1
        self._by_name: dict[str, NodeRow] = {}
        self._entry_nodes: dict[int, TreeNode] = {}
        self._populated: set[int] = set()
        self._quiet: str | None = None

    # ------------------------------------------------------------------ building
    def show_message(self, text: str) -> None:
        """A one-row tree with a message (loading, errors)."""
        self.clear()
        self._entry_nodes.clear()
        self._populated.clear()
        self.root.add_leaf(Text(text, style="italic"))

    def session_replaced(self) -> None:
        self.query_text = ""
        self.matches, self.match_index = [], -1

    def refresh_from_session(self) -> None:
        session = host(self).session
        if session.current is None:
            return
        self._index(session.current)

    @work(thread=True, exclusive=True, group="node-index", exit_on_error=False)
    def _index(self, graph) -> None:
        # Reading 10,000 nodes' metadata takes a few hundred ms: not on the UI thread.
        rows = node_rows(graph)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._apply_rows, rows)

    def _apply_rows(self, rows: list[NodeRow]) -> None:
        keep = self.current_name()
        query = self.query_text
        self.set_rows(rows, select_first=keep is None)
        if query:
            self.apply_filter(query, notify=False)
        if keep is not None and not self.reveal(keep, quiet=True) and self.root.children:
            self.move_cursor(self.root.children[0])  # the node is gone: start at the top

    def set_rows(self, rows: list[NodeRow], *, select_first: bool = True) -> None:
        self.rows = rows
        self.query_text = ""
        self.matches, self.match_index = [], -1
        self._show(build_hierarchy(rows), expand_budget=AUTO_EXPAND_ROWS, select_first=select_first)

    def _show(self, hierarchy: Group, expand_budget: int, select_first: bool = True) -> None:
        self.hierarchy = hierarchy
        self._by_name = {}
        stack = [hierarchy]
        while stack:  # names of this hierarchy's rows (they are copies when filtered)
            entry = stack.pop()
            if isinstance(entry, NodeRow):
                self._by_name[entry.name] = entry
            else:
                stack.extend(entry.children)
        self.clear()
        self._entry_nodes = {id(hierarchy): self.root}
        self._populated = set()
        self._populate(self.root)
        self._auto_expand(expand_budget)
        self._number_lines()
        if select_first and self.root.children:
            self.move_cursor(self.root.children[0])

    def _populate(self, node: TreeNode) -> None:
        entry = node.data if node is not self.root else self.hierarchy
        if id(entry) in self._populated or isinstance(entry, NodeRow) or entry is None:
            return
        self._populated.add(id(entry))
        for child in entry.children:
            if isinstance(child, NodeRow):
                tree_node = node.add_leaf(row_label(child), data=child)
            else:
                tree_node = node.add(entry_label(child), data=child, allow_expand=True)
            self._entry_nodes[id(child)] = tree_node

    def _auto_expand(self, budget: int) -> None:
        visible = len(self.root.children)
        queue = list(self.root.children)
        while queue:
            node = queue.pop(0)
            entry = node.data
            if isinstance(entry, NodeRow):
                continue
            count = len(entry.children)
            if visible + count > budget:
                continue
            self._populate(node)
            node.expand()
            visible += count
            queue.extend(node.children)

    def _number_lines(self) -> None:
        # Textual recomputes line numbers lazily on idle; moving the cursor to a node that was
        # just added or expanded needs them now.
        self.last_line  # noqa: B018 - the public property rebuilds the line cache

    def on_tree_node_expanded(self, event: Tree.NodeExpanded) -> None:
        event.stop()
        self._populate(event.node)

    # ------------------------------------------------------------------ cursor
    def current_entry(self):
        node = self.cursor_node
        return None if node is None else node.data

    def current_name(self) -> str | None:
        entry = self.current_entry()
        return entry.name if isinstance(entry, NodeRow) else None

    def watch_cursor_line(self, previous_line: int, line: int) -> None:
        super().watch_cursor_line(previous_line, line)
        # The details pane is drawn in this same step rather than from the NodeFocused message:
        # a message hop lands after the tree's repaint and costs one more frame (~30 ms).
        node = self.cursor_node
        if node is not None and node.data is not None and self.on_cursor is not None and previous_line != line:
            self.on_cursor(node.data)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        event.stop()
        entry = event.node.data
        if isinstance(entry, NodeRow):
            if self._quiet == entry.name:
                self._quiet = None
                return
            self.post_message(NodeFocused(entry.name, "tree"))

    def reveal(self, name: str, *, quiet: bool = False) -> bool:
        """Open the rows above node ``name`` and put the cursor on it. ``quiet``: no NodeFocused."""
        row = self._by_name.get(name)
        if row is None:
            return False
        node = self.root
        for entry in ancestors(row) + [row]:
            self._populate(node)
            child = self._entry_nodes.get(id(entry))
            if child is None:
                return False
            if entry is not row and not child.is_expanded:
                self._populate(child)
                child.expand()
            node = child
        self._number_lines()
        if self.cursor_node is node:
            return True
        before = self.cursor_line
        if quiet:
            self._quiet = name
        self.move_cursor(node)
        if self.cursor_line == before:
            # same line number after a rebuild: Textual posts no highlight, so nothing to swallow
            self._quiet = None
            if not quiet:
                self.post_message(NodeFocused(name, "tree"))
        return True

    def action_collapse_or_parent(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent)

    def action_expand_or_child(self) -> None:
        node = self.cursor_node
        if node is None or not node.allow_expand:
            return
        if not node.is_expanded:
            self._populate(node)
            node.expand()
        elif node.children:
            self._number_lines()
            self.move_cursor(node.children[0])

    def action_expand_all_here(self) -> None:
        node = self.cursor_node
        if node is None or isinstance(node.data, NodeRow):
            return
        if node.data.size > 2000:
            self.notify(f"{node.data.size} nodes under this row: expand it level by level", severity="warning")
            return
        todo = [node]
        while todo:
            current = todo.pop()
            if isinstance(current.data, NodeRow):
                continue
            self._populate(current)
            current.expand()
            todo.extend(current.children)

    # ------------------------------------------------------------------ filter
    def apply_filter(self, query: str, *, notify: bool = True) -> int:
        """Show only nodes matching ``query`` (see node_index.parse_query); returns the match count.
        An empty query shows the whole graph again."""
        query = query.strip()
        if not query:
            self.clear_filter()
            return 0
        found = filter_rows(self.rows, query)
        if not found:
            if notify:
                self.notify(f"no node matches '{query}'", severity="warning")
            return 0
        from dataclasses import replace

        copies = [replace(row) for row in found]  # the full hierarchy keeps its own parents
        self.query_text = query
        self.matches = [row.name for row in copies]
        self.match_index = 0
        budget = 10**9 if len(copies) <= FILTER_EXPAND_ALL else 0
        self._show(build_hierarchy(copies, fold=False), expand_budget=budget, select_first=False)
        self.reveal(self.matches[0])
        return len(copies)

    def clear_filter(self) -> None:
        keep = self.current_name()
        self.query_text = ""
        self.matches, self.match_index = [], -1
        self._show(build_hierarchy(self.rows), expand_budget=AUTO_EXPAND_ROWS, select_first=not keep)
        if keep and not self.reveal(keep) and self.root.children:
            self.move_cursor(self.root.children[0])

    def step_match(self, delta: int) -> str | None:
        if not self.matches:
            return None
        current = self.current_name()
        if current in self.matches and self.matches[self.match_index] != current:
            self.match_index = self.matches.index(current)
        self.match_index = (self.match_index + delta) % len(self.matches)
        name = self.matches[self.match_index]
        self.reveal(name)
        return name
