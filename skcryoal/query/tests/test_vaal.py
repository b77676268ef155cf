import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skcryoal import ActiveLearner
from skcryoal.query._vaal import VAALQuery

SIZE = 16


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_vaal(**kwargs):
    params = dict(latent_dim=8, width=4, n_iterations=4, batch_size=16, random_state=0)
    params.update(kwargs)
    return VAALQuery(**params)


def blobs(n, rng):
    """Noise plus a bright Gaussian blob in the centre."""
    X = rng.normal(scale=0.5, size=(n, 1, SIZE, SIZE, SIZE)).astype(np.float32)
    c = np.arange(SIZE) - SIZE / 2 + 0.5
    r2 = c[:, None, None] ** 2 + c[None, :, None] ** 2 + c[None, None, :] ** 2
    return X + 2.0 * np.exp(-r2 / 18.0).astype(np.float32)


@pytest.fixture(scope="module")
def blob_vs_noise():
    """Labeled: blobs. Pool: 24 blobs (like the labeled set), then 24 pure-noise volumes."""
    rng = np.random.default_rng(0)
    X_labeled = blobs(24, rng)
    noise = rng.normal(scale=0.5, size=(24, 1, SIZE, SIZE, SIZE)).astype(np.float32)
    X_pool = np.concatenate([blobs(24, rng), noise])
    is_new = np.r_[np.zeros(24), np.ones(24)]
    return X_labeled, X_pool, is_new


@pytest.fixture(scope="module")
def trained(blob_vs_noise):
    X_labeled, X_pool, _ = blob_vs_noise
    query = tiny_vaal(n_iterations=12)
    idx = query(None, X_pool, n_instances=12, X_labeled=X_labeled)
    return query, idx


def test_selects_the_volumes_unlike_the_labeled_set(blob_vs_noise, trained):
    X_labeled, X_pool, is_new = blob_vs_noise
    query, idx = trained
    assert is_new[idx].mean() >= 0.9
    scores = query.score_samples(None, X_pool)
    assert roc_auc_score(is_new, scores) > 0.95
    # the pool's blobs look as "labeled" as the labeled set itself
    assert abs(scores[:24].mean() - query.score_samples(None, X_labeled).mean()) < 0.05
    assert ((scores >= 0) & (scores <= 1)).all()


def test_indices_are_the_best_scored_unique_and_in_range(blob_vs_noise, trained):
    _, X_pool, _ = blob_vs_noise
    query, idx = trained
    assert idx.shape == (12,) and len(set(idx.tolist())) == 12
    assert idx.min() >= 0 and idx.max() < len(X_pool)
    scores = query.score_samples(None, X_pool)
    assert scores[idx].min() >= np.sort(scores)[-12] - 1e-12


def test_keeps_models_and_history(trained):
    query, _ = trained
    assert not query.vae_.training and not query.discriminator_.training
    assert query.volume_shape_ == (SIZE, SIZE, SIZE)
    assert query.n_iterations_ == 12
    assert query.history_["vae_loss"].shape == query.history_["discriminator_loss"].shape == (12,)


def test_reproducible_with_random_state_and_global_rng_untouched(easy_data):
    X, _ = easy_data(30, 2)
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()
    a = tiny_vaal(random_state=3)(None, X[6:], n_instances=5, X_labeled=X[:6])
    b = tiny_vaal(random_state=3)(None, X[6:], n_instances=5, X_labeled=X[:6])
    np.testing.assert_array_equal(a, b)
    assert torch.equal(torch_state, torch.get_rng_state())
    assert np.array_equal(np_state[1], np.random.get_state()[1])


def test_n_epochs_sets_iterations_and_subsample_restricts_candidates(easy_data):
    X, _ = easy_data(40, 2)
    query = tiny_vaal(n_iterations=None, n_epochs=1, batch_size=8, subsample=16)
    idx = query(None, X[8:], n_instances=4, X_labeled=X[:8])
    assert query.n_iterations_ == 2  # ceil(1 * 16 / 8)
    rng = np.random.RandomState(0)
    candidates = rng.choice(32, size=16, replace=False)
    assert set(idx.tolist()) <= set(candidates.tolist())


