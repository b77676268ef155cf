"""skcryoal's ActiveLearner as a drop-in for modAL's (behaviours of modAL's own tests).

modAL's test suite (``tests/core_tests.py`` at 0.4.1) is not vendored; each
behaviour it checks of ``ActiveLearner`` has an equivalent test here, plus the
scikit-learn estimator protocol (repr, get_params, clone, classifier tags).
"""

import matplotlib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from modAL.batch import uncertainty_batch_sampling
from modAL.uncertainty import entropy_sampling, margin_sampling, uncertainty_sampling
from sklearn.base import clone, is_classifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skcryoal import ActiveLearner, EMADeviationQuery
from skcryoal.learner import default_query_strategy

matplotlib.use("Agg")


class MockClassifier:
    """A stand-in estimator returning fixed outputs, like modAL's test mock."""

    def __init__(self, predict=None, predict_proba=None, score=None, classes_=None):
        self.predict_return, self.predict_proba_return = predict, predict_proba
        self.score_return, self.classes_ = score, classes_
        self.fitted_on = []

    def fit(self, X, y):
        self.fitted_on.append((X, y))
        return self

    def predict(self, X):
        return self.predict_return

    def predict_proba(self, X):
        return self.predict_proba_return

    def score(self, X, y):
        return self.score_return


def _tabular(n=30, d=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), np.arange(n) % 2


# ---------------------------------------------------------------- modAL behaviours
@pytest.mark.parametrize("n_new", [1, 5])
def test_add_training_data_stacks_arrays_and_vector_labels(n_new):
    rng = np.random.default_rng(0)
    X0, X1 = rng.random((4, 3)), rng.random((n_new, 3))
    for y0, y1 in [
        (rng.integers(0, 2, 4), rng.integers(0, 2, n_new)),
        (rng.integers(0, 2, (4, 5)), rng.integers(0, 2, (n_new, 5))),  # vector labels
    ]:
        learner = ActiveLearner(MockClassifier(), X_training=X0, y_training=y0)
        learner._add_training_data(X1, y1)
        np.testing.assert_array_equal(learner.X_training, np.vstack((X0, X1)))
        np.testing.assert_array_equal(learner.y_training, np.concatenate((y0, y1)))


def test_add_training_data_rejects_inconsistent_data():
    X, y = _tabular()
    learner = ActiveLearner(MockClassifier(), X_training=X[:4], y_training=y[:4])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        learner._add_training_data(X[4:6], y[4:8])
    with pytest.raises(ValueError, match="per sample but the labeled set"):
        learner._add_training_data(np.zeros((2, 7)), y[:2])
    assert len(learner.X_training) == 4


def test_add_training_data_sparse_and_lists():
    X, y = _tabular()
    learner = ActiveLearner(MockClassifier(), X_training=sp.csr_matrix(X[:4]), y_training=y[:4])
    learner._add_training_data(sp.csr_matrix(X[4:6]), y[4:6])
    assert sp.issparse(learner.X_training) and learner.X_training.shape == (6, 4)
    learner = ActiveLearner(MockClassifier(), X_training=X[:2].tolist(), y_training=[0, 1])
    learner._add_training_data(X[2:3].tolist(), [0])
    assert learner.X_training == X[:3].tolist()


def test_add_training_data_data_frames_on_pandas_2():
    X, y = _tabular()
    Xd, yd = pd.DataFrame(X, columns=list("abcd")), pd.Series(y)
    learner = ActiveLearner(LogisticRegression(), X_training=Xd[:6], y_training=yd[:6])
    learner.teach(Xd[6:9], yd[6:9])  # modAL stacks with DataFrame.append: gone in pandas 2
    assert isinstance(learner.X_training, pd.DataFrame)
    pd.testing.assert_frame_equal(learner.X_training, Xd[:9])
    pd.testing.assert_series_equal(learner.y_training, yd[:9])


def test_predict_predict_proba_and_score_pass_through():
    X, _ = _tabular(5)
    proba = np.random.default_rng(0).random((5, 2))
    mock = MockClassifier(predict=np.arange(5), predict_proba=proba, score=0.37)
    learner = ActiveLearner(mock, query_strategy=uncertainty_sampling)
    np.testing.assert_array_equal(learner.predict(X), np.arange(5))
    np.testing.assert_array_equal(learner.predict_proba(X), proba)
    assert learner.score(X, np.zeros(5)) == 0.37


