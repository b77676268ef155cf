import numpy as np
import pytest
from modAL.models import ActiveLearner as ModALActiveLearner
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skcryoal import ActiveLearner, EMADeviationQuery


@pytest.fixture(scope="module")
def fitted():
    from conftest import make_easy_volumes
    from skcryoal import CryoNetClassifier

    X, y = make_easy_volumes(50, 3)
    clf = CryoNetClassifier(module__width=4, max_epochs=3, batch_size=8, random_state=0)
    clf.fit(X[:15], y[:15])
    return clf, X[15:]


def test_score_is_kl_of_mean_from_task_posteriors(fitted):
    clf, pool = fitted
    scores = EMADeviationQuery().score_samples(clf, pool)
    p_t = clf.predict_proba(pool).astype(np.float64)
    p_m = clf.predict_proba(pool, model="mean").astype(np.float64)
    expected = (p_m * (np.log(p_m) - np.log(p_t))).sum(1)
    assert scores.shape == (len(pool),)
    np.testing.assert_allclose(scores, expected, rtol=1e-3, atol=1e-6)
    assert (scores >= 0).all() and scores.max() > 0


def test_mse_distance_over_logits(fitted):
    clf, pool = fitted
    scores = EMADeviationQuery(distance="mse").score_samples(clf, pool)
    diff = clf.decision_function(pool) - clf.decision_function(pool, model="mean")
    np.testing.assert_allclose(scores, (diff.astype(np.float64) ** 2).mean(1), rtol=1e-5)


@pytest.mark.parametrize("order", ["highest", "lowest"])
def test_query_returns_top_n_of_scores(fitted, order):
    clf, pool = fitted
    strategy = EMADeviationQuery(order=order)
    scores = strategy.score_samples(clf, pool)
    idx = strategy(clf, pool, n_instances=5)
    ranked = np.argsort(-scores if order == "highest" else scores, kind="stable")
    np.testing.assert_array_equal(idx, ranked[:5])
    assert len(set(idx)) == 5 and idx.min() >= 0 and idx.max() < len(pool)


def test_batch_size_does_not_change_scores(fitted):
    clf, pool = fitted
    a = EMADeviationQuery(batch_size=1).score_samples(clf, pool)
    b = EMADeviationQuery(batch_size=64).score_samples(clf, pool)
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)


def test_subsample_is_reproducible_and_scores_only_the_subset(fitted):
    clf, pool = fitted
    strategy = EMADeviationQuery(subsample=10, random_state=0)
    idx = strategy(clf, pool, n_instances=3)
    assert np.array_equal(idx, EMADeviationQuery(subsample=10, random_state=0)(clf, pool, 3))
    subset = np.sort(np.random.RandomState(0).choice(len(pool), 10, replace=False))
    assert set(idx) <= set(subset)
    scores = EMADeviationQuery().score_samples(clf, pool)
    np.testing.assert_array_equal(idx, subset[np.argsort(-scores[subset], kind="stable")[:3]])
    with pytest.raises(ValueError, match=r"scored subsample \(subsample=10\), which has 10"):
        strategy(clf, pool, n_instances=11)


def test_memmap_pool_gives_same_query(fitted, tmp_path):
    clf, pool = fitted
    path = tmp_path / "pool.npy"
    np.save(path, pool[:, 0])  # (n, D, H, W) on disk
    mm = np.load(path, mmap_mode="r")
    np.testing.assert_array_equal(
        EMADeviationQuery()(clf, mm, 4), EMADeviationQuery()(clf, pool, 4)
    )
    np.testing.assert_array_equal(
        EMADeviationQuery(subsample=12, random_state=1)(clf, mm, 4),
        EMADeviationQuery(subsample=12, random_state=1)(clf, pool, 4),
    )


def test_works_with_skcryoal_and_plain_modal_learner(fitted):
    clf, pool = fitted
    expected = EMADeviationQuery()(clf, pool, 4)
    for cls in (ActiveLearner, ModALActiveLearner):
        learner = cls(clf, query_strategy=EMADeviationQuery())
        idx, X_q = learner.query(pool, n_instances=4)
        np.testing.assert_array_equal(idx, expected)
        np.testing.assert_array_equal(X_q, pool[idx])


def test_pipeline_estimator_scores_transformed_volumes(fitted):
    clf, pool = fitted
    pipe = make_pipeline(FunctionTransformer(lambda v: v * 1.5), clf)
    np.testing.assert_allclose(
        EMADeviationQuery().score_samples(pipe, pool),
        EMADeviationQuery().score_samples(clf, pool * 1.5),
        rtol=1e-5,
    )


@pytest.mark.parametrize(
    "n_instances, error, match",
    [
        (0, ValueError, "at least 1"),
        (-2, ValueError, "at least 1"),
        (36, ValueError, "larger than the pool, which has 35"),
        (2.0, TypeError, "positive integer"),
    ],
)
def test_bad_n_instances(fitted, n_instances, error, match):
    clf, pool = fitted
    with pytest.raises(error, match=match):
        EMADeviationQuery()(clf, pool, n_instances=n_instances)


def test_bad_pools(fitted):
    clf, pool = fitted
    with pytest.raises(ValueError, match="X_pool is empty"):
        EMADeviationQuery()(clf, pool[:0], 1)
    with pytest.raises(ValueError, match=r"fitted on volumes of shape \(16, 16, 16\)"):
        EMADeviationQuery()(clf, np.zeros((3, 1, 24, 24, 24), np.float32), 1)
    with pytest.raises(ValueError, match="X_pool must have shape"):
        EMADeviationQuery()(clf, np.zeros((3, 16, 16), np.float32), 1)
    bad = pool.copy()
    bad[4, 0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"row\(s\) 4"):
        EMADeviationQuery()(clf, bad, 1)


def test_bad_parameters(fitted):
    clf, pool = fitted
    for kwargs, match in [
        ({"distance": "js"}, "distance must be one of"),
        ({"order": "top"}, "order must be"),
        ({"subsample": 0}, "subsample must be"),
        ({"batch_size": -1}, "batch_size must be"),
    ]:
        with pytest.raises(ValueError, match=match):
            EMADeviationQuery(**kwargs)(clf, pool, 1)


def test_query_before_fit_raises_not_fitted(tiny_clf, easy_data):
    X, _ = easy_data(6, 2)
    with pytest.raises(NotFittedError):
        EMADeviationQuery()(tiny_clf(), X, 1)
    with pytest.raises(NotFittedError):
        ActiveLearner(tiny_clf()).query(X, n_instances=1)


def test_needs_a_mean_model(easy_data):
    from sklearn.dummy import DummyClassifier

    X, y = easy_data(6, 2)
    with pytest.raises(TypeError, match="needs a classifier with a mean model"):
        EMADeviationQuery()(DummyClassifier().fit(X.reshape(6, -1), y), X, 1)
