import json
from pathlib import Path

import numpy as np
import pytest

from skcryoal.datasets import (
    JUNK_KINDS,
    _simulator,
    describe_classes,
    describe_junk,
    describe_template,
    fetch_simulated,
    make_junk,
    make_subtomograms,
    make_template,
    simulate_from_templates,
)

SMALL = dict(size=16, voxel_size=20.0)
INF = float("inf")


def _fingerprint(X):
    """Four voxels and the third moment of each volume: any change of the generation path
    moves them, while a CPU's float rounding (other kernels, other FFT) does not."""
    X = np.asarray(X, dtype=np.float64)[:, 0]
    points = X[:, [8, 4, 12, 2], [8, 8, 4, 2], [8, 12, 8, 2]]
    return np.concatenate([points, (X**3).mean(axis=(1, 2, 3))[:, None]], axis=1)


def _close(X, expected):
    np.testing.assert_allclose(_fingerprint(X), expected, rtol=1e-3, atol=2e-4)


# Computed with the simulator before junk and crowding existed (the same code then gave
# these bit for bit): the default path must not change (cached presets and benchmark
# results depend on it). Compared with tolerances, not hashes, so that another CPU's
# float rounding does not fail it.
FINGERPRINTS = json.loads(
    (Path(__file__).parent / "data" / "default_fingerprints.json").read_text()
)
A, B, C = FINGERPRINTS["A"], FINGERPRINTS["B"], FINGERPRINTS["C"]
ROTATIONS_B, SHIFTS_B = FINGERPRINTS["RB"], FINGERPRINTS["SB"]
PRESET_TRAIN, PRESET_TEST = FINGERPRINTS["PTRAIN"], FINGERPRINTS["PTEST"]


def test_default_output_unchanged():
    X, y = make_subtomograms(10, 3, random_state=0, **SMALL)
    _close(X, A)
    assert y.tolist() == [0, 0, 0, 2, 1, 2, 1, 2, 1, 0]
    X, y, poses = make_subtomograms(
        6,
        snr=INF,
        normalize=False,
        templates=["4V1W", "3KPR"],
        return_poses=True,
        random_state=1,
        **SMALL,
    )
    _close(X, B)
    assert y.tolist() == [0, 0, 0, 1, 1, 1]
    np.testing.assert_allclose(poses.rotations, ROTATIONS_B, atol=1e-5)
    np.testing.assert_allclose(poses.shifts, SHIFTS_B, atol=1e-5)
    assert set(poses) == {"rotations", "shifts"}
    X, y = make_subtomograms(8, 2, random_state=np.random.RandomState(5), **SMALL)
    _close(X, C)
    assert y.tolist() == [1, 0, 1, 0, 1, 1, 0, 0]


TINY_PRESET = dict(n_classes=2, n_train_per_class=3, n_test_per_class=2, size=16, voxel_size=20.0)


def test_default_preset_unchanged(tmp_path):
    data = fetch_simulated("quick", data_home=tmp_path, **TINY_PRESET)
    assert data.path.name == "quick-3d4a8bc60841"  # the cache key
    _close(data.X_train, PRESET_TRAIN)
    _close(data.X_test, PRESET_TEST)
    assert data.target_names == [describe_template(0), describe_template(1)]
    assert "junk" not in data.params and "crowding" not in data.params
    # Junk options that add no junk leave the dataset as it was.
    same = fetch_simulated("quick", data_home=tmp_path, junk=0, junk_kinds=["gold"], **TINY_PRESET)
    assert same.path == data.path


def test_preset_with_junk(tmp_path):
    kwargs = dict(TINY_PRESET, junk=0.5, junk_kinds=["gold", "edge-cut"], crowding=0.5)
    data = fetch_simulated("quick", data_home=tmp_path, **kwargs)
    assert data.X_train.shape == (12, 1, 16, 16, 16)
    assert np.bincount(data.y_train).tolist() == [3, 3, 6]  # junk is half of each split
    assert np.bincount(data.y_test).tolist() == [2, 2, 4]
    assert data.target_names[2] == "not a particle (gold, edge-cut)"
    assert data.params["junk_kinds"] == ["gold", "edge-cut"] and data.params["crowding"] == 0.5
    per_kind = fetch_simulated("quick", data_home=tmp_path, junk_as_classes=True, **kwargs)
    assert per_kind.path != data.path
    np.testing.assert_array_equal(per_kind.X_train, data.X_train)
    assert np.bincount(per_kind.y_train).tolist() == [3, 3, 3, 3]
    assert per_kind.target_names[3] == "not a particle: " + describe_junk("edge-cut")
    with pytest.raises(ValueError, match=r"Did you mean 'carbon'"):
        fetch_simulated("quick", data_home=tmp_path, junk=0.5, junk_kinds=["carbn"])


def test_junk_zero_is_the_default():
    X1, y1 = make_subtomograms(6, 2, random_state=0, **SMALL)
    X2, y2 = make_subtomograms(
        6, 2, junk=0.0, junk_kinds=["gold"], crowding=0, random_state=0, **SMALL
    )
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)


