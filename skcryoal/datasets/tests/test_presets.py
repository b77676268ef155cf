import json

import numpy as np
import pytest

from skcryoal.datasets import _presets, fetch_simulated, get_data_home, list_presets

TINY = dict(n_classes=3, n_train_per_class=4, n_test_per_class=2, size=16, voxel_size=20.0)


def test_data_home_from_env(data_home):
    assert get_data_home() == data_home
    assert data_home.is_dir()


def test_data_home_default(monkeypatch, tmp_path):
    monkeypatch.delenv("SKCRYOAL_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert get_data_home() == tmp_path / "skcryoal_data"


def test_presets_are_listed():
    presets = list_presets()
    for name in ("paper-snrinf", "paper-snr005", "paper-snr003", "paper10-snr005", "quick"):
        assert name in presets
    assert sum(_presets.PRESETS["imbalanced10-snr005"]["n_train_per_class"]) == 4318
    assert sum(_presets.PRESETS["imbalanced10-snr005"]["n_test_per_class"]) == 1080
    paper = _presets.PRESETS["paper-snr005"]
    assert paper["n_classes"] * (paper["n_train_per_class"] + paper["n_test_per_class"]) == 25000


def test_fetch_generates_once_and_returns_memmaps(data_home, monkeypatch):
    data = fetch_simulated("quick", **TINY)
    assert isinstance(data.X_train, np.memmap) and isinstance(data.X_test, np.memmap)
    assert data.X_train.shape == (12, 1, 16, 16, 16)
    assert data.X_test.shape == (6, 1, 16, 16, 16)
    assert not data.X_train.flags.writeable
    assert np.bincount(data.y_train).tolist() == [4, 4, 4]
    assert np.bincount(data.y_test).tolist() == [2, 2, 2]
    assert len(data.target_names) == 3
    assert data.path.parent == data_home / "simulated"
    assert json.loads((data.path / "params.json").read_text())["size"] == 16

    def fail(*args, **kwargs):
        raise AssertionError("regenerated a cached dataset")

    monkeypatch.setattr(_presets, "_generate", fail)
    again = fetch_simulated("quick", **TINY)
    assert again.path == data.path
    np.testing.assert_array_equal(again.X_train, data.X_train)
    # Any other parameter is another dataset.
    with pytest.raises(AssertionError, match="regenerated"):
        fetch_simulated("quick", **dict(TINY, snr=0.1))


def test_snr_presets_pair_up(data_home):
    clean = fetch_simulated("quick", **dict(TINY, snr=float("inf"), normalize=False))
    noisy = fetch_simulated("quick", **dict(TINY, normalize=False))
    np.testing.assert_array_equal(clean.y_train, noisy.y_train)
    np.testing.assert_array_equal(clean.y_test, noisy.y_test)
    snr = clean.X_train.var() / (noisy.X_train - clean.X_train).var()
    assert snr == pytest.approx(0.05, rel=0.1)
    # Train and test are different particles.
    assert not np.allclose(clean.X_train[:2], clean.X_test[:2])


def test_imbalanced_counts(data_home):
    data = fetch_simulated(
        "quick", **dict(TINY, n_train_per_class=[5, 1, 2], n_test_per_class=[0, 1, 1])
    )
    assert np.bincount(data.y_train).tolist() == [5, 1, 2]
    assert np.bincount(data.y_test, minlength=3).tolist() == [0, 1, 1]


def test_interrupted_generation_leaves_nothing(data_home, monkeypatch):
    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_presets, "_simulate_into", boom)
    with pytest.raises(KeyboardInterrupt):
        fetch_simulated("quick", **TINY)
    assert list((data_home / "simulated").iterdir()) == []


def test_not_generating_when_asked_not_to(data_home):
    with pytest.raises(FileNotFoundError, match="not cached"):
        fetch_simulated("quick", generate_if_missing=False, **TINY)


@pytest.mark.parametrize(
    "name, params, error, match",
    [
        ("nope", {}, ValueError, r"Unknown simulated dataset 'nope'; choose one of"),
        ("quick", dict(colour="red"), TypeError, r"Unknown parameter\(s\) \['colour'\]"),
        ("quick", dict(random_state=None), TypeError, r"random_state .* must be an int"),
        ("quick", dict(n_train_per_class=[1, 2]), ValueError, r"one entry per class \(10\)"),
        ("quick", dict(n_test_per_class=0), ValueError, r"n_test_per_class must be an integer"),
        ("quick", dict(snr=0), ValueError, r"snr must be > 0"),
    ],
)
def test_bad_fetch_arguments(data_home, name, params, error, match):
    with pytest.raises(error, match=match):
        fetch_simulated(name, **params)


