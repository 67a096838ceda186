"""core.checkpoint: each load type and each way a checkpoint can be wrong."""

from __future__ import annotations

import collections

import pytest
import torch

from core.checkpoint import CheckpointMismatchError, infer_load_type, load_model
from core.errors import CheckpointError
from core.models import get_model
from core.train import seed_everything


def trained_like(name: str, seed: int = 7):
    """A model whose weights differ from a fresh init, so a load is visible."""
    seed_everything(seed)
    model = get_model(name)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
        for n, b in model.named_buffers():
            if n.endswith("running_mean"):
                b.add_(0.5)
    return model


def same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture
def source():
    return trained_like("jsc-toy")


def test_pt_plain_state_dict(tmp_path, source):
    path = tmp_path / "weights.pt"
    torch.save(source.state_dict(), path)
    target = get_model("jsc-toy")
    assert load_model(path, "pt", target) is target and same_weights(target, source)


def test_pt_dict_holding_state_dict(tmp_path, source):
    path = tmp_path / "weights.pt"
    torch.save({"state_dict": source.state_dict(), "epoch": 3, "note": "anything"}, path)
    target = get_model("jsc-toy")
    load_model(path, "pt", target)
    assert same_weights(target, source)


def test_pl_strips_the_model_prefix_and_ignores_wrapper_entries(tmp_path, source):
    path = tmp_path / "best.ckpt"
    state = collections.OrderedDict((f"model.{k}", v) for k, v in source.state_dict().items())
    state["loss_fn.weight"] = torch.ones(5)   # a Lightning wrapper's own entry, not the model's
    torch.save({"epoch": 9, "global_step": 100, "state_dict": state, "hyper_parameters": {"lr": 1e-3}}, path)
    target = get_model("jsc-toy")
    load_model(path, "pl", target)
    assert same_weights(target, source)


def test_pl_checkpoint_written_by_our_trainer_loads(tmp_path, source):
    from core.train import lightning_checkpoint, save_checkpoint

    path = save_checkpoint(lightning_checkpoint(source, epoch=0, global_step=1, metrics={"val_loss": 1.0}),
                           tmp_path / "last.ckpt")
    target = load_model(path, None, get_model("jsc-toy"))  # .ckpt -> pl
    assert same_weights(target, source)


def test_mz_loads_a_saved_mase_graph(tmp_path, source):
    from core.data import get_datamodule
    from core.ir import MaseGraph
    from core.passes.interface import save_load
    from core.train import evaluate

    source.eval()
    save_load.save_mase_graph(MaseGraph(source), tmp_path / "graph")
    graph = load_model(tmp_path / "graph", "mz")
    assert isinstance(graph, MaseGraph)
    loader = get_datamodule("jsc-synthetic", batch_size=2048).test_dataloader()
    assert evaluate(graph, loader) == evaluate(source, loader)


def test_infer_load_type(tmp_path):
    (tmp_path / "g").mkdir()
    assert [infer_load_type(tmp_path / n) for n in ("g", "a.mz", "best.ckpt", "w.pt", "w.pth")] == \
        ["mz", "mz", "pl", "pt", "pt"]
    (tmp_path / "weights").write_bytes(b"")
    # an existing file is a state dict whatever its name; a path naming nothing keeps MASE's mz
    assert [infer_load_type(tmp_path / n) for n in ("weights", "W.PT", "model.bin", "not_yet")] == \
        ["pt", "pt", "pt", "mz"]


# --- what goes wrong ----------------------------------------------------------------------------


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(CheckpointError) as err:
        load_model(tmp_path / "nope.ckpt", "pl", get_model("jsc-tiny"))
    assert str(err.value).startswith("checkpoint not found:") and "\n" not in str(err.value)


@pytest.mark.parametrize("content", [b"", b"hello, not a checkpoint" * 20, "truncated"])
def test_corrupt_file_is_one_line(tmp_path, source, content):
    path = tmp_path / "bad.ckpt"
    if content == "truncated":
        torch.save(source.state_dict(), path)
        path.write_bytes(path.read_bytes()[:300])
    else:
        path.write_bytes(content)
    for load_type in ("pt", "pl"):
        with pytest.raises(CheckpointError) as err:
            load_model(path, load_type, get_model("jsc-toy"))
        assert "corrupt or not a torch checkpoint" in str(err.value) and "\n" not in str(err.value)


