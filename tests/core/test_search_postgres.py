"""Two worker processes on one study in a real PostgreSQL server (the multi-machine setup).

The server: ``$MASE_TUI_TEST_POSTGRES_URL`` when set (``.ci/run`` starts one), else a throwaway
server this module starts from the installed PostgreSQL binaries (``initdb``/``pg_ctl`` from
/usr/lib/postgresql/*/bin) in a temporary directory, on a unix socket only, and stops after.
No binaries is a failure with the install command, never a skip.
"""

from __future__ import annotations

import glob
import json
import os
import random
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from core.config import read_toml
from core.search.config import parse_search
from core.search.runner import SearchOptions, run_search
from tests.core.search_helpers import settings, study_trials, write_config

ENV_URL = "MASE_TUI_TEST_POSTGRES_URL"


def _bin_dir() -> Path:
    def version(path: str) -> float:
        try:
            return float(Path(path).parent.name)
        except ValueError:
            return 0.0
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists():
            return Path(d)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) not found: "
                "apt-get update && apt-get install -y postgresql (.ci/run does this)")


@pytest.fixture(scope="module")
def postgres_url():
    if os.environ.get(ENV_URL):
        yield os.environ[ENV_URL]
        return
    bindir = _bin_dir()
    base = Path(tempfile.mkdtemp(prefix="mase-tui-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        import pwd

        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root and there is no 'postgres' user to run the test server as "
                        "(the postgresql package creates it)")
        os.chown(base, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", random.randint(20000, 60000)
    try:
        subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-N"],
                       check=True, capture_output=True, timeout=120)
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w",
                        "-o", f"-k {base} -p {port} -c listen_addresses='' -c fsync=off", "start"],
                       check=True, capture_output=True, timeout=120)
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"could not start the test PostgreSQL server: {exc.stderr.decode(errors='replace')[-500:]}")
    try:
        yield f"postgresql+psycopg2://postgres@/postgres?host={base}&port={port}"
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def test_two_workers_on_a_postgresql_study(tmp_path, postgres_url):
    from optuna.trial import TrialState

    path = write_config(tmp_path, 8)
    search = parse_search(read_toml(path), path)
    study = f"pg-{uuid.uuid4().hex[:8]}"
    outcome = run_search(search, settings(), SearchOptions(out_dir=tmp_path / "out", study=study,
                                                           storage=postgres_url, workers=2))
    assert outcome.storage == postgres_url
    trials = study_trials(postgres_url, study)
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(done) == 8
    assert len({json.dumps(t.user_attrs["config"], sort_keys=True) for t in done}) == 8
    assert sum(r["evaluated"] for r in outcome.reports) == 8
    assert not (tmp_path / "out" / "study.db").exists()  # the study is in the server, not a file
    assert json.loads((tmp_path / "out" / "pareto.json").read_text())["front"]
