"""A worker's trial loop over a shared study.

Any number of workers (processes here, processes on other machines) run this loop on one
study. The rules that keep the study exact:

- **Budget**: ``n_trials`` counts distinct evaluated configurations. A worker starts a trial
  only while completed + running trials are fewer than ``n_trials``; when the rest are running
  elsewhere it waits for them (if their worker dies, the heartbeat fails them and their
  parameters come back as a waiting trial, which this worker then runs). Two workers that
  start the last trial at the same moment are told apart by trial number: the later one is
  pruned, unevaluated ("budget reached").
- **Each configuration once**: a trial records its configuration's key before evaluating; if
  another running or completed trial has the same key, it is pruned ("same configuration as
  trial N") and a configuration never seen is queued instead, so the budget buys new points.
  When every configuration of a finite space has been evaluated, the search stops.
- **Interrupted trials**: Ctrl+C marks the running trial failed and queues its parameters
  again, so the next run evaluates it.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable

logger = logging.getLogger(__name__)

KEY_ATTR = "config_key"
SKIP_ATTR = "skipped"
MAX_CONSECUTIVE_FAILURES = 3
POLL_SECONDS = 0.5
# spaces up to this size are enumerated to find a configuration not yet evaluated
ENUMERATE_LIMIT = 20000


@dataclass
class WorkerReport:
    evaluated: int = 0
    pruned: int = 0
    failed: int = 0
    stop_reason: str = ""
    seconds: dict[str, float] = field(default_factory=lambda: {"quantize": 0.0, "cost": 0.0, "evaluate": 0.0,
                                                               "storage": 0.0, "total": 0.0})


def short_key(key: str) -> str:
    return hashlib.sha1(key.encode()).hexdigest()[:20]


def objective_values(metrics: dict[str, float], search) -> list[float]:
    """MASE's scaled metrics: scale x metric, in metric-name order, or their sum."""
    scaled = [m.scale * float(metrics[m.name]) for m in search.metrics]
    return [sum(scaled)] if search.sum_scaled_metrics else scaled


