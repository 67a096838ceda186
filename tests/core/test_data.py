"""core.data: JSC file readers, preprocessing (dedup, split, scaler, cache), synthetic data,
generated image/token inputs and the InputGenerator."""

from __future__ import annotations

import gzip
import logging
import math

import numpy as np
import pytest
import torch

from core.data import ENV_JSC_PATH, InputGenerator, get_datamodule, list_datasets
from core.data.jsc_readers import read_jsc_file
from core.data.jsc_schema import JSC_CLASS_NAMES, JSC_FEATURE_NAMES
from core.data.jsc_synthetic import make_jsc_synthetic
from core.errors import DataError

OPENML_NAMES = [f[2:] for f in JSC_FEATURE_NAMES]  # OpenML drops the j_ prefix
OPENML_ORDER = ["g", "q", "t", "w", "z"]          # alphabetical, as LabelEncoder would number them
N_UNIQUE = 60
N_DUPLICATES = 5


def make_table(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """60 distinct rows (labels in MASE order) followed by 5 exact duplicates of earlier rows."""
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=(N_UNIQUE, 16)) * 10, 3)
    x[:, 15] = rng.integers(10, 80, size=N_UNIQUE)   # integer multiplicity, as the real data
    y = np.arange(N_UNIQUE) % 5
    dup = [2, 7, 11, 30, 59]
    return np.concatenate([x, x[dup]]), np.concatenate([y, y[dup]])


@pytest.fixture
def table():
    return make_table()


# column order deliberately not MASE's: readers must select features by name
COLUMN_ORDER = list(range(15, -1, -1))


def write_lines(path, lines, gz=False):
    text = "\n".join(lines) + "\n"
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def write_csv(path, x, y, gz=False):
    header = ",".join([OPENML_NAMES[i] for i in COLUMN_ORDER] + ["class"])
    lines = [header] + [",".join([repr(float(r[i])) for i in COLUMN_ORDER] + [JSC_CLASS_NAMES[c]])
                        for r, c in zip(x, y, strict=True)]
    return write_lines(path, lines, gz)


def write_arff(path, x, y, gz=False):
    lines = ["% hls4ml_lhc_jets_hlf, OpenML 42468 (test copy)", "@RELATION hls4ml_lhc_jets_hlf", ""]
    lines += [f"@ATTRIBUTE '{n}' NUMERIC" if i % 2 else f"@attribute {n} real" for i, n in enumerate(OPENML_NAMES)]
    lines += ["@ATTRIBUTE class {g,q,t,w,z}", "", "@DATA"]
    lines += [",".join([repr(float(v)) for v in r] + [f"'{JSC_CLASS_NAMES[c]}'"]) for r, c in zip(x, y, strict=True)]
    return write_lines(path, lines, gz)


def write_npz(path, x, y):
    # one-hot in OpenML's alphabetical class order, with the names that say so
    onehot = np.zeros((len(y), 5))
    onehot[np.arange(len(y)), [OPENML_ORDER.index(JSC_CLASS_NAMES[c]) for c in y]] = 1
    np.savez(path, x=x, y=onehot, classes=np.array(OPENML_ORDER))
    return path


def write_pt(path, x, y):
    torch.save({"x": torch.tensor(x), "y": torch.tensor([OPENML_ORDER.index(JSC_CLASS_NAMES[c]) for c in y]),
                "classes": OPENML_ORDER}, path)
    return path


def write_h5(path, x, y):
    import h5py
    fields = list(JSC_FEATURE_NAMES) + [f"j_{c}" for c in JSC_CLASS_NAMES] + ["j_pt"]
    data = np.zeros(len(y), dtype=[(f, "<f4" if f != "j_multiplicity" else "<f8") for f in fields])
    for i, f in enumerate(JSC_FEATURE_NAMES):
        data[f] = x[:, i]
    for c, name in enumerate(JSC_CLASS_NAMES):
        data[f"j_{name}"] = (y == c).astype(np.float32)
    with h5py.File(path, "w") as fh:
        fh.create_dataset("t_allpar_new", data=data)
    return path


WRITERS = {
    "data.csv": write_csv,
    "data.csv.gz": lambda p, x, y: write_csv(p, x, y, gz=True),
    "hls4ml_lhc_jets_hlf.arff": write_arff,
    "data.arff.gz": lambda p, x, y: write_arff(p, x, y, gz=True),
    "data.npz": write_npz,
    "data.pt": write_pt,
    "jsc.h5": write_h5,
}


