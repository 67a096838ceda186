"""The keys of the Passes, Costs and Search tabs, bound on the App so they work wherever the focus is
(the node tree, the details, the tab's own widgets) while their tab is shown.

Textual looks up a key's binding along the focus chain; a tab's pane is not on that chain while
the tree has the focus, so keys bound on the pane itself would do nothing there and vanish from
the footer. ``MaseTuiApp.check_action`` offers each of these only while its tab is the active one
(and no dialog is open), and ``action_tab_action`` runs the pane's own action. This module
imports only ``textual.binding``: the panes themselves are imported after the first frame.
"""

from __future__ import annotations

from textual.binding import Binding

# tab id -> the id of the pane widget in it whose actions the keys run
TAB_PANE = {"tab-passes": "pass-runner", "tab-costs": "costs", "tab-search": "search"}
# the scope the help screen and the palette list each tab's keys under
TAB_SCOPE = {"tab-passes": "Passes", "tab-costs": "Costs", "tab-search": "Search"}


def _key(keys: str, tab: str, action: str, description: str, binding_id: str, **kwargs) -> Binding:
    return Binding(keys, f"tab_action('{tab}', '{action}')", description, id=binding_id, **kwargs)


# The footer lists a BindingsMap's keys in the order each key first appears, whichever tab it is
# for: this order reads well for every tab (Passes: ^r o R x; Costs: s m a x; Search: s a o x).
TAB_BINDINGS = [
    _key("ctrl+r", "tab-passes", "run_pass", "Run pass", "passes.run"),
    _key("s", "tab-costs", "cycle_sort", "Sort", "costs.sort"),
    _key("s", "tab-search", "start_search", "Start search", "search.start"),
    _key("m", "tab-costs", "toggle_modules", "Nodes/modules", "costs.toggle-modules"),
    _key("a", "tab-costs", "evaluate", "Accuracy", "costs.evaluate"),
    _key("a", "tab-search", "apply_trial", "Apply trial", "search.apply"),
    _key("o", "tab-passes", "open_config", "Open config", "passes.open-config"),
    _key("o", "tab-search", "attach_study", "Attach study", "search.attach"),
    _key("R", "tab-passes", "reset_graph", "Reset graph", "passes.reset"),
    _key("x", "tab-passes", "cancel_pass", "Cancel pass", "passes.cancel"),
    _key("x", "tab-costs", "cancel_evaluation", "Cancel eval", "costs.cancel-evaluation"),
    _key("x", "tab-search", "cancel_search", "Cancel search", "search.cancel"),
]
# binding id -> its tab, and the scope the help and the palette list it under
TAB_OF_ID = {b.id: b.action.split("'")[1] for b in TAB_BINDINGS}
SCOPE_OF_ID = {ident: TAB_SCOPE[tab] for ident, tab in TAB_OF_ID.items()}
