"""Pilot tests of the app shell: the real app on jsc-toy, driven by keys as a user would."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap

import pytest
from textual.worker import WorkerCancelled

from core.session import Session
from mase_tui.app import MaseTuiApp
from mase_tui.keymap import all_bindings
from mase_tui.widgets.export_dialog import ExportDialog
from mase_tui.widgets.help_screen import HelpScreen

SIZE = (120, 36)
LINEARS = ["seq_blocks_2", "seq_blocks_5", "seq_blocks_8"]


@pytest.fixture(autouse=True)
def _synthetic_data(monkeypatch, tmp_path):
    monkeypatch.delenv("MASE_TUI_JSC_PATH", raising=False)
    monkeypatch.setenv("MASE_TUI_KEYS", str(tmp_path / "no-keys.toml"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))


async def wait_workers(app) -> None:
    """Wait for the running workers; an exclusive worker replaced by a newer one is not an error."""
    try:
        await app.workers.wait_for_complete()
    except WorkerCancelled:
        pass


async def settle(app, pilot) -> None:
    """Wait for the loading worker and everything it starts (cost, graph overview, compare)."""
    for _ in range(400):
        await wait_workers(app)
        await pilot.pause()
        if (app.ready or app.load_error) and not any(w.is_running for w in app.workers):
            break
    await wait_workers(app)
    await pilot.pause()


def lines(text: str) -> set[str]:
    """The text's lines with runs of spaces squeezed (column widths are not the point)."""
    return {" ".join(line.split()) for line in text.splitlines()}


def make_app(model: str = "jsc-toy", **kwargs) -> MaseTuiApp:
    return MaseTuiApp(Session(model, **kwargs))


async def test_opens_jsc_toy_and_details_follow_the_cursor():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.ready and app.load_error is None
        status = str(app.query_one("#status").render())
        assert "jsc-toy" in status and "jsc-synthetic (synthetic)" in status
        assert "graph original" in status and "passes 0" in status
        tree = app.tree
        assert tree.current_name() == "x"
        # x, seq_blocks (group), seq_blocks_0, _1, _2
        await pilot.press("j", "j", "j", "j")
        await pilot.pause()
        assert tree.current_name() == "seq_blocks_2"
        assert app.current_node == "seq_blocks_2"
        text = app.details.text
        shown = lines(text)
        assert "mase type module_related_func mase op linear" in shown
        assert "weight [8,16] float32 (parameter)" in shown
        assert "data_in_0 [8,16] float32 <- seq_blocks_1" in shown
        assert "data_out_0 [8,8] float32" in shown
        # cost: 8 outputs x 16 inputs = 128 MACs per sample, BitOPs = 128 x 32 x 32
        assert "MACs 128" in shown and "FLOPs total 264" in shown and "BitOPs 131,072" in shown
        assert "counted: out 8x8 (64) x in_features 16" in shown
        assert "formula: MACs = out_numel x in_features" in text
        assert "Linear(in_features=16, out_features=8, bias=True)" in shown
        assert "weight [8,16] float32 128" in shown and "136 parameters" in shown
        # k goes back, vim and arrows agree
        await pilot.press("k")
        assert tree.current_name() == "seq_blocks_1"
        await pilot.press("down")
        assert tree.current_name() == "seq_blocks_2"
        await pilot.press("G")
        assert tree.current_name() == "output"
        await pilot.press("g")
        assert tree.current_name() == "x"


async def test_group_row_shows_module_summary_and_h_l_fold():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("j")
        node = app.tree.cursor_node
        assert node.data.path == "seq_blocks" and node.is_expanded
        text = app.details.text
        assert "11 nodes" in text and "── Module seq_blocks (Sequential)" in text
        assert "3 linear" in lines(text) and "4 batch_norm1d" in lines(text)
        assert "MACs 232" in lines(text)  # module subtotal from the cost pass
        assert "327 parameters" in text  # jsc-toy: 327 params (BatchNorm 16+8+8+5 x2, linears 136+72+45)
        await pilot.press("h")
        assert not node.is_expanded
        await pilot.press("j")
        assert app.tree.current_name() == "output"
        await pilot.press("k", "l")
        assert node.is_expanded
        await pilot.press("l")
        assert app.tree.current_name() == "seq_blocks_0"