@pytest.mark.parametrize("kind", JUNK_KINDS)
def test_each_kind_is_seeded(kind):
    a = make_junk(kind, random_state=0, **SMALL)
    b = make_junk(kind, random_state=0, **SMALL)
    c = make_junk(kind, random_state=1, **SMALL)
    assert a.shape == (16, 16, 16) and a.dtype == np.float32
    assert np.all(np.isfinite(a))
    np.testing.assert_array_equal(a, b)
    if kind == "empty":
        assert not a.any() and not c.any()
    else:
        assert a.any() and not np.array_equal(a, c)


def test_aliases_and_generator_seed():
    rng = np.random.default_rng(3)
    a = make_junk("off-center", random_state=rng, **SMALL)
    b = make_junk("Off_Centre", random_state=np.random.default_rng(3), **SMALL)
    np.testing.assert_array_equal(a, b)


def test_gold_is_much_denser_than_a_particle():
    particle = make_template(0, **SMALL)
    for seed in range(5):
        gold = make_junk("gold", random_state=seed, **SMALL)
        assert gold.max() > 5 * particle.max()


def _principal_variances(density):
    weights = np.where(density > 0.1 * density.max(), density, 0).ravel()
    coords = np.indices(density.shape).reshape(3, -1).T.astype(float)
    mean = np.average(coords, axis=0, weights=weights)
    centred = coords - mean
    cov = (centred * weights[:, None]).T @ centred / weights.sum()
    return np.sort(np.linalg.eigvalsh(cov))


def test_membrane_is_a_slab():
    for seed in range(10):
        small, middle, large = _principal_variances(
            make_junk("membrane", size=24, voxel_size=10.0, random_state=seed)
        )
        assert np.sqrt(small) * 10.0 < 30.0  # one thin axis: the bilayer, 35-50 A ...
        assert small < 0.15 * large
        assert middle > 0.2 * large  # ... and two long ones (the patch may end in the box)


def test_particle_kinds():
    particle = make_template(0, **SMALL)
    centre = np.array([8.0, 8.0, 8.0])
    for seed in range(6):
        cut = make_junk("edge-cut", random_state=seed, **SMALL)
        assert 0.02 * particle.sum() < cut.sum() < 0.9 * particle.sum()
        off = make_junk("off-centre", random_state=seed, **SMALL)
        com = np.average(np.indices(off.shape).reshape(3, -1).T, axis=0, weights=off.ravel())
        assert np.linalg.norm(com - centre) > 3.0


def test_junk_fraction_and_labels():
    X, y = make_subtomograms(40, 3, junk=0.6, random_state=0, **SMALL)
    assert X.shape == (40, 1, 16, 16, 16) and X.dtype == np.float32
    assert y.dtype == np.int64
    assert np.all(np.isfinite(X))
    assert np.bincount(y).tolist() == [6, 5, 5, 24]
    np.testing.assert_allclose(X.mean(axis=(1, 2, 3, 4)), 0, atol=1e-5)
    np.testing.assert_allclose(X.std(axis=(1, 2, 3, 4)), 1, rtol=1e-4)
    X2, y2, poses = make_subtomograms(
        40, 3, junk=0.6, junk_as_classes=True, return_poses=True, random_state=0, **SMALL
    )
    np.testing.assert_array_equal(X, X2)  # the labels differ, not the volumes
    assert np.bincount(y2).tolist() == [6, 5, 5] + [4, 4, 4, 3, 3, 3, 3]
    np.testing.assert_array_equal(np.minimum(y2, 3), y)
    kinds = np.array(["particle", *JUNK_KINDS])
    np.testing.assert_array_equal(poses.kind, kinds[np.maximum(y2 - 2, 0)])
    no_particle = np.isin(poses.kind, ["gold", "membrane", "ice", "empty", "carbon"])
    assert np.all(poses.particle_class[no_particle] == -1)
    assert np.all(np.isnan(poses.rotations[no_particle]))
    has_particle = ~no_particle
    assert np.all(np.isin(poses.particle_class[has_particle], [0, 1, 2]))
    assert np.all(np.isfinite(poses.shifts[has_particle]))


def test_junk_kinds_and_class_weights():
    _, y = make_subtomograms(
        20, 2, junk=0.5, junk_kinds=["gold", "ice"], class_weights=[3, 1], random_state=0, **SMALL
    )
    assert np.bincount(y).tolist() == [8, 2, 10]
    _, y = make_subtomograms(
        20, 2, junk=0.5, junk_kinds=["ice", "gold"], junk_as_classes=True, random_state=0, **SMALL
    )
    assert np.bincount(y).tolist() == [5, 5, 5, 5]


