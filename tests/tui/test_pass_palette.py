"""The command palette lists every registered pass (issue 14 item 18): run it with its declared
defaults, or open it in the Passes tab's editor."""

from __future__ import annotations

from textual.widgets import TextArea

from core.passes import PASSES
from core.session import Session
from mase_tui.commands_palette import PassesProvider
from mase_tui.widgets.pass_runner import PassRunner
from tests.tui.test_tabs import SIZE, make_app, settle


async def test_palette_lists_every_pass_and_runs_one_with_its_defaults():
    session = Session("jsc-toy")
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        titles = [title for title, _, _ in PassesProvider(app.screen)._commands()]
        assert titles == [f"{verb} pass: {PASSES[n].short_name}" for n in PASSES for verb in ("Run", "Edit")]

        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Run pass: cost_analysis")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(app, pilot)
        run = session.history[-1]
        assert (run.name, run.ok, run.args) == ("cost_analysis_pass", True, {"batch_size": None, "uniq": False})
        # jsc-toy's MACs per sample: 16*8 + 8*8 + 8*5 (the lab's three linears)
        assert run.info["totals_per_sample"]["macs"] == 232
        assert app.query_one("#tabs").active == "tab-passes"


async def test_palette_opens_a_pass_in_the_editor():
    session = Session("jsc-toy")
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Edit pass: profile_statistics")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(app, pilot)
        runner = app.query_one(PassRunner)
        editor = app.query_one("#pass-args", TextArea)
        assert runner.selected == "profile_statistics_analysis_pass"
        assert app.focused is editor and "num_samples = 32" in editor.text
        assert "input_generator" not in editor.text  # the session supplies it
        assert session.history == []


async def test_a_tabs_key_run_from_the_palette_shows_its_tab_and_runs():
    from mase_tui.commands_palette import run_binding
    from mase_tui.keymap import all_bindings

    app = make_app(Session("jsc-toy"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.query_one("#tabs").active == "tab-graph"
        info = next(b for b in all_bindings(app, app.main) if b.binding_id == "costs.toggle-modules")
        assert info.scope == "Costs"
        run_binding(app, info)  # what picking "Costs: Nodes/modules" does
        await settle(app, pilot)
        assert app.query_one("#tabs").active == "tab-costs"
        assert app.query_one("#costs").by_module is True