async def test_filter_op_linear_and_step_with_n():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("slash", *"op:linear", "enter")
        await pilot.pause()
        tree = app.tree
        assert tree.matches == LINEARS
        assert tree.current_name() == "seq_blocks_2"
        assert "1/3 matches" in str(app.query_one("#filter-status").render())
        await pilot.press("n")
        assert tree.current_name() == "seq_blocks_5" and app.current_node == "seq_blocks_5"
        assert "weight [8,8] float32 (parameter)" in lines(app.details.text)
        await pilot.press("n")
        assert tree.current_name() == "seq_blocks_8"
        await pilot.press("n")
        assert tree.current_name() == "seq_blocks_2"
        await pilot.press("N")
        assert tree.current_name() == "seq_blocks_8"
        assert "3/3 matches" in str(app.query_one("#filter-status").render())
        # the filtered tree holds only the matches (under their module group)
        shown = [n.data.name for n in tree.root.children[0].children]
        assert shown == LINEARS
        # / then escape: the whole graph again, cursor kept
        await pilot.press("slash", "escape")
        await pilot.pause()
        assert tree.matches == [] and tree.current_name() == "seq_blocks_8"
        assert len(tree.root.children[1].children) == 11


FILTER_CASES = [
    ("type:module", ["seq_blocks_0", "seq_blocks_3", "seq_blocks_6", "seq_blocks_9"]),  # batch norms
    ("type:Linear", LINEARS),
    ("shape:8,5", ["seq_blocks_8", "seq_blocks_9", "seq_blocks_10", "output"]),
    ("shape:5,*", ["seq_blocks_8"]),  # the last linear's weight [5, 8]
    ("op:relu blocks_1", ["seq_blocks_1", "seq_blocks_10"]),
    ("op:batch_norm*", ["seq_blocks_0", "seq_blocks_3", "seq_blocks_6", "seq_blocks_9"]),
]


async def test_filter_prefixes():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        for query, expected in FILTER_CASES:
            await pilot.press("slash")
            app.main.query_one("#filter").value = ""
            await pilot.press(*query, "enter")
            await pilot.pause()
            assert app.tree.matches == expected, query
            assert app.tree.current_name() == expected[0]


async def test_help_lists_every_key_with_its_id():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        ids = {b.binding_id for b in app.screen.bindings}
        for ident in ("quit", "help", "filter", "match.next", "match.prev", "copy", "export", "screenshot",
                      "tab.graph", "tab.costs", "toggle.tree", "toggle.details", "tree.down", "tree.up",
                      "tree.left", "tree.right", "tree.top", "tree.bottom", "details.down"):
            assert ident in ids, ident
        keys = {b.binding_id: b.key_text for b in app.screen.bindings}
        assert keys["tree.down"] == "↓ / j" and keys["match.prev"] == "N" and keys["screenshot"] == "^s"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_every_binding_has_an_id_and_no_key_is_reused_in_a_scope():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        infos = all_bindings(app)
        own = [b for b in infos if b.scope in ("Global", "Node tree", "Details", "Graph tab", "Filter box")
               and b.binding_id]
        assert len(own) >= 30
        for scope in {b.scope for b in own}:
            seen: dict[str, str] = {}
            for info in (b for b in infos if b.scope == scope):
                for key in info.keys:
                    assert seen.setdefault(key, info.action) == info.action, (scope, key)
        assert all(b.binding_id for b in infos if b.scope == "Global")


async def test_number_keys_switch_tabs():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        tabs = app.query_one("#tabs")
        assert tabs.active == "tab-graph"
        for key, tab in (("2", "tab-compare"), ("3", "tab-passes"), ("4", "tab-costs"), ("1", "tab-graph")):
            app.tree.focus()
            await pilot.press(key)
            await pilot.pause()
            assert tabs.active == tab


async def test_graph_tab_shows_report_and_cost_totals():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        data = app.query_one("#graph-overview").data
        assert data["overview"] == {"placeholder": 1, "get_attr": 0, "call_function": 0, "call_method": 0,
                                    "call_module": 11, "output": 1}
        assert data["mase_ops"]["linear"] == 3 and data["mase_ops"]["batch_norm1d"] == 4
        assert data["parameters"] == 327
        # per sample: 16x8 + 8x8 + 8x5 = 232 MACs
        assert data["cost"]["per_sample"]["macs"] == 232
        assert data["cost"]["per_sample"]["bitops"] == 232 * 32 * 32


