"""Semi-supervised fits: unlabeled rows of y (-1 / None), FixMatch and Mean Teacher."""

import pickle

import numpy as np
import pytest
import torch

from skcryoal.classifier._semi import is_unlabeled_marker, split_unlabeled, unlabeled_loss

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_markers():
    assert is_unlabeled_marker(np.array([0, -1, 2])).tolist() == [False, True, False]
    assert is_unlabeled_marker(np.array([0.0, -1.0])).tolist() == [False, True]
    assert is_unlabeled_marker(["a", None, "b"]).tolist() == [False, True, False]
    assert is_unlabeled_marker(np.array(["a", "-1"])).tolist() == [False, False]
    assert is_unlabeled_marker([True, False]).tolist() == [False, False]


def test_split_keeps_a_lazy_view_of_the_unlabeled_rows():
    X = np.arange(6 * 8, dtype=np.float32).reshape(6, 1, 2, 2, 2)
    X_l, y_l, X_u = split_unlabeled(X, np.array([3, -1, 4, -1, -1, 3]))
    assert y_l.tolist() == [3, 4, 3] and X_l.shape == (3, 1, 2, 2, 2)
    np.testing.assert_array_equal(X_l, X[[0, 2, 5]])
    np.testing.assert_array_equal(np.asarray(X_u), X[[1, 3, 4]])
    # nothing marked: inputs come back untouched
    y = np.array([0, 1, 0, 1, 0, 1])
    assert split_unlabeled(X, y)[1] is y


@pytest.mark.parametrize("method", ["consistency", "mean-teacher", "fixmatch"])
def test_minus_one_never_becomes_a_class(tiny_clf, easy_data, method):
    X, y = easy_data(48, 3)
    y = y.copy()
    y[12:] = -1
    clf = tiny_clf(max_epochs=2, unlabeled_method=method, augment=True).fit(X, y)
    assert clf.classes_.tolist() == [0, 1, 2]
    assert clf.predict_proba(X).shape == (48, 3)
    assert -1 not in set(clf.predict(X).tolist())
    if method != "consistency":
        used = [b["unlabeled_used"] for e in clf.history for b in e["batches"]]
        assert used and all(0.0 <= u <= 1.0 for u in used)


def test_none_marks_unlabeled_string_classes(tiny_clf, easy_data):
    X, y = easy_data(30, 2)
    names = np.array(["ribosome", "proteasome"], dtype=object)[y]
    names[10:] = None
    clf = tiny_clf(max_epochs=1, unlabeled_method="fixmatch").fit(X, names)
    assert clf.classes_.tolist() == ["proteasome", "ribosome"]


def test_semi_supervised_fit_is_seeded(tiny_clf, easy_data):
    X, y = easy_data(40, 2)
    y = y.copy()
    y[8:] = -1
    a = tiny_clf(max_epochs=2, unlabeled_method="fixmatch", pseudo_label_threshold=0.5)
    b = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.fit(X, y).predict_proba(X), b.fit(X, y).predict_proba(X))


def test_marker_errors(tiny_clf, easy_data):
    X, y = easy_data(12, 2)
    with pytest.raises(ValueError, match="marks all 12 rows as unlabeled"):
        tiny_clf().fit(X, np.full(12, -1))
    yy = y.copy()
    yy[5:] = -1
    with pytest.raises(ValueError, match="one way"):
        tiny_clf().fit(X, yy, X_unlabeled=X[:3])
    names = np.array(["a", "b"] * 6, dtype=object)
    names[3] = -1
    with pytest.raises(ValueError, match="mark them with None"):
        tiny_clf().fit(X, names)
    with pytest.raises(ValueError, match="classes must not contain -1"):
        tiny_clf(classes=[-1, 0, 1]).fit(X, y)
    with pytest.raises(ValueError, match="unlabeled_method"):
        tiny_clf(unlabeled_method="pseudo").fit(X, yy)


def test_fixmatch_loss_uses_only_confident_pseudo_labels():
    teacher = torch.tensor([[5.0, 0.0], [0.1, 0.0], [0.0, 8.0]])
    student = torch.tensor([[0.0, 0.0], [3.0, -3.0], [0.0, 0.0]])
    loss, used = unlabeled_loss("fixmatch", student, teacher, threshold=0.95)
    # rows 0 and 2 are confident (p = 0.993, 0.9997); row 1 is not
    assert used == pytest.approx(2 / 3)
    expected = (2 * np.log(2)) / 3  # CE of a uniform student on the two kept rows, / 3
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    none, used0 = unlabeled_loss("fixmatch", student, teacher, threshold=1.0)
    assert float(none) == 0.0 and used0 == 0.0


def test_mean_teacher_loss_is_the_squared_distance_of_posteriors():
    a = torch.tensor([[0.0, 0.0]])
    b = torch.tensor([[np.log(3.0), 0.0]])  # posteriors (0.75, 0.25) vs (0.5, 0.5)
    loss, used = unlabeled_loss("mean-teacher", a, b)
    assert float(loss) == pytest.approx(2 * 0.25**2) and used == 1.0
    assert float(unlabeled_loss("mean-teacher", b, b)[0]) == 0.0
    with pytest.raises(ValueError, match="method must be"):
        unlabeled_loss("other", a, b)


def test_old_pickles_get_the_new_parameters(tiny_clf, easy_data):
    X, y = easy_data(20, 2)
    clf = tiny_clf(max_epochs=1).fit(X, y)
    state = clf.__getstate__()
    for name in ("unlabeled_method", "unlabeled_ratio", "encoder", "freeze_encoder"):
        state.pop(name)
    old = type(clf).__new__(type(clf))
    old.__setstate__(state)
    assert old.get_params()["unlabeled_method"] == "consistency"
    np.testing.assert_array_equal(old.predict_proba(X), clf.predict_proba(X))


def test_inside_an_active_learner(tiny_clf, easy_data):
    from skcryoal import ActiveLearner
    from skcryoal.query import RandomQuery

    X, y = easy_data(48, 3)
    pool = np.arange(8, 48)
    learner = ActiveLearner(
        tiny_clf(max_epochs=1, unlabeled_method="fixmatch"),
        query_strategy=RandomQuery(random_state=0),
        X_training=X[:8], y_training=y[:8], X_unlabeled=X[pool],
    )  # fmt: skip
    idx, X_q = learner.query(X[pool], n_instances=4)
    pool_left = np.delete(pool, idx)
    learner.teach(X_q, y[pool[idx]], X_unlabeled=X[pool_left])  # the rest of the pool
    assert len(learner.y_training) == 12 and learner.estimator.classes_.tolist() == [0, 1, 2]
    used = [b["unlabeled_used"] for e in learner.estimator.history for b in e["batches"]]
    assert used


def test_unlabeled_rows_that_teach_nothing_are_reported(tiny_clf, easy_data):
    X, y = easy_data(24, 2)
    y = y.copy()
    y[8:] = -1
    with pytest.warns(UserWarning, match="16 unlabeled volumes are given but nothing is learned"):
        tiny_clf(max_epochs=1, reg_lambda=0.0).fit(X, y)
