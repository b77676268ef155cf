import copy

import numpy as np
import pytest
import torch
from scipy.special import softmax
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from torch import nn

from skcryoal import ActiveLearner, ResNet3D
from skcryoal.query import BADGEQuery, get_strategy
from skcryoal.query._badge import (
    embedding_and_proba,
    gradient_factors,
    gradient_sq_distances,
    kmeans_pp_gradient,
)

from ._fitted import N_TRAIN, fitted_classifier


def _explicit(a, h):
    return np.einsum("ic,id->icd", a, h).reshape(len(a), -1)


def _random_factors(seed, n=30, n_classes=4, n_features=6):
    rng = np.random.default_rng(seed)
    proba = softmax(rng.normal(scale=2.0, size=(n, n_classes)), axis=1)
    return gradient_factors(proba, rng.normal(size=(n, n_features)))


def test_factors_are_the_last_layer_gradient_at_the_predicted_label():
    torch.manual_seed(0)
    fc = nn.Linear(5, 3).double()
    h = torch.randn(4, 5, dtype=torch.float64)
    with torch.no_grad():
        proba = torch.softmax(fc(h), dim=1).numpy()
    a, h_np = gradient_factors(proba, h.numpy())
    for i in range(4):
        fc.zero_grad()
        logits = fc(h[i : i + 1])
        nn.functional.cross_entropy(logits, logits.argmax(dim=1)).backward()
        np.testing.assert_allclose(_explicit(a, h_np)[i], fc.weight.grad.numpy().ravel())
    np.testing.assert_allclose(a.sum(axis=1), 0.0, atol=1e-12)
    assert (a[np.arange(4), proba.argmax(axis=1)] <= 0).all()


@pytest.mark.parametrize("block_size", [1, 7, 1024])
def test_factorized_distances_equal_explicit_ones(block_size):
    a, h = _random_factors(0)
    G = _explicit(a, h)
    expected = ((G[:, None, :] - G[None, :5, :]) ** 2).sum(axis=2)
    got = gradient_sq_distances(a, h, a[:5], h[:5], block_size=block_size)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    assert (np.diag(got[:5]) == 0).all()  # clipped, never negative


def _naive_kmeans_pp(G, k, rng):
    """k-means++ on explicit embeddings with the same random draws."""
    chosen = [int(np.argmax((G**2).sum(axis=1)))]
    for _ in range(k - 1):
        d = np.min([((G - G[c]) ** 2).sum(axis=1) for c in chosen], axis=0)
        d[chosen] = 0.0
        cdf = np.cumsum(d / d.sum())
        chosen.append(int(np.searchsorted(cdf, rng.uniform() * cdf[-1], side="right")))
    return chosen


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_naive_kmeans_pp_on_explicit_embeddings(seed):
    a, h = _random_factors(seed)
    got = kmeans_pp_gradient(a, h, 10, np.random.RandomState(seed), block_size=4)
    expected = _naive_kmeans_pp(_explicit(a, h), 10, np.random.RandomState(seed))
    np.testing.assert_array_equal(got, expected)


def test_first_pick_is_the_largest_gradient_then_one_per_well_separated_group():
    rng = np.random.default_rng(0)
    centers = np.array([[10.0, 0, 0], [0, 10.0, 0], [0, 0, 10.0], [-10.0, 0, 0]])
    h = np.repeat(centers, 10, axis=0) + rng.normal(scale=0.01, size=(40, 3))
    a = np.tile([[0.3, -0.3]], (40, 1))  # same uncertainty for every row
    a[17] *= 2.0  # the largest gradient, in group 1
    for seed in range(5):
        idx = kmeans_pp_gradient(a, h, 4, seed)
        assert idx[0] == 17
        assert sorted(idx // 10) == [0, 1, 2, 3]


def test_certain_volumes_are_not_picked_while_uncertain_ones_remain():
    rng = np.random.default_rng(1)
    h = rng.normal(size=(20, 4))
    proba = np.tile([[0.5, 0.3, 0.2]], (20, 1))
    proba[10:] = [1.0, 0.0, 0.0]  # zero gradient: D^2 is the distance to any center
    a, h = gradient_factors(proba, h)
    idx = kmeans_pp_gradient(a, h, 3, 0)
    assert (idx < 10).sum() >= 2  # only one certain volume at most, as a group


def test_identical_embeddings_still_give_unique_indices():
    a, h = gradient_factors(np.tile([[0.6, 0.4]], (6, 1)), np.ones((6, 2)))
    idx = kmeans_pp_gradient(a, h, 6, 0)
    assert sorted(idx) == list(range(6))
    np.testing.assert_array_equal(idx, kmeans_pp_gradient(a, h, 6, 0))


@pytest.fixture(scope="module")
def fitted():
    clf, X, y = fitted_classifier()
    return clf, X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:]


