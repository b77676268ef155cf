from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skcryoal import ActiveLearner
from skcryoal.query import TypiClustQuery, get_strategy
from skcryoal.query._typiclust import (
    cluster_embedding,
    mean_neighbor_distances,
    typicality,
    typiclust_select,
)

from ._fitted import N_TRAIN, fitted_classifier

CENTERS = np.array([[0.0, 0.0], [20.0, 0.0], [0.0, 20.0], [20.0, 20.0], [-20.0, 0.0]])
SIZES = [12, 10, 8, 6, 14]


def _blobs(seed=0, sizes=SIZES):
    rng = np.random.default_rng(seed)
    E = np.concatenate([c + rng.normal(size=(n, 2)) for c, n in zip(CENTERS, sizes)])
    blob = np.repeat(np.arange(len(sizes)), sizes)
    return E, blob


def _most_typical(E, rows, n_neighbors=20):
    k = max(1, min(n_neighbors, len(rows) // 2))
    d = np.linalg.norm(E[rows][:, None] - E[rows][None], axis=2)
    mean_knn = np.sort(d, axis=1)[:, 1 : k + 1].mean(axis=1)
    return rows[int(np.argmin(mean_knn))]


def test_typicality_is_the_inverse_mean_distance_to_the_nearest_neighbours():
    E = np.array([[0.0], [1.0], [3.0], [7.0], [8.0]])
    # k = min(20, 5 // 2) = 2: the two nearest of 0 are at 1 and 3, of 3 at 2 and 3, ...
    expected = [2.0, 1.5, 2.5, 2.5, 3.0]
    np.testing.assert_allclose(mean_neighbor_distances(E, 2), expected)
    np.testing.assert_allclose(typicality(E), 1.0 / np.array(expected))
    np.testing.assert_allclose(typicality(E, n_neighbors=1), 1.0 / np.array([1, 1, 2, 1, 1]))


def test_one_most_typical_volume_per_cluster_largest_first():
    E, blob = _blobs()
    clusters = cluster_embedding(E, 5, random_state=0)
    idx = typiclust_select(E, clusters, np.zeros(len(E), bool), 5)
    assert sorted(blob[idx]) == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(blob[idx], [4, 0, 1, 2, 3])  # by decreasing size
    for i in idx:
        assert i == _most_typical(E, np.flatnonzero(blob == blob[i]))


def test_labeled_clusters_are_covered_last():
    E, blob = _blobs()
    labeled = np.zeros(len(E), bool)
    labeled[[0, 1, 40]] = True  # two in blob 0, one in blob 4 (the largest)
    clusters = cluster_embedding(E, 5, random_state=0)
    idx = typiclust_select(E, clusters, labeled, 5)
    np.testing.assert_array_equal(blob[idx[:3]], [1, 2, 3])
    # then the fewest covered (blob 4, one labeled), the largest first: blob 1 before 0
    np.testing.assert_array_equal(blob[idx[3:]], [4, 1])
    assert not labeled[idx].any()
    # typicality among the cluster's unlabeled rows only
    assert idx[3] == _most_typical(E, np.flatnonzero((blob == 4) & ~labeled))


def test_small_clusters_come_last_and_more_picks_than_clusters():
    E, blob = _blobs(sizes=[12, 10, 8, 6, 3])
    clusters = cluster_embedding(E, 5, random_state=0)
    idx = typiclust_select(E, clusters, np.zeros(len(E), bool), 7, min_cluster_size=5)
    np.testing.assert_array_equal(blob[idx], [0, 1, 2, 3, 0, 1, 2])
    idx = typiclust_select(E, clusters, np.zeros(len(E), bool), 5, min_cluster_size=1)
    assert sorted(blob[idx]) == [0, 1, 2, 3, 4]
    every = typiclust_select(E, clusters, np.zeros(len(E), bool), len(E))
    assert sorted(every) == list(range(len(E)))


def test_minibatch_kmeans_above_50_clusters():
    rng = np.random.default_rng(0)
    E = rng.normal(size=(300, 3))
    labels = cluster_embedding(E, 60, random_state=0)
    assert labels.shape == (300,) and labels.max() < 60
    np.testing.assert_array_equal(labels, cluster_embedding(E, 60, random_state=0))


class _Embedder:
    """A 'classifier' whose embedding of a volume is its first two voxels."""

    batch_size = 4

    def embed(self, X, batch_size=None):
        return np.asarray(X, dtype=np.float64).reshape(len(X), -1)[:, :2]


def _volumes(points):
    return np.asarray(points, dtype=np.float32).reshape(-1, 1, 1, 1, 2)


def test_labeled_set_from_the_learner_or_the_keyword():
    E, blob = _blobs()
    lab = np.flatnonzero(blob == 0)[:3]
    pool = np.setdiff1d(np.arange(len(E)), lab)
    learner = SimpleNamespace(query_strategy=None, estimator=_Embedder(), X_training=None)
    learner.X_training = _volumes(E[lab])
    # 5 clusters for 5 blobs (n_labeled + n_instances would be 7)
    query = TypiClustQuery(max_clusters=5, random_state=0)
    idx = query(learner, _volumes(E[pool]), 4)
    assert sorted(blob[pool][idx]) == [1, 2, 3, 4]  # blob 0 is covered by the labeled set
    keyword = query(_Embedder(), _volumes(E[pool]), 4, X_labeled=_volumes(E[lab]))
    np.testing.assert_array_equal(keyword, idx)
    # the keyword wins over the learner's X_training
    learner.X_training = _volumes(E[blob == 4][:3])
    assert sorted(blob[pool][query(learner, _volumes(E[pool]), 4)]) == [0, 1, 2, 3]
    np.testing.assert_array_equal(query(learner, _volumes(E[pool]), 4, _volumes(E[lab])), idx)
    # without a labeled set, the pool alone is clustered: the largest blob comes first
    alone = TypiClustQuery(random_state=0)(_Embedder(), _volumes(E), 5)
    np.testing.assert_array_equal(blob[alone], [4, 0, 1, 2, 3])


@pytest.fixture(scope="module")
def fitted():
    clf, X, y = fitted_classifier()
    return clf, X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:]


def test_through_a_learner_and_by_name(fitted):
    clf, X_train, y_train, pool = fitted
    learner = ActiveLearner(clf, query_strategy=TypiClustQuery(random_state=0))
    learner.X_training, learner.y_training = X_train, y_train
    idx, X_q = learner.query(pool, n_instances=5)
    assert idx.shape == (5,) and len(set(idx)) == 5 and idx.max() < len(pool)
    np.testing.assert_array_equal(X_q, pool[idx])
    # the same as the core on the classifier's embeddings
    E = np.concatenate([clf.embed(X_train), clf.embed(pool)])
    clusters = cluster_embedding(E, N_TRAIN + 5, np.random.RandomState(0))
    labeled = np.arange(len(E)) < N_TRAIN
    np.testing.assert_array_equal(idx, typiclust_select(E, clusters, labeled, 5) - N_TRAIN)
    by_name = get_strategy("typiclust", random_state=0)
    assert type(by_name) is TypiClustQuery
    np.testing.assert_array_equal(by_name(learner, pool, 5), idx)


def test_subsample_and_max_clusters(fitted):
    clf, X_train, _, pool = fitted
    idx = TypiClustQuery(subsample=10, random_state=0)(clf, pool, 4, X_labeled=X_train)
    subset = np.sort(np.random.RandomState(0).choice(len(pool), 10, replace=False))
    assert set(idx) <= set(subset)
    capped = TypiClustQuery(max_clusters=2, random_state=0)(clf, pool, 6, X_labeled=X_train)
    assert len(set(capped)) == 6


def test_errors(fitted):
    clf, _, _, pool = fitted
    for name in ("n_neighbors", "max_clusters", "min_cluster_size"):
        with pytest.raises(ValueError, match=f"{name} must be a positive integer; got 0"):
            TypiClustQuery(**{name: 0})(clf, pool, 1)
    with pytest.raises(TypeError, match="no per-volume score"):
        TypiClustQuery().score_samples(clf, pool)
    with pytest.raises(TypeError, match="embed"):
        TypiClustQuery()(object(), pool, 1)
    with pytest.raises(ValueError, match="X_labeled"):
        TypiClustQuery()(clf, pool, 1, X_labeled=np.zeros((2, 1, 8, 8, 8), np.float32))


def test_pipeline_transforms_pool_and_labeled_set(fitted):
    clf, X_train, _, pool = fitted
    pipe = make_pipeline(FunctionTransformer(lambda v: v * 1.5), clf)
    query = TypiClustQuery(random_state=0)
    np.testing.assert_array_equal(
        query(pipe, pool, 5, X_labeled=X_train),
        query(clf, pool * 1.5, 5, X_labeled=X_train * 1.5),
    )
