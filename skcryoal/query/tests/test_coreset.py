from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skcryoal import ActiveLearner
from skcryoal.query._coreset import CoreSetQuery, greedy_k_center, min_sq_distances

from ._fitted import N_TRAIN, fitted_classifier


class _Embedder:
    """A 'classifier' whose embedding of a volume is its first two voxels."""

    batch_size = 4

    def embed(self, X, batch_size=None):
        return np.asarray(X, dtype=np.float64).reshape(len(X), -1)[:, :2]


def _volumes(points):
    return np.asarray(points, dtype=np.float32).reshape(-1, 1, 1, 1, 2)


def _learner(estimator, X_training):
    # what resolve_estimator recognises as a modAL learner
    return SimpleNamespace(query_strategy=None, estimator=estimator, X_training=X_training)


LABELED = [(0, 0)]
POOL = [(1, 0), (5, 0), (0, 3), (5, 1), (-4, 0), (2, 2)]
# farthest from the centers first: (5, 1) at sqrt(26), (-4, 0) at 4, (0, 3) at 3,
# (2, 2) at sqrt(5) (its nearest center is now (0, 3)), then the tie at 1 goes to index 0
GREEDY_ORDER = [3, 4, 2, 5, 0, 1]


def _naive_greedy(E, centers, k):
    E, centers = np.asarray(E, float), list(np.asarray(centers, float))
    chosen = []
    for _ in range(k):
        d = np.array([min(np.linalg.norm(e - c) for c in centers) for e in E])
        d[chosen] = -1
        chosen.append(int(np.argmax(d)))
        centers.append(E[chosen[-1]])
    return chosen


@pytest.mark.parametrize("block_size", [1, 2, 4, 1024])
def test_exact_greedy_order_on_hand_made_embedding(block_size):
    query = CoreSetQuery(block_size=block_size)
    idx = query(_Embedder(), _volumes(POOL), n_instances=6, X_labeled=_volumes(LABELED))
    np.testing.assert_array_equal(idx, GREEDY_ORDER)
    assert idx.dtype.kind == "i"
    np.testing.assert_allclose(
        query.score_samples(_Embedder(), _volumes(POOL), X_labeled=_volumes(LABELED)),
        [1, 5, 3, np.sqrt(26), 4, np.sqrt(8)],
    )


def test_first_pick_is_the_farthest_point():
    idx = CoreSetQuery()(_Embedder(), _volumes(POOL), 1, X_labeled=_volumes(LABELED))
    np.testing.assert_array_equal(idx, [3])


def test_labeled_set_from_the_learner_and_keyword_precedence():
    pool = _volumes(POOL)
    learner = _learner(_Embedder(), _volumes(LABELED))
    np.testing.assert_array_equal(CoreSetQuery()(learner, pool, 6), GREEDY_ORDER)
    # an explicit labeled set wins over X_training: from (5, 0) the farthest is (-4, 0)
    idx = CoreSetQuery()(learner, pool, 2, X_labeled=_volumes([(5, 0)]))
    np.testing.assert_array_equal(idx, [4, 2])


def test_random_first_center_without_labeled_set():
    pool = _volumes(POOL)
    first = np.random.RandomState(7).randint(len(POOL))
    idx = CoreSetQuery(random_state=7)(_Embedder(), pool, 4)
    assert idx[0] == first
    np.testing.assert_array_equal(idx, [first, *_naive_greedy(POOL, [POOL[first]], 3)])
    np.testing.assert_array_equal(idx, CoreSetQuery(random_state=7)(_Embedder(), pool, 4))
    # an empty X_training counts as no labeled set
    empty = _learner(_Embedder(), np.empty((0, 1, 1, 1, 2), np.float32))
    np.testing.assert_array_equal(CoreSetQuery(random_state=7)(empty, pool, 4), idx)


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_naive_greedy_on_random_points_for_any_block_size(seed):
    rng = np.random.default_rng(seed)
    E = rng.normal(size=(60, 5))
    centers = rng.normal(size=(7, 5))
    expected = _naive_greedy(E, centers, 15)
    for block_size in (1, 7, 16, 1000):
        min_sq = min_sq_distances(E, centers, block_size)
        d = np.linalg.norm(E[:, None] - centers[None], axis=2).min(1) ** 2
        np.testing.assert_allclose(min_sq, d, rtol=1e-10, atol=1e-10)
        np.testing.assert_array_equal(greedy_k_center(E, 15, min_sq, None, block_size), expected)


def test_duplicates_of_centers_still_give_unique_indices():
    pool = _volumes([(0, 0), (0, 0), (1, 1), (0, 0)])
    idx = CoreSetQuery()(_Embedder(), pool, 4, X_labeled=_volumes([(0, 0), (1, 1)]))
    assert sorted(idx) == [0, 1, 2, 3]


def test_subsample_selects_within_the_subset():
    rng = np.random.default_rng(0)
    pool = _volumes(rng.normal(size=(40, 2)))
    query = CoreSetQuery(subsample=10, random_state=0)
    idx = query(_Embedder(), pool, 3, X_labeled=_volumes(LABELED))
    subset = np.sort(np.random.RandomState(0).choice(40, 10, replace=False))
    assert set(idx) <= set(subset)
    sub_idx = CoreSetQuery()(_Embedder(), pool[subset], 3, X_labeled=_volumes(LABELED))
    np.testing.assert_array_equal(idx, subset[sub_idx])
    with pytest.raises(ValueError, match=r"scored subsample \(subsample=10\), which has 10"):
        query(_Embedder(), pool, 11)


@pytest.fixture(scope="module")
def fitted():
    clf, X, y = fitted_classifier()
    return clf, X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:]


def test_on_a_fitted_classifier_through_a_learner(fitted):
    clf, X_train, y_train, pool = fitted
    learner = ActiveLearner(clf, query_strategy=CoreSetQuery())
    learner.X_training, learner.y_training = X_train, y_train  # already fitted on them
    idx, X_q = learner.query(pool, n_instances=5)
    expected = _naive_greedy(clf.embed(pool), clf.embed(X_train), 5)
    np.testing.assert_array_equal(idx, expected)
    np.testing.assert_array_equal(X_q, pool[idx])
    np.testing.assert_array_equal(CoreSetQuery(batch_size=3, block_size=4)(learner, pool, 5), idx)


def test_pipeline_transforms_pool_and_labeled_set(fitted):
    clf, X_train, _, pool = fitted
    pipe = make_pipeline(FunctionTransformer(lambda v: v * 1.5), clf)
    np.testing.assert_array_equal(
        CoreSetQuery()(pipe, pool, 4, X_labeled=X_train),
        CoreSetQuery()(clf, pool * 1.5, 4, X_labeled=X_train * 1.5),
    )


def test_errors(fitted):
    clf, X_train, _, pool = fitted
    with pytest.raises(ValueError, match="needs a labeled set"):
        CoreSetQuery().score_samples(clf, pool)
    with pytest.raises(ValueError, match="block_size must be a positive integer; got 0"):
        CoreSetQuery(block_size=0)(clf, pool, 1)
    with pytest.raises(ValueError, match="X_labeled"):
        CoreSetQuery()(clf, pool, 1, X_labeled=np.zeros((2, 1, 8, 8, 8), np.float32))
    with pytest.raises(TypeError, match="embed"):
        CoreSetQuery()(object(), pool, 1)
