"""--tracer and --device on the command line and in configs."""

from __future__ import annotations

import json

import pytest

from core.config import config_from_dict
from core.errors import ConfigError
from mase_tui.cli import main


def test_report_with_tracer_export_on_an_fx_traceable_model(capsys):
    assert main(["report", "jsc-tiny", "--tracer", "export", "--pass", "report_graph", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["capture"]["tracer"] == "export"
    assert doc["capture"]["reason"] == "export: asked for (--tracer export)"
    info = doc["passes"][0]["info"]
    assert info["overview"]["call_module"] == 0
    # JSC-Tiny: BatchNorm1d, ReLU, Linear(16, 5), ReLU as aten ops; its 2 weights, 2 BN biases/
    # scales and running stats (+ num_batches_tracked) are get_attr nodes
    assert info["overview"]["call_function"] == 4
    assert [t.split("(")[0] for t in info["layer_types"]] == ["BatchNorm1d", "ReLU", "Linear", "ReLU"]


def test_bad_tracer_and_device_fail_before_any_work(capsys):
    with pytest.raises(SystemExit) as err:
        main(["report", "jsc-tiny", "--tracer", "jit"])
    assert err.value.code == 2
    with pytest.raises(ConfigError, match="'tracer' = 'jit' is not one of auto, fx, export"):
        config_from_dict({"tracer": "jit"})
    with pytest.raises(ConfigError, match="'device' = 'cuda' is not one of cpu, meta"):
        config_from_dict({"device": "cuda"})
    with pytest.raises(ConfigError, match="'seq_len' must be at least 1"):
        config_from_dict({"seq_len": 0})
    assert main(["report", "llama-7b", "--device", "cpu"]) == 2
    assert "llama-7b is built on the meta device only" in capsys.readouterr().err
