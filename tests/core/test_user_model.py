"""Users' own models: loading from a file, untraceable code, leaves, unknown ops."""

from __future__ import annotations

import json
import logging
import sys
import textwrap

import pytest
import torch

from core.errors import ModelError, TraceError
from core.ir import MaseGraph
from core.models import get_model
from core.passes.analysis.common_metadata import add_common_metadata_analysis_pass
from core.passes.analysis.init_metadata import init_metadata_analysis_pass
from core.passes.analysis.software_metadata import add_software_metadata_analysis_pass
from core.passes.analysis.verify_metadata import verify_common_metadata_analysis_pass

MLP_FILE = '''
import torch
from torch import nn


class MLP(nn.Module):
    def __init__(self, hidden=8):
        super().__init__()
        self.fc1 = nn.Linear(16, hidden)
        self.fc2 = nn.Linear(hidden, 5)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def build(hidden=8):
    return MLP(hidden)
'''

UNTRACEABLE_FILE = '''
from torch import nn


class Gate(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x * 2
        return -x


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 5)
        self.gate = Gate()

    def forward(self, x):
        return self.gate(self.fc(x))


class Top(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        y = self.fc(x)
        if y.mean() > 0:
            y = y + 1
        return y


def build():
    return Net()


def top():
    return Top()
'''


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def annotate(graph, dummy_in):
    graph, _ = init_metadata_analysis_pass(graph)
    graph, info = add_common_metadata_analysis_pass(graph, {"dummy_in": dummy_in})
    return graph, info


def table(graph):
    return [(n.name, n.op, n.meta["mase"].parameters["common"]["mase_type"],
             n.meta["mase"].parameters["common"]["mase_op"]) for n in graph.nodes]


def test_user_model_file_loads_with_kwargs(tmp_path):
    path = write(tmp_path, "mlp.py", MLP_FILE)
    model = get_model(f"{path}:build", hidden=3)
    assert type(model).__name__ == "MLP" and model.fc1.out_features == 3
    graph, _ = annotate(MaseGraph(model.eval()), {"x": torch.randn(4, 16)})
    assert table(graph) == [
        ("x", "placeholder", "placeholder", "placeholder"),
        ("fc1", "call_module", "module_related_func", "linear"),
        ("relu", "call_function", "module_related_func", "relu"),
        ("fc2", "call_module", "module_related_func", "linear"),
        ("output", "output", "output", "output"),
    ]
    assert graph.node("fc2").meta["mase"].parameters["common"]["results"]["data_out_0"]["shape"] == [4, 5]


def test_user_model_from_a_package_module():
    model = get_model("core.models.jsc:JSC_Tiny")
    assert type(model).__name__ == "JSC_Tiny"


@pytest.mark.parametrize("ref, message", [
    ("missing_dir/nope.py:build", "model file not found"),
    ("core.models.jsc:NoSuchFactory", "has no attribute 'NoSuchFactory'"),
])
def test_bad_user_model_references(ref, message):
    with pytest.raises(ModelError, match=message):
        get_model(ref)


def test_untraceable_submodule_names_the_line_and_suggests_a_leaf(tmp_path):
    path = write(tmp_path, "untraceable.py", UNTRACEABLE_FILE)
    model = get_model(f"{path}:build")
    with pytest.raises(TraceError) as err:
        MaseGraph(model)
    message = str(err.value)
    assert "\n" not in message
    assert "untraceable.py:7" in message and "if x.sum() > 0:" in message
    assert "module 'gate' (Gate)" in message
    assert "custom_leaf_modules=(Gate,)" in message
    assert "data-dependent control flow" in message
    assert "Traceback" not in message and "symbolically traced variables" not in message


def test_untraceable_top_level_forward_names_the_line(tmp_path):
    path = write(tmp_path, "untraceable.py", UNTRACEABLE_FILE)
    with pytest.raises(TraceError) as err:
        MaseGraph(get_model(f"{path}:top"))
    message = str(err.value)
    assert "\n" not in message
    assert "cannot trace Top" in message and "untraceable.py:29" in message
    assert "leaf" in message


def test_registering_the_leaf_makes_it_trace(tmp_path):
    path = write(tmp_path, "untraceable.py", UNTRACEABLE_FILE)
    model = get_model(f"{path}:build").eval()
    gate_cls = sys.modules[type(model).__module__].Gate
    graph, info = annotate(MaseGraph(model, custom_leaf_modules=(gate_cls,)), {"x": torch.randn(4, 16)})
    assert table(graph) == [
        ("x", "placeholder", "placeholder", "placeholder"),
        ("fc", "call_module", "module_related_func", "linear"),
        ("gate", "call_module", "module", "user_defined_module"),
        ("output", "output", "output", "output"),
    ]
    assert info["unknown_ops"] == []
    x = torch.randn(4, 16)
    with torch.no_grad():
        assert torch.equal(graph.model(x), model(x))