# The cache keys before templates became a parameter: a changed key regenerates a
# paper-sized set (minutes) and orphans the cached one.
KEYS_BEFORE_TEMPLATES = {
    ("quick", ()): "39fdf43daa6c",
    ("paper-snr005", ()): "34354cdbcc82",
    ("imbalanced10-snr005", ()): "1efdff0a86de",
    ("quick", (("n_test_per_class", 40), ("n_train_per_class", 100), ("snr", 0.1))): (
        "7e4093e6bb59"
    ),
    ("quick", (("junk", 0.5),)): "68ba8107501d",
}


@pytest.mark.parametrize("name, overrides", list(KEYS_BEFORE_TEMPLATES))
def test_cache_keys_of_existing_datasets_are_unchanged(name, overrides):
    resolved = _presets._resolve(name, dict(overrides))
    assert "templates" not in resolved
    assert _presets._cache_key(resolved) == KEYS_BEFORE_TEMPLATES[name, overrides]
    # templates=None is the default, not a new dataset
    resolved = _presets._resolve(name, dict(overrides, templates=None))
    assert _presets._cache_key(resolved) == KEYS_BEFORE_TEMPLATES[name, overrides]


REAL = dict(n_train_per_class=3, n_test_per_class=2, size=16, voxel_size=24.0, snr=0.1)


def test_fetch_bundled_structures(data_home):
    data = fetch_simulated("quick", templates=["4v5d", "4V1W", "3JB9"], **REAL)
    assert data.params["templates"] == ["4V5D", "4V1W", "3JB9"]  # canonical keys
    assert data.params["n_classes"] == 3
    assert np.bincount(data.y_train).tolist() == [3, 3, 3]
    assert data.target_names[0].startswith("4V5D: 70S ribosome")
    assert data.target_names[1].startswith("4V1W: apoferritin")
    # the cached dataset again; another one for other structures or built-in classes
    again = fetch_simulated("quick", templates=["4V5D", "4V1W", "3JB9"], **REAL)
    assert again.path == data.path
    other = fetch_simulated("quick", templates=["4V5D", "4V1W", "6MSM"], **REAL)
    assert other.path != data.path
    built_in = fetch_simulated("quick", n_classes=3, **REAL)
    assert built_in.path != data.path
    assert not np.allclose(built_in.X_train, data.X_train)


def test_fetch_bundled_structures_with_junk(data_home):
    data = fetch_simulated("quick", templates=["4V5D", "4V1W"], junk=0.6, **REAL)
    # 6 particles per split of train, 4 of test; junk is 60% of each split
    assert np.bincount(data.y_train).tolist() == [3, 3, 9]
    assert np.bincount(data.y_test).tolist() == [2, 2, 6]
    assert data.target_names[2].startswith("not a particle (gold, membrane")
    assert len(data.target_names) == 3


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(templates="4V5D"), TypeError, r"list of keys .* Wrap a single one in a list"),
        (dict(templates=["4V5D"]), ValueError, r"at least 2 classes; got 1"),
        (dict(templates=["4V5D", "4V5D"]), ValueError, r"must not repeat"),
        (dict(templates=["4V5D", "ribosme"]), ValueError, r"Unknown template 'ribosme'"),
        (dict(templates=["4V5D", 3]), TypeError, r"keys of bundled structures .* got 3"),
        (dict(templates=["4V5D", "4V1W"], n_classes=3), ValueError, r"contradicts templates"),
        (dict(templates=["4V5D", "4V1W"]), ValueError, r"needs a box of at least size=31"),
        (
            dict(templates=["4V5D", "4V1W"], n_train_per_class=[1, 2, 3]),
            ValueError,
            r"one entry per class \(2\)",
        ),
    ],
)
def test_bad_templates(data_home, params, error, match):
    sizes = dict(size=16, voxel_size=10.0)
    with pytest.raises(error, match=match):
        fetch_simulated("quick", **dict(sizes, **params))
