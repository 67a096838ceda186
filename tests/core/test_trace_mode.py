"""Finding 1 (models are traced in eval mode unless the training graph is asked for) and
finding 2 (optional forward arguments keep their defaults; cf_args / --concrete override)."""

from __future__ import annotations

import textwrap

import pytest
import torch
from torch import nn

from core.concrete_args import parse_concrete
from core.errors import ConfigError
from core.ir import MaseGraph
from core.session import Session
from tests.helpers import annotated
from tests.pattern_models import (
    AuxHeadNet,
    FunctionalBatchNormNet,
    OptionalArgsNet,
    StochasticDepthNet,
    stochastic_depth,
)


def call_targets(graph: MaseGraph) -> list[str]:
    return [str(n.target) for n in graph.nodes if n.op == "call_module"]


# ------------------------------------------------------------------ finding 1: eval mode
def test_aux_head_is_not_traced_and_the_output_is_the_eval_output():
    torch.manual_seed(0)
    model = AuxHeadNet()
    assert model.training  # constructors return train mode, as torchvision's do
    graph = MaseGraph(model)
    assert graph.traced_mode == "eval"
    assert call_targets(graph) == ["trunk", "head"]  # no aux.0 / aux.1 / aux.2
    x = torch.randn(4, 16)
    expected = AuxHeadNet.forward(model.eval(), x)
    assert torch.equal(graph.model(x), expected)


def test_train_graph_keeps_the_aux_head_and_its_namedtuple():
    torch.manual_seed(0)
    graph = MaseGraph(AuxHeadNet(), training=True)
    assert graph.traced_mode == "train"
    assert call_targets(graph) == ["trunk", "aux.0", "aux.1", "aux.2", "head"]
    out = graph.model(torch.randn(4, 16))
    assert type(out).__name__ == "NetOutputs" and out.aux_logits.shape == (4, 5)
    # the mode survives a copy (the GraphModule keeps its training flag)
    assert graph.copy().traced_mode == "train"


def test_stochastic_depth_is_off_in_the_eval_graph():
    torch.manual_seed(0)
    model = StochasticDepthNet(p=0.5)
    graph = MaseGraph(model, custom_leaf_functions=(stochastic_depth,))
    sd_nodes = [n for n in graph.nodes if n.op == "call_function" and n.target is stochastic_depth]
    assert len(sd_nodes) == 3 and all(n.args[3] is False for n in sd_nodes)
    x = torch.randn(8, 16)
    expected = model.eval()(x)
    for _ in range(3):  # deterministic: with training=True it differed on every run
        assert torch.equal(graph.model(x), expected)


def test_functional_batch_norm_uses_and_keeps_the_running_statistics():
    torch.manual_seed(0)
    model = FunctionalBatchNormNet()
    mean, var = model.running_mean.clone(), model.running_var.clone()
    graph = annotated(model, {"x": torch.randn(8, 16)})
    x = torch.randn(8, 16) * 3 + 1
    for _ in range(3):
        out = graph.model(x)
    assert torch.equal(model.running_mean, mean) and torch.equal(model.running_var, var)
    # eval batch norm by hand: (h - running_mean) / sqrt(running_var + eps) * weight + bias
    h = model.fc(x)
    bn = (h - mean) / torch.sqrt(var + 1e-5) * model.weight + model.bias
    torch.testing.assert_close(out, model.out(torch.relu(bn)), rtol=1e-6, atol=1e-6)


def test_functional_batch_norm_in_the_training_graph_updates_the_statistics():
    model = FunctionalBatchNormNet()
    mean = model.running_mean.clone()
    graph = MaseGraph(model, training=True)
    graph.model(torch.randn(8, 16) + 5)
    assert not torch.equal(model.running_mean, mean)  # the training graph does what it says


USER_FILE = '''
import torch
from torch import nn


class AuxNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 8)
        self.aux = nn.Linear(8, 5)
        self.head = nn.Linear(8, 5)

    def forward(self, x, attn_mask=None, is_causal=False):
        h = torch.relu(self.fc(x))
        if attn_mask is not None:
            h = h + attn_mask
        if self.training:
            return self.head(h), self.aux(h)
        return self.head(h) * (2.0 if is_causal else 1.0)


def build():
    return AuxNet()  # in train mode, as library constructors return models
'''


def test_session_traces_a_user_model_in_eval_mode_with_its_defaults(tmp_path):
    path = tmp_path / "auxnet.py"
    path.write_text(textwrap.dedent(USER_FILE))
    session = Session(f"{path}:build", dataset="jsc-synthetic", batch_size=4).load(progress=lambda m: None)
    graph = session.current
    assert graph.placeholder_names() == ["x"]
    assert call_targets(graph) == ["fc", "head"]
    assert session.trace_note == "traced in eval mode; constant args attn_mask=None, is_causal=False"
    x = session.dummy_in["x"]
    assert torch.equal(graph.model(x), session.model(x))  # session.model is in eval mode
    train = Session(f"{path}:build", dataset="jsc-synthetic", batch_size=4, train_graph=True,
                    cf_args={"is_causal": True}).load(progress=lambda m: None)
    assert call_targets(train.current) == ["fc", "head", "aux"]
    assert train.trace_note == "training graph (--train-graph), traced; constant args attn_mask=None, is_causal=True"


