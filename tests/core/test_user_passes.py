"""Passes users write: a plain Python file of @mase_pass functions, loaded by path, by a TOML
config's passes_files, or by an installed package's mase_tui.passes entry point; broken files
and raising passes reported with the user's own file:line, the graph left as it was."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.config import load_config
from core.errors import ConfigError
from core.passes import PASSES, get_pass
from core.passes.user_passes import (
    UserPassError,
    load_pass_file,
    reload_pass_file,
    unload_pass_file,
)
from core.session import Session

REPO = Path(__file__).resolve().parents[2]

# A pass file as a student writes it: one pass counting nodes by fx opcode.
OPCODES = '''
from core.passes import Arg, mase_pass


@mase_pass(
    "count_opcodes_analysis_pass",
    kind="analysis",
    doc="How many nodes of each fx opcode",
    args=[Arg("only", "str", None, "count only this opcode")],
    aliases=("opcodes",),
)
def count_opcodes_analysis_pass(graph, pass_args=None):
    only = (pass_args or {}).get("only")
    counts = {}
    for node in graph.fx_graph.nodes:
        if only is None or node.op == only:
            counts[node.op] = counts.get(node.op, 0) + 1
    return graph, {"counts": counts}
'''

RAISES = '''
from core.passes import mase_pass


def helper(graph):
    nodes = list(graph.fx_graph.nodes)
    return len(nodes) / 0


@mase_pass("divide_analysis_pass", kind="analysis", doc="divides by zero")
def divide_analysis_pass(graph, pass_args=None):
    graph.fx_graph.nodes.__iter__()
    for node in graph.fx_graph.nodes:
        node.meta["mase"].parameters["common"]["mase_op"] = "scribbled"
        break
    helper(graph)
    return graph, {}
'''


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def pass_file(tmp_path):
    loaded: list[Path] = []

    def make(name: str, text: str) -> Path:
        path = write(tmp_path / name, text)
        loaded.append(path)
        return path

    yield make
    for path in loaded:
        unload_pass_file(path)


@pytest.fixture(scope="module")
def jsc_toy():
    return Session("jsc-toy", batch_size=8).load(progress=lambda _: None)


def fresh(session: Session) -> Session:
    other = copy.copy(session)
    other.original = session.original.copy()
    other.current = session.original.copy()
    other.history = []
    return other


def test_a_pass_file_registers_its_passes_with_their_declaration(pass_file, jsc_toy):
    path = pass_file("opcodes.py", OPCODES)
    (spec,) = load_pass_file(path)
    assert PASSES["count_opcodes_analysis_pass"] is spec
    assert get_pass("opcodes") is spec and get_pass("count_opcodes") is spec
    assert spec.origin == str(path) and spec.where == f"{path}:5" and not spec.builtin
    session = fresh(jsc_toy)
    run = session.run_pass("count_opcodes", {"only": "call_module"})
    assert run.ok, run.error
    # jsc-toy: 3 x (BatchNorm1d, ReLU, Linear) + the final BatchNorm1d and ReLU
    assert run.info == {"counts": {"call_module": 11}}
    assert session.run_pass("count_opcodes").info == {"counts": {"placeholder": 1, "call_module": 11, "output": 1}}
    # the declaration checks arguments as for built-ins
    with pytest.raises(ConfigError, match="unknown argument.*onyl.*did you mean 'only'"):
        spec.fn(session.current, {"onyl": "output"})


def test_loading_the_same_file_twice_is_one_load(pass_file):
    path = pass_file("opcodes.py", OPCODES)
    first = load_pass_file(path)
    assert load_pass_file(path) == first and list(PASSES).count("count_opcodes_analysis_pass") == 1


def test_a_syntax_error_names_the_file_and_line_and_keeps_what_was_loaded(pass_file):
    path = pass_file("opcodes.py", OPCODES)
    load_pass_file(path)
    before = PASSES["count_opcodes_analysis_pass"]
    path.write_text(OPCODES.replace("counts = {}", "counts = {"))
    with pytest.raises(UserPassError) as err:
        reload_pass_file(path)
    assert str(err.value).startswith(f"{path}:14: syntax error: ")  # the unclosed {
    assert PASSES["count_opcodes_analysis_pass"] is before


def test_an_import_error_names_the_line_in_the_users_file(pass_file):
    path = pass_file("broken.py", "import os\n\nimport no_such_module_for_mase_tui\n")
    with pytest.raises(UserPassError, match=rf"^{path}:3: loading the pass file failed: "
                                            r"ModuleNotFoundError: No module named 'no_such_module_for_mase_tui'"):
        load_pass_file(path)
    assert not [s for s in PASSES.values() if s.origin == str(path)]


def test_a_file_without_passes_says_how_to_declare_one(pass_file):
    path = pass_file("empty.py", "from core.passes.analysis.cost import cost_analysis_pass\n")
    with pytest.raises(UserPassError, match="declares no passes.*@mase_pass"):
        load_pass_file(path)


@pytest.mark.parametrize("name,aliases,clash", [
    ("cost_analysis_pass", (), "cost_analysis_pass"),
    ("cost_pass", (), "cost"),  # its short name is the built-in's short name
    ("tally_analysis_pass", ("quantize",), "quantize"),
])
def test_a_name_clash_with_a_built_in_names_both(pass_file, name, aliases, clash):
    path = pass_file("clash.py", f'''
        from core.passes import mase_pass

        @mase_pass("{name}", kind="analysis", aliases={aliases!r})
        def clashing(graph, pass_args=None):
            return graph, {{}}
        ''')
    with pytest.raises(UserPassError) as err:
        load_pass_file(path)
    builtin = get_pass(clash)
    assert f"{path}:4: pass {name} clashes with built-in pass {builtin.name}" in str(err.value)
    assert builtin.where in str(err.value) and f"both are called '{clash}'" in str(err.value)
    assert get_pass(clash).builtin


def test_a_raising_user_pass_is_reported_at_its_line_and_changes_nothing(pass_file, jsc_toy):
    path = pass_file("raises.py", RAISES)
    load_pass_file(path)
    session = fresh(jsc_toy)
    published = session.current
    before = json.dumps({n.name: n.meta["mase"].parameters["common"].get("mase_op") for n in published.fx_graph.nodes})
    run = session.run_pass("divide")
    assert not run.ok
    # the innermost frame in the user's file: the division inside helper()
    assert run.error == f"divide_analysis_pass failed at {path}:7: ZeroDivisionError: division by zero"
    assert session.current is published
    after = json.dumps({n.name: n.meta["mase"].parameters["common"].get("mase_op") for n in published.fx_graph.nodes})
    assert after == before  # the scribble happened on a private copy


def test_reload_picks_up_an_edit_and_drops_removed_passes(pass_file, jsc_toy):
    path = pass_file("opcodes.py", OPCODES)
    load_pass_file(path)
    path.write_text(OPCODES.replace("count_opcodes", "tally_opcodes").replace('"opcodes"', '"tally"')
                    .replace("counts[node.op] = counts.get(node.op, 0) + 1", "counts[node.op] = 7"))
    (spec,) = reload_pass_file(path)
    assert spec.name == "tally_opcodes_analysis_pass" and "count_opcodes_analysis_pass" not in PASSES
    run = fresh(jsc_toy).run_pass("tally", {"only": "output"})
    assert run.info == {"counts": {"output": 7}}


def test_passes_files_in_a_config_are_relative_to_it(tmp_path, pass_file):
    pass_file("opcodes.py", OPCODES)
    sub = tmp_path / "configs"
    sub.mkdir()
    config = sub / "run.toml"
    config.write_text('model = "jsc-toy"\npasses_files = ["../opcodes.py"]\n\n[passes.opcodes]\nonly = "output"\n')
    loaded = load_config(config)
    assert [(e.key, e.name, e.args) for e in loaded.passes] == [("opcodes", "count_opcodes_analysis_pass", {"only": "output"})]
    bad = sub / "bad.toml"
    bad.write_text('passes_files = ["opcodes.py"]\n')
    with pytest.raises(ConfigError, match=r"passes_files: opcodes.py not found \(looked for .*configs/opcodes.py\)"):
        load_config(bad)
    typo = sub / "typo.toml"
    typo.write_text('passes_files = ["../opcodes.py"]\n[passes.opcodes]\nonyl = "output"\n')
    with pytest.raises(ConfigError, match="unknown argument.*onyl.*did you mean 'only'"):
        load_config(typo)


def install_entry_point(site: Path, module_text: str, value: str = "mase_student_passes") -> None:
    """A package installed into ``site`` as pip would: the module and a dist-info whose
    entry_points.txt declares the mase_tui.passes group."""
    (site / "mase_student_passes.py").write_text(textwrap.dedent(module_text))
    info = site / "mase_student_passes-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mase-student-passes\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[mase_tui.passes]\nstudent = {value}\n")


def run_python(code: str, site: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(site)])}
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_an_installed_entry_point_registers_its_passes(tmp_path):
    install_entry_point(tmp_path, OPCODES)
    done = run_python("import sys\nfrom core.passes import PASSES, get_pass\n"
                      "spec = get_pass('opcodes')\n"
                      "print(spec.name, spec.origin, 'torch' in sys.modules)", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["count_opcodes_analysis_pass", "entry", "point", "'student", "=",
                                   "mase_student_passes'", "False"]


def test_a_broken_entry_point_is_reported_and_the_built_ins_still_load(tmp_path):
    install_entry_point(tmp_path, "x = 1\nraise RuntimeError('half-installed')\n")
    done = run_python("from core.passes import PASSES\nprint(len(PASSES) >= 15)\nprint(PASSES.problems)", tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "True"
    assert "entry point 'student = mase_student_passes'" in lines[1]
    assert "mase_student_passes.py:2): RuntimeError: half-installed" in lines[1]


def test_listing_passes_with_a_torch_free_pass_file_does_not_import_torch(tmp_path):
    path = write(tmp_path / "opcodes.py", OPCODES)
    done = run_python(f"import sys\nfrom core.passes.user_passes import load_pass_file\n"
                      f"load_pass_file({str(path)!r})\nfrom core.passes import PASSES\n"
                      "print(len([s for s in PASSES.values() if not s.builtin]), 'torch' in sys.modules)", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "False"]
