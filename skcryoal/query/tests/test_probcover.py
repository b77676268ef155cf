"""ProbCover: ball graph, greedy coverage, the purity rule for delta, cold starts."""

import numpy as np
import pytest

from skcryoal import ActiveLearner
from skcryoal.query import ProbCoverQuery, TypiClustQuery, get_strategy
from skcryoal.query._probcover import ball_graph, ball_purity, choose_delta, probcover_select

pytestmark = pytest.mark.usefixtures("one_torch_thread")

LINE = np.array([[0.0], [0.1], [0.2], [5.0], [5.1]])


def test_ball_graph_and_greedy_coverage_by_hand():
    graph = ball_graph(LINE, 0.15)
    assert graph[1].indices.tolist() == [0, 1, 2]
    assert sorted(graph[0].indices.tolist()) == [0, 1]
    # 0.1 covers three, then 5.0 and 5.1 tie (two each): either, at random
    seconds = set()
    for seed in range(20):
        picks = probcover_select(graph, np.zeros(5, bool), 2, np.random.RandomState(seed))
        assert picks[0] == 1 and picks[1] in (3, 4)
        seconds.add(int(picks[1]))
    assert seconds == {3, 4}
    a = probcover_select(graph, np.zeros(5, bool), 2, np.random.RandomState(7))
    np.testing.assert_array_equal(
        a, probcover_select(graph, np.zeros(5, bool), 2, np.random.RandomState(7))
    )
    # a labeled 0.1 covers the first group already
    labeled = np.array([False, True, False, False, False])
    assert probcover_select(graph, labeled, 1, np.random.RandomState(0))[0] in (3, 4)
    # once all is covered the rest is drawn at random among the unselected
    picks = probcover_select(graph, np.zeros(5, bool), 5, np.random.RandomState(0))
    assert sorted(picks.tolist()) == [0, 1, 2, 3, 4] and picks[0] == 1
    # balls of one row each (a tiny delta): not the pool's first rows in order
    lone = ball_graph(np.arange(40.0)[:, None], 0.1)
    picks = probcover_select(lone, np.zeros(40, bool), 10, np.random.RandomState(0))
    assert sorted(picks.tolist()) != list(range(10))


def test_purity_and_the_largest_pure_delta():
    clusters = np.array([0, 0, 0, 1, 1])
    assert ball_purity(LINE, clusters, 0.15) == 1.0
    assert ball_purity(LINE, clusters, 6.0) == 0.0
    # two tight groups on the unit circle, 60 degrees apart (distance 1)
    rng = np.random.default_rng(0)
    angles = np.concatenate([rng.normal(0, 0.05, 30), rng.normal(np.pi / 3, 0.05, 30)])
    E = np.c_[np.cos(angles), np.sin(angles)]
    delta = choose_delta(E, 2, alpha=0.95, random_state=0)
    assert 0.5 <= delta < 1.0


def test_cold_start_from_an_embedder_needs_no_model(easy_data):
    from skcryoal.pretraining import SubtomogramEmbedder

    X, y = easy_data(40, 4)
    emb = SubtomogramEmbedder(width=4, max_epochs=1, batch_size=8, progress=False, random_state=0)
    emb.fit(X)
    for strategy in (
        ProbCoverQuery(embedder=emb, n_clusters=4, random_state=0),
        TypiClustQuery(embedder=emb, random_state=0),
    ):
        assert strategy.requires_fit is False
        first = strategy(None, X, n_instances=6)
        assert len(set(first.tolist())) == 6 and first.max() < 40
        params = {k: v for k, v in vars(strategy).items() if not k.endswith("_")}
        again = type(strategy)(**params)(None, X, n_instances=6)
        np.testing.assert_array_equal(first, again)
        # with labels, never a labeled volume's twin index
        later = strategy(None, X[10:], n_instances=4, X_labeled=X[:10])
        assert len(set(later.tolist())) == 4 and later.max() < 30
    assert ProbCoverQuery().requires_fit is True


def test_with_a_fitted_classifier(tiny_clf, easy_data):
    X, y = easy_data(40, 3)
    learner = ActiveLearner(
        tiny_clf(max_epochs=1), query_strategy=get_strategy("probcover", random_state=0),
        X_training=X[:8], y_training=y[:8],
    )  # fmt: skip
    idx, _ = learner.query(X[8:], n_instances=5)
    assert len(set(idx.tolist())) == 5
    assert 0 < learner.query_strategy.delta_ <= 2
    # a fixed delta is used as given
    fixed = ProbCoverQuery(delta=0.3, random_state=0)
    fixed(learner, X[8:], n_instances=2)
    assert fixed.delta_ == 0.3


def test_bad_parameters(easy_data):
    X, _ = easy_data(10, 2)
    for kwargs, match in (
        ({"delta": 3.0}, "delta must be"),
        ({"alpha": 0.0}, "alpha must be"),
        ({"n_clusters": 1}, "n_clusters must be"),
        ({"embedder": object()}, "fitted transformer"),
    ):
        with pytest.raises((ValueError, TypeError), match=match):
            ProbCoverQuery(**kwargs)(None, X, 2)
    with pytest.raises(TypeError, match="no per-volume score"):
        ProbCoverQuery().score_samples(None, X)