# ------------------------------------------------------------------ finding 2: concrete args
def test_optional_arguments_keep_their_defaults():
    torch.manual_seed(0)
    model = OptionalArgsNet()
    graph = annotated(model, {"x": torch.randn(3, 16)})
    assert graph.placeholder_names() == ["x"]
    # no leftover fx assertion nodes for the specialised values
    assert not any("assert" in str(n.target) for n in graph.nodes)
    x = torch.randn(3, 16)
    expected = model.head(model.fc(x) * 1.0 * 2)  # scale 1.0, taps[1] == 2, no mask, not causal
    torch.testing.assert_close(graph.model(x), expected)


def test_cf_args_override_defaults():
    torch.manual_seed(0)
    model = OptionalArgsNet()
    graph = MaseGraph(model, cf_args={"is_causal": True, "scale": 0.5})
    x = torch.randn(3, 16)
    torch.testing.assert_close(graph.model(x), model.head(torch.tril(model.fc(x)) * 0.5 * 2))
    with pytest.raises(ConfigError, match="cf_args names 'mask', which OptionalArgsNet.forward does not take"):
        MaseGraph(model, cf_args={"mask": None})


def test_parse_concrete_reads_literals():
    assert parse_concrete(["a=3", "b=0.5", "c=True", "d=none", "e='x y'", "f=fast", "g=(1, 2)", "h=false"]) == {
        "a": 3, "b": 0.5, "c": True, "d": None, "e": "x y", "f": "fast", "g": (1, 2), "h": False}
    with pytest.raises(ConfigError, match="is not NAME=VALUE"):
        parse_concrete(["3=a"])


def test_cli_flags_reach_the_session(tmp_path, capsys):
    from mase_tui.cli import main

    path = tmp_path / "auxnet.py"
    path.write_text(textwrap.dedent(USER_FILE))
    code = main(["report", f"{path}:build", "--dataset", "jsc-synthetic", "--json", "--train-graph",
                 "--concrete", "is_causal=true", "--pass", "report_graph"])
    assert code == 0
    import json

    doc = json.loads(capsys.readouterr().out)
    assert doc["traced_mode"] == "train"
    assert doc["traced"] == "training graph (--train-graph), traced; constant args attn_mask=None, is_causal=True"
    assert main(["report", f"{path}:build", "--dataset", "jsc-synthetic", "--concrete", "oops"]) == 2
    assert "--concrete 'oops' is not NAME=VALUE" in capsys.readouterr().err


def test_plain_nn_module_mode_is_restored_nowhere_else():
    # the graph shares the model's submodules: a BatchNorm leaf must read eval mode when the graph runs
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
    graph = MaseGraph(model)
    assert not model[1].training
    before = model[1].running_mean.clone()
    graph.model(torch.randn(6, 4) + 3)
    assert torch.equal(model[1].running_mean, before)


def test_graph_tab_says_how_the_graph_was_traced(tmp_path):
    from rich.console import Console

    from mase_tui.widgets.graph_overview import overview_data, overview_sections

    path = tmp_path / "auxnet.py"
    path.write_text(textwrap.dedent(USER_FILE))
    session = Session(f"{path}:build", dataset="jsc-synthetic", batch_size=4).load(progress=lambda m: None)
    console = Console(width=200, record=True)
    for section in overview_sections(overview_data(session)):
        console.print(section)
    assert "fx graph (traced in eval mode; constant args attn_mask=None, is_causal=False)" in console.export_text()


def test_export_front_end_also_captures_in_eval_mode():
    torch.manual_seed(0)
    model = AuxHeadNet()
    x = torch.randn(2, 16)
    graph = MaseGraph(model, tracer="export", example_inputs=(x,))
    assert graph.capture["tracer"] == "export" and graph.traced_mode == "eval"
    linears = [n for n in graph.nodes if n.op == "call_function" and "linear" in str(n.target)]
    assert len(linears) == 2  # trunk and head; the aux head is a training-only branch
    assert torch.equal(graph.model(x), model.eval()(x))
    train = MaseGraph(AuxHeadNet(), tracer="export", example_inputs=(x,), training=True)
    assert train.traced_mode == "train" and train.copy().traced_mode == "train"


def test_transform_config_keys_train_graph_and_cf_args(tmp_path, capsys, monkeypatch):
    from mase_tui.cli import main

    (tmp_path / "auxnet.py").write_text(textwrap.dedent(USER_FILE))
    (tmp_path / "c.toml").write_text(
        'model = "auxnet.py:build"\ndataset = "jsc-synthetic"\ntrain_graph = true\nbatch_size = 4\n'
        "[cf_args]\nis_causal = true\n[passes.report_graph]\n")
    monkeypatch.chdir(tmp_path)
    code = main(["transform", "--config", "c.toml", "--no-eval", "--project-dir", "out",
                 "--concrete", "attn_mask=None"])
    out = " ".join(capsys.readouterr().out.split())  # rich wraps at the terminal width
    assert code == 0
    assert "graph training graph (--train-graph), traced; constant args attn_mask=None, is_causal=True" in out
