"""MaseGraph.copy() reads its source only, and copies metadata holding live objects."""

from __future__ import annotations

import threading

import torch
from torch import nn

from core.ir.metadata import copy_value
from tests.helpers import annotated


class Probe(nn.Module):
    """A leaf that, while the model is being deep-copied, checks the source graph's metadata."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 3)
        self.graph = None
        self.seen: list[int] = []  # how many source nodes had metadata during the copy

    def forward(self, x):
        return self.lin(x)

    def __deepcopy__(self, memo):
        if self.graph is not None:
            self.seen.append(sum(n.meta.get("mase") is not None for n in self.graph.fx_graph.nodes))
        new = Probe()
        new.lin.load_state_dict(self.lin.state_dict())
        memo[id(self)] = new
        return new


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.probe = Probe()

    def forward(self, x):
        return torch.relu(self.probe(x))


def test_copy_never_touches_its_source():
    torch.manual_seed(0)
    net = Net().eval()
    graph = annotated(net, {"x": torch.randn(2, 4)}, custom_leaf_modules=(Probe,))
    probe = graph.model.get_submodule("probe")
    probe.graph = graph
    before = {n.name: n.meta["mase"] for n in graph.fx_graph.nodes}
    params_before = {n: id(m.parameters) for n, m in before.items()}
    other = graph.copy()
    # every one of the 4 source nodes (x, probe, relu, output) kept its metadata during the copy
    assert probe.seen == [4]
    assert {n.name: n.meta["mase"] for n in graph.fx_graph.nodes} == before
    assert all(before[n].parameters is not None and id(before[n].parameters) == params_before[n] for n in before)
    # the copy's metadata is its own, equal in content
    for node in other.fx_graph.nodes:
        src = before[node.name]
        assert node.meta["mase"] is not src
        assert node.meta["mase"].parameters["common"]["mase_op"] == src.parameters["common"]["mase_op"]
        assert node.meta["mase"].node is node


def test_copy_of_metadata_with_live_objects():
    torch.manual_seed(0)
    graph = annotated(Net().eval(), {"x": torch.randn(2, 4)}, custom_leaf_modules=(Probe,))
    lock = threading.Lock()
    info = torch.finfo(torch.float16)
    meta = graph.node("probe").meta["mase"]
    meta.parameters["software"]["live"] = {"finfo": info, "iinfo": torch.iinfo(torch.int8), "lock": lock,
                                           "dtype": torch.bfloat16, "device": torch.device("cpu"),
                                           "size": torch.Size([2, 3]), "fn": torch.relu,
                                           "nested": [{"shape": [2, 3]}]}
    other = graph.copy()
    live = other.node("probe").meta["mase"].parameters["software"]["live"]
    # descriptions and uncopyable objects are shared, containers are new
    assert live["finfo"] is info and live["lock"] is lock and live["fn"] is torch.relu
    assert live["finfo"].max == 65504.0 and live["iinfo"].max == 127
    assert live["dtype"] is torch.bfloat16 and live["size"] == torch.Size([2, 3])
    live["nested"][0]["shape"].append(7)
    assert meta.parameters["software"]["live"]["nested"] == [{"shape": [2, 3]}]
    # the copy still runs and equals its source
    x = torch.randn(5, 4)
    assert torch.equal(other.model(x), graph.model(x))


def test_metadata_parameter_becomes_the_copys_parameter():
    torch.manual_seed(0)
    graph = annotated(nn.Sequential(nn.Linear(4, 3)).eval(), {"input_1": torch.randn(2, 4)})
    weight = graph.model.get_submodule("0").weight
    graph.node("_0").meta["mase"].parameters["common"]["args"]["held"] = {"value": weight}
    other = graph.copy()
    held = other.node("_0").meta["mase"].parameters["common"]["args"]["held"]["value"]
    assert held is other.model.get_submodule("0").weight
    assert held is not weight


def test_copy_value_keeps_tuple_kinds():
    from collections import OrderedDict, namedtuple

    Pair = namedtuple("Pair", "a b")
    value = OrderedDict(p=Pair([1], 2), t=(1, "x"), s={3})
    out = copy_value(value)
    assert type(out) is OrderedDict and type(out["p"]) is Pair
    assert out == value and out["p"].a is not value["p"].a
    assert out["t"] is value["t"]  # immutable all the way down: shared