def test_query_returns_indices_and_rows_or_a_legacy_tuple():
    X, _ = _tabular(10)

    def pick_three(learner, X_pool, n_instances=1):
        return np.array([3])

    learner = ActiveLearner(MockClassifier(), query_strategy=pick_three)
    idx, rows = learner.query(X)
    np.testing.assert_array_equal(idx, [3])
    np.testing.assert_array_equal(rows, X[[3]])

    def legacy(learner, X_pool):  # modAL < 0.4 strategies return (idx, rows)
        return 2, X_pool[2]

    learner = ActiveLearner(MockClassifier(), query_strategy=legacy)
    with pytest.warns(DeprecationWarning):
        idx, row = learner.query(X)
    assert idx == 2 and np.array_equal(row, X[2])


@pytest.mark.parametrize("strategy", [uncertainty_sampling, margin_sampling, entropy_sampling])
def test_modal_strategies_on_tabular_data(strategy):
    X, y = _tabular(40)
    learner = ActiveLearner(
        RandomForestClassifier(n_estimators=5, random_state=0),
        query_strategy=strategy,
        X_training=X[:6],
        y_training=y[:6],
    )
    for _ in range(3):
        idx, rows = learner.query(X[6:], n_instances=2)
        learner.teach(rows, y[6:][idx])
    assert len(learner.y_training) == 12
    learner.teach(X[:2], y[:2], only_new=True)
    learner.teach(X[:8], y[:8], bootstrap=True)
    assert learner.predict(X).shape == (40,)


def test_default_strategy_is_modals_for_estimators_without_a_mean_model(tiny_clf):
    X, y = _tabular(30)
    learner = ActiveLearner(LogisticRegression(), X_training=X[:6], y_training=y[:6])
    assert learner.query_strategy is uncertainty_sampling
    idx, _ = learner.query(X[6:], n_instances=3)  # modAL's examples: 2-D pools
    assert len(idx) == 3
    assert isinstance(default_query_strategy(tiny_clf()), EMADeviationQuery)
    assert isinstance(
        default_query_strategy(make_pipeline(StandardScaler(), tiny_clf())), EMADeviationQuery
    )
    assert default_query_strategy(make_pipeline(LogisticRegression())) is uncertainty_sampling


def test_on_transformed_with_a_pipeline_and_data_frames():
    X, y = _tabular(40)
    Xd, yd = pd.DataFrame(X, columns=list("abcd")), pd.Series(y)
    learner = ActiveLearner(
        make_pipeline(StandardScaler(), LogisticRegression()),
        query_strategy=uncertainty_batch_sampling,
        X_training=Xd[:6],
        y_training=yd[:6],
        on_transformed=True,
    )
    Xt = learner.transform_without_estimating(Xd[6:])
    np.testing.assert_allclose(Xt, learner.estimator[:-1].transform(Xd[6:]))
    idx, rows = learner.query(Xd[6:], n_instances=3)
    assert isinstance(rows, pd.DataFrame) and len(rows) == 3
    learner.teach(rows, yd[6:].iloc[idx])
    assert len(learner.X_training) == 9


# ------------------------------------------------------------ sklearn protocol
def test_repr_get_params_and_clone(tiny_clf, easy_data):
    X, y = easy_data(8, 2)
    learner = ActiveLearner(tiny_clf(max_epochs=1), X_training=X[:4], y_training=y[:4])
    text = repr(learner)
    assert text.startswith("ActiveLearner(") and "<ndarray of shape (4, 1, 16, 16, 16)>" in text
    assert "CryoNetClassifier(<fitted>)" in text and len(text) < 400
    assert "<pre>" in learner._repr_html_()
    params = learner.get_params(deep=False)
    assert params["bootstrap_init"] is False and params["X_training"] is learner.X_training
    copy = clone(learner)
    assert copy is not learner and copy.estimator is not learner.estimator
    assert not getattr(copy.estimator, "initialized_", False)  # a clone trains nothing
    np.testing.assert_array_equal(copy.X_training, learner.X_training)
    assert isinstance(copy.query_strategy, EMADeviationQuery)
    copy.teach(X[4:6], y[4:6])  # refits on the whole labeled set
    assert copy.estimator.initialized_ and len(copy.y_training) == 6


def test_learner_is_a_classifier_for_sklearn(tiny_clf, easy_data):
    X, y = easy_data(8, 2)
    learner = ActiveLearner(
        tiny_clf(max_epochs=1, classes=[0, 1]), X_training=X[:4], y_training=y[:4]
    )
    assert is_classifier(learner)
    np.testing.assert_array_equal(learner.classes_, [0, 1])
    display = ConfusionMatrixDisplay.from_estimator(learner, X, y)
    assert display.confusion_matrix.sum() == 8
    unfitted = ActiveLearner(tiny_clf())
    with pytest.raises(AttributeError, match="not fitted"):
        unfitted.classes_
    assert not is_classifier(ActiveLearner(MockClassifier()))
