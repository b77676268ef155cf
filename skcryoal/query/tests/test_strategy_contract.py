"""The contract every registered query strategy keeps (modAL's call shape and errors).

A new strategy is covered once it is in the registry; if it needs a special
classifier or fast parameters, add a row to ``CASES``.
"""

import importlib

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from skcryoal import ActiveLearner
from skcryoal.query._registry import _strategy_class, available_strategies, get_strategy

from ._fitted import N_TRAIN, fitted_classifier, fitted_learning_loss_classifier

# name -> classifier kind, fast constructor parameters, module the case needs
CASES = {
    "mc_dropout": dict(classifier="dropout", params=dict(n_passes=5)),
    "bald": dict(classifier="dropout", params=dict(n_passes=5)),
    "ll4al": dict(classifier="learning_loss", needs="skcryoal.classifier._learning_loss"),
    "vaal": dict(params=dict(latent_dim=8, width=4, n_iterations=2, batch_size=8)),
}

_FITTED = {
    "plain": fitted_classifier,
    "dropout": lambda: fitted_classifier(dropout=0.5),
    "learning_loss": fitted_learning_loss_classifier,
}


def _unfitted(kind, tiny_clf):
    if kind == "learning_loss":
        from skcryoal.classifier._learning_loss import LearningLossClassifier

        return LearningLossClassifier(module__width=4, max_epochs=1, random_state=0)
    return tiny_clf(module__dropout=0.5 if kind == "dropout" else 0.0)


def _case(name):
    case = dict(classifier="plain", params={}, needs=None)
    case.update(CASES.get(name, {}))
    for module in [case["needs"]] if case["needs"] else []:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError:
            pytest.skip(f"{name}: {module} is not there yet")
    try:
        _strategy_class(name)
    except ImportError as exc:
        pytest.skip(f"{name}: {exc}")
    return case


def _strategy(name, case, random_state=0):
    return get_strategy(name, random_state=random_state, **case["params"])


def _learner(case):
    clf, X, y = _FITTED[case["classifier"]]()
    learner = ActiveLearner(clf)
    # already fitted on these: strategies may read the labeled set (core-set, VAAL)
    learner.X_training, learner.y_training = X[:N_TRAIN], y[:N_TRAIN]
    return learner, X[N_TRAIN:]


names = pytest.mark.parametrize("name", available_strategies())


@names
def test_returns_unique_in_range_indices(name):
    case = _case(name)
    learner, pool = _learner(case)
    learner.query_strategy = _strategy(name, case)
    before = pool.copy()
    idx, X_q = learner.query(pool, n_instances=4)
    assert isinstance(idx, np.ndarray) and idx.dtype.kind in "iu" and idx.shape == (4,)
    assert len(set(idx.tolist())) == 4 and idx.min() >= 0 and idx.max() < len(pool)
    np.testing.assert_array_equal(X_q, pool[idx])
    np.testing.assert_array_equal(pool, before)
    everything = _strategy(name, case)(learner, pool, n_instances=len(pool))
    assert sorted(everything.tolist()) == list(range(len(pool)))


@names
def test_reproducible_with_a_fixed_random_state(name):
    case = _case(name)
    learner, pool = _learner(case)
    a = _strategy(name, case, random_state=5)(learner, pool, n_instances=3)
    b = _strategy(name, case, random_state=5)(learner, pool, n_instances=3)
    np.testing.assert_array_equal(a, b)


@names
@pytest.mark.parametrize("n_instances", [0, "pool + 1"])
def test_bad_n_instances(name, n_instances):
    case = _case(name)
    learner, pool = _learner(case)
    n = len(pool) + 1 if n_instances == "pool + 1" else n_instances
    with pytest.raises(ValueError, match="n_instances"):
        _strategy(name, case)(learner, pool, n_instances=n)


@names
def test_unfitted_model_raises_not_fitted(name, tiny_clf):
    case = _case(name)
    strategy = _strategy(name, case)
    if not getattr(strategy, "requires_fit", True):
        pytest.skip(f"{name} needs no fitted model")
    _, X, _ = _FITTED[case["classifier"]]()
    learner = ActiveLearner(_unfitted(case["classifier"], tiny_clf))
    learner.X_training = X[:N_TRAIN]
    with pytest.raises(NotFittedError):
        strategy(learner, X[N_TRAIN:], n_instances=2)