@pytest.mark.parametrize("name", list(WRITERS))
def test_reader_round_trip_maps_features_and_labels_by_name(tmp_path, table, name):
    x, y = table
    path = WRITERS[name](tmp_path / name, x, y)
    got_x, got_y = read_jsc_file(path)
    tol = 1e-5 if name.endswith(".h5") else 0  # HDF5 test file stores float32
    np.testing.assert_allclose(got_x, x, rtol=tol, atol=0)
    np.testing.assert_array_equal(got_y, y)  # MASE order g, q, w, z, t whatever the file's order


def test_numeric_label_column_is_taken_in_mase_order_with_a_warning(tmp_path, table, caplog):
    x, y = table
    path = tmp_path / "n.csv"
    path.write_text("\n".join([",".join(JSC_FEATURE_NAMES) + ",label"]
                              + [",".join(map(repr, r.tolist())) + f",{c}" for r, c in zip(x, y, strict=True)]))
    with caplog.at_level(logging.WARNING):
        _, got_y = read_jsc_file(path)
    np.testing.assert_array_equal(got_y, y)
    assert "MASE's class order" in caplog.text


@pytest.mark.parametrize("content,needle", [
    ("zlogz,class\n1.0,g\n", "lacks JSC feature column"),
    (",".join(OPENML_NAMES) + ",class\n" + ",".join(["1"] * 16) + ",photon\n", "unknown JSC class label 'photon'"),
    (",".join(OPENML_NAMES) + "\n" + ",".join(["1"] * 16) + "\n", "no label column"),
    (",".join(OPENML_NAMES) + ",class\n" + ",".join(["?"] + ["1"] * 15) + ",g\n", "not a number"),
])
def test_bad_csv_files_raise_one_line_data_errors(tmp_path, content, needle):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataError) as err:
        read_jsc_file(path)
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


def test_hdf5_without_h5py_gives_install_hint(tmp_path, monkeypatch):
    path = tmp_path / "processed.z"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    monkeypatch.setitem(__import__("sys").modules, "h5py", None)  # import h5py -> ImportError
    with pytest.raises(DataError) as err:
        read_jsc_file(path)
    assert "pip install 'mase-tui[h5]'" in str(err.value)


