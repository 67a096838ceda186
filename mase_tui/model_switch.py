"""What ctrl+o needs besides the dialog: the session for the chosen model, and the recent list.

The app loads the new session in the loader's worker while the current one stays (see
``MaseTuiApp._open_model_chosen`` and ``_switch_to``); these helpers decide what carries over
from the current session and what is remembered, so the app keeps only the wiring.
"""

from __future__ import annotations

from pathlib import Path

from mase_tui.recent import RecentModel, absolute_model_ref, remember


def session_for(request, current):
    """A new, unloaded Session for the dialog's ``request`` (model, dataset). What the user chose
    at start-up that is not about the model carries over: the seed, shipped weights or not, the
    real JSC file, trusting checkpoints. Raises ``MaseError`` (e.g. a meta-only model)."""
    from core.session import Session

    return Session(request.model, dataset=request.dataset, dataset_path=current.dataset_path,
                   seed=current.seed, pretrained=current.pretrained, trust_checkpoint=current.trust_checkpoint)


def remember_switch(current, request) -> None:
    """The model being left (if it loaded) and the one opened go to the top of the recent list:
    each is one ctrl+o away. The opened one is stored as typed (paths absolute), not as the
    session names it after loading (a saved graph directory becomes its zoo model's name)."""
    opened = RecentModel(request.model, request.dataset)
    if current is not None and current.loaded:
        remember(RecentModel(_reopen_ref(current), current.dataset), opened)
    else:
        remember(opened)


def _reopen_ref(session) -> str:
    """What opens ``session``'s model again: a saved graph is its directory."""
    if session.load_type == "mz" and session.load_name and Path(session.load_name).is_dir():
        return absolute_model_ref(session.load_name)
    return absolute_model_ref(session.model_name)