def test_mixed_datasets_are_reproducible_and_batch_independent(monkeypatch):
    kwargs = dict(junk=0.5, crowding=1.0, random_state=2, **SMALL)
    X1, y1 = make_subtomograms(11, 3, **kwargs)
    X2, y2 = make_subtomograms(11, 3, **kwargs)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    monkeypatch.setattr(_simulator, "_BATCH_SIZE", 4)
    X3, y3 = make_subtomograms(11, 3, **kwargs)
    np.testing.assert_array_equal(y1, y3)
    np.testing.assert_allclose(X1, X3, atol=1e-5)
    X4, _ = make_subtomograms(11, 3, junk=0.5, crowding=1.0, random_state=3, **SMALL)
    assert not np.allclose(X1, X4)


def test_empty_boxes_hold_particle_level_noise():
    X, y = make_subtomograms(
        60, 2, snr=0.01, normalize=False, junk=0.5, junk_kinds=["empty"], random_state=0, **SMALL
    )
    variance = X.var(axis=(1, 2, 3, 4))
    empty, particle = variance[y == 2], variance[y < 2]
    # At SNR 0.01 a particle box is 99 % noise: both hold the same noise level.
    assert 0.8 < empty.mean() / particle.mean() < 1.25
    noise_free, y = make_subtomograms(
        6, 2, snr=INF, normalize=False, junk=0.5, junk_kinds=["empty"], random_state=0, **SMALL
    )
    assert not noise_free[y == 2].any()
    assert noise_free[y < 2].any(axis=(1, 2, 3, 4)).all()


def test_crowding_adds_neighbours_to_the_same_particles():
    kwargs = dict(snr=INF, normalize=False, random_state=0, **SMALL)
    X, y = make_subtomograms(12, 3, **kwargs)
    Xc, yc, poses = make_subtomograms(12, 3, crowding=1.5, return_poses=True, **kwargs)
    np.testing.assert_array_equal(y, yc)
    alone = poses.n_neighbours == 0
    assert alone.any() and (~alone).any()
    np.testing.assert_array_equal(X[alone], Xc[alone])
    assert np.all(Xc[~alone].sum(axis=(1, 2, 3, 4)) > X[~alone].sum(axis=(1, 2, 3, 4)) * 1.05)
    # With noise: the same noise as without crowding, set by the particle alone.
    Xn, _ = make_subtomograms(12, 3, snr=0.5, normalize=False, random_state=0, **SMALL)
    Xcn, _ = make_subtomograms(
        12, 3, snr=0.5, normalize=False, crowding=1.5, random_state=0, **SMALL
    )
    np.testing.assert_allclose(Xcn - Xc, Xn - X, atol=1e-4)


def test_real_templates_with_junk():
    X, y = simulate_from_templates(
        ["4V1W", "3KPR"],
        6,
        junk=0.5,
        junk_kinds=["edge-cut", "off-centre"],
        crowding=0.5,
        random_state=0,
        **SMALL,
    )
    assert X.shape == (6, 1, 16, 16, 16) and np.bincount(y).tolist() == [2, 1, 3]


def test_describe_classes():
    assert describe_classes(2) == [describe_template(k) for k in (0, 1)]
    names = describe_classes(templates=["4V1W", 3], junk=0.6)
    assert names[0].startswith("4V1W: apoferritin")
    assert names[2] == "not a particle (" + ", ".join(JUNK_KINDS) + ")"
    names = describe_classes(2, junk=0.6, junk_kinds=["carbon", "gold"], junk_as_classes=True)
    assert names[2:] == [
        "not a particle: " + describe_junk("carbon"),
        "not a particle: " + describe_junk("gold"),
    ]
    assert len(describe_classes()) == 50


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(junk=1.0), ValueError, r"junk must be .* in \[0, 1\).*got 1.0"),
        (dict(junk=-0.1), ValueError, r"got -0.1"),
        (dict(junk="0.5"), TypeError, r"junk must be .*got '0.5'"),
        (dict(junk=0.5, junk_kinds=["glod"]), ValueError, r"'glod'.*Did you mean 'gold'"),
        (dict(junk=0.5, junk_kinds=["edgecut"]), ValueError, r"Did you mean 'edge-cut'"),
        (dict(junk=0.5, junk_kinds="gold"), TypeError, r"Wrap a single kind in a list"),
        (dict(junk=0.5, junk_kinds=[]), ValueError, r"at least one kind"),
        (dict(junk=0.5, junk_kinds=["gold", "Gold"]), ValueError, r"\['gold'\] more than once"),
        (dict(junk=0.5, junk_kinds=[3]), TypeError, r"must be a string.*got 3"),
        (dict(crowding=-1), ValueError, r"crowding must be .*>= 0.*got -1"),
        (dict(crowding=None), TypeError, r"crowding must be .*got None"),
    ],
)
def test_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_subtomograms(4, 2, random_state=0, **SMALL, **kwargs)


def test_make_junk_errors():
    with pytest.raises(ValueError, match=r"Unknown junk kind 'membrain'.*'membrane'"):
        make_junk("membrain", **SMALL)
    with pytest.raises(ValueError, match=r"size must be an integer >= 8"):
        make_junk("gold", size=4)
    with pytest.raises(ValueError, match=r"needs a box of at least"):
        make_junk("edge-cut", size=8, voxel_size=10.0, template="4V5D")
