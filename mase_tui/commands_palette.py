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
    from mase_tui.tab_keys import TAB_OF_ID

    node = info.namespace
    if info.binding_id in TAB_OF_ID:  # a tab's key, bound on the App: it acts while its tab is shown
        app.action_show_tab(TAB_OF_ID[info.binding_id])
    elif node is not app:
        app.reveal_widget(node)
    app.call_later(app.run_action, info.action, node)


class PassesProvider(Provider):
    """Two commands per registered pass, built-in or the user's: "Run pass: cost_analysis"
    (with its declared defaults) and "Edit pass: cost_analysis" (opens it in the Passes tab)."""

    def _commands(self) -> list[tuple[str, str, object]]:
        from core.passes import PASSES

        out = []
        for name, spec in PASSES.items():
            origin = "" if spec.builtin else f" · {spec.where}"
            out.append((f"Run pass: {spec.short_name}", f"{spec.kind}, default arguments · {name}{origin}",
                        partial(run_pass_with_defaults, self.app, name)))
            out.append((f"Edit pass: {spec.short_name}", f"open in the Passes tab · {spec.description}",
                        partial(edit_pass, self.app, name)))
        return out

    async def discover(self) -> Hits:
        for title, help_text, command in self._commands():
            yield DiscoveryHit(title, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, command in self._commands():
            score = max(matcher.match(title), matcher.match(f"{title} {help_text}") * 0.8)
            if score > 0:
                yield Hit(score, matcher.highlight(title), command, help=help_text)


def _pass_runner(app):
    from mase_tui.widgets.pass_runner import PassRunner

    runners = app.screen.query(PassRunner)
    return runners.first() if runners else None


def edit_pass(app, name: str) -> None:
    def show() -> None:
        runner = _pass_runner(app)
        if runner is None:
            app.notify("the Passes tab is not ready yet", severity="warning")
            return
        app.reveal_widget(runner)
        runner.select_pass(name)
        runner.query_one("#pass-args").focus()

    app.call_later(show)


def run_pass_with_defaults(app, name: str) -> None:
    def run() -> None:
        runner = _pass_runner(app)
        if runner is None:
            app.notify("the Passes tab is not ready yet", severity="warning")
            return
        app.reveal_widget(runner)
        runner.run_with_defaults(name)

    app.call_later(run)