def test_wrong_keys_list_missing_and_unexpected(tmp_path, source):
    state = source.state_dict()
    state["extra.weight"] = torch.zeros(2)
    del state["seq_blocks.2.bias"]
    del state["seq_blocks.5.weight"]
    path = tmp_path / "w.pt"
    torch.save(state, path)
    target = get_model("jsc-toy")
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(CheckpointMismatchError) as err:
        load_model(path, "pt", target)
    e = err.value
    assert e.missing == ["seq_blocks.2.bias", "seq_blocks.5.weight"] and e.unexpected == ["extra.weight"]
    assert "2 missing keys (seq_blocks.2.bias, seq_blocks.5.weight)" in str(e)
    assert "1 unexpected key (extra.weight)" in str(e) and "\n" not in str(e)
    assert "missing: seq_blocks.2.bias" in e.details()
    assert all(torch.equal(before[k], v) for k, v in target.state_dict().items())  # nothing half-loaded


def test_wrong_shapes_are_listed_with_both_shapes(tmp_path):
    path = tmp_path / "w.pt"
    torch.save(trained_like("jsc-toy").state_dict(), path)
    with pytest.raises(CheckpointMismatchError) as err:
        load_model(path, "pt", get_model("jsc-tiny"))   # same layer names, other widths
    e = err.value
    assert ("seq_blocks.2.weight", [8, 16], [5, 16]) in e.mismatched
    assert "seq_blocks.2.weight: checkpoint [8, 16] vs model [5, 16]" in str(e)


def test_pt_load_of_a_lightning_file_suggests_pl(tmp_path, source):
    path = tmp_path / "best.ckpt"
    torch.save({"state_dict": {f"model.{k}": v for k, v in source.state_dict().items()}}, path)
    with pytest.raises(CheckpointError, match="use --load-type pl"):
        load_model(path, "pt", get_model("jsc-toy"))


def test_pl_without_state_dict_is_refused(tmp_path, source):
    path = tmp_path / "w.ckpt"
    torch.save(source.state_dict(), path)
    with pytest.raises(CheckpointError, match="not a Lightning checkpoint"):
        load_model(path, "pl", get_model("jsc-toy"))


class Payload:
    """Stands for any class a pickle names: unpickling it would import and run code."""


def test_pickled_code_is_refused_without_trust_and_loads_with_it(tmp_path, source):
    path = tmp_path / "model.pt"
    torch.save(source, path)   # the whole module pickled, as torch.save(model) does
    for load_type in ("pt", "pl"):
        with pytest.raises(CheckpointError) as err:
            load_model(path, load_type, get_model("jsc-toy"))
        message = str(err.value)
        assert "JSC_Toy" in message and "arbitrary code" in message and "--trust-checkpoint" in message
    target = load_model(path, "pt", get_model("jsc-toy"), trust=True)
    assert same_weights(target, source)

    other = tmp_path / "obj.ckpt"
    torch.save({"state_dict": source.state_dict(), "extra": Payload()}, other)
    with pytest.raises(CheckpointError, match="Payload"):
        load_model(other, "pt", get_model("jsc-toy"))


def test_bad_load_types_and_missing_model(tmp_path, source):
    path = tmp_path / "w.pt"
    torch.save(source.state_dict(), path)
    with pytest.raises(CheckpointError, match="unknown load type 'hf'.*Hugging Face"):
        load_model(path, "hf", get_model("jsc-toy"))
    with pytest.raises(CheckpointError, match="needs a model"):
        load_model(path, "pt", None)
    with pytest.raises(CheckpointError, match="is a directory"):
        load_model(tmp_path, "pt", get_model("jsc-toy"))
    torch.save({"a": 1}, path)
    with pytest.raises(CheckpointError, match="not tensors"):
        load_model(path, "pt", get_model("jsc-toy"))