def test_one_pass_gives_the_classifier_embedding_and_posterior(fitted):
    clf, _, _, pool = fitted
    emb, proba = embedding_and_proba(clf, pool, batch_size=5)
    np.testing.assert_allclose(emb, clf.embed(pool), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(proba, clf.predict_proba(pool), rtol=1e-4, atol=1e-6)


class _Doubled(ResNet3D):
    """logits are not fc(drop(embed(x))): the one-pass shortcut must not be taken."""

    def forward(self, x):
        return 2.0 * super().forward(x)


def test_a_module_whose_forward_is_not_the_head_gets_its_own_logits(fitted):
    clf, _, _, pool = fitted
    clf = copy.deepcopy(clf)
    m = clf.module_
    doubled = _Doubled(m.n_classes, width=m.width)
    doubled.load_state_dict(m.state_dict())
    clf.module_ = doubled
    _, proba = embedding_and_proba(clf, pool, batch_size=10)
    np.testing.assert_allclose(proba, clf.predict_proba(pool), rtol=1e-4, atol=1e-6)


def test_through_a_learner_and_by_name(fitted):
    clf, X_train, y_train, pool = fitted
    learner = ActiveLearner(clf, query_strategy=BADGEQuery(random_state=0))
    learner.X_training, learner.y_training = X_train, y_train
    idx, X_q = learner.query(pool, n_instances=5)
    assert idx.shape == (5,) and len(set(idx)) == 5 and idx.max() < len(pool)
    np.testing.assert_array_equal(X_q, pool[idx])
    # the first pick is the largest gradient norm, the criterion of score_samples
    assert idx[0] == np.argmax(BADGEQuery().score_samples(clf, pool))
    emb, proba = clf.embed(pool), clf.predict_proba(pool)
    a, h = gradient_factors(proba, emb)
    np.testing.assert_allclose(
        BADGEQuery().score_samples(clf, pool), np.linalg.norm(_explicit(a, h), axis=1), rtol=1e-4
    )
    by_name = get_strategy("badge", random_state=0)
    assert type(by_name) is BADGEQuery
    np.testing.assert_array_equal(by_name(learner, pool, 5), idx)
    np.testing.assert_array_equal(BADGEQuery(random_state=0, batch_size=3)(clf, pool, 5), idx)


def test_random_state_changes_the_draws_not_the_first_pick(fitted):
    clf, _, _, pool = fitted
    runs = [tuple(BADGEQuery(random_state=s)(clf, pool, 8)) for s in range(4)]
    assert len({r[0] for r in runs}) == 1
    assert len(set(runs)) > 1


def test_subsample_selects_within_the_subset(fitted):
    clf, _, _, pool = fitted
    idx = BADGEQuery(subsample=10, random_state=0)(clf, pool, 4)
    subset = np.sort(np.random.RandomState(0).choice(len(pool), 10, replace=False))
    assert set(idx) <= set(subset)
    with pytest.raises(ValueError, match=r"scored subsample \(subsample=10\), which has 10"):
        BADGEQuery(subsample=10, random_state=0)(clf, pool, 11)


def test_errors(fitted):
    clf, _, _, pool = fitted
    with pytest.raises(ValueError, match="block_size must be a positive integer; got 0"):
        BADGEQuery(block_size=0)(clf, pool, 1)
    with pytest.raises(ValueError, match="subsample must be None or a positive integer"):
        BADGEQuery(subsample=0)(clf, pool, 1)
    with pytest.raises(ValueError, match="n_instances=29 is larger than the pool"):
        BADGEQuery()(clf, pool, 29)
    with pytest.raises(TypeError, match="map_batches"):
        BADGEQuery()(object(), pool, 1)


def test_pipeline_transforms_the_pool(fitted):
    clf, _, _, pool = fitted
    pipe = make_pipeline(FunctionTransformer(lambda v: v * 1.5), clf)
    np.testing.assert_array_equal(
        BADGEQuery(random_state=0)(pipe, pool, 5), BADGEQuery(random_state=0)(clf, pool * 1.5, 5)
    )
