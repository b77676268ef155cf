import numpy as np
import pytest
import torch
from modAL.uncertainty import entropy_sampling

from skcryoal import ActiveLearner
from skcryoal.benchmark import parse_strategy_spec
from skcryoal.query import (
    BaseQueryStrategy,
    ClassBalancedQuery,
    EMADeviationQuery,
    EntropyQuery,
    MarginQuery,
    get_strategy,
)
from skcryoal.query._balanced import balanced_select

from ._fitted import N_TRAIN, fitted_classifier


def _naive_round_robin(scores, classes, n, order="highest"):
    sign = -1 if order == "highest" else 1
    queues = {
        c: sorted(np.flatnonzero(classes == c), key=lambda i: (sign * scores[i], i))
        for c in np.unique(classes)
    }
    chosen = []
    while len(chosen) < n:
        heads = [(sign * scores[q[0]], q[0], c) for c, q in queues.items() if q]
        for _, i, c in sorted(heads):
            if len(chosen) < n:
                chosen.append(i)
                queues[c].pop(0)
    return chosen


@pytest.mark.parametrize("order", ["highest", "lowest"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_a_naive_round_robin(order, seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, 50).astype(float)  # ties on purpose
    classes = rng.choice(["a", "b", "c", "d"], 50, p=[0.6, 0.25, 0.1, 0.05])
    for n in (1, 7, 23, 50):
        got = balanced_select(scores, classes, n, order=order)
        np.testing.assert_array_equal(got, _naive_round_robin(scores, classes, n, order))


def test_equal_quota_and_the_best_of_each_class():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=60)
    classes = np.repeat([0, 1, 2], [40, 15, 5])
    scores[classes == 0] += 10  # plain top-k would take class 0 only
    idx = balanced_select(scores, classes, 20)
    counts = np.bincount(classes[idx], minlength=3)
    # class 2 has 5 candidates only; its remainder goes to the others, evenly
    assert counts[2] == 5 and sorted(counts[:2]) == [7, 8]
    for c in range(3):
        rows = np.flatnonzero(classes == c)
        best = rows[np.argsort(-scores[rows], kind="stable")[: counts[c]]]
        assert set(idx[classes[idx] == c]) == set(best)
    enough = balanced_select(scores, classes, 12)
    np.testing.assert_array_equal(np.bincount(classes[enough]), [4, 4, 4])
    lowest = balanced_select(scores, classes, 3, order="lowest")
    np.testing.assert_array_equal(
        sorted(lowest),
        sorted(np.flatnonzero(classes == c)[np.argmin(scores[classes == c])] for c in range(3)),
    )


def test_a_single_class_is_plain_top_k_and_nan_is_refused():
    scores = np.array([0.1, 0.5, 0.3, 0.5])
    np.testing.assert_array_equal(balanced_select(scores, np.zeros(4), 3), [1, 3, 2])
    with pytest.raises(ValueError, match="NaN"):
        balanced_select(np.array([0.1, np.nan]), np.zeros(2), 1)


class _FixedScores(BaseQueryStrategy):
    """Scores are the first voxel of each volume."""

    def _score(self, classifier, X):
        return np.asarray(X[:, 0, 0, 0, 0], dtype=np.float64)


class _Predictor:
    """Predicts the class stored in the second voxel of each volume."""

    batch_size = 4

    def forward_logits(self, X, models=("task",), batch_size=None):
        cls = np.asarray(X[:, 0, 0, 0, 1], dtype=int)
        return (np.eye(3)[cls],)


def _pool(scores, classes):
    return np.stack([scores, classes], axis=1).astype(np.float32).reshape(-1, 1, 1, 1, 2)


def test_wraps_any_score_based_instance_and_keeps_its_subsample():
    rng = np.random.default_rng(0)
    scores, classes = rng.normal(size=30), np.repeat([0, 1, 2], [20, 6, 4])
    pool = _pool(scores, classes)
    base = _FixedScores(order="lowest")
    idx = ClassBalancedQuery(base=base)(_Predictor(), pool, 9)
    np.testing.assert_array_equal(idx, balanced_select(scores, classes, 9, order="lowest"))
    # the base's subsample: the same subset as the base alone would score
    sub = _FixedScores(subsample=12, random_state=3)
    idx = ClassBalancedQuery(base=sub)(_Predictor(), pool, 5)
    subset, _ = sub._candidates(len(pool), 5)
    assert set(idx) <= set(subset)
    np.testing.assert_array_equal(idx, subset[balanced_select(scores[subset], classes[subset], 5)])
    # subsample and random_state of the wrapper override the base's, on a copy
    over = ClassBalancedQuery(base=sub, subsample=8, random_state=4)
    assert len(set(over(_Predictor(), pool, 8))) == 8
    with pytest.raises(ValueError, match=r"subsample=8\), which has 8"):
        over(_Predictor(), pool, 9)
    assert (sub.subsample, sub.random_state) == (12, 3)


def test_base_by_name_with_params_and_random_state():
    query = ClassBalancedQuery(base="ema", base_params={"distance": "mse"}, random_state=7)
    base = query._base_strategy()
    assert type(base) is EMADeviationQuery
    assert (base.distance, base.random_state, base.subsample) == ("mse", 7, None)
    assert query._base_strategy().random_state == 7
    bald = ClassBalancedQuery(base="bald", subsample=100)._base_strategy()
    assert (bald.acquisition, bald.subsample) == ("bald", 100)
    assert type(ClassBalancedQuery(base="Least-Confident")._base_strategy()).__name__ == (
        "LeastConfidentQuery"
    )


@pytest.mark.parametrize(
    "base", ["coreset", "badge", "typiclust", "random", "vaal", "balanced", entropy_sampling]
)
def test_strategies_without_per_volume_scores_are_refused(base):
    with pytest.raises(TypeError, match="ranks the pool by a per-volume score, such as one of"):
        ClassBalancedQuery(base=base)(_Predictor(), _pool([0.0], [0]), 1)


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(base="entropi"), ValueError, "did you mean 'entropy'"),
        (dict(base="ema", base_params={"distanse": "mse"}), TypeError, "'distance'"),
        (dict(base="ema", base_params=[("distance", "mse")]), TypeError, "must be a dict"),
        (dict(base="ema", base_params={"random_state": 0}), ValueError, "not in base_params"),
        (dict(base=EntropyQuery(), base_params={"subsample": 3}), TypeError, "instance"),
        (dict(base=EntropyQuery, base_params=None), TypeError, "the class EntropyQuery"),
        (dict(base="ema", subsample=0), ValueError, "subsample must be None or a positive"),
    ],
)
def test_bad_parameters(params, error, match):
    with pytest.raises(error, match=match):
        ClassBalancedQuery(**params)(_Predictor(), _pool([0.0], [0]), 1)


