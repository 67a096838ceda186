"""A worker's trial loop over a shared study.

Any number of workers (processes here, processes on other machines) run this loop on one
study. A trial is written to the shared storage only when it is complete, in one transaction
(``Study.add_trial``): Optuna's storages write every suggested parameter, attribute and state
change in a transaction of its own, which on a busy machine cost more than evaluating jsc-toy.
So the sampler runs on an in-memory *mirror* of the study (the shared completed trials are
copied into it before each proposal) and the shared storage sees one write per trial.

The rules that keep the study exact:

- **No trial lost or evaluated twice.** Only finished evaluations become trials, so a worker
  that dies (Ctrl+C, crash, machine gone) leaves nothing half-done behind: its evaluation in
  flight is simply not there, and a restarted worker continues from the completed trials.
- **Budget**: ``n_trials`` counts distinct evaluated configurations. Under the study lock (a
  file lock beside a SQLite study, an advisory lock on PostgreSQL) a worker re-reads the study
  and writes its trial only if fewer than ``n_trials`` are complete, so parallel workers finish
  with exactly ``n_trials``.
- **Each configuration once**: a proposal whose configuration is already in the study is
  dropped before evaluation and a configuration not yet evaluated is queued in its place; one
  that another worker finished first is not written twice. When every configuration of a
  finite space has been evaluated, the search stops.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager

logger = logging.getLogger(__name__)

KEY_ATTR = "config_key"
MAX_CONSECUTIVE_FAILURES = 3
# spaces up to this size are enumerated to find a configuration not yet evaluated
ENUMERATE_LIMIT = 20000


@dataclass
class WorkerReport:
    evaluated: int = 0
    pruned: int = 0  # proposals dropped before evaluation (configuration already in the study)
    discarded: int = 0  # evaluations not written (another worker finished the same one, or the budget)
    failed: int = 0
    stop_reason: str = ""
    seconds: dict[str, float] = field(default_factory=lambda: {
        "quantize": 0.0, "cost": 0.0, "evaluate": 0.0, "sampler": 0.0, "storage": 0.0, "total": 0.0,
        "lock_wait": 0.0})  # lock_wait: the part of storage spent waiting for another worker's write


def short_key(key: str) -> str:
    return hashlib.sha1(key.encode()).hexdigest()[:20]


def objective_values(metrics: dict[str, float], search) -> list[float]:
    """MASE's scaled metrics: scale x metric, in metric-name order, or their sum."""
    scaled = [m.scale * float(metrics[m.name]) for m in search.metrics]
    return [sum(scaled)] if search.sum_scaled_metrics else scaled