class Worker:
    def __init__(self, study, space, evaluator, search, *, n_trials: int, deadline: float | None = None,
                 seed: int = 0, on_trial: Callable[[], None] | None = None) -> None:
        self.study = study
        self.space = space
        self.evaluator = evaluator
        self.search = search
        self.n_trials = n_trials
        self.deadline = deadline
        self.rng = random.Random(seed)
        self.on_trial = on_trial
        self.report = WorkerReport()
        self._failures = 0
        self._last_error = ""

    # ------------------------------------------------------------------ loop
    def run(self) -> WorkerReport:
        start = time.perf_counter()
        try:
            while True:
                reason = self._should_stop()
                if reason == "wait":
                    time.sleep(POLL_SECONDS)
                    continue
                if reason:
                    self.report.stop_reason = reason
                    break
                try:
                    self.study.optimize(self._objective, n_trials=1, catch=(Exception,), gc_after_trial=False)
                except KeyboardInterrupt:
                    self._requeue_interrupted()
                    raise
                if self.on_trial is not None:
                    self.on_trial()
                if self._failures >= MAX_CONSECUTIVE_FAILURES:
                    from core.search.study import SearchError

                    raise SearchError(f"{self._failures} trials in a row failed; the last: {self._last_error}",
                                      hint="rerun with --debug for the traceback")
        finally:
            self.report.seconds["total"] = time.perf_counter() - start
        return self.report

    def _should_stop(self) -> str:
        from optuna.storages import fail_stale_trials
        from optuna.trial import TrialState

        if self.deadline is not None and time.time() >= self.deadline:
            return "timeout"
        trials = self.study.get_trials(deepcopy=False)
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        running = [t for t in trials if t.state == TrialState.RUNNING]
        waiting = [t for t in trials if t.state == TrialState.WAITING]
        if len(complete) >= self.n_trials:
            return "budget"
        keys = {t.user_attrs.get(KEY_ATTR) for t in complete}
        if len(keys) >= self.space.size and not waiting:
            return "exhausted"
        if len(complete) + len(running) >= self.n_trials:
            fail_stale_trials(self.study)  # a dead worker's trials go back to the queue
            return "wait"  # the rest of the budget is running elsewhere
        return ""

    @property
    def _last_own_trial(self):
        return getattr(self, "_last_trial", None)

    # ------------------------------------------------------------------ one trial
    def _objective(self, trial):
        import optuna
        from optuna.trial import TrialState

        t0 = time.perf_counter()
        config, _ = self.space.suggest(trial)
        key = short_key(_key(config))
        trial.set_user_attr(KEY_ATTR, key)
        others = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING))
        storage_s = time.perf_counter() - t0
        self._last_trial = trial
        same = next((t for t in others if t.number != trial.number and t.user_attrs.get(KEY_ATTR) == key), None)
        if same is not None:
            trial.set_user_attr(SKIP_ATTR, f"same configuration as trial {same.number}")
            self.report.pruned += 1
            self._queue_unseen(others)
            raise optuna.TrialPruned()
        ahead = sum(1 for t in others if t.number < trial.number)
        if ahead >= self.n_trials:
            trial.set_user_attr(SKIP_ATTR, "budget reached by other workers")
            self.report.pruned += 1
            raise optuna.TrialPruned()
        try:
            metrics, seconds = self.evaluator.evaluate(config)
        except Exception as exc:
            from core.errors import MaseError

            self._failures += 1
            self.report.failed += 1
            self._last_error = exc.one_line() if isinstance(exc, MaseError) else f"{type(exc).__name__}: {exc}"
            logger.debug("trial %d failed", trial.number, exc_info=True)
            trial.set_user_attr("error", self._last_error)
            raise
        self._failures = 0
        values = objective_values(metrics, self.search)
        t1 = time.perf_counter()
        trial.set_user_attr("metrics", metrics)
        trial.set_user_attr("config", config)
        storage_s += time.perf_counter() - t1
        for part, s in seconds.items():
            self.report.seconds[part] += s
        self.report.seconds["storage"] += storage_s
        self.report.evaluated += 1
        return values if len(values) > 1 else values[0]

    def _queue_unseen(self, others) -> None:
        """The sampler proposed a configuration already evaluated: queue one never seen, so the
        trial budget buys new points (a converged sampler would otherwise repeat itself)."""
        from optuna.trial import TrialState

        if any(t.state == TrialState.WAITING for t in self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,))):
            return
        seen = {t.user_attrs.get(KEY_ATTR) for t in others}
        params = None
        for _ in range(200):
            candidate = self.space.random_params(self.rng)
            if short_key(_key(self.space.from_params(candidate))) not in seen:
                params = candidate
                break
        if params is None and self.space.size <= ENUMERATE_LIMIT:
            unseen = [p for p in self.space.all_params() if short_key(_key(self.space.from_params(p))) not in seen]
            params = self.rng.choice(unseen) if unseen else None
        if params is not None:
            self.study.enqueue_trial(params, user_attrs={"queued": "a configuration not yet evaluated"})

    def _requeue_interrupted(self) -> None:
        """Ctrl+C: the trial that was running is marked failed by Optuna; queue its parameters
        so the resumed study evaluates it."""
        from optuna.trial import TrialState

        trial = self._last_own_trial
        if trial is None:
            return
        frozen = self.study.get_trials(deepcopy=False)
        match = next((t for t in frozen if t.number == trial.number), None)
        if match is not None and match.state == TrialState.FAIL and match.params:
            self.study.enqueue_trial(dict(match.params), user_attrs={"retry_of": match.number})


def _key(config: dict[str, Any]) -> str:
    from core.search.space import config_key

    return config_key(config)
