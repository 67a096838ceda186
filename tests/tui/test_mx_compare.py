"""The app's Compare tab on an MX-quantised graph: precision labels, and the weight histogram
with its error against torchao's MXFP4 round trip."""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torchao.prototype.mx_formats.mx_tensor import to_dtype, to_mx

from core.config import dumps_toml
from core.session import Session
from mase_tui.widgets.compare import CompareView
from tests.tui.test_tabs import SIZE, choose_pass, focus, make_app, plain, settle, type_args

MXFP4 = {"by": "type", "default": {"config": {"name": None}}, "linear": {"config": {"name": "mxfp4"}}}


async def test_compare_shows_mxfp4_weights_and_their_histogram():
    session = Session("jsc-toy")
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await choose_pass(app, pilot, "quantize_transform_pass")
        await type_args(app, pilot, dumps_toml(MXFP4), paste=True)
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        await pilot.press("tab")
        assert session.history[-1].ok, session.history[-1].error
        await pilot.press("2")
        await settle(app, pilot)
        compare = app.query_one(CompareView)
        assert compare.diff.changed_names() == ["seq_blocks_2", "seq_blocks_5", "seq_blocks_8"]
        await focus(app, pilot, "#compare-table")
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        assert compare.current_name == "seq_blocks_2"
        detail = plain(app, "#compare-detail-body")
        assert "module: Linear -> LinearMXFP4E2M1" in detail
        assert re.search(r"~\s+weight\s+float32\s+mxfp4\[4,32\]", detail)
        w = session.current.model.get_submodule("seq_blocks.2").weight.detach()  # [8, 16]
        scale, data = to_mx(F.pad(w, (0, 16)).contiguous(), torch.float4_e2m1fn_x2, 32)
        q = to_dtype(data, scale, torch.float4_e2m1fn_x2, 32, torch.float32)[:, :16]
        sqnr = 10 * torch.log10((w.double() ** 2).sum() / ((w.double() - q.double()) ** 2).sum())
        assert f"SQNR {float(sqnr):.1f} dB" in detail
        assert "weight (mxfp4, n=128)" in detail
        assert "float     │" in detail and "quantised │" in detail