class Worker:
    def __init__(self, study, space, evaluator, search, *, n_trials: int, sampler=None,
                 deadline: float | None = None, seed: int = 0, lock: Callable[[], ContextManager] | None = None,
                 on_trial: Callable[[], None] | None = None) -> None:
        import optuna

        self.study = study
        self.space = space
        self.evaluator = evaluator
        self.search = search
        self.n_trials = n_trials
        self.deadline = deadline
        self.rng = random.Random(seed)
        self.lock = lock or contextlib.nullcontext
        self.on_trial = on_trial
        self.report = WorkerReport()
        self.mirror = optuna.create_study(directions=search.directions, sampler=sampler)
        self._keys: set[str] = set()
        self._complete = 0
        self._failures = 0
        self._last_error = ""

    # ------------------------------------------------------------------ loop
    def run(self) -> WorkerReport:
        start = time.perf_counter()
        try:
            while True:
                reason = self._stop_reason()
                if reason:
                    self.report.stop_reason = reason
                    break
                self._one_trial()
                if self._failures >= MAX_CONSECUTIVE_FAILURES:
                    from core.search.study import SearchError

                    raise SearchError(f"{self._failures} trials in a row failed; the last: {self._last_error}",
                                      hint="rerun with --debug for the traceback")
        finally:
            self.report.seconds["total"] = time.perf_counter() - start
        return self.report

    def _stop_reason(self) -> str:
        if self.deadline is not None and time.time() >= self.deadline:
            return "timeout"
        # outside the lock: other workers' trials (and this worker's last one, which Optuna's
        # cache reads back once) reach the sampler and the duplicate check before evaluation, so
        # the sync under the lock only reads what was written during this trial (usually nothing)
        t0 = time.perf_counter()
        self._sync()
        self.report.seconds["storage"] += time.perf_counter() - t0
        if self._complete >= self.n_trials:
            return "budget"
        if len(self._keys) >= self.space.size:
            return "exhausted"
        return ""

    def _sync(self) -> None:
        """Copy the shared study's completed trials into the mirror the sampler reads."""
        from optuna.trial import TrialState

        done = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        for t in done:
            key = t.user_attrs.get(KEY_ATTR)
            if key not in self._keys:  # trials are told apart by configuration (each is in once)
                self._keys.add(key)
                self.mirror.add_trial(t)
        self._complete = len(done)

    # ------------------------------------------------------------------ one trial
    def _one_trial(self) -> None:
        from optuna.trial import TrialState

        t0 = time.perf_counter()
        trial = self.mirror.ask()
        config, _ = self.space.suggest(trial)
        key = short_key(_key(config))
        self.report.seconds["sampler"] += time.perf_counter() - t0
        if key in self._keys:
            self.mirror.tell(trial, state=TrialState.PRUNED)
            self.report.pruned += 1
            self._queue_unseen()
            return
        try:
            metrics, seconds = self.evaluator.evaluate(config)
        except Exception as exc:
            from core.errors import MaseError

            self.mirror.tell(trial, state=TrialState.FAIL)
            self._failures += 1
            self.report.failed += 1
            self._last_error = exc.one_line() if isinstance(exc, MaseError) else f"{type(exc).__name__}: {exc}"
            logger.warning("a trial failed: %s", self._last_error)
            logger.debug("trial failed", exc_info=True)
            return
        self._failures = 0
        for part, s in seconds.items():
            self.report.seconds[part] += s
        values = objective_values(metrics, self.search)
        t1 = time.perf_counter()
        frozen = self.mirror.get_trials(deepcopy=False)[-1]  # the trial just asked (one thread)
        record = self._record(trial, frozen, values, metrics, config, key)
        # the mirror gets the completed trial back from the shared study at the next sync
        self.mirror.tell(trial, state=TrialState.FAIL)
        self.report.seconds["storage"] += time.perf_counter() - t1
        if record:
            self.report.evaluated += 1
            if self.on_trial is not None:
                self.on_trial()
        else:
            self.report.discarded += 1

    def _record(self, trial, frozen, values, metrics, config, key) -> bool:
        import optuna

        t0 = time.perf_counter()
        with self.lock():
            self.report.seconds["lock_wait"] += time.perf_counter() - t0
            self._sync()
            if self._complete >= self.n_trials or key in self._keys:
                return False
            done = optuna.trial.create_trial(
                params=dict(trial.params), distributions=dict(trial.distributions), values=values,
                user_attrs={KEY_ATTR: key, "metrics": metrics, "config": config},
                system_attrs=dict(frozen.system_attrs))
            self.study.add_trial(done)
        self._complete += 1
        self._keys.add(key)
        self.mirror.add_trial(done)  # the sampler sees it at once
        return True

    def _queue_unseen(self) -> None:
        """The sampler proposed a configuration already evaluated: queue one never seen, so the
        trial budget buys new points (a converged sampler would otherwise repeat itself)."""
        from optuna.trial import TrialState

        if self.mirror.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            return
        params = None
        for _ in range(200):
            candidate = self.space.random_params(self.rng)
            if short_key(_key(self.space.from_params(candidate))) not in self._keys:
                params = candidate
                break
        if params is None and self.space.size <= ENUMERATE_LIMIT:
            unseen = [p for p in self.space.all_params() if short_key(_key(self.space.from_params(p))) not in self._keys]
            params = self.rng.choice(unseen) if unseen else None
        if params is not None:
            self.mirror.enqueue_trial(params)


def _key(config: dict[str, Any]) -> str:
    from core.search.space import config_key

    return config_key(config)
