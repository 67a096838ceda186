"""The Search tab driven by Pilot on jsc-toy: a 6-trial search started from a config, its table
and Pareto marks checked against the Optuna storage read independently, a trial applied to
the graph, attaching to a study made in the test, and a bad storage URL. Plus the braille
scatter plot drawn by hand."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from textual.widgets import Input

import mase_tui.app
from core.session import Session
from mase_tui.app import MaseTuiApp
from mase_tui.widgets.braille_plot import BraillePlot, PlotPoint, braille_cells
from mase_tui.widgets.search_tab import SearchPrompt, SearchView
from tests.pilot import settle

SIZE = (80, 24)
LINEAR = {"seq_blocks_2": 128, "seq_blocks_5": 64, "seq_blocks_8": 40}  # MACs per sample (16x8, 8x8, 8x5)

CONFIG = """
model = "jsc-toy"
dataset = "jsc"
project = "searchtab"
project_dir = "{out}"

[search.search_space]
name = "graph/quantize/mixed_precision_ptq"
[search.search_space.setup]
by = "name"
[search.search_space.seed.default.config]
name = ["NA"]
{layers}

[search.strategy]
name = "optuna"
[search.strategy.sw_runner.basic_evaluation]
num_samples = 256
[search.strategy.setup]
n_jobs = 1
n_trials = 6
sampler = "random"
seed = 3
[search.strategy.metrics]
accuracy.direction = "maximize"
bitops.direction = "minimize"
"""
LAYER = """[search.search_space.seed.{name}.config]
name = ["integer"]
data_in_width = [4, 8]
data_in_frac_width = [2]
weight_width = [2, 4, 8]
weight_frac_width = [1]
bias_width = [8]
bias_frac_width = [4]
"""


class App(MaseTuiApp):
    CSS_PATH = str(Path(mase_tui.app.__file__).with_name("app.tcss"))


async def until(pilot, condition, seconds: float = 120.0) -> None:
    for _ in range(int(seconds / 0.1)):
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError("timed out")


def non_dominated(trials, directions) -> set[int]:
    """The test's own Pareto front: no other trial at least as good everywhere and better once."""
    signs = [1 if d == optuna.study.StudyDirection.MAXIMIZE else -1 for d in directions]

    def beats(a, b) -> bool:
        ge = all(s * x >= s * y for s, x, y in zip(signs, a.values, b.values, strict=True))
        gt = any(s * x > s * y for s, x, y in zip(signs, a.values, b.values, strict=True))
        return ge and gt

    return {t.number for t in trials if not any(beats(o, t) for o in trials if o is not t)}


def starred(view: SearchView) -> set[int]:
    table = view.table
    return {int(table.get_row_at(i)[1]) for i in range(table.row_count) if table.get_row_at(i)[0] == "★"}


async def prompt(app, pilot, key: str, values: list[str]) -> None:
    await pilot.press(key)
    await until(pilot, lambda: isinstance(app.screen, SearchPrompt), 5)
    for i, value in enumerate(values):
        app.screen.query_one(f"#search-field-{i}", Input).value = value
    for _ in values:
        await pilot.press("enter")
        await pilot.pause()


async def open_tab(app, pilot) -> SearchView:
    await settle(app, pilot)
    assert app.ready
    await pilot.press("5")
    await pilot.pause()
    assert app.main.query_one("#tabs").active == "tab-search"
    view = app.main.query_one(SearchView)
    view.table.focus()  # as tab would from the tree
    await pilot.pause()
    return view


