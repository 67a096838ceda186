"""save_mase_graph / load_mase_graph refusals: no code unpickled without trust, names outside
the allow-list refused even with it, one-line errors for corrupt and missing saves, and a save
that never destroys what it replaces."""

from __future__ import annotations

import json
import shutil
import textwrap

import pytest
import torch

from core.errors import CheckpointError
from core.models import get_model, get_model_spec, load_user_model
from core.passes.interface.save_load import load_mase_graph, save_mase_graph
from tests import helpers


def annotated(model, dummy_in, **kwargs):
    return helpers.annotated(model.eval(), dummy_in, add_value=True, **kwargs)


def inputs_for(name: str) -> dict[str, torch.Tensor]:
    return get_model_spec(name).random_inputs(4)


USER_LEAF = '''
import torch
from torch import nn


class Gate(nn.Module):
    """A user module kept as a leaf (data-dependent branch)."""

    def __init__(self, width):
        super().__init__()
        self.w = nn.Parameter(torch.ones(width))

    def forward(self, x):
        if x.sum() > 0:
            return x * self.w
        return -x


def twice(x):
    return x * 2


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.gate = Gate(4)

    def forward(self, x):
        return twice(self.gate(self.fc(x)))


def build():
    return Net()
'''


def user_graph(tmp_path):
    path = tmp_path / "user_leaf.py"
    path.write_text(textwrap.dedent(USER_LEAF))
    model = load_user_model(f"{path}:build")
    module = type(model).__module__
    import sys

    mod = sys.modules[module]
    x = torch.randn(2, 4)
    graph = annotated(model, {"x": x}, custom_leaf_modules=(mod.Gate,), custom_leaf_functions=(mod.twice,))
    return graph, x


def test_untrusted_modules_are_refused_without_trust(tmp_path):
    graph, x = user_graph(tmp_path)
    info = save_mase_graph(graph, tmp_path / "u")
    assert (tmp_path / "u" / "untrusted_modules.pt").is_file()
    assert any("gate" in why for why in info["untrusted"])
    assert any("twice" in why for why in info["untrusted"])
    with pytest.raises(CheckpointError) as err:
        load_mase_graph(tmp_path / "u")
    message = str(err.value)
    assert "\n" not in message
    assert "unpickled" in message and "--trust-checkpoint" in message
    assert "Gate" in message or "gate" in message
    loaded = load_mase_graph(tmp_path / "u", trust=True)
    with torch.no_grad():
        assert torch.equal(graph.model(x), loaded.model(x))
    assert type(loaded.model.get_submodule("gate")).__name__ == "Gate"
    assert [c.__name__ for c in loaded.custom_leaf_modules] == ["Gate"]


def _tamper(tmp_path, edit):
    save_mase_graph(annotated(get_model("toy-fn"), inputs_for("toy-fn")), tmp_path / "g")
    path = tmp_path / "g" / "graph.json"
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))
    return tmp_path / "g"


@pytest.mark.parametrize("target", ["os:system", "builtins:eval", "torch:load", "subprocess:run",
                                    "torch.nn.functional:_canonical_mask"])
def test_a_crafted_graph_cannot_name_code_outside_the_allow_list(tmp_path, target):
    canary = tmp_path / "canary"

    def edit(doc):
        node = next(n for n in doc["nodes"] if n["name"] == "add")
        node["target"] = {"__ref__": target}
        node["args"] = {"__tuple__": [f"touch {canary}"]}

    saved = _tamper(tmp_path, edit)
    with pytest.raises(CheckpointError, match="allow-list"):
        load_mase_graph(saved)
    with pytest.raises(CheckpointError):  # trust does not widen the allow-list of names
        load_mase_graph(saved, trust=True)
    assert not canary.exists()


def test_a_crafted_graph_cannot_call_dunder_methods(tmp_path):
    def edit(doc):
        node = next(n for n in doc["nodes"] if n["name"] == "view")
        node["target"] = "__reduce_ex__"

    with pytest.raises(CheckpointError, match="allow-list"):
        load_mase_graph(_tamper(tmp_path, edit))


def test_a_crafted_module_class_is_refused(tmp_path):
    def edit(doc):
        doc["modules"][0]["class"] = "core.session:Session"

    with pytest.raises(CheckpointError, match="allow-list"):
        load_mase_graph(_tamper(tmp_path, edit))


def _saved(tmp_path):
    save_mase_graph(annotated(get_model("jsc-tiny"), {"x": torch.randn(2, 16)}), tmp_path / "g")
    return tmp_path / "g"


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def _write_pickle(path):
    torch.save({"seq_blocks.2.weight": Evil()}, path)