async def test_export_writes_csv_json_and_markdown(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        for fmt_key in ("c", "j", "m"):
            await pilot.press("e")
            await pilot.pause()
            assert isinstance(app.screen, ExportDialog)
            await pilot.press(fmt_key)
            await pilot.pause()
        assert app.is_running
    rows = list(csv.DictReader((tmp_path / "mase-tui-jsc-toy-nodes.csv").open()))
    assert len(rows) == 13
    lin = next(r for r in rows if r["name"] == "seq_blocks_2")
    assert lin["mase_op"] == "linear" and lin["out_shape"] == "[8, 8]" and lin["module"] == "seq_blocks.2"
    assert lin["macs (per sample)"] == "128" and lin["params"] == "136"
    data = json.loads((tmp_path / "mase-tui-jsc-toy-nodes.json").read_text())
    assert data["meta"]["model"] == "jsc-toy" and data["meta"]["synthetic"] is True
    assert [r["name"] for r in data["rows"] if r["mase_op"] == "linear"] == LINEARS
    assert data["meta"]["cost totals per sample"]["macs"] == 232
    md = (tmp_path / "mase-tui-jsc-toy-nodes.md").read_text()
    assert md.startswith("# Nodes of jsc-toy (original graph)")
    assert "| seq_blocks_8 | call_module | module_related_func | linear | seq_blocks.8 | Linear | [8, 5] |" in md


async def test_export_never_overwrites(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        for _ in range(2):
            await pilot.press("e", "c")
            await pilot.pause()
    assert sorted(p.name for p in tmp_path.glob("*.csv")) == ["mase-tui-jsc-toy-nodes-1.csv",
                                                               "mase-tui-jsc-toy-nodes.csv"]


async def test_copy_and_screenshot(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "j", "j", "j", "y")
        await pilot.pause()
        assert app.clipboard.startswith("seq_blocks_2\n")
        assert "Linear(in_features=16, out_features=8, bias=True)" in app.clipboard
        await pilot.press("ctrl+s")
        await pilot.pause()
    shots = list(tmp_path.glob("mase-tui-jsc-toy-*.svg"))
    assert len(shots) == 1 and "seq_blocks_2" in shots[0].read_text()


async def test_bad_model_shows_error_and_app_stays_up():
    app = make_app("no-such-model")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.load_error is not None and "unknown model 'no-such-model'" in app.load_error
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and "unknown model 'no-such-model'" in errors[0].message
        assert errors[0].timeout >= 3600
        assert "could not load no-such-model" in str(app.query_one("#status").render())
        assert "unknown model" in app.details.text
        await pilot.press("j", "slash", "2", "question_mark")
        await pilot.pause()
        assert app.is_running


async def test_keymap_file_remaps_by_binding_id(tmp_path, monkeypatch):
    keys = tmp_path / "keys.toml"
    keys.write_text('[keys]\ntree.down = "ctrl+n"\nno.such.id = "x"\n')
    monkeypatch.setenv("MASE_TUI_KEYS", str(keys))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.keymap_file == keys
        warnings = [n.message for n in app._notifications if n.severity == "warning"]
        assert any("unknown binding id 'no.such.id'" in w for w in warnings)
        await pilot.press("ctrl+n", "ctrl+n")
        assert app.tree.current_name() == "seq_blocks_0"
        await pilot.press("j")  # j was tree.down's key: no longer bound
        assert app.tree.current_name() == "seq_blocks_0"


async def test_command_palette_runs_a_binding():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Export")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert isinstance(app.screen, ExportDialog)
        await pilot.press("escape")


async def test_narrow_terminal_stacks_details_and_toggles_panes():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        tabs, details = app.query_one("#tabs"), app.details
        assert details.region.height == 0  # 80x24: the details are on demand
        await pilot.press("d")
        await pilot.pause()
        assert details.region.y > tabs.region.y + 5  # stacked under the tabs, both visible
        assert details.region.height >= 8 and details.region.bottom <= 23
        assert details.region.width >= 38
        assert "1 pass" not in str(app.query_one("#status").render())
        assert "0 passes" in str(app.query_one("#status").render())  # compact status at 80 columns
        await pilot.press("d")
        assert not details.display or details.region.height == 0
        await pilot.press("d", "t")
        await pilot.pause()
        assert app.query_one("#left").region.width == 0
        await pilot.press("t")
        await pilot.pause()
        assert app.query_one("#left").region.width >= 20
        await pilot.resize_terminal(200, 50)
        await pilot.pause()
        assert details.region.x > tabs.region.x  # side by side again


def test_first_frame_comes_before_torch_is_imported(tmp_path):
    """In a fresh interpreter: the app composes and paints with torch not yet imported."""
    script = textwrap.dedent("""
        import asyncio, sys, threading
        from core.session import Session
        from mase_tui.app import MaseTuiApp

        gate = threading.Event()
        class GatedSession(Session):
            def load(self, progress=None):
                gate.wait(30)
                return super().load(progress)

        async def main():
            app = MaseTuiApp(GatedSession("jsc-toy"))
            async with app.run_test(size=(120, 36)) as pilot:
                await pilot.pause()
                print("torch before load:", "torch" in sys.modules, app.screen.query_one("#status").render())
                gate.set()
                await app.workers.wait_for_complete()
                print("torch after load:", "torch" in sys.modules)
        asyncio.run(main())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[2]))
    assert out.returncode == 0, out.stderr
    assert "torch before load: False" in out.stdout and "loading jsc-toy" in out.stdout
    assert "torch after load: True" in out.stdout


async def test_messages_arriving_under_a_modal_update_the_main_screen():
    from mase_tui.messages import GraphChanged, NodeFocused

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        app.post_message(GraphChanged("test"))
        app.post_message(NodeFocused("seq_blocks_5", "test"))
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen) and app.is_running
        await pilot.press("escape")
        await pilot.pause()
        assert app.tree.current_name() == "seq_blocks_5"
        assert "fx op call_module target seq_blocks.5" in lines(app.details.text)


async def test_from_args_builds_the_session_and_opens_the_config():
    import argparse
    from pathlib import Path

    config = Path(__file__).resolve().parents[2] / "configs" / "examples" / "jsc_toy_by_type.toml"
    args = argparse.Namespace(model="jsc-toy", load_name=None, load_type=None, trust_checkpoint=False,
                              dataset="jsc-synthetic", dataset_path=None, batch_size=4, seed=None,
                              pretrained=False, config=str(config))
    app = MaseTuiApp.from_args(args)
    assert app.session.batch_size == 4 and app.session.dataset == "jsc-synthetic" and not app.session.pretrained
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.ready and app.session.weights_source == "random init"
        assert app.session.current.node("x").meta["mase"].parameters["common"]["results"]["data_out_0"]["shape"] == [4, 16]
        runner = app.main.query_one("#pass-runner")
        assert runner.selected == "quantize_transform_pass"
        assert "jsc_toy_by_type.toml" in runner.query_one("#pass-args").text


async def test_quantised_graph_shows_precisions_and_filters_by_type():
    from mase_tui.messages import GraphChanged

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        run = app.session.run_pass("quantize_transform_pass", None)  # the registry's default: linears to integer 8.4
        assert run.ok and run.changed_graph
        app.post_message(GraphChanged(run.name))
        await settle(app, pilot)
        assert "graph quantised" in str(app.query_one("#status").render())
        assert "passes 1" in str(app.query_one("#status").render())
        await pilot.press("slash", *"type:integer", "enter")
        await pilot.pause()
        assert app.tree.matches == LINEARS
        label = app.tree.cursor_node.label.plain
        assert label.startswith("● seq_blocks_2  linear [8,8] integer[8,4]")
        shown = lines(app.details.text)
        assert "data_in_0 [8,16] integer[8,4] float32 <- seq_blocks_1" in shown
        assert "weight [8,16] integer[8,4] float32 (parameter)" in shown
        # BitOPs of the quantised linear: 128 MACs x 8 x 8
        assert "BitOPs 8,192" in shown


async def test_mouse_clicks_pick_nodes_and_tabs():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        # rows: x, seq_blocks, seq_blocks_0, _1, _2 -> the fifth row of the tree
        assert await pilot.click("#node-tree", offset=(6, 4))
        await pilot.pause()
        assert app.tree.current_name() == "seq_blocks_2"
        assert "fx op call_module target seq_blocks.2" in lines(app.details.text)
        assert await pilot.click("#--content-tab-tab-costs")
        await pilot.pause()
        assert app.query_one("#tabs").active == "tab-costs"


async def test_theme_from_the_environment(monkeypatch):
    monkeypatch.setenv("MASE_TUI_THEME", "nord")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.theme == "nord"


async def test_details_text_is_selectable_with_the_mouse():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "j", "j", "j")
        await pilot.pause()
        # drag from the first character (after the pane's 1-column padding) to row 2, column 19
        await pilot.mouse_down("#details", offset=(1, 0))
        await pilot.hover("#details", offset=(20, 2))
        await pilot.mouse_up("#details", offset=(20, 2))
        await pilot.pause()
        assert app.screen.get_selected_text() == (
            "seq_blocks_2\nfx op call_module  target seq_blocks.2\nmase type module_re")
