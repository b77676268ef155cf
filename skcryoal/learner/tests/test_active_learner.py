import numpy as np
import pytest
import sklearn
from modAL.models import ActiveLearner as ModALActiveLearner
from sklearn.linear_model import LogisticRegression

from skcryoal import ActiveLearner, EMADeviationQuery, RandomQuery


def test_is_a_modal_learner_with_ema_default(tiny_clf):
    learner = ActiveLearner(tiny_clf())
    assert isinstance(learner, ModALActiveLearner)
    assert isinstance(learner.query_strategy, EMADeviationQuery)


def test_fit_and_teach_work_on_current_sklearn(tiny_clf, easy_data):
    X, y = easy_data(30, 2)
    learner = ActiveLearner(tiny_clf(), query_strategy=RandomQuery(random_state=0))
    learner.fit(X[:6], y[:6])
    learner.teach(X[6:10], y[6:10])
    assert learner.X_training.shape == (10, 1, 16, 16, 16)
    np.testing.assert_array_equal(learner.y_training, y[:10])
    learner.teach(X[10:12], y[10:12], only_new=True)
    assert len(learner.y_training) == 12
    assert learner.score(X, y) >= 0


def test_teach_rejects_mismatched_volumes_and_non_finite(tiny_clf, easy_data):
    X, y = easy_data(10, 2)
    learner = ActiveLearner(tiny_clf(), X_training=X[:4], y_training=y[:4])
    with pytest.raises(ValueError, match="per sample but the labeled set"):
        learner.teach(np.zeros((2, 1, 20, 20, 20), np.float32), y[:2])
    bad = X[4:6].copy()
    bad[0, 0, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="[Ii]nf"):
        learner.teach(bad, y[4:6])
    assert len(learner.y_training) == 4  # nothing was added


def test_seeded_bootstrap_is_reproducible():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.arange(40) % 2
    coefs = []
    for _ in range(2):
        learner = ActiveLearner(LogisticRegression(), query_strategy=RandomQuery(0), random_state=3)
        learner.fit(X, y, bootstrap=True)
        coefs.append(learner.estimator.coef_.copy())
    np.testing.assert_array_equal(*coefs)


def test_tabular_estimators_still_work():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 4)), np.arange(30) % 3
    from modAL.uncertainty import entropy_sampling

    learner = ActiveLearner(
        LogisticRegression(), query_strategy=entropy_sampling, X_training=X[:6], y_training=y[:6]
    )
    idx, _ = learner.query(X[6:], n_instances=3)
    learner.teach(X[6:][idx], y[6:][idx])
    assert len(learner.y_training) == 9


def test_bad_constructor_arguments(tiny_clf):
    with pytest.raises(TypeError, match="query_strategy must be callable"):
        ActiveLearner(tiny_clf(), query_strategy="ema")
    with pytest.raises(TypeError, match="force_all_finite must be a bool"):
        ActiveLearner(tiny_clf(), force_all_finite=1)


def test_sklearn_version_is_one_modal_cannot_fit_on():
    # documents why the subclass exists; informative if modAL ever fixes it
    major, minor = (int(v) for v in sklearn.__version__.split(".")[:2])
    if (major, minor) < (1, 8):
        pytest.skip("modAL's own fit works before scikit-learn 1.8")
    rng = np.random.default_rng(0)
    learner = ModALActiveLearner(LogisticRegression())
    # fails the day modAL's fit works again: then the overrides can go
    with pytest.raises(TypeError, match="force_all_finite"):
        learner.fit(rng.normal(size=(6, 2)), np.arange(6) % 2)


def test_teach_passes_x_unlabeled_to_fit_for_the_semi_supervised_variant(
    tiny_clf, easy_data, monkeypatch
):
    X, y = easy_data(24, 2)
    clf = tiny_clf()
    seen = []
    fit = type(clf).fit

    def spy(self, X, y=None, **fit_params):
        seen.append(
            None if fit_params.get("X_unlabeled") is None else len(fit_params["X_unlabeled"])
        )
        return fit(self, X, y, **fit_params)

    monkeypatch.setattr(type(clf), "fit", spy)
    learner = ActiveLearner(
        clf,
        query_strategy=RandomQuery(random_state=0),
        X_training=X[:6],
        y_training=y[:6],
        X_unlabeled=X[12:],
    )
    learner.teach(X[6:8], y[6:8], X_unlabeled=X[14:])
    learner.teach(X[8:10], y[8:10])
    assert seen == [12, 10, None]
    assert len(learner.y_training) == 10


def test_query_returns_volumes_of_a_lazy_pool_read_from_files(tiny_clf, easy_data, tmp_path):
    from skcryoal.io import LazySubtomograms, read_subtomograms, write_subtomograms

    X, y = easy_data(20, 2)
    # Separate files per volume: read lazily, not as one memmap.
    table = write_subtomograms(tmp_path, X, y, voxel_size=10.0)
    X_lazy, _ = read_subtomograms(table, mmap=True)
    assert isinstance(X_lazy, LazySubtomograms)
    learner = ActiveLearner(
        tiny_clf(), query_strategy=EMADeviationQuery(), X_training=X[:6], y_training=y[:6]
    )
    idx, X_query = learner.query(X_lazy, n_instances=3)
    assert len(set(idx.tolist())) == 3
    np.testing.assert_array_equal(np.asarray(X_query), X[idx])
    learner.teach(X_query, y[idx])
    assert len(learner.y_training) == 9