def test_labeled_set_from_modal_learner_and_fit_not_required(tiny_clf, easy_data):
    X, y = easy_data(30, 3)
    learner = ActiveLearner(
        tiny_clf(max_epochs=1), query_strategy=tiny_vaal(), X_training=X[:6], y_training=y[:6]
    )
    idx, X_query = learner.query(X[6:], n_instances=3)
    np.testing.assert_array_equal(X_query, X[6:][idx])
    # X_labeled= is forwarded by modAL; an unfitted classifier is fine
    idx2 = tiny_vaal()(tiny_clf(), X[6:], n_instances=3, X_labeled=X[:6])
    np.testing.assert_array_equal(idx, idx2)
    assert VAALQuery.requires_fit is False


def test_pipeline_transform_applied(easy_data):
    X, _ = easy_data(24, 2)
    pipe = make_pipeline(FunctionTransformer(lambda A: 2 * A), FunctionTransformer())
    pipe.fit(X[:2])
    a = tiny_vaal()(pipe, X[6:], n_instances=3, X_labeled=X[:6])
    b = tiny_vaal()(None, 2 * X[6:], n_instances=3, X_labeled=2 * X[:6])
    np.testing.assert_array_equal(a, b)


def test_memmap_pool(tmp_path, easy_data):
    X, _ = easy_data(24, 2)
    path = tmp_path / "pool.npy"
    np.save(path, X[6:, 0])
    pool = np.load(path, mmap_mode="r")
    a = tiny_vaal()(None, pool, n_instances=3, X_labeled=X[:6])
    b = tiny_vaal()(None, X[6:], n_instances=3, X_labeled=X[:6])
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "n_instances, error, match",
    [
        (0, ValueError, "at least 1; got 0"),
        (19, ValueError, "larger than the pool, which has 18"),
        (2.0, TypeError, "positive integer"),
    ],
)
def test_n_instances_errors(easy_data, n_instances, error, match):
    X, _ = easy_data(24, 2)
    with pytest.raises(error, match=match):
        tiny_vaal()(None, X[6:], n_instances=n_instances, X_labeled=X[:6])


def test_labeled_set_errors(easy_data):
    X, _ = easy_data(24, 2)
    with pytest.raises(ValueError, match="non-empty labeled set.*got none.*X_labeled="):
        tiny_vaal()(None, X, n_instances=2)
    with pytest.raises(ValueError, match="got an empty one"):
        tiny_vaal()(None, X, n_instances=2, X_labeled=X[:0])
    small, _ = easy_data(10, 2, size=24)
    with pytest.raises(ValueError, match=r"X_pool holds volumes of shape \(16, 16, 16\).*\(24,"):
        tiny_vaal()(None, X, n_instances=2, X_labeled=small)


@pytest.mark.parametrize(
    "param, value",
    [
        ("latent_dim", 0),
        ("n_iterations", 0),
        ("n_epochs", 0),
        ("lr", -1.0),
        ("beta", -0.5),
        ("batch_size", True),
        ("subsample", 1.5),
    ],
)
def test_parameter_errors(easy_data, param, value):
    X, _ = easy_data(12, 2)
    with pytest.raises(ValueError, match=f"{param} must be .*; got {value!r}"):
        tiny_vaal(**{param: value})(None, X, n_instances=1, X_labeled=X[:2])


def test_score_samples_before_any_query_and_wrong_shape(trained, easy_data):
    with pytest.raises(NotFittedError, match="trained by a query"):
        tiny_vaal().score_samples(None, np.zeros((2, SIZE, SIZE, SIZE)))
    query, _ = trained
    X24, _ = easy_data(4, 2, size=24)
    with pytest.raises(ValueError, match="volumes of the last query have shape"):
        query.score_samples(None, X24)
