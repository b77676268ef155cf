import numpy as np
import pytest
from modAL.models import ActiveLearner as ModALActiveLearner
from sklearn.exceptions import NotFittedError

from skcryoal import ActiveLearner, CryoNetClassifier
from skcryoal.classifier._learning_loss import LearningLossClassifier
from skcryoal.query._learning_loss import LearningLossQuery


def _clf(**kwargs):
    params = dict(module__width=4, module__lp_dim=8, max_epochs=2, batch_size=16, random_state=0)
    params.update(kwargs)
    return LearningLossClassifier(**params)


@pytest.fixture(scope="module")
def fitted():
    from conftest import make_easy_volumes

    X, y = make_easy_volumes(40, 3)
    clf = _clf().fit(X[:12], y[:12])
    return clf, X[12:]


def test_query_returns_top_n_of_predicted_losses(fitted):
    clf, pool = fitted
    predicted = clf.predict_loss(pool)
    np.testing.assert_array_equal(LearningLossQuery().score_samples(clf, pool), predicted)
    idx = LearningLossQuery()(clf, pool, n_instances=5)
    np.testing.assert_array_equal(idx, np.argsort(-predicted, kind="stable")[:5])
    assert len(set(idx)) == 5 and idx.min() >= 0 and idx.max() < len(pool)
    assert predicted[idx].min() >= np.delete(predicted, idx).max()
    np.testing.assert_array_equal(LearningLossQuery(batch_size=3)(clf, pool, 5), idx)


def test_subsample_is_reproducible_and_scores_only_the_subset(fitted):
    clf, pool = fitted
    strategy = LearningLossQuery(subsample=10, random_state=0)
    idx = strategy(clf, pool, n_instances=3)
    np.testing.assert_array_equal(
        idx, LearningLossQuery(subsample=10, random_state=0)(clf, pool, 3)
    )
    subset = np.sort(np.random.RandomState(0).choice(len(pool), 10, replace=False))
    predicted = clf.predict_loss(pool)
    np.testing.assert_array_equal(idx, subset[np.argsort(-predicted[subset], kind="stable")[:3]])
    with pytest.raises(ValueError, match=r"scored subsample \(subsample=10\), which has 10"):
        strategy(clf, pool, n_instances=11)


@pytest.mark.parametrize(
    "n_instances, error, match",
    [
        (0, ValueError, "at least 1"),
        (29, ValueError, "larger than the pool, which has 28"),
        (1.5, TypeError, "positive integer"),
    ],
)
def test_bad_n_instances(fitted, n_instances, error, match):
    clf, pool = fitted
    with pytest.raises(error, match=match):
        LearningLossQuery()(clf, pool, n_instances=n_instances)


def test_unfitted_and_wrong_classifiers(fitted, easy_data):
    _, pool = fitted
    with pytest.raises(NotFittedError, match="not fitted"):
        LearningLossQuery()(_clf(), pool, 1)
    X, y = easy_data(6, 2)
    plain = CryoNetClassifier(module__width=4, max_epochs=1, random_state=0).fit(X, y)
    with pytest.raises(TypeError, match="Use skcryoal.LearningLossClassifier"):
        LearningLossQuery()(plain, X, 1)
    with pytest.raises(TypeError, match="got CryoNetClassifier"):
        LearningLossQuery().score_samples(plain, X)


def test_works_with_skcryoal_and_plain_modal_learner(fitted):
    clf, pool = fitted
    expected = LearningLossQuery()(clf, pool, 4)
    for cls in (ActiveLearner, ModALActiveLearner):
        idx, X_q = cls(clf, query_strategy=LearningLossQuery()).query(pool, n_instances=4)
        np.testing.assert_array_equal(idx, expected)
        np.testing.assert_array_equal(X_q, pool[idx])


def test_tiny_active_learning_loop(easy_data):
    X, y = easy_data(24, 3)
    learner = ActiveLearner(
        _clf(max_epochs=1, classes=[0, 1, 2]),
        query_strategy=LearningLossQuery(subsample=10, random_state=0),
        X_training=X[:6],
        y_training=y[:6],
    )
    pool, pool_y = X[6:], y[6:]
    for _ in range(2):
        idx, X_q = learner.query(pool, n_instances=3)
        assert len(set(idx)) == 3 and X_q.shape == (3, 1, 16, 16, 16)
        learner.teach(X_q, pool_y[idx])
        pool, pool_y = np.delete(pool, idx, 0), np.delete(pool_y, idx)
    assert len(learner.y_training) == 12
    assert learner.predict(pool).shape == (len(pool),)


def test_repr_and_bad_parameters(fitted):
    clf, pool = fitted
    assert "subsample=5" in repr(LearningLossQuery(subsample=5))
    with pytest.raises(ValueError, match="batch_size must be None or a positive integer"):
        LearningLossQuery(batch_size=0)(clf, pool, 1)