def test_a_leaf_registered_in_the_model_file_is_a_user_module(tmp_path, monkeypatch):
    from core.ir import leaves

    monkeypatch.setattr(leaves, "LEAF_MODULE_CLASSES", list(leaves.LEAF_MODULE_CLASSES))
    text = UNTRACEABLE_FILE + "\n\nfrom core.ir.leaves import register_leaf_module\nregister_leaf_module(Gate)\n"
    path = write(tmp_path, "registered.py", text)
    import core.ir.tracer as tracer
    import core.passes.analysis.common_metadata as cm

    monkeypatch.setattr(tracer, "LEAF_MODULE_CLASSES", leaves.LEAF_MODULE_CLASSES)
    monkeypatch.setattr(cm, "LEAF_MODULE_CLASSES", leaves.LEAF_MODULE_CLASSES)
    graph, _ = annotate(MaseGraph(get_model(f"{path}:build").eval()), {"x": torch.randn(2, 16)})
    assert ("gate", "call_module", "module", "user_defined_module") in table(graph)


class UnknownOps(torch.nn.Module):
    def forward(self, x, y):
        a = torch.atan2(x, y)
        b = a.frac()
        c = torch.matmul(b, y.t())
        d = torch.matmul(c, x)
        return d * 2


def test_ops_outside_mase_tables_are_typed_and_named(caplog):
    graph = MaseGraph(UnknownOps())
    with caplog.at_level(logging.WARNING, logger="core.passes.analysis.common_metadata"):
        graph, info = annotate(graph, {"x": torch.randn(3, 4), "y": torch.randn(3, 4)})
    assert table(graph) == [
        ("x", "placeholder", "placeholder", "placeholder"),
        ("y", "placeholder", "placeholder", "placeholder"),
        ("atan2", "call_function", "builtin_func", "atan2"),
        ("frac", "call_method", "builtin_func", "frac"),
        ("t", "call_method", "implicit_func", "t"),
        ("matmul", "call_function", "builtin_func", "matmul"),
        ("matmul_1", "call_function", "builtin_func", "matmul"),  # MASE's lab-era code said mul
        ("mul", "call_function", "builtin_func", "mul"),
        ("output", "output", "output", "output"),
    ]
    assert info["unknown_ops"] == []
    assert [r for r in caplog.records if r.levelno == logging.WARNING] == []
    atan2 = graph.node("atan2").meta["mase"].parameters["common"]
    assert atan2["args"]["data_in_0"]["shape"] == [3, 4] and atan2["args"]["data_in_1"]["from"] == "y"
    assert atan2["results"]["data_out_0"]["shape"] == [3, 4]
    graph, _ = add_software_metadata_analysis_pass(graph)
    assert graph.node("frac").meta["mase"].parameters["software"]["args"] == {"data_in_0": {"stat": {}}}
    _, verdict = verify_common_metadata_analysis_pass(graph)
    assert verdict["ok"] and verdict["problems"] == []


def test_cli_reports_a_user_model(tmp_path, capsys):
    from mase_tui.cli import main

    path = write(tmp_path, "mlp.py", MLP_FILE)
    code = main(["report", f"{path}:build", "--dataset", "jsc-synthetic", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    doc = json.loads(out)
    assert doc["model"] == f"{path}:build" and doc["batch_size"] == 8
    passes = {p["name"]: p["info"] for p in doc["passes"]}
    assert passes["report_graph_analysis_pass"]["overview"] == {
        "placeholder": 1, "get_attr": 0, "call_function": 1, "call_method": 0, "call_module": 2, "output": 1}
    assert [row[:4] for row in passes["report_node_type_analysis_pass"]["rows"]] == [
        ["x", "placeholder", "placeholder", "placeholder"],
        ["fc1", "call_module", "module_related_func", "linear"],
        ["relu", "call_function", "module_related_func", "relu"],
        ["fc2", "call_module", "module_related_func", "linear"],
        ["output", "output", "output", "output"],
    ]
    assert passes["verify_common_metadata_analysis_pass"]["ok"] is True


def test_cli_untraceable_user_model_is_one_line_exit_2(tmp_path, capsys):
    from mase_tui.cli import main

    path = write(tmp_path, "untraceable.py", UNTRACEABLE_FILE)
    code = main(["report", f"{path}:build", "--dataset", "jsc-synthetic"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert not any("Traceback" in line for line in err)
    last = err[-1]
    assert last.startswith("error: cannot trace Net") and "untraceable.py:7" in last
