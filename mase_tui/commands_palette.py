"""Command palette (ctrl+p): every binding of the app and its panes, shown with its key.

Built from the live bindings (with the user's keymap applied), so a new key anywhere in the
app is a palette command with no extra code. Picking a command for a pane's key first shows
that pane's tab, then runs the action in the pane.
"""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from mase_tui.keymap import BindingInfo, all_bindings

# Actions that make no sense from the palette (it is itself a modal screen)
_SKIP_ACTIONS = {"command_palette"}


def _title(info: BindingInfo) -> str:
    return info.description if info.scope == "Global" else f"{info.scope}: {info.description}"


class BindingsProvider(Provider):
    """One command per binding: "Node tree: Next match" with help "n · id match.next"."""

    def binding_commands(self) -> list[BindingInfo]:
        screen = self.screen
        # The palette is pushed over the main screen; list the bindings of the screen below it.
        return [b for b in all_bindings(self.app, screen) if b.action not in _SKIP_ACTIONS]

    def _help(self, info: BindingInfo) -> str:
        ident = f"  ·  id {info.binding_id}" if info.binding_id else ""
        return f"key {info.key_text}{ident}"

    async def discover(self) -> Hits:
        for info in self.binding_commands():
            yield DiscoveryHit(_title(info), partial(run_binding, self.app, info), help=self._help(info))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for info in self.binding_commands():
            title = _title(info)
            score = max(matcher.match(title), matcher.match(f"{title} {info.key_text} {info.binding_id or ''}") * 0.8)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(run_binding, self.app, info), help=self._help(info))


def run_binding(app, info: BindingInfo) -> None:
    """Run a binding's action where it lives, showing its tab and focusing its pane first."""
    node = info.namespace
    if node is not app:
        app.reveal_widget(node)
    app.call_later(app.run_action, info.action, node)