@pytest.mark.parametrize("damage, message", [
    (lambda d: shutil.rmtree(d), "no saved graph"),
    (lambda d: (d / "manifest.json").unlink(), "manifest.json is missing"),
    (lambda d: (d / "manifest.json").write_text("{not json"), "corrupt"),
    (lambda d: (d / "manifest.json").write_text(json.dumps({"format": "other"})), "not a saved mase-tui graph"),
    (lambda d: (d / "manifest.json").write_text(json.dumps({"format": "mase-tui-graph", "format_version": 99})),
     "save format 99"),
    (lambda d: (d / "graph.json").unlink(), "graph.json is missing"),
    (lambda d: (d / "state_dict.pt").write_bytes((d / "state_dict.pt").read_bytes()[:100]), "state_dict.pt"),
    (lambda d: _write_pickle(d / "state_dict.pt"), "tensors only"),
    (lambda d: torch.save({**torch.load(d / "state_dict.pt"), "seq_blocks.2.weight": torch.zeros(3, 3)},
                          d / "state_dict.pt"), "shape"),
    (lambda d: torch.save({k: v for k, v in torch.load(d / "state_dict.pt").items() if "bias" not in k},
                          d / "state_dict.pt"), "missing"),
    (lambda d: (d / "graph.json").write_text((d / "graph.json").read_text().replace('"__node__": "x"',
                                                                                    '"__node__": "nope"')),
     "unknown node"),
])
def test_corrupt_or_missing_saves_raise_one_line_errors(tmp_path, capsys, damage, message):
    saved = _saved(tmp_path)
    damage(saved)
    with pytest.raises(CheckpointError) as err:
        load_mase_graph(saved)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert "pwned" not in capsys.readouterr().out


def test_a_failed_save_leaves_the_previous_save_intact(tmp_path, monkeypatch):
    saved = _saved(tmp_path)
    before = sorted(p.name for p in saved.iterdir())
    graph = annotated(get_model("jsc-toy"), {"x": torch.randn(2, 16)})
    import core.passes.interface.save_load as save_load

    real_save = torch.save
    calls = []

    def failing_save(obj, f, *a, **k):
        calls.append(f)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_save(obj, f, *a, **k)

    monkeypatch.setattr(save_load.torch, "save", failing_save)
    with pytest.raises(OSError):
        save_mase_graph(graph, saved)
    monkeypatch.undo()
    assert sorted(p.name for p in saved.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["g"]  # no temporary directories left
    assert len(load_mase_graph(saved).fx_graph.nodes) == 6  # still the jsc-tiny save


def test_save_never_replaces_a_directory_that_is_not_a_save(tmp_path):
    graph = annotated(get_model("jsc-tiny"), {"x": torch.randn(2, 16)})
    project = tmp_path / "project"
    project.mkdir()
    (project / "notes.txt").write_text("mine")
    with pytest.raises(CheckpointError, match="holds other files"):
        save_mase_graph(graph, project)
    assert (project / "notes.txt").read_text() == "mine"
    (tmp_path / "file").write_text("x")
    with pytest.raises(CheckpointError, match="is a file"):
        save_mase_graph(graph, tmp_path / "file")
    (tmp_path / "empty").mkdir()
    save_mase_graph(graph, tmp_path / "empty")  # an empty directory is fine, so is an earlier save
    save_mase_graph(graph, tmp_path / "empty")
    assert len(load_mase_graph(tmp_path / "empty").fx_graph.nodes) == 6


def test_trusted_user_leaf_loads_in_a_new_process(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    graph, x = user_graph(tmp_path)
    save_mase_graph(graph, tmp_path / "u")
    torch.save(x, tmp_path / "x.pt")
    with torch.no_grad():
        expected = graph.model(x).tolist()
    code = (
        "import json, sys, torch\n"
        "from core.passes.interface.save_load import load_mase_graph\n"
        "from core.errors import CheckpointError\n"
        f"try:\n    load_mase_graph({str(tmp_path / 'u')!r})\n"
        "except CheckpointError as e:\n    print('refused', '--trust-checkpoint' in str(e))\n"
        f"g = load_mase_graph({str(tmp_path / 'u')!r}, trust=True)\n"
        f"x = torch.load({str(tmp_path / 'x.pt')!r})\n"
        "print(type(g.model.get_submodule('gate')).__name__)\n"
        "print(json.dumps(g.model(x).tolist()))\n"
    )
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    refused, cls, out = done.stdout.strip().splitlines()
    assert refused == "refused True" and cls == "Gate"
    assert json.loads(out) == expected
