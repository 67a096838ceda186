"""Compare and Costs tabs on a 10,002-node graph (5,000 x Linear+ReLU), against plain Textual.

Measured in one run, headless at 120x36:
- filling the tab on the UI thread (Compare: 10,002 aligned rows; Costs: 10,002 node rows)
  vs a plain DataTable filled with the same cells, 4 and 8 columns (the Textual baseline);
- keypress-to-render latency: ``]`` (next difference, with the detail and histogram drawn) in
  Compare and ``s`` (re-sort) in Costs, vs ``down`` in the plain DataTable; median of repeated
  presses, each measured as ``pilot.press`` + one pause (so the baseline includes Pilot's own
  overhead);
- the worker-side work (graph matching, two cost passes) for context.

    .venv/bin/python benchmarks/bench_tabs.py [--layers 5000] [--presses 20] [--json-only]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from rich.text import Text  # noqa: E402
from textual.app import App  # noqa: E402
from textual.widgets import DataTable  # noqa: E402

from core.compare import compare_graphs  # noqa: E402
from core.cost.compare import compare_costs  # noqa: E402
from core.ir import MaseGraph  # noqa: E402
from core.passes import PASSES  # noqa: E402
from mase_tui.widgets.compare import CompareView  # noqa: E402
from mase_tui.widgets.costs import CostsView  # noqa: E402

LAB = {"by": "type", "default": {"config": {"name": None}},
       "linear": {"config": {"name": "integer", "data_in_width": 8, "data_in_frac_width": 4, "weight_width": 8,
                             "weight_frac_width": 4, "bias_width": 8, "bias_frac_width": 4}}}


class FakeSession:
    loaded = True
    history: list = []
    synthetic = True
    dummy_in = None
    datamodule = None

    def __init__(self, original, current) -> None:
        self.original, self.current = original, current


def build(layers: int):
    torch.manual_seed(0)
    mods = []
    for _ in range(layers):
        mods += [torch.nn.Linear(4, 4), torch.nn.ReLU()]
    g = MaseGraph(torch.nn.Sequential(*mods))
    g, _ = PASSES["init_metadata_analysis_pass"].fn(g, None)
    g, _ = PASSES["add_common_metadata_analysis_pass"].fn(g, {"dummy_in": {"input_1": torch.randn(2, 4)}})
    q, _ = PASSES["quantize_transform_pass"].fn(g.copy(), LAB)
    return g, q


class PaneApp(App):
    CSS = "Screen { layout: vertical; } CompareView, CostsView, DataTable { height: 1fr; }"

    def __init__(self, session, pane) -> None:
        super().__init__()
        self.session = session
        self.pane = pane

    def compose(self):
        yield self.pane


async def median_press(pilot, key: str, presses: int) -> float:
    times = []
    for _ in range(presses):
        start = time.perf_counter()
        await pilot.press(key)
        await pilot.pause()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


async def plain_table(rows: list[tuple], presses: int) -> tuple[float, float]:
    table = DataTable(cursor_type="row")
    app = PaneApp(None, table)
    async with app.run_test(size=(120, 36)) as pilot:
        start = time.perf_counter()
        table.add_columns(*[f"c{i}" for i in range(len(rows[0]))])
        for i, row in enumerate(rows):
            table.add_row(*row, key=str(i))
        await pilot.pause()
        fill = time.perf_counter() - start
        table.focus()
        key = await median_press(pilot, "down", presses)
    return fill, key


async def compare_tab(session, diff, presses: int) -> tuple[float, float]:
    view = CompareView()
    app = PaneApp(session, view)
    async with app.run_test(size=(120, 36)) as pilot:
        start = time.perf_counter()
        view._show_diff(diff)
        await pilot.pause()
        fill = time.perf_counter() - start
        view.query_one(DataTable).focus()
        key = await median_press(pilot, "right_square_bracket", presses)
        await app.workers.wait_for_complete()
    return fill, key


async def costs_tab(session, info_a, info_b, comparison, presses: int) -> tuple[float, float]:
    view = CostsView()
    app = PaneApp(session, view)
    async with app.run_test(size=(120, 36)) as pilot:
        start = time.perf_counter()
        view._show(info_a, info_b, comparison)
        await pilot.pause()
        fill = time.perf_counter() - start
        view.query_one(DataTable).focus()
        key = await median_press(pilot, "s", presses)
    return fill, key


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layers", type=int, default=5000)
    parser.add_argument("--presses", type=int, default=20)
    parser.add_argument("--json-only", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)

    g, q = build(args.layers)
    session = FakeSession(g, q)
    start = time.perf_counter()
    diff = compare_graphs(g, q)
    t_match = time.perf_counter() - start
    start = time.perf_counter()
    _, info_a = PASSES["cost_analysis_pass"].fn(g, {})
    _, info_b = PASSES["cost_analysis_pass"].fn(q, {})
    comparison = compare_costs(info_a, info_b)
    t_cost = time.perf_counter() - start
    # the baselines show the same cells as each tab: 4 columns for Compare, 8 for Costs
    compare_cells = [tuple(Text(str(c)) for c in (row.mark, row.name, "Linear", "LinearInteger"))
                     for row in diff.rows]
    cost_cells = [tuple(Text(f"{c:,}" if isinstance(c, int) else str(c)) for c in
                        (i, n["name"], n["bitops"]["a"], n["bitops"]["b"], n["bitops_ratio"],
                         n["flops_total"]["b"], n["param_bits"]["b"], n["mase_op"]))
                  for i, n in enumerate(comparison["nodes"])]

    base_fill, base_key = asyncio.run(plain_table(compare_cells, args.presses))
    base8_fill, base8_key = asyncio.run(plain_table(cost_cells, args.presses))
    cmp_fill, cmp_key = asyncio.run(compare_tab(session, diff, args.presses))
    cost_fill, cost_key = asyncio.run(costs_tab(session, info_a, info_b, comparison, args.presses))

    nodes = len(diff.rows)
    result = {
        "nodes": nodes,
        "worker_match_s": round(t_match, 3),
        "worker_costs_s": round(t_cost, 3),
        "plain_datatable_fill_s": round(base_fill, 3),
        "plain_datatable_8col_fill_s": round(base8_fill, 3),
        "compare_fill_s": round(cmp_fill, 3),
        "costs_fill_s": round(cost_fill, 3),
        "plain_datatable_key_ms": round(base_key * 1000, 1),
        "compare_next_diff_key_ms": round(cmp_key * 1000, 1),
        "costs_sort_key_ms": round(cost_key * 1000, 1),
        "ratio_compare_fill": round(cmp_fill / base_fill, 2),
        "ratio_costs_fill": round(cost_fill / base8_fill, 2),
        "ratio_compare_key": round(cmp_key / base_key, 2),
        "ratio_costs_key": round(cost_key / base8_key, 2),
    }
    if not args.json_only:
        print(f"{nodes} nodes (Linear+ReLU x {args.layers}), 120x36 headless, median of {args.presses} presses")
        print(f"{'':34}{'ours':>10}{'plain DataTable':>18}{'ratio':>8}")
        print(f"{'fill Compare tab (s)':34}{cmp_fill:>10.3f}{base_fill:>18.3f}{cmp_fill / base_fill:>8.2f}")
        print(f"{'fill Costs tab (s)':34}{cost_fill:>10.3f}{base8_fill:>18.3f}{cost_fill / base8_fill:>8.2f}")
        print(f"{'key ] next difference (ms)':34}{cmp_key * 1000:>10.1f}{base_key * 1000:>18.1f}{cmp_key / base_key:>8.2f}")
        print(f"{'key s re-sort Costs (ms)':34}{cost_key * 1000:>10.1f}{base8_key * 1000:>18.1f}{cost_key / base8_key:>8.2f}")
        print(f"worker: match {t_match:.3f} s, two cost passes + compare {t_cost:.3f} s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
