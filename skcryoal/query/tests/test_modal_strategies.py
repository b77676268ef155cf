"""modAL's own uncertainty strategies work unchanged with CryoNetClassifier."""

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


@pytest.mark.parametrize(
    "strategy, measure, sign",
    [
        (uncertainty_sampling, classifier_uncertainty, 1),
        (entropy_sampling, classifier_entropy, 1),
        (margin_sampling, classifier_margin, -1),
    ],
)
def test_modal_strategy_selects_its_own_best(tiny_clf, easy_data, strategy, measure, sign):
    X, y = easy_data(40, 3)
    learner = ActiveLearner(
        tiny_clf(), query_strategy=strategy, X_training=X[:10], y_training=y[:10]
    )
    idx, X_q = learner.query(X[10:], n_instances=4)
    assert len(set(np.ravel(idx))) == 4
    np.testing.assert_array_equal(X_q, X[10:][idx])
    values = sign * measure(learner.estimator, X[10:])
    assert np.sort(values[idx]).min() >= np.sort(values)[-4] - 1e-6
    learner.teach(X_q, y[10:][idx])
    assert len(learner.y_training) == 14
