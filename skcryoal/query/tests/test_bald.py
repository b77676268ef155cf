"""The "bald" registry name: MCDropoutQuery with acquisition="bald"."""

import numpy as np
import pytest

from skcryoal import ActiveLearner
from skcryoal.benchmark import ClassifierFactory, parse_strategy_spec
from skcryoal.query import MCDropoutQuery, get_strategy
from skcryoal.query._registry import _REGISTRY

from ._fitted import N_TRAIN, fitted_classifier


def test_bald_is_mc_dropout_with_the_bald_acquisition():
    query = get_strategy("bald", n_passes=5, random_state=2)
    assert type(query) is MCDropoutQuery
    assert (query.acquisition, query.n_passes, query.random_state) == ("bald", 5, 2)
    # the name's defaults are not shared with the registry entry or with "mc_dropout"
    query.acquisition = "entropy"
    assert get_strategy("bald").acquisition == "bald"
    assert len(_REGISTRY["mc_dropout"]) == 3
    assert repr(get_strategy("mc_dropout")) == repr(MCDropoutQuery())
    # explicit parameters override the name's defaults
    assert get_strategy("bald", acquisition="variation_ratio").acquisition == "variation_ratio"


def test_bald_gets_a_dropout_network_in_benchmarks():
    factory = ClassifierFactory(width=4, max_epochs=1, dropout=0.25)
    assert factory("bald", seed=0).module__dropout == 0.25
    assert factory("bald", seed=0).reg_lambda == 0.0
    assert "module__dropout" not in factory("entropy", seed=0).get_params()
    spec = parse_strategy_spec("bald:n_passes=5")
    assert (spec.name, spec.params) == ("bald", {"n_passes": 5})


@pytest.fixture(scope="module")
def fitted():
    clf, X, _ = fitted_classifier(dropout=0.5)
    return clf, X[:N_TRAIN], X[N_TRAIN:]


def test_through_a_learner(fitted):
    clf, X_train, pool = fitted
    learner = ActiveLearner(clf, query_strategy=get_strategy("bald", n_passes=5, random_state=0))
    idx, X_q = learner.query(pool, n_instances=4)
    np.testing.assert_array_equal(X_q, pool[idx])
    scores = MCDropoutQuery(n_passes=5, acquisition="bald", random_state=0).score_samples(clf, pool)
    np.testing.assert_array_equal(idx, np.argsort(-scores, kind="stable")[:4])