def errors(app) -> list:
    return [n for n in app._notifications if n.severity == "error"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_search_from_config_then_apply(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "search.toml"
    config.write_text(CONFIG.format(out=tmp_path / "out", layers="\n".join(LAYER.format(name=n) for n in LINEAR)))
    app = App(Session("jsc-toy"))
    async with app.run_test(size=SIZE) as pilot:
        view = await open_tab(app, pilot)
        await prompt(app, pilot, "s", [str(config)])
        await until(pilot, lambda: view.study_name is not None, 30)
        await until(pilot, lambda: view._finished == "finished" and len(view.snapshot.rows) == 6)
        await settle(app, pilot)
        assert not errors(app)

        # the table holds what the storage holds, read here with Optuna alone
        study = optuna.load_study(study_name=view.study_name, storage=view.storage_url)
        trials = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        assert len(trials) == 6 and view.table.row_count == 6
        for i, t in enumerate(sorted(trials, key=lambda t: t.number)):
            cells = view.table.get_row_at(i)
            metrics = t.user_attrs["metrics"]
            assert int(cells[1]) == t.number
            assert cells[3] == f"{metrics['accuracy']:.4f}" and t.values[0] == metrics["accuracy"]
            assert t.values[1] == metrics["bitops"]
            widths = [t.user_attrs["config"][n]["config"]["weight_width"] for n in LINEAR]
            assert cells[2].split("/") == [str(w) for w in widths] or "f" in cells[2]
            row = view.snapshot.rows[i]
            assert row.values == list(t.values) and row.metrics == metrics
        # the highlighted points are exactly the non-dominated ones
        front = non_dominated(trials, study.directions)
        assert starred(view) == front
        plot = app.main.query_one(BraillePlot)
        assert {(p.x, p.y) for p in plot.points if p.highlight} == {
            (t.user_attrs["metrics"]["bitops"], t.user_attrs["metrics"]["accuracy"]) for t in trials if t.number in front}
        assert len(plot.points) == 6
        # the results files the CLI writes at the end
        assert (Path(view.storage_url[len("sqlite:///"):]).parent / "pareto.csv").is_file()

        # apply the cheapest trial: the session's graph gets its precisions and BitOPs
        target = min(trials, key=lambda t: t.values[1])
        view.table.move_cursor(row=sorted(t.number for t in trials).index(target.number))
        await pilot.press("a")
        await settle(app, pilot)
        assert view.applied == target.number
        status = str(view.query_one("#search-status").render())
        assert status.startswith(f"finished · 6 trials · front {len(front)} · applied #{target.number}")
        config_of = target.user_attrs["config"]
        graph = app.session.current
        bitops = 0
        for name, macs in LINEAR.items():
            node = config_of[name]["config"]
            args = graph.node(name).meta["mase"].parameters["common"]["args"]
            assert args["weight"]["precision"] == [node["weight_width"], node["weight_frac_width"]]
            assert args["data_in_0"]["precision"] == [node["data_in_width"], node["data_in_frac_width"]]
            bitops += macs * node["data_in_width"] * node["weight_width"]
        assert bitops == target.user_attrs["metrics"]["bitops"] == target.values[1]
        # the precision editor holds the trial, its bar shows the trial's cost
        from mase_tui.widgets.precision_bar import PrecisionBar

        assert set(app.precision_edits().configs) == set(LINEAR)
        assert app.main.query_one(PrecisionBar).cost["bitops"] == bitops
        # the Costs tab follows the applied graph like any transform
        assert app.costs.request(app.session.current)["totals_per_sample"]["bitops"] == bitops
        assert app.session.history[-1].name == "quantize_transform_pass"
        assert not errors(app)


def make_study(url: str, name: str) -> list[tuple[float, float]]:
    study = optuna.create_study(storage=url, study_name=name, directions=["maximize", "minimize"])
    points = [(0.5, 100.0), (0.6, 200.0), (0.55, 300.0), (0.7, 400.0), (0.6, 250.0)]
    for acc, bitops in points:
        study.add_trial(optuna.trial.create_trial(
            values=[acc, bitops], user_attrs={"metrics": {"accuracy": acc, "bitops": bitops, "average_bitwidth": 8.0},
                                              "config": {"by": "name", "default": {"config": {"name": None}}}}))
    return points


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_attach_and_bad_url(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'made.db'}"
    points = make_study(url, "made-here")
    app = App(Session("jsc-toy"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.tree.focus()
        await pilot.press("F")  # from anywhere: the Search tab with its table focused
        await pilot.pause()
        assert app.main.query_one("#tabs").active == "tab-search"
        view = app.main.query_one(SearchView)
        assert view.table.has_focus
        await prompt(app, pilot, "o", [url, "made-here"])
        await until(pilot, lambda: len(view.snapshot.rows) == 5, 20)
        await settle(app, pilot)
        assert view.table.row_count == 5
        # (0.55, 300) is beaten by (0.6, 200); (0.6, 250) by (0.6, 200): by hand, the front is 0, 1, 3
        assert starred(view) == {0, 1, 3}
        assert sorted((p.x, p.y) for p in app.main.query_one(BraillePlot).points if p.highlight) == [
            (100.0, 0.5), (200.0, 0.6), (400.0, 0.7)]
        assert [view.table.get_row_at(i)[3] for i in range(5)] == [f"{a:.4f}" for a, _ in points]
        assert not errors(app)

        # a missing SQLite file and an unknown database are one line each, and they stay up
        view.table.focus()
        await prompt(app, pilot, "o", [f"sqlite:///{tmp_path / 'nope' / 'study.db'}", "x"])
        await settle(app, pilot)
        await prompt(app, pilot, "o", ["nosuchdb://host/db", "x"])
        await settle(app, pilot)
        shown = errors(app)
        assert len(shown) == 2
        assert shown[0].message.startswith("no SQLite study file at ")
        assert "cannot open the Optuna storage nosuchdb://host/db" in shown[1].message
        assert all("\n" not in n.message and n.timeout >= 3600 for n in shown)
        assert view.study_name == "made-here"  # still attached to the good study


def test_braille_cells_by_hand():
    # 2 cells wide, 1 high: 4 x 4 dots. (0,0) is bottom-left, (3,3) top-right, (1,2) -> dot
    # column 1, dot row 1 (from the top) of the first cell.
    points = [PlotPoint(0, 0), PlotPoint(3, 3, highlight=True), PlotPoint(1, 2)]
    [(line, flags)] = braille_cells(points, 2, 1, (0, 3), (0, 3))
    # first cell: dot (0, 3) = 0x40 and dot (1, 1) = 0x10; second cell: dot (1, 0) = 0x08
    assert line == chr(0x2800 + 0x40 + 0x10) + chr(0x2800 + 0x08) == "⡐⠈"
    assert flags == [False, True]
    # two rows: y = 3 lands in the top row's top dot, y = 0 in the bottom row's bottom dot
    rows = braille_cells([PlotPoint(0, 0), PlotPoint(0, 3)], 1, 2, (0, 1), (0, 3))
    assert [r[0] for r in rows] == ["⠁", "⡀"]
    # a flat range (one point) sits in the middle of the plot
    [(line, _)] = braille_cells([PlotPoint(5, 5)], 1, 1)
    # dot column 0; y dot (4 - 1) // 2 = 1 counted from the bottom, i.e. row 2 from the top
    assert line == chr(0x2800 + 0x04)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_cancel_a_running_search_and_a_bad_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "long.toml"
    long = CONFIG.replace("n_trials = 6", "n_trials = 200").replace('sampler = "random"', 'sampler = "tpe"')
    config.write_text(long.format(out=tmp_path / "out", layers="\n".join(LAYER.format(name=n) for n in LINEAR)))
    app = App(Session("jsc-toy"))
    async with app.run_test(size=SIZE) as pilot:
        view = await open_tab(app, pilot)
        # every action is a palette command (the palette lists these bindings with their keys)
        from mase_tui.keymap import all_bindings

        ids = {b.binding_id for b in all_bindings(app, app.main)}
        assert {"search.start", "search.attach", "search.cancel", "search.apply", "search.open"} <= ids

        await prompt(app, pilot, "s", [str(config)])
        await until(pilot, lambda: len(view.snapshot.rows) >= 2, 60)
        procs = list(view._procs)
        await pilot.press("x")
        await until(pilot, lambda: view._finished == "cancelled", 30)
        await settle(app, pilot)
        assert all(p.poll() is not None for p in procs)
        study = optuna.load_study(study_name=view.study_name, storage=view.storage_url)
        states = [t.state for t in study.trials]
        complete = states.count(optuna.trial.TrialState.COMPLETE)
        assert 2 <= complete < 200 and set(states) == {optuna.trial.TrialState.COMPLETE}
        await pilot.pause(0.6)  # one more poll: nothing arrives after the cancel
        await settle(app, pilot)
        assert view.table.row_count == len(view.snapshot.rows) == complete
        assert not errors(app)

        # a config with a typo: one line, before any process starts, and it stays up
        bad = tmp_path / "bad.toml"
        bad.write_text(config.read_text().replace('sampler = "tpe"', 'sampler = "tpee"'))
        await prompt(app, pilot, "s", [str(bad)])
        await settle(app, pilot)
        [shown] = errors(app)
        assert "unknown sampler 'tpee'" in shown.message and "did you mean 'tpe'?" in shown.message
        assert "\n" not in shown.message and shown.timeout >= 3600
        assert view._procs == []
