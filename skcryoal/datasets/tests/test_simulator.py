import numpy as np
import pytest
from scipy import fft as sp_fft

from skcryoal.datasets import (
    _simulator,
    describe_template,
    make_subtomograms,
    make_template,
    missing_wedge_mask,
)

# Built-in structures span up to 250 A: 16 voxels of 20 A keep them in the box.
SMALL = dict(size=16, voxel_size=20.0)
INF = float("inf")


def test_shapes_and_dtypes():
    X, y = make_subtomograms(12, 3, snr=0.05, random_state=0, **SMALL)
    assert X.shape == (12, 1, 16, 16, 16)
    assert X.dtype == np.float32
    assert y.shape == (12,) and y.dtype == np.int64
    assert set(y.tolist()) == {0, 1, 2}
    assert np.all(np.isfinite(X))


def test_normalize_gives_zero_mean_unit_std():
    X, _ = make_subtomograms(6, 2, snr=0.05, random_state=0, **SMALL)
    np.testing.assert_allclose(X.mean(axis=(1, 2, 3, 4)), 0, atol=1e-5)
    np.testing.assert_allclose(X.std(axis=(1, 2, 3, 4)), 1, rtol=1e-4)


def test_same_seed_same_data_other_seed_other_data():
    X1, y1 = make_subtomograms(10, 3, snr=0.05, random_state=3, **SMALL)
    X2, y2 = make_subtomograms(10, 3, snr=0.05, random_state=3, **SMALL)
    X3, _ = make_subtomograms(10, 3, snr=0.05, random_state=4, **SMALL)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(X1, X3)


def test_batching_does_not_change_the_data(monkeypatch):
    X1, y1 = make_subtomograms(11, 3, snr=0.05, random_state=0, **SMALL)
    monkeypatch.setattr(_simulator, "_BATCH_SIZE", 4)
    X2, y2 = make_subtomograms(11, 3, snr=0.05, random_state=0, **SMALL)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_allclose(X1, X2, atol=1e-5)


def test_paired_snr_series_measured_snr():
    kw = dict(n_samples=40, n_classes=4, normalize=False, random_state=7, **SMALL)
    clean, y_clean = make_subtomograms(snr=INF, **kw)
    for snr in (0.05, 0.03, 1.0):
        noisy, y = make_subtomograms(snr=snr, **kw)
        np.testing.assert_array_equal(y, y_clean)
        noise = noisy - clean
        measured = clean.var(axis=(1, 2, 3, 4)) / noise.var(axis=(1, 2, 3, 4))
        assert abs(measured.mean() / snr - 1) < 0.1
        # Noise does not depend on the particle: independent of the clean signal.
        assert abs(np.corrcoef(noise.ravel(), clean.ravel())[0, 1]) < 0.05


def _wedge_power_ratio(X, tilt_range=(-60, 60)):
    power = np.abs(sp_fft.fftn(X[:, 0].astype(np.float64), axes=(1, 2, 3))) ** 2
    mask = missing_wedge_mask(X.shape[-1], tilt_range)
    return power[:, ~mask].mean() / power[:, mask].mean()


@pytest.mark.parametrize("snr", [INF, 0.05])
def test_missing_wedge_is_empty(snr):
    X, _ = make_subtomograms(8, 3, snr=snr, random_state=0, **SMALL)
    assert _wedge_power_ratio(X) < 0.01


def test_tilt_range_changes_the_wedge():
    X, _ = make_subtomograms(8, 3, snr=INF, tilt_range=(-40, 70), random_state=0, **SMALL)
    assert _wedge_power_ratio(X, (-40, 70)) < 0.01
    assert _wedge_power_ratio(X, (-60, 60)) > 0.01


def test_wedge_mask_geometry():
    mask = missing_wedge_mask(32)
    assert mask[0, 0, 0]
    assert not mask[5, 0, 1]  # near the kz axis: missing
    assert mask[1, 0, 5]  # near the kx axis: measured
    assert mask[0, 7, 0]  # the tilt axis ky is always measured
    half = missing_wedge_mask(32, rfft=True)
    assert half.shape == (32, 32, 17)
    np.testing.assert_array_equal(half, mask[:, :, :17])


