"""RichLinesView: rich renderables shown through Textual's line API, selectable with the mouse.

A Static holding rich tables re-lays-out the whole screen on every update and cannot be
selected as text (Textual selects only Text/Content). This view renders the renderables once
per (content, width) into strips, changes only its virtual size, paints the visible lines,
and answers Textual's selection protocol from the plain text of those lines.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Hashable

from rich.console import Group, RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip

CACHE_SIZE = 64  # rendered contents kept, so moving back to a node costs nothing


def scroll_bindings(scope: str) -> list[Binding]:
    """Arrow and vim scrolling for one view; ids carry the scope so each can be remapped."""
    return [
        Binding("down,j", "scroll_down", "Scroll down", show=False, id=f"{scope}.down"),
        Binding("up,k", "scroll_up", "Scroll up", show=False, id=f"{scope}.up"),
        Binding("home,g", "scroll_home", "Top", show=False, id=f"{scope}.top"),
        Binding("end,G", "scroll_end", "Bottom", show=False, id=f"{scope}.bottom"),
    ]


class RichLinesView(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    RichLinesView { overflow-x: hidden; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's keyword
        super().__init__(id=id)
        self.renderables: list[RenderableType] = []
        self._key: Hashable | None = None
        self._width = -1
        self._lines: list[list[Segment]] = []
        self._strips: list[Strip] = []
        self._plain: list[str] = []
        self._cache: OrderedDict[tuple, tuple] = OrderedDict()
        self._painted: dict[tuple[int, int, int], Strip] = {}  # (line, scroll_x, width) -> strip
        self._base: Style | None = None

    # ------------------------------------------------------------------ content
    def set_renderables(self, renderables: list[RenderableType], *, key: Hashable | None = None,
                        scroll_home: bool = True) -> None:
        """Show ``renderables``; with a ``key``, the rendering is cached under (key, width)."""
        self.renderables = renderables
        self._key = key
        self._width = -1  # render again
        if scroll_home:
            self.scroll_to(0, 0, animate=False)
        self._render_now()
        self.refresh()

    def clear_cache(self) -> None:
        self._cache.clear()

    def _content_width(self) -> int:
        return max(10, self.scrollable_content_region.width or self.size.width or 80)

    def _render_now(self) -> None:
        width = self._content_width()
        if width == self._width:
            return
        self._width = width
        cached = self._cache.get((self._key, width)) if self._key is not None else None
        if cached is None:
            console = self.app.console
            options = console.options.update_width(width)
            lines = console.render_lines(Group(*self.renderables), options, pad=False) if self.renderables else []
            plain = ["".join(seg.text for seg in line if not seg.control).rstrip() for line in lines]
            cached = (lines, [Strip(line) for line in lines], plain)
            if self._key is not None:
                self._cache[(self._key, width)] = cached
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        else:
            self._cache.move_to_end((self._key, width))
        self._lines, self._strips, self._plain = cached
        self._painted.clear()
        self._resize_content(Size(width, self._virtual_height(len(self._lines))))

    def _resize_content(self, size: Size) -> None:
        """Set the virtual size. Assigning it asks Textual for a layout of the whole screen, which
        re-renders every widget (on a slow machine most of a keypress's cost); unless the
        scrollbar appears or goes, only this view and its scrollbar change: they are told so and
        repainted, the rest of the screen is left alone."""
        if size == self.virtual_size:
            return
        bar_now = self.show_vertical_scrollbar
        bar_then = self.styles.overflow_y == "scroll" or (
            self.styles.overflow_y == "auto" and size.height > self.scrollable_content_region.height)
        if not (self.is_mounted and self.scrollable_content_region.height and bar_now and bar_then
                and size.width == self.virtual_size.width):
            self.virtual_size = size
            return
        self.set_reactive(RichLinesView.virtual_size, size)
        bar = self.vertical_scrollbar
        bar.window_virtual_size = size.height
        bar.refresh()
        if self.scroll_y > self.max_scroll_y:
            self.scroll_to(y=self.max_scroll_y, animate=False)
        self.refresh()

    def _virtual_height(self, lines: int) -> int:
        # A change of virtual size re-lays-out the whole screen (~20 ms). Content that fits keeps
        # the viewport's height and longer content is rounded up to 16 lines, so moving from
        # node to node rarely changes it; the price is a few blank lines at the end.
        view = self.scrollable_content_region.height
        if view and lines <= view:
            return view
        return -(-lines // 16) * 16

    def on_resize(self) -> None:
        self._render_now()

    @property
    def shown_text(self) -> str:
        """The text as displayed (wrapped at the pane's width)."""
        return "\n".join(self._plain)

    # ------------------------------------------------------------------ line API
    def render_lines(self, crop):
        self._render_now()
        base = self.rich_style  # walks the DOM: once per paint, not once per line
        if base != self._base:
            self._base = base
            self._painted.clear()
        return super().render_lines(crop)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._painted.clear()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        base = self._base or self.rich_style
        if index >= len(self._strips):
            return Strip.blank(width, base)
        selection = self.text_selection
        span = selection.get_span(index) if selection is not None else None
        key = (index, scroll_x, width)
        if span is None and key in self._painted:
            return self._painted[key]
        strip = self._selected(index, span) if span is not None else self._strips[index]
        strip = strip.apply_style(base).crop_extend(scroll_x, scroll_x + width, base)
        strip = strip.apply_offsets(scroll_x, index)
        if span is None:
            self._painted[key] = strip
        return strip

    def _selected(self, index: int, span: tuple[int, int]) -> Strip:
        text = Text.assemble(*((seg.text, seg.style or Style()) for seg in self._lines[index] if not seg.control))
        start, end = span
        if end == -1:
            end = len(text)
        text.stylize(self.screen.get_component_rich_style("screen--selection"), start, end)
        return Strip(text.render(self.app.console))

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        return selection.extract(self.shown_text), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._painted.clear()
        self.refresh()
