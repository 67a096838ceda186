"""Opening another model from inside the app (ctrl+o), keeping the current one until it is ready.

The new session loads in the loader's worker while ``app.session`` stays the old one: every pane
keeps working on it. The loader's messages name their session, so the app's own handlers ignore
the candidate's; the handlers here pick them up. When the candidate is loaded it becomes the
session: the cost service starts afresh, the Compare, Passes and Costs panes are mounted anew
(nothing they hold of the old model survives: accuracy, selections, edited pass arguments) and
every pane redraws from it. A failed load leaves the old session in place and says why in a
notification that stays.
"""

from __future__ import annotations

from pathlib import Path

from textual.binding import Binding

from mase_tui.messages import SessionFailed, SessionLoaded
from mase_tui.recent import RecentModel, absolute_model_ref, remember

MODEL_PANES = ("compare", "pass-runner", "costs")  # widget ids of the panes mounted anew for a new model


class ModelSwitch:
    """Mixed into ``MaseTuiApp``: the ctrl+o action and the switch to the loaded session."""

    OPEN_MODEL_BINDINGS = [Binding("ctrl+o", "open_model", "Open model", key_display="^o", id="model.open")]
    pending_session = None  # the session being loaded to replace app.session, if any

    def action_open_model(self) -> None:
        from mase_tui.widgets.open_model import OpenModelScreen

        self.push_screen(OpenModelScreen(current=self.session.model_name), self._open_requested)

    def _open_requested(self, request) -> None:
        if request is None:
            return
        from core.errors import MaseError
        from core.session import Session
        from mase_tui.session_loader import start_loading

        old = self.session
        try:  # what the user chose at start-up and is not about the model carries over
            session = Session(request.model, dataset=request.dataset, dataset_path=old.dataset_path,
                              seed=old.seed, pretrained=old.pretrained,
                              trust_checkpoint=old.trust_checkpoint)
        except MaseError as exc:
            self.notify(exc.one_line(), title=f"could not open {request.model}", severity="error", timeout=3600)
            return
        self.pending_session = session
        self._pending_request = request
        keeps = f"; {old.model_name} stays open until it is ready" if self.ready else ""
        self.notify(f"loading {request.model}{keeps}", title="open model", timeout=5, markup=False)
        start_loading(self, session)

    # Textual calls the handler of every class along the MRO: these run besides the app's own,
    # which ignore messages about a session that is not (yet) the app's.
    def on_session_failed(self, message: SessionFailed) -> None:
        if message.session is None or message.session is not self.pending_session:
            return
        self.pending_session = None
        self.notify(message.error, title=f"could not open {message.session.model_name}", severity="error",
                    timeout=3600, markup=False)

    async def on_session_loaded(self, message: SessionLoaded) -> None:
        session = message.session
        if session is None or session is not self.pending_session:
            return
        self.pending_session = None
        old, request = self.session, self._pending_request
        if old.loaded:  # the model being left is one ctrl+o away, as is the new one
            remember(RecentModel(_reopen_ref(old), old.dataset), RecentModel(request.model, request.dataset))
        else:
            remember(RecentModel(request.model, request.dataset))
        await self.switch_session(session)

    async def switch_session(self, session) -> None:
        """Make ``session`` (loaded) the app's session and redraw every pane from it."""
        from mase_tui.app import MaseTuiApp
        from mase_tui.cost_service import CostService

        self.session = session
        self.costs = CostService(self, session, self._cost_ready)
        self.load_error = None
        self.config_path = None  # the config named at start-up was for the previous model
        self.sub_title = session.model_name
        if self._tabs_mounted:
            await self._remount_model_panes()
        MaseTuiApp.on_session_loaded(self, SessionLoaded(session))  # the app's own: status, costs, every pane
        self.tuning.graph_replaced()  # the old session's graphs can be freed

    async def _remount_model_panes(self) -> None:
        """New Compare, Passes and Costs panes: what they hold is about the old model. The Search
        tab stays: its study and any search it runs are not the session's (applying a trial
        checks the trial's model)."""
        import importlib

        from mase_tui.app import TAB_PANES

        for module, name, _title, wid in TAB_PANES:
            if wid not in MODEL_PANES:
                continue
            old = self.main.query_one(f"#{wid}")
            parent = old.parent
            had_focus = old.has_focus_within
            await old.remove()
            pane = getattr(importlib.import_module(f"mase_tui.widgets.{module}"), name)(id=wid)
            await parent.mount(pane)
            if had_focus:
                self.tree.focus()
        if self.keymap:
            self.set_keymap(self.keymap)  # the new panes' bindings follow the user's keys too


def _reopen_ref(session) -> str:
    """What opens ``session``'s model again: a saved graph is its directory (loading it replaced
    ``model_name`` with the zoo model its config names)."""
    if session.load_type == "mz" and session.load_name and Path(session.load_name).is_dir():
        return absolute_model_ref(session.load_name)
    return absolute_model_ref(session.model_name)
