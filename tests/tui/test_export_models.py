"""Pilot test: a Hugging Face model captured by torch.export, browsed in the app by keys."""

from __future__ import annotations

from core.session import Session
from mase_tui.app import MaseTuiApp
from tests.tui.test_app_shell import SIZE, lines, settle


async def test_browse_llama_tiny(monkeypatch, tmp_path):
    monkeypatch.setenv("MASE_TUI_KEYS", str(tmp_path / "no-keys.toml"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    app = MaseTuiApp(Session("llama-tiny", batch_size=2))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.ready and app.load_error is None
        data = app.query_one("#graph-overview").data
        assert data["capture"]["tracer"] == "export"
        assert data["overview"]["call_module"] == 0
        assert data["mase_ops"]["linear"] == 15  # 2 layers x 7 projections + lm_head
        # 2 x 128 tokens x 64 -> 64 (q, o), 64 -> 32 (k, v: 2 of 4 heads), 64 -> 128 (gate, up),
        # 128 -> 64 (down), 64 -> 512 (lm_head); attention 2 layers x 4 heads x 128 x 128 x (16 + 16)
        linear = 128 * (2 * (64 * 64 * 2 + 64 * 32 * 2 + 64 * 128 * 2 + 128 * 64) + 64 * 512)
        attention = 2 * 4 * 128 * 128 * 32
        assert data["cost"]["per_sample"]["macs"] == linear + attention
        # the tree groups by module path: the decoder layers fold into one row
        await pilot.press("slash", *"op:linear", "enter")
        await pilot.pause()
        tree = app.tree
        assert len(tree.matches) == 15
        assert tree.current_name() == "linear"
        shown = lines(app.details.text)
        assert "mase type module_related_func mase op linear" in shown
        assert any(line.startswith("weight [64,64] float32") for line in shown)
        assert any(line.startswith("data_in_0 [2,128,64] float32") for line in shown)
        await pilot.press("n")
        assert tree.current_name() == "linear_1"
        await pilot.press("slash", "escape")
        await pilot.pause()
        labels = []

        def walk(node):
            for child in node.children:
                labels.append(str(child.label))
                walk(child)
        walk(tree.root)
        assert any("model.layers.[0-1]" in label and "×2" in label for label in labels), labels[:40]
