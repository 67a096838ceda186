"""The precision editor driven by Pilot on jsc-toy: seq_blocks_2 to integer 4/2, the other
Linear layers to 8/4; BitOPs per sample equal the hand-computed value; accuracy before/after
equal an independent loop; the saved TOML reproduces the graph through `ch transform`."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from textual.widgets import Input, TextArea

import mase_tui.app
from core.session import Session
from mase_tui.app import MaseTuiApp
from mase_tui.widgets.precision_bar import PrecisionBar
from mase_tui.widgets.precision_editor import PrecisionEditor
from tests.pilot import settle

SIZE = (120, 36)
# MACs per sample of jsc-toy's Linear layers (16x8, 8x8, 8x5)
MACS = {"seq_blocks_2": 128, "seq_blocks_5": 64, "seq_blocks_8": 40}


class App(MaseTuiApp):
    CSS_PATH = str(Path(mase_tui.app.__file__).with_name("app.tcss"))


async def retype(pilot, field: Input, text: str) -> None:
    field.focus()
    await pilot.pause()
    field.cursor_position = len(field.value)
    for _ in field.value:
        await pilot.press("backspace")
    for ch in text:
        await pilot.press(ch)


async def edit(app, pilot, node: str, width: int | None = None, frac: int | None = None) -> PrecisionEditor:
    assert app.tree.reveal(node)
    await pilot.pause()
    assert app.current_node == node
    app.tree.focus()
    await pilot.press("p")
    await pilot.pause()
    editor = app.screen
    assert isinstance(editor, PrecisionEditor)
    for _ in range(50):  # the fields are mounted after the screen
        if editor.query("#field-data_in_width"):
            break
        await pilot.pause()
    if width is not None:
        for operand in ("data_in", "weight", "bias"):
            await retype(pilot, editor.query_one(f"#field-{operand}_width", Input), str(width))
            await retype(pilot, editor.query_one(f"#field-{operand}_frac_width", Input), str(frac))
    return editor


def independent_accuracy(graph, datamodule, samples: int) -> float:
    x, y = next(iter(datamodule.dataloader("validation", shuffle=False, batch_size=samples)))
    graph.model.eval()
    with torch.no_grad():
        return (graph.model(x).argmax(dim=1) == y).sum().item() / samples


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_precision_editor_by_keyboard(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    app = App(Session("jsc-toy"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.ready

        editor = await edit(app, pilot, "seq_blocks_2", 4, 2)
        check = editor.query_one("#precision-check")
        assert str(check.render()) == "valid"
        # validated as you type: a fractional width above the width is refused on the spot
        await retype(pilot, editor.query_one("#field-weight_frac_width", Input), "9")
        assert "weight_frac_width 9 is above weight_width 4" in str(check.render())
        await retype(pilot, editor.query_one("#field-weight_frac_width", Input), "2")
        await pilot.press("enter")
        await settle(app, pilot)
        for node in ("seq_blocks_5", "seq_blocks_8"):
            await edit(app, pilot, node, 8, 4)
            await pilot.press("enter")
            await settle(app, pilot)

        bar = app.main.query_one(PrecisionBar)
        expected = MACS["seq_blocks_2"] * 4 * 4 + MACS["seq_blocks_5"] * 8 * 8 + MACS["seq_blocks_8"] * 8 * 8
        assert bar.cost["bitops"] == expected == 8704
        assert bar.float_cost["bitops"] == sum(MACS.values()) * 32 * 32
        assert app.costs.request(app.session.current)["totals_per_sample"]["bitops"] == 8704  # Costs tab follows
        assert app.session.history[-1].name == "quantize_transform_pass"
        args = app.session.history[-1].args
        assert args["by"] == "name" and set(args) == {"by", "default", *MACS}
        # the Passes tab shows the config
        assert "seq_blocks_2" in app.main.query_one("#pass-args", TextArea).text

        # accuracy before -> after on the fixed subset equals a plain loop over the same samples
        subset = app._precision_subset.num_samples
        dm = app.session.datamodule
        assert app._precision_float_accuracy == independent_accuracy(app.session.original, dm, subset)
        assert app.precision_accuracy == independent_accuracy(app.session.current, dm, subset)
        assert "→" in str(bar.render())

        # + steps every width of the highlighted node by one
        assert app.tree.reveal("seq_blocks_2")
        await pilot.pause()
        app.tree.focus()
        await pilot.press("plus")
        await settle(app, pilot)
        assert bar.cost["bitops"] == 128 * 5 * 5 + 64 * 8 * 8 + 40 * 8 * 8
        await pilot.press("minus")
        await settle(app, pilot)
        assert bar.cost["bitops"] == 8704

        await pilot.press("W")
        await pilot.pause()
        saved = app.last_precision_toml
        # loaded back: change a width, then L picks the saved file and the edits are its config
        await pilot.press("plus")
        await settle(app, pilot)
        assert bar.cost["bitops"] == 128 * 5 * 5 + 64 * 8 * 8 + 40 * 8 * 8
        await pilot.press("L")
        await pilot.pause()
        await pilot.press("enter")
        await settle(app, pilot)
        assert bar.cost["bitops"] == 8704
        current = app.session.current
    assert saved is not None and (tmp_path / saved).is_file()

    from core.passes.interface.save_load import load_mase_graph
    from mase_tui.cli import main

    assert main(["transform", "--config", str(tmp_path / saved), "--project-dir", str(tmp_path / "out"),
                 "--eval-batches", "1"]) == 0
    capsys.readouterr()
    project = next((tmp_path / "out").iterdir())
    reloaded = load_mase_graph(str(project / "software" / "transform" / "transformed_ckpt"))
    x, _ = next(iter(app.session.datamodule.dataloader("validation", shuffle=False, batch_size=512)))
    current.model.eval()
    reloaded.model.eval()
    with torch.no_grad():
        assert torch.equal(current.model(x), reloaded.model(x))
    for target in ("seq_blocks.2", "seq_blocks.5", "seq_blocks.8"):
        assert reloaded.model.get_submodule(target).config == current.model.get_submodule(target).config
