"""Fitted tiny classifiers shared by the query-strategy tests (fitted once per session)."""

import copy
import functools

N_TRAIN = 12


@functools.cache
def _fit(dropout):
    from conftest import make_easy_volumes
    from skcryoal import CryoNetClassifier

    X, y = make_easy_volumes(40, 3)
    clf = CryoNetClassifier(
        module__width=4,
        module__dropout=dropout,
        max_epochs=2,
        batch_size=8,
        random_state=0,
    )
    clf.fit(X[:N_TRAIN], y[:N_TRAIN])
    return clf, X, y


def fitted_classifier(dropout=0.0):
    """Return ``(clf, X, y)``: a copy of a classifier fitted on ``X[:12]``; the pool is the rest."""
    clf, X, y = _fit(float(dropout))
    return copy.deepcopy(clf), X, y


@functools.cache
def _fit_learning_loss():
    from conftest import make_easy_volumes
    from skcryoal.classifier._learning_loss import LearningLossClassifier

    X, y = make_easy_volumes(40, 3)
    clf = LearningLossClassifier(module__width=4, max_epochs=2, batch_size=8, random_state=0)
    clf.fit(X[:N_TRAIN], y[:N_TRAIN])
    return clf, X, y


def fitted_learning_loss_classifier():
    """Like :func:`fitted_classifier`, for LL4AL's LearningLossClassifier."""
    clf, X, y = _fit_learning_loss()
    return copy.deepcopy(clf), X, y
