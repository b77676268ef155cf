"""Imaging conditions per tomogram: defocus, tilt range and SNR (ice thickness) per box."""

import numpy as np
import pytest

from skcryoal.datasets import fetch_simulated, make_subtomograms

SMALL = dict(n_samples=24, n_classes=3, size=16, voxel_size=20.0)
VARIED = dict(
    n_tomograms=4, snr=(0.03, 0.3), defocus=(-6.0, -2.0), tilt_range=((-45, 45), (-70, 70))
)


def test_each_tomogram_draws_its_conditions_within_the_ranges():
    _, _, poses = make_subtomograms(**SMALL, **VARIED, return_poses=True, random_state=0)
    t = poses.tomogram
    assert t.shape == (24,) and set(t.tolist()) <= {0, 1, 2, 3}
    assert len(set(t.tolist())) > 1
    assert np.all((poses.snr >= 0.03) & (poses.snr <= 0.3))
    assert np.all((poses.defocus >= -6.0) & (poses.defocus <= -2.0))
    assert np.all((poses.tilt_range[:, 0] >= -70) & (poses.tilt_range[:, 0] <= -45))
    assert np.all((poses.tilt_range[:, 1] >= 45) & (poses.tilt_range[:, 1] <= 70))
    # one set of conditions per tomogram, different between tomograms
    for k in np.unique(t):
        rows = t == k
        assert len(np.unique(poses.snr[rows])) == 1
        assert len(np.unique(poses.defocus[rows])) == 1
    assert len(np.unique(poses.defocus)) == len(np.unique(t))


def test_conditions_are_seeded_and_leave_poses_alone():
    X1, y1, p1 = make_subtomograms(**SMALL, **VARIED, return_poses=True, random_state=3)
    X2, y2, p2 = make_subtomograms(**SMALL, **VARIED, return_poses=True, random_state=3)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(p1.tomogram, p2.tomogram)
    _, y0, p0 = make_subtomograms(**SMALL, return_poses=True, random_state=3)
    # the same particles in the same poses as the dataset imaged alike
    np.testing.assert_array_equal(y1, y0)
    np.testing.assert_array_equal(p1.rotations, p0.rotations)
    assert "tomogram" not in p0  # nothing varies: no per-box conditions
    _, _, other = make_subtomograms(**SMALL, **VARIED, return_poses=True, random_state=4)
    assert not np.array_equal(other.defocus, p1.defocus)


@pytest.mark.parametrize("junk", [0.0, 0.5])
def test_each_box_is_imaged_as_its_tomogram_alone_would_be(junk):
    """A box of tomogram k equals the same box in a dataset imaged with k's conditions."""
    common = dict(SMALL, junk=junk, random_state=7)
    X, y, poses = make_subtomograms(**common, **VARIED, return_poses=True)
    for k in np.unique(poses.tomogram):
        rows = np.flatnonzero(poses.tomogram == k)
        first = rows[0]
        fixed = dict(
            snr=float(poses.snr[first]),
            defocus=float(poses.defocus[first]),
            tilt_range=tuple(poses.tilt_range[first]),
        )
        X_k, y_k = make_subtomograms(**common, **fixed)
        np.testing.assert_array_equal(y_k, y)
        np.testing.assert_allclose(X[rows], X_k[rows], atol=2e-5)


def test_one_tomogram_of_fixed_conditions_changes_nothing():
    X, y = make_subtomograms(**SMALL, random_state=1)
    X_same, _ = make_subtomograms(**SMALL, n_tomograms=1, random_state=1)
    np.testing.assert_array_equal(X, X_same)
    # several tomograms imaged alike: the same boxes (the noise stream is shared)
    X_many, _ = make_subtomograms(**SMALL, n_tomograms=3, random_state=1)
    np.testing.assert_allclose(X_many, X, atol=2e-5)


def test_the_wedge_follows_the_tilt_range():
    """Noise-free boxes: a narrower tilt range empties more of Fourier space."""
    clean = dict(SMALL, snr=float("inf"), normalize=False, random_state=0)
    narrow, _ = make_subtomograms(**clean, tilt_range=(-45, 45))
    wide, _ = make_subtomograms(**clean, tilt_range=(-70, 70))
    empty = [np.mean(np.abs(np.fft.fftn(x[:, 0], axes=(1, 2, 3))) < 1e-6) for x in (narrow, wide)]
    assert empty[0] > empty[1]


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(snr=(0.1, 0.05)), r"0 < low < high < inf.*got \(0.1, 0.05\)"),
        (dict(snr=(0.05, float("inf"))), r"0 < low < high < inf"),
        (dict(defocus=(-2.0, 3.0)), r"both of one sign.*got \(-2.0, 3.0\)"),
        (dict(defocus=(-2.0, -6.0)), r"low < high"),
        (dict(tilt_range=((-70, 70), (-45, 45))), r"the widest containing the narrowest"),
        (dict(tilt_range=((-45, 45), (-100, 70))), r"-90 < min_angle < max_angle < 90"),
        (dict(n_tomograms=0), r"n_tomograms must be an integer >= 1; got 0"),
    ],
)
def test_bad_conditions_say_what_was_wrong(params, match):
    with pytest.raises(ValueError, match=match):
        make_subtomograms(**SMALL, **params, random_state=0)


def test_fetch_simulated_keys_and_reproduces_the_conditions(data_home):
    small = dict(n_classes=2, n_train_per_class=4, n_test_per_class=2, size=16, voxel_size=20.0)
    plain = fetch_simulated("quick", **small)
    assert "n_tomograms" not in plain.params  # old cache keys unchanged
    varied = fetch_simulated("quick", **small, **VARIED)
    assert varied.path != plain.path
    assert varied.params["n_tomograms"] == 4
    assert varied.params["tilt_range"] == [[-45.0, 45.0], [-70.0, 70.0]]
    assert varied.params["snr"] == [0.03, 0.3]
    again = fetch_simulated("quick", **small, **VARIED)
    assert again.path == varied.path
    np.testing.assert_array_equal(varied.y_train, plain.y_train)
    assert not np.allclose(varied.X_train, plain.X_train)
    # the same data as the simulator gives with the split's seed
    with_junk = fetch_simulated("quick", **small, **VARIED, junk=0.5)
    assert with_junk.params["n_tomograms"] == 4
    assert np.bincount(with_junk.y_train).tolist() == [4, 4, 8]
