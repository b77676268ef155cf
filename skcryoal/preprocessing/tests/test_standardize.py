import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

from skcryoal.preprocessing import SubtomogramStandardizer


@pytest.fixture
def X():
    rng = np.random.default_rng(0)
    offsets = rng.uniform(-5, 5, size=(6, 1, 1, 1, 1))
    scales = rng.uniform(0.5, 4, size=(6, 1, 1, 1, 1))
    return (offsets + scales * rng.normal(size=(6, 1, 8, 9, 10))).astype(np.float32)


@pytest.mark.parametrize("layout", ["5d", "4d"])
def test_zero_mean_unit_std_per_volume(X, layout):
    data = X if layout == "5d" else X[:, 0]
    Xt = SubtomogramStandardizer().fit_transform(data)
    assert Xt.shape == data.shape and Xt.dtype == np.float32
    flat = Xt.reshape(len(Xt), -1).astype(np.float64)
    np.testing.assert_allclose(flat.mean(axis=1), 0, atol=1e-6)
    np.testing.assert_allclose(flat.std(axis=1), 1, rtol=1e-5)


def test_with_mean_and_with_std_flags(X):
    flat = X.reshape(len(X), -1).astype(np.float64)
    only_std = SubtomogramStandardizer(with_mean=False).fit_transform(X).reshape(len(X), -1)
    np.testing.assert_allclose(only_std, flat / flat.std(axis=1, keepdims=True), rtol=1e-5)
    only_mean = SubtomogramStandardizer(with_std=False).fit_transform(X).reshape(len(X), -1)
    np.testing.assert_allclose(only_mean, flat - flat.mean(axis=1, keepdims=True), atol=1e-5)


def test_mask_statistics(X):
    mask = np.zeros(X.shape[2:], dtype=bool)
    mask[2:6, 2:6, 2:6] = True
    Xt = SubtomogramStandardizer(mask=mask).fit_transform(X)
    inside = Xt[:, 0][:, mask].astype(np.float64)
    np.testing.assert_allclose(inside.mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(inside.std(axis=1), 1, rtol=1e-5)
    with pytest.raises(ValueError, match=r"mask must be a boolean array of shape \(8, 9, 10\)"):
        SubtomogramStandardizer(mask=mask[:4]).fit(X)
    with pytest.raises(ValueError, match="mask selects no voxel"):
        SubtomogramStandardizer(mask=np.zeros_like(mask)).fit(X)


def test_constant_volume_is_centered_not_divided_by_zero(X):
    X = X.copy()
    X[2] = 3.0
    Xt = SubtomogramStandardizer().fit_transform(X)
    assert np.isfinite(Xt).all() and np.all(Xt[2] == 0)


def test_large_input_is_chunked_and_memmap_slices(tmp_path, X):
    path = tmp_path / "pool.dat"
    big = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(130, 1, 8, 9, 10))
    big[:] = np.concatenate([X] * 22)[:130]
    big.flush()
    pool = np.load(path, mmap_mode="r")
    scaler = SubtomogramStandardizer().fit(pool)
    full = scaler.transform(pool)
    np.testing.assert_array_equal(scaler.transform(pool[64:70]), full[64:70])
    np.testing.assert_allclose(full[:6], SubtomogramStandardizer().fit_transform(X))


def test_lazy_subtomograms_input(tmp_path, X):
    from skcryoal.io import read_subtomograms, write_subtomograms

    table = write_subtomograms(tmp_path, X)
    lazy, _ = read_subtomograms(table, mmap=True)
    scaler = SubtomogramStandardizer().fit(lazy)
    np.testing.assert_allclose(scaler.transform(lazy[1:3]), scaler.transform(X)[1:3])
    np.testing.assert_allclose(scaler.transform(lazy), scaler.transform(X))


def test_fitted_attributes_and_errors(X):
    scaler = SubtomogramStandardizer()
    with pytest.raises(NotFittedError):
        scaler.transform(X)
    scaler.fit(X)
    assert scaler.volume_shape_ == (8, 9, 10) and scaler.n_features_in_ == 720
    with pytest.raises(ValueError, match=r"got \(6, 720\)"):
        scaler.transform(X.reshape(6, -1))
    with pytest.raises(ValueError, match=r"got \(6, 2, 8, 9, 10\)"):
        SubtomogramStandardizer().fit(np.concatenate([X, X], axis=1))
    with pytest.raises(ValueError, match=r"fitted on \(8, 9, 10\)"):
        scaler.transform(X[:, :, :4])
    bad = X.copy()
    bad[4, 0, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match=r"subtomograms \[4\] contain NaN or infinite"):
        scaler.transform(bad)
    with pytest.raises(ValueError, match="eps must be a positive float"):
        SubtomogramStandardizer(eps=0).fit(X)
    with pytest.raises(ValueError, match="with_mean must be a bool"):
        SubtomogramStandardizer(with_mean="yes").fit(X)


def test_clone_pickle_pipeline(X):
    scaler = SubtomogramStandardizer(with_std=False, eps=1e-6)
    cloned = clone(scaler)
    assert cloned.get_params() == scaler.get_params()
    fitted = pickle.loads(pickle.dumps(scaler.fit(X)))
    np.testing.assert_array_equal(fitted.transform(X), scaler.transform(X))

    class MeanVoxelClassifier(ClassifierMixin, BaseEstimator):
        # Minimal stand-in for the 3D CNN: sees the standardized 5D input.
        def fit(self, X, y):
            assert X.ndim == 5 and X.dtype == np.float32
            self.classes_ = np.unique(y)
            return self

        def predict(self, X):
            return np.where(X[:, 0, 4, 4, 4] > 0, self.classes_[1], self.classes_[0])

    pipe = make_pipeline(SubtomogramStandardizer(), MeanVoxelClassifier())
    y = np.array([0, 1, 0, 1, 0, 1])
    assert pipe.fit(X, y).predict(X).shape == (6,)
    assert pipe.set_params(subtomogramstandardizer__with_std=False).fit(X, y) is pipe
