"""Optuna storage, study and sampler for a search.

The study lives in an Optuna RDB storage: by default a SQLite file in the run's output
directory (nothing to start), or any URL (``postgresql://...``) that several processes and
machines share. Workers write a trial only when it is complete (core/search/worker.py), under
``study_lock``, so there are no running trials for a dead worker to leave behind. The study
records what it searches (``SPEC_ATTR``), so a worker started with another config cannot join
it, and `--show` can read it without the config.
"""

from __future__ import annotations

import contextlib
import json
import logging
import zlib
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator

from core.errors import ConfigError, MaseError

logger = logging.getLogger(__name__)

SPEC_ATTR = "mase_tui_search"
STUDY_FILE = "study.db"


class SearchError(MaseError):
    """A study that cannot be opened, joined or continued."""


def sqlite_url(out_dir: str | Path) -> str:
    return f"sqlite:///{Path(out_dir).resolve() / STUDY_FILE}"


def open_storage(url: str):
    import optuna
    from optuna.storages import RDBStorage

    # failed trials are reported by the search itself, in one line
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite:///"):
        kwargs["engine_kwargs"] = {"creator": _sqlite_connector(url[len("sqlite:///"):])}
    try:
        return RDBStorage(url, **kwargs)
    except ImportError as exc:
        raise SearchError(f"no database driver for storage {url.split(':', 1)[0]}: {exc}",
                          hint="install psycopg2-binary for postgresql:// (pip install 'mase-tui[search]')") from None
    except Exception as exc:  # sqlalchemy's OperationalError and friends
        raise SearchError(f"cannot open the Optuna storage {_redact(url)}: {type(exc).__name__}: {_first_line(exc)}",
                          hint="check the URL, that the server runs, and the credentials") from None


@contextlib.contextmanager
def _file_lock(path: str) -> Iterator[None]:
    import fcntl

    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextlib.contextmanager
def _advisory_lock(storage, name: str) -> Iterator[None]:
    from sqlalchemy import text

    key = zlib.crc32(f"mase-tui-search:{name}".encode())
    with storage.engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


def study_lock(url: str, storage, name: str) -> Callable[[], ContextManager]:
    """A lock all workers of the study take to check the budget and write a trial: a file lock
    beside a SQLite file (one machine), an advisory lock on PostgreSQL (any machine). Other
    servers get none: at the very end two workers may then write one trial too many."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):] + ".lock"
        return lambda: _file_lock(path)
    if url.startswith("postgresql"):
        return lambda: _advisory_lock(storage, name)
    logger.warning("no study lock for %s: parallel workers may end one trial over n_trials", url.split(":", 1)[0])
    return contextlib.nullcontext


def _sqlite_connector(path: str):
    """SQLite connections in WAL mode with synchronous=NORMAL. Optuna commits about 15 times a
    trial; with the default journal each commit waits for an fsync (about 12 ms here), which
    made storage most of a trial's time. In WAL mode a committed trial survives a crash of the
    process (the log is in the OS cache); only a power cut can lose the last commits, never
    corrupt the file. Several local workers wait up to 60 s for the write lock."""
    import sqlite3

    def connect():
        conn = sqlite3.connect(path, timeout=60, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn
    return connect


def _redact(url: str) -> str:
    """The URL without a password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else ""


def make_sampler(name: str, seed: int | None):
    import optuna.samplers as s

    if name == "tpe":
        import warnings

        import optuna

        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        # multivariate: one joint draw over the operands of the model; group: conditional
        # parameters (several quantisers)
        return s.TPESampler(seed=seed, multivariate=True, group=True)
    if name == "random":
        return s.RandomSampler(seed=seed)
    if name == "nsgaii":
        return s.NSGAIISampler(seed=seed)
    if name == "nsgaiii":
        return s.NSGAIIISampler(seed=seed)
    if name == "qmc":
        import warnings

        import optuna

        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        return s.QMCSampler(seed=seed)
    if name == "bruteforce":
        return s.BruteForceSampler(seed=seed)
    raise ConfigError(f"unknown sampler '{name}'")


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def open_study(storage, name: str, spec: dict[str, Any], directions: list[str], sampler=None, *,
               create: bool = True):
    """Create the study or join it; a study made by another search config is refused."""
    import optuna

    spec = _plain(spec)
    if create:
        study = optuna.create_study(storage=storage, study_name=name, directions=directions,
                                    sampler=sampler, load_if_exists=True)
    else:
        study = load_study(storage, name, sampler)
    stored = study.user_attrs.get(SPEC_ATTR)
    if stored is None:
        if study.trials:
            raise SearchError(f"study '{name}' exists but was not made by mase-tui search",
                              hint="give another --study name")
        study.set_user_attr(SPEC_ATTR, spec)
        stored = spec
    if stored != spec:
        diff = sorted(k for k in set(stored) | set(spec) if stored.get(k) != spec.get(k))
        raise SearchError(f"study '{name}' was made with a different search ({', '.join(diff)} differ)",
                          hint="use the same config and settings to continue it, or another --study name")
    if [d.name.lower() for d in study.directions] != list(directions):
        raise SearchError(f"study '{name}' optimises {[d.name.lower() for d in study.directions]}, "
                          f"the config {directions}", hint="give another --study name")
    return study


def load_study(storage, name: str, sampler=None):
    import optuna

    try:
        return optuna.load_study(study_name=name, storage=storage, sampler=sampler)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage)] if storage else []
        import difflib

        close = difflib.get_close_matches(name, names, n=1)
        hint = f"did you mean '{close[0]}'?" if close else (f"studies: {', '.join(names)}" if names else "the storage has no study")
        raise SearchError(f"no study named '{name}' in the storage", hint=hint) from None