def test_balanced_counts_differ_by_at_most_one():
    _, y = make_subtomograms(23, 5, snr=INF, random_state=0, **SMALL)
    assert np.bincount(y).tolist() == [5, 5, 5, 4, 4]


def test_imbalanced_counts_are_exact():
    _, y = make_subtomograms(20, 3, snr=INF, class_weights=[1, 2, 7], random_state=0, **SMALL)
    assert np.bincount(y).tolist() == [2, 4, 14]
    # Largest remainder: 10 * (0.25, 0.25, 0.5) -> 2.5, 2.5, 5 -> 3, 2, 5
    _, y = make_subtomograms(10, 3, snr=INF, class_weights=[1, 1, 2], random_state=0, **SMALL)
    assert np.bincount(y, minlength=3).tolist() == [3, 2, 5]


def test_order_is_shuffled():
    _, y = make_subtomograms(40, 4, snr=INF, random_state=0, **SMALL)
    assert not np.all(np.diff(y) >= 0)


def test_class_is_the_same_for_any_number_of_classes():
    a = make_template(7, **SMALL)
    b = make_template(7, **SMALL)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, make_template(8, **SMALL))
    # All weight on class 7: the same particles whatever n_classes is.
    w8, w12 = np.eye(8)[7], np.eye(12)[7]
    X8, y8 = make_subtomograms(5, 8, snr=0.05, class_weights=w8, random_state=1, **SMALL)
    X12, y12 = make_subtomograms(5, 12, snr=0.05, class_weights=w12, random_state=1, **SMALL)
    assert set(y8.tolist()) == {7}
    np.testing.assert_array_equal(X8, X12)


def test_templates_fit_the_default_box_and_are_described():
    for k in range(50):
        density = make_template(k)
        assert density.shape == (32, 32, 32)
        assert density.sum() > 0
        # Nothing at the faces of the box: the structure is inside it.
        faces = [density[0], density[-1], density[:, 0], density[:, -1]]
        assert max(f.max() for f in faces) < 0.05 * density.max()
        assert isinstance(describe_template(k), str)
    assert len({describe_template(k) for k in range(12)}) == 12


def test_return_poses():
    X, y, poses = make_subtomograms(6, 2, snr=INF, return_poses=True, random_state=0, **SMALL)
    assert poses.rotations.shape == (6, 4)
    assert poses.shifts.shape == (6, 3)
    assert np.all(np.abs(poses.shifts) <= 2.0)
    X2, _ = make_subtomograms(6, 2, snr=INF, random_state=0, **SMALL)
    np.testing.assert_array_equal(X, X2)


def _features(X):
    """Rotation-invariant features: radial power spectrum and low-pass intensity quantiles."""
    volumes = X[:, 0].astype(np.float64)
    size = volumes.shape[-1]
    spectrum = sp_fft.fftn(volumes, axes=(1, 2, 3))
    freq = sp_fft.fftfreq(size)
    k = np.sqrt(freq[:, None, None] ** 2 + freq[None, :, None] ** 2 + freq[None, None, :] ** 2)
    shells = np.minimum((k * size).astype(int), size // 2).ravel()
    counts = np.bincount(shells)
    power = np.abs(spectrum.reshape(len(X), -1)) ** 2
    radial = np.stack([np.bincount(shells, weights=p) / counts for p in power])
    low = sp_fft.ifftn(spectrum * (k <= 0.25), axes=(1, 2, 3)).real.reshape(len(X), -1)
    quantiles = np.quantile(low, np.linspace(0.01, 0.99, 25), axis=1).T
    return np.hstack([np.log(radial[:, 1 : size // 4 + 1]), quantiles])


def test_classes_are_separable_and_noise_makes_it_harder():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    scores = {}
    for snr in (INF, 0.05, 0.03):
        X, y = make_subtomograms(600, 10, snr=snr, random_state=0, **SMALL)
        features = _features(X)
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        clf.fit(features[:400], y[:400])
        scores[snr] = clf.score(features[400:], y[400:])
    assert scores[INF] > 0.9, scores
    assert scores[0.03] < scores[0.05] - 0.03, scores
    assert scores[0.05] < scores[INF] - 0.2, scores