@pytest.fixture(scope="module")
def fitted():
    clf, X, y = fitted_classifier()
    pool = X[N_TRAIN:]
    # the tiny model predicts one class everywhere; centering its logits over the
    # pool spreads the predictions (10, 8 and 10 volumes per class)
    with torch.no_grad():
        clf.module_.fc.bias -= torch.from_numpy(clf.decision_function(pool).mean(axis=0))
    assert np.bincount(clf.predict(pool)).min() >= 5
    return clf, X[:N_TRAIN], y[:N_TRAIN], pool


def test_through_a_learner_and_by_name(fitted):
    clf, X_train, y_train, pool = fitted
    learner = ActiveLearner(clf, query_strategy=ClassBalancedQuery(base="margin"))
    learner.X_training, learner.y_training = X_train, y_train
    idx, X_q = learner.query(pool, n_instances=6)
    np.testing.assert_array_equal(X_q, pool[idx])
    scores = MarginQuery().score_samples(clf, pool)
    predicted = clf.predict(pool)
    np.testing.assert_array_equal(idx, balanced_select(scores, predicted, 6))
    np.testing.assert_array_equal(np.bincount(predicted[idx], minlength=3), [2, 2, 2])
    np.testing.assert_allclose(ClassBalancedQuery(base="margin").score_samples(clf, pool), scores)
    by_name = get_strategy("balanced", base="margin", random_state=0)
    assert type(by_name) is ClassBalancedQuery
    np.testing.assert_array_equal(by_name(learner, pool, 6), idx)
    default = get_strategy("balanced", random_state=0)(learner, pool, 6)
    ema = EMADeviationQuery().score_samples(clf, pool)
    np.testing.assert_array_equal(default, balanced_select(ema, predicted, 6))


def test_spec_grammar():
    spec = parse_strategy_spec("ema-bal=balanced:base=ema:subsample=500")
    assert (spec.label, spec.name) == ("ema-bal", "balanced")
    assert spec.params == {"base": "ema", "subsample": 500}
    query = get_strategy(spec.name, random_state=1, **spec.params)
    assert type(query._base_strategy()) is EMADeviationQuery
    for text in ("badge", "typiclust:n_neighbors=10", "bald:n_passes=5"):
        spec = parse_strategy_spec(text)
        assert type(get_strategy(spec.name, **spec.params)).__name__ in (
            "BADGEQuery",
            "TypiClustQuery",
            "MCDropoutQuery",
        )
