"""Search studies on jsc-toy: reproducible, a real Pareto front, correct metrics, several
workers on one SQLite study, and a study that resumes after its worker is killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.config import read_toml
from core.search.config import parse_search
from core.search.runner import SearchOptions, run_search
from tests.core.search_helpers import (
    JSC_TOY_LINEAR_MACS,
    assert_valid_formats,
    hand_bitops,
    settings,
    study_trials,
    write_config,
)

REPO = Path(__file__).resolve().parents[2]


def run(tmp_path: Path, out: str, n_trials: int = 20, **kw):
    path = write_config(tmp_path, n_trials)
    search = parse_search(read_toml(path), path)
    options = SearchOptions(out_dir=tmp_path / out, study="s", **kw)
    return run_search(search, settings(), options)


@pytest.fixture(scope="module")
def twenty(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("twenty")
    return tmp, run(tmp, "a")


def complete(trials):
    from optuna.trial import TrialState

    return [t for t in trials if t.state == TrialState.COMPLETE]


def test_twenty_trials_with_a_fixed_seed_are_reproducible(twenty):
    tmp, first = twenty
    second = run(tmp, "b")
    a = complete(study_trials(first.storage, "s"))
    b = complete(study_trials(second.storage, "s"))
    assert len(a) == len(b) == 20
    assert [(t.number, t.params, t.values) for t in a] == [(t.number, t.params, t.values) for t in b]


def test_each_configuration_is_evaluated_once_and_is_valid(twenty):
    _, outcome = twenty
    trials = complete(study_trials(outcome.storage, "s"))
    keys = [json.dumps(t.user_attrs["config"], sort_keys=True) for t in trials]
    assert len(set(keys)) == len(keys) == 20
    assert outcome.reports[0]["evaluated"] == 20
    for t in trials:
        assert_valid_formats(t.user_attrs["config"])


def test_metrics_equal_hand_computed_costs(twenty):
    _, outcome = twenty
    for t in complete(study_trials(outcome.storage, "s")):
        config, metrics = t.user_attrs["config"], t.user_attrs["metrics"]
        assert metrics["bitops"] == hand_bitops(config)
        weights = {"seq_blocks_2": 128, "seq_blocks_5": 64, "seq_blocks_8": 40}  # = MACs for a Linear
        widths = {n: config[n]["config"]["weight_width"] for n in JSC_TOY_LINEAR_MACS}
        assert metrics["average_bitwidth"] == pytest.approx(sum(weights[n] * widths[n] for n in weights) / 232)
        assert t.values == [metrics["accuracy"], metrics["bitops"]]  # scale 1.0, name order


def test_pareto_front_is_a_real_front(twenty):
    _, outcome = twenty
    trials = complete(study_trials(outcome.storage, "s"))
    front = json.loads((outcome.out_dir / "pareto.json").read_text())["front"]
    front_numbers = {r["trial"] for r in front}

    def dominated(t):  # maximise accuracy, minimise BitOPs
        a, c = t.values
        return any(o.values[0] >= a and o.values[1] <= c and (o.values[0] > a or o.values[1] < c) for o in trials)

    assert front_numbers == {t.number for t in trials if not dominated(t)}
    assert front_numbers
    for r in front:
        toml = outcome.out_dir / "pareto" / f"trial_{r['trial']}.toml"
        assert read_toml(toml)["passes"]["quantize"] == r["config"]


def test_two_worker_processes_share_one_sqlite_study(tmp_path):
    outcome = run(tmp_path, "w2", n_trials=10, workers=2)
    trials = study_trials(outcome.storage, "s")
    done = complete(trials)
    assert len(done) == 10
    keys = [json.dumps(t.user_attrs["config"], sort_keys=True) for t in done]
    assert len(set(keys)) == 10
    assert sorted(r["worker"] for r in outcome.reports) == [0, 1]
    assert sum(r["evaluated"] for r in outcome.reports) == 10  # nothing written twice
    # both ran to the shared budget (how the 10 split between them depends on their start-up)
    assert [r["stop_reason"] for r in outcome.reports] == ["budget", "budget"]


# A trial takes ~60 ms: a budget this size cannot finish between two polls of the storage, so the
# kill always lands mid-study, also on an idle machine.
KILL_TRIALS = 60


def test_killed_worker_resumes_without_losing_or_repeating_a_trial(tmp_path):
    from optuna.trial import TrialState

    path = write_config(tmp_path, KILL_TRIALS)
    cmd = [sys.executable, "-m", "mase_tui.cli", "search", "--config", str(path), "--project-dir",
           str(tmp_path / "out"), "--project", "p", "--study", "k", "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    url = f"sqlite:///{tmp_path / 'out/p/software/search/k/study.db'}"
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            time.sleep(0.2)
            try:
                if len(complete(study_trials(url, "k"))) >= 3:
                    break
            except Exception:  # the study is not created yet
                continue
        else:
            pytest.fail(f"the first run made no progress: {proc.stderr.read() if proc.poll() is not None else ''}")
    finally:
        proc.send_signal(signal.SIGKILL)  # mid-trial: the kill lands while a trial is being evaluated
        proc.wait()
    before = {t.number: t.params for t in complete(study_trials(url, "k"))}
    assert 3 <= len(before) < KILL_TRIALS
    rerun = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    after = study_trials(url, "k")
    done = complete(after)
    assert len(done) == len(after) == KILL_TRIALS  # only completed evaluations are trials: nothing half-done left
    assert {t.number: t.params for t in done if t.number in before} == before  # nothing lost or redone
    keys = [json.dumps(t.user_attrs["config"], sort_keys=True) for t in done]
    assert len(set(keys)) == KILL_TRIALS
    assert f"{KILL_TRIALS - len(before)} evaluated by this run" in " ".join(rerun.stdout.split())
    assert all(t.state != TrialState.RUNNING for t in after)
