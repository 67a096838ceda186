"""User passes in the app: listed in the Passes tab and the palette and run like built-ins;
ctrl+l and a change on disk reload the file while the graph stays; a broken edit or a raising
pass is shown in place with the user's file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from textual.widgets import OptionList

from core.passes import PASSES
from core.passes.user_passes import load_pass_file, loaded_files, unload_pass_file
from core.session import Session
from mase_tui.commands_palette import PassesProvider
from tests.tui.test_tabs import SIZE, choose_pass, error_messages, make_app, settle

# Counts jsc-toy's nodes of one fx opcode; VERSION and the count change between edits.
PASS_FILE = '''\
from core.passes import Arg, mase_pass


@mase_pass(
    "tally_analysis_pass",
    kind="analysis",
    doc="VERSION: count nodes of one opcode",
    args=[Arg("opcode", "str", "call_module", "the fx opcode to count")],
)
def tally_analysis_pass(graph, pass_args=None):
    opcode = (pass_args or {}).get("opcode")
    nodes = [n for n in graph.fx_graph.nodes if n.op == opcode]
    return graph, {"count": len(nodes) * FACTOR}


FACTOR = 1
'''


def version(text: str, doc: str, factor: int) -> str:
    return text.replace("VERSION", doc).replace("FACTOR = 1", f"FACTOR = {factor}")


@pytest.fixture
def pass_file(tmp_path):
    path = tmp_path / "my_passes.py"
    path.write_text(version(PASS_FILE, "v1", 1))
    load_pass_file(path)
    yield path
    for loaded in list(loaded_files()):
        unload_pass_file(loaded)


def pass_ids(app) -> list[str]:
    options = app.query_one("#pass-list", OptionList)
    return [options.get_option_at_index(i).id for i in range(options.option_count)]


async def run_selected(app, pilot):
    await pilot.press("ctrl+r")
    await settle(app, pilot)
    return app.session.history[-1]


async def test_a_user_pass_is_listed_run_and_reloaded_by_ctrl_l(pass_file):
    session = Session("jsc-toy")
    app = make_app(session)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(app, pilot)
        assert pass_ids(app)[-1] == "tally_analysis_pass"
        titles = [t for t, _, _ in PassesProvider(app.screen)._commands()]
        assert {"Run pass: tally", "Edit pass: tally"} <= set(titles)
        await choose_pass(app, pilot, "tally_analysis_pass")
        run = await run_selected(app, pilot)
        assert (run.name, run.ok, run.info) == ("tally_analysis_pass", True, {"count": 11})  # jsc-toy's 11 modules
        graph = session.current

        pass_file.write_text(version(PASS_FILE, "v2", 3))
        await pilot.press("ctrl+l")
        await settle(app, pilot)
        assert PASSES["tally_analysis_pass"].description == "v2: count nodes of one opcode"
        assert any("reloaded" in n.message and "my_passes.py (tally)" in n.message for n in app._notifications)
        assert session.current is graph  # the graph is kept
        run = await run_selected(app, pilot)
        assert run.ok and run.info == {"count": 33}


async def test_a_change_on_disk_reloads_and_a_broken_edit_is_shown_in_place(pass_file):
    session = Session("jsc-toy")
    app = make_app(session)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(app, pilot)
        await choose_pass(app, pilot, "tally_analysis_pass")
        # saved with a new pass name: the watcher (1 s poll) swaps the passes without a key
        pass_file.write_text(version(PASS_FILE, "v2", 2).replace("tally_analysis_pass", "tally2_analysis_pass"))
        for _ in range(30):
            await pilot.pause(0.2)
            if "tally2_analysis_pass" in PASSES:
                break
        await settle(app, pilot)
        assert "tally_analysis_pass" not in PASSES and pass_ids(app)[-1] == "tally2_analysis_pass"

        good = pass_file.read_text()
        pass_file.write_text(good.replace("nodes = [n for n", "nodes = [n for n in"))  # a syntax error
        await pilot.press("ctrl+l")
        await settle(app, pilot)
        errors = error_messages(app)
        assert len(errors) == 1 and errors[0].startswith(f"{pass_file}:12: syntax error: ")
        status = str(app.query_one("#pass-status").render())
        assert "syntax error" in status
        # the last good version stays usable
        await choose_pass(app, pilot, "tally2_analysis_pass")
        run = await run_selected(app, pilot)
        assert run.ok and run.info == {"count": 22}


async def test_a_raising_user_pass_reports_its_line_and_keeps_the_graph(tmp_path):
    path = tmp_path / "bad_pass.py"
    path.write_text(textwrap.dedent('''\
        from core.passes import mase_pass


        @mase_pass("broken_analysis_pass", kind="analysis", doc="raises")
        def broken_analysis_pass(graph, pass_args=None):
            for node in graph.fx_graph.nodes:
                node.meta["mase"].parameters["common"]["mase_op"] = "overwritten"
            raise ValueError("the student's bug")
        '''))
    load_pass_file(path)
    try:
        session = Session("jsc-toy")
        app = make_app(session)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await settle(app, pilot)
            graph = session.current
            await choose_pass(app, pilot, "broken_analysis_pass")
            run = await run_selected(app, pilot)
            assert not run.ok
            expected = f"broken_analysis_pass failed at {path}:8: ValueError: the student's bug"
            assert run.error == expected and error_messages(app) == [expected]
            assert session.current is graph
            ops = {n.meta["mase"].parameters["common"]["mase_op"] for n in graph.fx_graph.nodes}
            assert "overwritten" not in ops
    finally:
        unload_pass_file(Path(path))


async def test_a_config_with_passes_files_opens_its_user_pass_in_the_editor(tmp_path):
    (tmp_path / "passes").mkdir()
    (tmp_path / "passes" / "tally.py").write_text(version(PASS_FILE, "v1", 1))
    config = tmp_path / "run.toml"
    config.write_text('passes_files = ["passes/tally.py"]\n\n[passes.tally]\nopcode = "placeholder"\n')
    try:
        session = Session("jsc-toy")
        app = make_app(session)
        app.config_path = str(config)  # as `mase-tui inspect jsc-toy --config run.toml` does
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await settle(app, pilot)
            runner = app.query_one("#pass-runner")
            assert runner.selected == "tally_analysis_pass" and pass_ids(app)[-1] == "tally_analysis_pass"
            assert 'opcode = "placeholder"' in app.query_one("#pass-args").text
            await choose_pass(app, pilot, "tally_analysis_pass")
            run = await run_selected(app, pilot)
            assert run.ok and run.info == {"count": 1}  # jsc-toy has one placeholder
            await pilot.pause(1.3)  # a poll after loading: the new file is not "changed"
            assert not any("reloaded" in n.message for n in app._notifications)
    finally:
        for loaded in list(loaded_files()):
            unload_pass_file(loaded)