def test_preprocessing_dedups_splits_with_seed_42_and_scales_with_train_statistics(tmp_path, table):
    x, y = table
    path = write_csv(tmp_path / "data.csv", x, y)
    dm = get_datamodule("jsc", dataset_path=str(path), batch_size=1000)
    info = dm.dataset_info
    assert dm.synthetic is False and dm.display_name == "jsc" and info["source"] == str(path)
    assert info["rows_in_file"] == N_UNIQUE + N_DUPLICATES and info["duplicates_dropped"] == N_DUPLICATES
    # 60 rows: ceil(0.2 * 60) = 12 test rows; of the 48 others, ceil(0.1 * 48) = 5 validate
    assert info["splits"] == {"train": 43, "validation": 5, "test": 12}

    # sklearn's train_test_split(test_size=0.2, random_state=42) is this permutation, test first
    perm = np.random.RandomState(42).permutation(N_UNIQUE)
    test_rows, train_val = perm[:12], perm[12:]
    train_rows, val_rows = train_val[:-5], train_val[-5:]
    ux, uy = x[:N_UNIQUE], y[:N_UNIQUE]  # the duplicates were appended after their first copies

    raw_train = ux[train_rows]
    mean = raw_train.sum(axis=0) / len(raw_train)
    std = np.sqrt(((raw_train - mean) ** 2).sum(axis=0) / len(raw_train))   # population std, like StandardScaler
    np.testing.assert_allclose(info["scaler_mean"], mean, rtol=1e-12)
    np.testing.assert_allclose(info["scaler_scale"], std, rtol=1e-12)
    assert not np.allclose(std, ux[train_val].std(axis=0))  # i.e. validation rows were not used

    for split, rows in (("train", train_rows), ("validation", val_rows), ("test", test_rows)):
        xs, ys = next(iter(dm.dataloader(split, shuffle=False)))
        np.testing.assert_allclose(xs.numpy(), ((ux[rows] - mean) / std).astype(np.float32), rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(ys.numpy(), uy[rows])
    xt, _ = next(iter(dm.test_dataloader()))
    assert xt.mean(0).abs().max() > 0.05  # test rows are scaled with train statistics, not their own


def test_cache_is_written_next_to_the_file_reused_and_invalidated(tmp_path, table):
    x, y = table
    path = write_csv(tmp_path / "data.csv", x, y)
    first = get_datamodule("jsc", dataset_path=str(path))
    cache = tmp_path / "data.csv.mase-tui-cache.pt"
    assert cache.is_file() and first.dataset_info["cache"] == str(cache)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []  # atomic: no leftovers
    second = get_datamodule("jsc", dataset_path=str(path))
    a, b = next(iter(first.test_dataloader())), next(iter(second.test_dataloader()))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    # a changed file must not be served from the old cache
    write_csv(path, x[:40], y[:40])
    third = get_datamodule("jsc", dataset_path=str(path))
    assert third.dataset_info["rows_in_file"] == 40
    cache.write_bytes(b"garbage")  # a broken cache is rebuilt, not fatal
    assert get_datamodule("jsc", dataset_path=str(path)).dataset_info["rows_in_file"] == 40


def test_directory_and_env_var_find_the_file(tmp_path, table, monkeypatch):
    x, y = table
    write_arff(tmp_path / "hls4ml_lhc_jets_hlf.arff", x, y)
    assert get_datamodule("jsc", dataset_path=str(tmp_path)).dataset_info["rows_in_file"] == 65
    monkeypatch.setenv(ENV_JSC_PATH, str(tmp_path / "hls4ml_lhc_jets_hlf.arff"))
    dm = get_datamodule("jsc")
    assert dm.synthetic is False and dm.name == "jsc"


def test_jsc_without_a_file_falls_back_to_synthetic_with_one_warning(monkeypatch, caplog):
    monkeypatch.delenv(ENV_JSC_PATH, raising=False)
    with caplog.at_level(logging.WARNING):
        dm = get_datamodule("jsc")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "jsc-synthetic" in warnings[0].getMessage()
    assert "\n" not in warnings[0].getMessage()
    assert dm.synthetic and dm.name == "jsc-synthetic" and dm.display_name == "jsc-synthetic (synthetic)"
    assert dm.dataset_info["synthetic"] is True and dm.dataset_info["source"] == "generated"


def test_explicit_missing_path_and_unknown_names_are_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        get_datamodule("jsc", dataset_path=str(tmp_path / "nope.csv"))
    with pytest.raises(DataError) as err:
        get_datamodule("mnist")
    assert "jsc-synthetic" in str(err.value) and "cifar-synthetic" in str(err.value)
    with pytest.raises(DataError, match="batch size"):
        get_datamodule("jsc-synthetic", batch_size=0)
    with pytest.raises(DataError, match="no JSC data file in directory"):
        get_datamodule("jsc", dataset_path=str(tmp_path))


# --- synthetic data -----------------------------------------------------------------------------


def test_jsc_synthetic_is_deterministic_and_jet_like():
    x1, y1 = make_jsc_synthetic(2000)
    x2, y2 = make_jsc_synthetic(2000)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    x3, _ = make_jsc_synthetic(2000, seed=1)
    assert not np.array_equal(x1, x3)
    assert x1.shape == (2000, 16) and set(np.unique(y1)) == {0, 1, 2, 3, 4}
    assert np.all(x1[:, 15] == np.round(x1[:, 15])) and x1[:, 15].min() >= 0   # multiplicity: integer counts
    assert x1[:, 14].min() > 0 and x1[:, 14].max() > 150                        # mass: positive, long tail
    assert x1[:, 0].max() < 0                                                   # zlogz: negative
    w_mass, z_mass = (np.median(x1[y1 == c, 14]) for c in (2, 3))
    assert 70 < w_mass < z_mass < 100


def test_jsc_synthetic_datamodule_is_the_same_every_time_and_shuffles_by_seed():
    a = get_datamodule("jsc-synthetic", batch_size=64, seed=1)
    b = get_datamodule("jsc-synthetic", batch_size=64, seed=1)
    c = get_datamodule("jsc-synthetic", batch_size=64, seed=2)
    assert a.dataset_info["splits"] == {"train": 72000, "validation": 8000, "test": 20000}
    assert a.num_classes == 5 and a.num_features == 16 and a.input_names == JSC_FEATURE_NAMES
    assert torch.equal(next(iter(a.test_dataloader()))[0], next(iter(c.test_dataloader()))[0])
    ta, tb, tc = (next(iter(d.train_dataloader()))[1] for d in (a, b, c))
    assert torch.equal(ta, tb) and not torch.equal(ta, tc)
    loader = a.train_dataloader()
    first, second = next(iter(loader))[1], next(iter(loader))[1]
    assert not torch.equal(first, second)  # a new order each pass


@pytest.mark.parametrize("model,dataset,shape,dtype,classes", [
    ("toy", "mnist-synthetic", (784,), torch.float32, 10),
    ("toy-fn", "image-synthetic", (192,), torch.float32, 10),
    ("toy-cnn", "cifar-synthetic", (3, 32, 32), torch.float32, 10),
    ("resnet18", "imagenet-synthetic", (3, 224, 224), torch.float32, 1000),
    ("tiny-transformer", "tokens-synthetic", (32,), torch.int64, 2),
])
def test_generated_inputs_fit_each_zoo_model(model, dataset, shape, dtype, classes):
    from core.models import get_model

    dm = get_datamodule(dataset, model_name=model, batch_size=4)
    x, y = next(iter(dm.test_dataloader()))
    assert tuple(x.shape) == (4, *shape) and x.dtype == dtype and dm.synthetic
    assert "synthetic" in dm.display_name and dm.num_classes == classes and int(y.max()) < classes
    x2, y2 = next(iter(get_datamodule(dataset, model_name=model, batch_size=4).test_dataloader()))
    assert torch.equal(x, x2) and torch.equal(y, y2)
    if model != "resnet18":  # the model accepts the batch and gives one logit per class
        net = get_model(model).eval()
        with torch.no_grad():
            assert tuple(net(x).shape) == (4, classes)


def test_generated_images_and_tokens_carry_class_structure():
    dm = get_datamodule("cifar-synthetic", batch_size=256)
    x, y = next(iter(dm.test_dataloader()))
    from core.data.synthetic_inputs import ImageBatches

    # nearest class mean of the training stream classifies the test batch far above chance (10%)
    tx, ty = next(iter(get_datamodule("cifar-synthetic", batch_size=2048).train_dataloader()))
    means = torch.stack([tx[ty == c].mean(0) for c in range(10)])
    pred = ((x[:, None] - means[None]) ** 2).flatten(2).sum(-1).argmin(1)
    assert (pred == y).float().mean() > 0.9
    assert ImageBatches((3, 32, 32), 10, 0).prototypes.shape == (10, 3, 8, 8)
    tokens, labels = next(iter(get_datamodule("tokens-synthetic", batch_size=512).test_dataloader()))
    upper = (tokens >= 128).float().mean(1)
    assert upper[labels == 1].mean() > 0.75 and upper[labels == 0].mean() < 0.25


def test_list_datasets_names_everything_get_datamodule_accepts():
    names = [n for n, _ in list_datasets()]
    assert names[:2] == ["jsc", "jsc-synthetic"]
    for name in names[1:]:
        assert get_datamodule(name, batch_size=2).name == name


# --- InputGenerator -----------------------------------------------------------------------------


def test_input_generator_yields_dicts_and_cycles(tmp_path, table):
    x, y = table
    dm = get_datamodule("jsc", dataset_path=str(write_csv(tmp_path / "d.csv", x, y)), batch_size=5)
    gen = InputGenerator(dm, split="validation", placeholder_names=("x",))
    assert gen.batch_size == 5
    batches = [next(gen) for _ in range(3)]  # the validation split has 5 rows: one batch, then again
    assert all(list(b) == ["x"] and b["x"].shape == (5, 16) for b in batches)
    assert torch.equal(batches[0]["x"], batches[1]["x"])
    once = list(InputGenerator(dm, split="test", placeholder_names=["data_in"], cycle=False))
    assert [b["data_in"].shape[0] for b in once] == [5, 5, 2]
    assert len(list(InputGenerator(dm, "train", max_batches=4))) == 4
    with pytest.raises(DataError, match="2 placeholders"):
        InputGenerator(dm, placeholder_names=("a", "b"))
    assert math.isclose(float(next(InputGenerator(dm, "test"))["x"][0, 0]),
                        float(next(iter(dm.test_dataloader()))[0][0, 0]))


def test_zenodo_jets_hdf5_selects_columns_by_name(tmp_path, table):
    import h5py
    x, y = table
    names = ["j_ptfrac", "j_pt"] + list(JSC_FEATURE_NAMES)[::-1] + [f"j_{c}" for c in JSC_CLASS_NAMES] + ["j_undef"]
    columns = {"j_ptfrac": np.ones(len(y)), "j_pt": np.full(len(y), 800.0), "j_undef": np.zeros(len(y))}
    columns.update({f: x[:, i] for i, f in enumerate(JSC_FEATURE_NAMES)})
    columns.update({f"j_{c}": (y == k).astype(float) for k, c in enumerate(JSC_CLASS_NAMES)})
    with h5py.File(tmp_path / "jetImage_0.h5", "w") as fh:
        fh.create_dataset("jets", data=np.stack([columns[n] for n in names], axis=1))
        fh.create_dataset("jetFeatureNames", data=np.array([n.encode() for n in names]))
    got_x, got_y = read_jsc_file(tmp_path / "jetImage_0.h5")
    np.testing.assert_array_equal(got_x, x)
    np.testing.assert_array_equal(got_y, y)
