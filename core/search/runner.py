"""Run a search: open the study, run the workers (in this process, or N local processes), and
write the results. Front ends call ``run_search`` and get progress through a callback."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from core.search.config import SearchConfig
from core.search.results import Progress, progress, write_results
from core.search.study import (
    SearchError,
    make_sampler,
    open_storage,
    open_study,
    sqlite_url,
    study_lock,
)
from core.search.worker import Worker, WorkerReport

logger = logging.getLogger(__name__)

# settings that decide what is evaluated (a study records them; a worker with others is refused)
SPEC_SETTINGS = ("model", "dataset", "load_name", "load_type", "dataset_path", "pretrained")


@dataclass
class SearchOptions:
    out_dir: Path
    study: str
    storage: str | None = None
    workers: int = 1
    n_trials: int | None = None
    timeout: float | None = None
    sampler: str | None = None
    seed: int | None = None
    threads: int = 1

    @property
    def storage_url(self) -> str:
        return self.storage or sqlite_url(self.out_dir)


@dataclass
class SearchOutcome:
    study_name: str
    storage: str
    out_dir: Path
    results: dict[str, Any]
    reports: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    stop_reason: str = ""


def search_spec(search: SearchConfig, settings: dict[str, Any]) -> dict[str, Any]:
    return {**search.spec(), "settings": {k: settings.get(k) for k in SPEC_SETTINGS}}


def run_search(search: SearchConfig, settings: dict[str, Any], options: SearchOptions, *,
               on_progress: Callable[[Progress], None] | None = None,
               say: Callable[[str], None] | None = None) -> SearchOutcome:
    say = say or (lambda msg: logger.info("%s", msg))
    n_trials = options.n_trials or search.n_trials
    spec = search_spec(search, settings)
    options.out_dir.mkdir(parents=True, exist_ok=True)
    storage = open_storage(options.storage_url)
    base_seed = options.seed if options.seed is not None else (search.seed if search.seed is not None else settings.get("seed") or 0)
    sampler_name = options.sampler or search.sampler
    study = open_study(storage, options.study, spec, search.directions)
    deadline = time.time() + (options.timeout or search.timeout) if (options.timeout or search.timeout) else None
    started = time.time()
    names = search.objective_names

    def report_progress() -> None:
        if on_progress is not None:
            on_progress(progress(study, n_trials, search.directions, started, names))

    report_progress()
    reports: list[dict[str, Any]] = []
    if progress(study, n_trials, search.directions, started, names).complete >= n_trials:
        stop = "budget"  # a finished study: nothing to trace or evaluate
    elif options.workers <= 1:
        from core.search.evaluator import TrialEvaluator

        say("tracing the model and loading the evaluation samples")
        evaluator = TrialEvaluator(settings, search, threads=options.threads, progress=say)
        say(f"searching {evaluator.space.size} configurations ({len(evaluator.space.param_names)} parameters) "
            f"with {sampler_name}, {n_trials} trials")
        worker = Worker(study, evaluator.space, evaluator, search, n_trials=n_trials, deadline=deadline,
                        sampler=make_sampler(sampler_name, base_seed), seed=base_seed,
                        lock=study_lock(options.storage_url, storage, options.study), on_trial=report_progress)
        report = worker.run()
        reports.append(_report_dict(report, 0))
        stop = report.stop_reason
    else:
        payload = worker_payload(search, settings, options.storage_url, options.study, n_trials,
                                 deadline=deadline, sampler=sampler_name, threads=options.threads)
        reports, stop = _run_processes(payload, options.workers, base_seed, report_progress, say)
    report_progress()
    say("writing the Pareto front")
    results = write_results(options.out_dir, study, options.study)
    return SearchOutcome(options.study, options.storage_url, options.out_dir, results, reports,
                         time.time() - started, stop)


def _report_dict(report: WorkerReport, index: int) -> dict[str, Any]:
    return {"worker": index, "evaluated": report.evaluated, "pruned": report.pruned, "discarded": report.discarded,
            "failed": report.failed,
            "stop_reason": report.stop_reason, "seconds": dict(report.seconds)}


# --------------------------------------------------------------------------- processes
def _run_processes(payload: dict[str, Any], workers: int, base_seed: int, report_progress, say):
    """N fresh interpreters (``python -m core.search.runner``), each a worker on the study. Fresh
    processes, not fork: no inherited torch threads or locks, and no re-import of the caller's
    main module (which multiprocessing's spawn would do)."""
    import json
    import subprocess
    import tempfile

    procs, logs = [], []
    say(f"starting {workers} worker processes")
    for i in range(workers):
        log = tempfile.TemporaryFile(mode="w+")
        procs.append(start_worker_process(payload, i, base_seed + i, log))
        logs.append(log)
    try:
        while any(p.poll() is None for p in procs):
            time.sleep(0.5)
            report_progress()
    except KeyboardInterrupt:
        for p in procs:  # they got the same Ctrl+C and are putting their trials back
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        raise
    reports, errors = [], []
    for i, (proc, log) in enumerate(zip(procs, logs, strict=True)):
        lines = [line for line in proc.stdout.read().splitlines() if line.strip()]
        log.seek(0)
        tail = [line for line in log.read().splitlines() if line.strip()]
        log.close()
        result = json.loads(lines[-1]) if lines else {"error": f"exited with code {proc.returncode}"}
        if "error" in result:
            errors.append(f"worker {i}: {result['error']}" + (f" ({tail[-1]})" if tail and "error" not in result else ""))
            if tail:
                logger.debug("worker %d stderr:\n%s", i, "\n".join(tail))
        else:
            reports.append(result)
    if errors:
        raise SearchError(f"a worker failed: {errors[0]}")
    stop = next((r["stop_reason"] for r in reports if r["stop_reason"]), "")
    return sorted(reports, key=lambda r: r["worker"]), stop


def worker_payload(search: SearchConfig, settings: dict[str, Any], storage: str, study: str, n_trials: int, *,
                   deadline: float | None, sampler: str, threads: int = 1) -> dict[str, Any]:
    """What a worker process needs to join the study (``start_worker_process`` sends it)."""
    return {"config": search.raw, "path": str(search.path) if search.path else None, "settings": settings,
            "storage": storage, "study": study, "n_trials": n_trials, "deadline": deadline,
            "sampler": sampler, "threads": threads}


def start_worker_process(payload: dict[str, Any], index: int, seed: int, stderr):
    """One worker on the study: ``python -m core.search.runner`` with the payload on stdin; its
    report (or ``{"error": ...}``) is the last line of its stdout. Ctrl+C (SIGINT) stops it after
    its trial in flight, which is not written; every finished trial is already in the storage."""
    import json
    import os
    import subprocess
    import sys

    import core

    root = str(Path(core.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    proc = subprocess.Popen([sys.executable, "-m", "core.search.runner"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=stderr, env=env, text=True)
    proc.stdin.write(json.dumps({**payload, "index": index, "seed": seed}))
    proc.stdin.close()
    return proc


def worker_main(payload: dict[str, Any]) -> WorkerReport:
    """One worker: evaluator, study, trial loop (a process started by ``_run_processes``)."""
    from core.search.config import parse_search
    from core.search.evaluator import TrialEvaluator

    path = Path(payload["path"]) if payload.get("path") else None
    search = parse_search(payload["config"], path)
    settings = payload["settings"]
    storage = open_storage(payload["storage"])
    spec = search_spec(search, settings)
    evaluator = TrialEvaluator(settings, search, threads=payload.get("threads", 1))
    study = open_study(storage, payload["study"], spec, search.directions, create=False)
    worker = Worker(study, evaluator.space, evaluator, search, n_trials=payload["n_trials"],
                    sampler=make_sampler(payload["sampler"], payload["seed"]), deadline=payload.get("deadline"),
                    seed=payload["seed"], lock=study_lock(payload["storage"], storage, payload["study"]))
    return worker.run()


def _process_main() -> int:
    """``python -m core.search.runner``: payload JSON on stdin, report JSON on stdout."""
    import json
    import sys

    from core.errors import MaseError

    logging.basicConfig(level=logging.ERROR, format="%(levelname)-8s %(message)s", stream=sys.stderr)
    payload = json.loads(sys.stdin.read())
    try:
        report = worker_main(payload)
    except KeyboardInterrupt:
        print(json.dumps({"error": "interrupted"}))
        return 130
    except MaseError as exc:
        print(json.dumps({"error": exc.one_line()}))
        return 2
    except Exception as exc:  # a bug: the traceback goes to the log, one line to the parent
        logger.exception("worker %s failed", payload.get("index"))
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 1
    print(json.dumps(_report_dict(report, payload["index"])))
    return 0


if __name__ == "__main__":
    import os
    import sys

    code = _process_main()
    sys.stdout.flush()
    sys.stderr.flush()
    # everything is committed to the storage: skip the interpreter's slow teardown of torch
    os._exit(code)
