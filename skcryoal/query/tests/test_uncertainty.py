import numpy as np
import pytest
from modAL.uncertainty import (
    classifier_entropy,
    classifier_margin,
    classifier_uncertainty,
    entropy_sampling,
    margin_sampling,
    uncertainty_sampling,
)

from skcryoal import ActiveLearner
from skcryoal.query._uncertainty import EntropyQuery, LeastConfidentQuery, MarginQuery

from ._fitted import N_TRAIN, fitted_classifier

CASES = [
    (EntropyQuery, entropy_sampling, lambda c, X: classifier_entropy(c, X)),
    (LeastConfidentQuery, uncertainty_sampling, lambda c, X: classifier_uncertainty(c, X)),
    (MarginQuery, margin_sampling, lambda c, X: 1.0 - classifier_margin(c, X)),
]


@pytest.fixture(scope="module")
def fitted():
    clf, X, _ = fitted_classifier()
    return clf, X[N_TRAIN:]


@pytest.mark.parametrize("strategy_cls, modal_strategy, measure", CASES)
def test_scores_equal_modal_measures(fitted, strategy_cls, modal_strategy, measure):
    clf, pool = fitted
    scores = strategy_cls().score_samples(clf, pool)
    assert scores.shape == (len(pool),)
    np.testing.assert_allclose(scores, measure(clf, pool), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("strategy_cls, modal_strategy, measure", CASES)
@pytest.mark.parametrize("n_instances", [1, 5])
def test_selects_what_modal_selects(fitted, strategy_cls, modal_strategy, measure, n_instances):
    clf, pool = fitted
    ours = strategy_cls()(clf, pool, n_instances=n_instances)
    theirs = np.ravel(modal_strategy(clf, pool, n_instances=n_instances))
    values = measure(clf, pool)
    # same selection up to ties: the selected values agree
    np.testing.assert_allclose(np.sort(values[ours]), np.sort(values[theirs]), atol=1e-6)
    ranked = np.sort(values)[::-1]
    if n_instances == len(pool) or ranked[n_instances - 1] - ranked[n_instances] > 1e-5:
        assert set(ours) == set(theirs)
    # best first
    assert np.all(np.diff(values[ours]) <= 1e-6)


def test_works_through_a_learner_with_subsample(fitted):
    clf, pool = fitted
    learner = ActiveLearner(clf, query_strategy=EntropyQuery(subsample=10, random_state=0))
    idx, X_q = learner.query(pool, n_instances=3)
    subset = np.sort(np.random.RandomState(0).choice(len(pool), 10, replace=False))
    scores = EntropyQuery().score_samples(clf, pool)
    np.testing.assert_array_equal(idx, subset[np.argsort(-scores[subset], kind="stable")[:3]])
    np.testing.assert_array_equal(X_q, pool[idx])


def test_memmap_pool(fitted, tmp_path):
    clf, pool = fitted
    np.save(tmp_path / "pool.npy", pool)
    mm = np.load(tmp_path / "pool.npy", mmap_mode="r")
    expected = MarginQuery()(clf, pool, 4)
    np.testing.assert_array_equal(MarginQuery(batch_size=3)(clf, mm, 4), expected)


def test_needs_forward_logits():
    class Plain:
        pass

    with pytest.raises(TypeError, match="forward_logits.*got Plain"):
        EntropyQuery()(Plain(), np.zeros((4, 1, 16, 16, 16), np.float32), 1)


def test_repr_lists_constructor_parameters():
    assert repr(MarginQuery(batch_size=4)) == (
        "MarginQuery(subsample=None, batch_size=4, random_state=None)"
    )
