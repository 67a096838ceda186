"""Pilot tests of ctrl+o: open another model without leaving the app, keeping the old one until
the new one is ready. Expected numbers come from the model definitions in core/models/jsc.py:
jsc-tiny is BN, ReLU, Linear(16,5), ReLU (4 modules); jsc-toy is three Linear/BN/ReLU blocks
after a BN and a ReLU (11 modules, linears 16x8, 8x8, 8x5 = 232 MACs per sample)."""

from __future__ import annotations

import json
import textwrap

import pytest
from textual.widgets import Input, OptionList
from textual.worker import WorkerCancelled

from core.session import Session
from mase_tui.app import MaseTuiApp
from mase_tui.keymap import all_bindings
from mase_tui.recent import recent_path
from mase_tui.widgets.costs import CostsView
from mase_tui.widgets.open_model import OpenModelScreen
from mase_tui.widgets.pass_runner import PassRunner

SIZE = (80, 24)
JSC_TINY_NODES = ["x", "seq_blocks_0", "seq_blocks_1", "seq_blocks_2", "seq_blocks_3", "output"]
JSC_TOY_NODES = ["x", *(f"seq_blocks_{i}" for i in range(11)), "output"]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.delenv("MASE_TUI_JSC_PATH", raising=False)
    monkeypatch.setenv("MASE_TUI_KEYS", str(tmp_path / "no-keys.toml"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


async def settle(app, pilot) -> None:
    """Wait for the loaders and everything they start (cost, overview, compare, tree index)."""
    for _ in range(400):
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:
            pass
        await pilot.pause()
        if (app.ready or app.load_error) and app.pending_session is None and not any(w.is_running for w in app.workers):
            break
    await pilot.pause()


async def open_dialog(app, pilot) -> OpenModelScreen:
    await pilot.press("ctrl+o")
    await pilot.pause()
    assert isinstance(app.screen, OpenModelScreen)
    return app.screen


async def type_and_open(app, pilot, model: str, dataset: str = "") -> OpenModelScreen:
    dialog = await open_dialog(app, pilot)
    if len(model) > 20:  # a tmp_path path: Pilot takes ~0.1 s a key, so it is pasted
        dialog.query_one("#open-model", Input).value = model
    else:
        await pilot.press(*model)
    if dataset:
        await pilot.press("tab", *dataset)
    await pilot.press("enter")
    await pilot.pause()
    return dialog


def node_names(app) -> list[str]:
    return [row.name for row in app.tree.rows]


async def test_ctrl_o_opens_jsc_toy_and_every_pane_follows():
    app = MaseTuiApp(Session("jsc-tiny"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert node_names(app) == JSC_TINY_NODES
        costs = app.query_one(CostsView)
        assert costs.info_b["totals_per_sample"]["bitops"] == 16 * 5 * 32 * 32  # Linear(16,5), float32
        runner = app.query_one(PassRunner)
        runner.run_with_defaults("report_graph_analysis_pass")
        await settle(app, pilot)
        assert runner.last_run is not None and runner.last_run.ok and len(app.session.history) == 1
        old, old_search = app.session, app.query_one("#search")

        await type_and_open(app, pilot, "jsc-toy")
        assert not isinstance(app.screen, OpenModelScreen)
        # until the new session is ready the old one is the app's, loaded and shown
        assert app.pending_session is not None or app.session is not old
        await settle(app, pilot)

        assert app.session is not old and app.session.model_name == "jsc-toy"
        assert node_names(app) == JSC_TOY_NODES
        data = app.overview.data
        assert data["overview"]["call_module"] == 11 and data["parameters"] == 327
        assert data["cost"]["per_sample"]["bitops"] == (16 * 8 + 8 * 8 + 8 * 5) * 32 * 32
        # the Passes tab shows no result of jsc-tiny's run, and an empty history
        assert runner.last_run is None and "No pass run yet." in str(runner.query_one("#pass-result-body").render())
        assert app.session.history == []
        assert app.query_one("#search") is old_search  # a study (and a running search) is not the model's
        assert costs.info_a["totals_per_sample"]["bitops"] == 237_568
        assert costs.info_b["totals_per_sample"]["bitops"] == 237_568
        assert "jsc-toy" in str(app.query_one("#status").render())
        # the details follow the new tree: a jsc-toy linear that jsc-tiny does not have
        app.tree.reveal("seq_blocks_8")
        await settle(app, pilot)
        assert app.details.subject == "seq_blocks_8"
        assert "Linear" in app.details.text


async def test_typo_shows_did_you_mean_and_keeps_the_session():
    app = MaseTuiApp(Session("jsc-tiny"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        old = app.session
        dialog = await type_and_open(app, pilot, "jsc-tyo")
        assert app.screen is dialog  # stays open, the typo answered in place
        assert "unknown model 'jsc-tyo'" in dialog.error_text and "did you mean 'jsc-toy'" in dialog.error_text
        assert "did you mean 'jsc-toy'" in str(dialog.query_one("#open-error").render())
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.session is old and node_names(app) == JSC_TINY_NODES
        assert not recent_path().exists()  # nothing was opened


async def test_factory_file_opens_and_a_failing_factory_keeps_the_session(tmp_path):
    model_file = tmp_path / "my_model.py"
    model_file.write_text(textwrap.dedent("""
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1, self.act, self.fc2 = nn.Linear(16, 3), nn.ReLU(), nn.Linear(3, 5)

            def forward(self, x):
                return self.fc2(self.act(self.fc1(x)))

        def make():
            return Net()

        def broken():
            raise RuntimeError("the user's factory is broken")
    """))
    app = MaseTuiApp(Session("jsc-tiny"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        # a user model without a data set: said in the dialog, which stays open
        dialog = await type_and_open(app, pilot, f"{model_file}:make")
        assert app.screen is dialog and "no data set of its own" in dialog.error_text
        await pilot.press("escape")

        await type_and_open(app, pilot, f"{model_file}:make", "jsc-synthetic")
        await settle(app, pilot)
        assert app.session.model_name == f"{model_file}:make"
        assert node_names(app) == ["x", "fc1", "act", "fc2", "output"]
        assert app.overview.data["parameters"] == 16 * 3 + 3 + 3 * 5 + 5
        good = app.session

        await type_and_open(app, pilot, f"{model_file}:broken", "jsc-synthetic")
        await settle(app, pilot)
        assert app.session is good and node_names(app) == ["x", "fc1", "act", "fc2", "output"]
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and "the user's factory is broken" in errors[-1].message
        assert errors[-1].timeout >= 600  # stays up


async def test_recent_list_holds_the_opened_models(tmp_path):
    app = MaseTuiApp(Session("jsc-tiny"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await type_and_open(app, pilot, "jsc-toy")
        await settle(app, pilot)
        saved = json.loads(recent_path().read_text())
        assert recent_path() == tmp_path / "config" / "mase-tui" / "recent.json"
        assert [e["model"] for e in saved] == ["jsc-toy", "jsc-tiny"]

        dialog = await open_dialog(app, pilot)
        listing = dialog.query_one(OptionList)
        labels = [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)]
        assert labels[:3] == ["recent", "jsc-toy", "jsc-tiny"]
        assert "zoo" in labels
        # keyboard only: down to the list, j to the second recent entry, enter opens it
        await pilot.press("down", "j", "enter")
        await pilot.pause()
        assert not isinstance(app.screen, OpenModelScreen)
        await settle(app, pilot)
        assert app.session.model_name == "jsc-tiny" and node_names(app) == JSC_TINY_NODES
        saved = json.loads(recent_path().read_text())
        assert [e["model"] for e in saved][:2] == ["jsc-tiny", "jsc-toy"]


async def test_typing_filters_the_list():
    app = MaseTuiApp(Session("jsc-tiny"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        dialog = await open_dialog(app, pilot)
        await pilot.press(*"resnet")
        await pilot.pause()
        listing = dialog.query_one(OptionList)
        ids = [listing.get_option_at_index(i).id for i in range(listing.option_count)]
        assert [i for i in ids if i] == ["zoo:resnet18"]
        assert dialog.query_one("#open-model", Input).value == "resnet"


async def test_remapped_key_opens_the_dialog_and_the_palette_lists_it(tmp_path, monkeypatch):
    keys = tmp_path / "keys.toml"
    keys.write_text('[keys]\nopen-model = "f2"\n')
    monkeypatch.setenv("MASE_TUI_KEYS", str(keys))
    app = MaseTuiApp(Session("jsc-tiny"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        listed = [b for b in all_bindings(app, app.screen) if b.binding_id == "open-model"]
        assert [(b.key_text, b.description) for b in listed] == [("f2", "Open model")]  # what the palette shows
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert not isinstance(app.screen, OpenModelScreen)
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, OpenModelScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, OpenModelScreen)


async def test_saved_graph_directory_opens(tmp_path):
    from core.passes.interface.save_load import save_mase_graph

    run = tmp_path / "run"
    save_mase_graph(Session("jsc-toy").load().current, run / "saved")
    (run / "config.toml").write_text('model = "jsc-toy"\ndataset = "jsc-synthetic"\n')  # as a transform leaves it
    (tmp_path / "empty").mkdir()
    app = MaseTuiApp(Session("jsc-tiny"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        dialog = await type_and_open(app, pilot, str(tmp_path / "empty"))
        assert app.screen is dialog and "not a saved graph (no manifest.json in it)" in dialog.error_text
        await pilot.press("escape")
        await type_and_open(app, pilot, str(run / "saved"))
        await settle(app, pilot)
        assert app.session.load_type == "mz" and app.session.model_name == "jsc-toy"
        assert node_names(app) == JSC_TOY_NODES
        assert json.loads(recent_path().read_text())[0] == {"model": str(run / "saved"), "dataset": None}


async def test_after_a_failed_start_ctrl_o_opens_a_working_model(tmp_path):
    model_file = tmp_path / "bad.py"
    model_file.write_text("def make():\n    raise ValueError('no model today')\n")
    app = MaseTuiApp(Session(f"{model_file}:make", dataset="jsc-synthetic"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.load_error and "no model today" in app.load_error and not app.ready
        await type_and_open(app, pilot, "jsc-tiny")
        await settle(app, pilot)
        assert app.ready and app.load_error is None and app.session.model_name == "jsc-tiny"
        assert node_names(app) == JSC_TINY_NODES
        assert app.query_one(CostsView).info_b["totals_per_sample"]["bitops"] == 16 * 5 * 32 * 32
        assert [e["model"] for e in json.loads(recent_path().read_text())] == ["jsc-tiny"]
