import pickle

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from torch.nn import functional as F

from skcryoal import CryoNetClassifier, EMARegularizedLoss


def test_fit_predict_score_string_labels(tiny_clf, easy_data):
    X, y = easy_data(60, 3)
    names = np.array(["ribosome", "proteasome", "tric"])[y]
    clf = tiny_clf(max_epochs=20).fit(X[:45], names[:45])
    assert list(clf.classes_) == ["proteasome", "ribosome", "tric"]
    pred = clf.predict(X[45:])
    assert set(pred) <= set(names)
    assert clf.score(X[45:], names[45:]) == accuracy_score(names[45:], pred)
    assert clf.score(X[45:], names[45:]) > 0.6
    proba = clf.predict_proba(X[45:])
    assert proba.shape == (15, 3)
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], pred)


def test_four_dimensional_input_gets_channel_axis(tiny_clf, easy_data):
    X, y = easy_data(20, 2)
    clf = tiny_clf().fit(X[:, 0], y)
    np.testing.assert_allclose(clf.predict_proba(X[:, 0]), clf.predict_proba(X))
    assert clf.volume_shape_ == (16, 16, 16)


def test_classes_param_sizes_output_layer_when_labels_lack_classes(tiny_clf, easy_data):
    X, y = easy_data(20, 2)
    clf = tiny_clf(classes=["a", "b", "c", "d"]).fit(X, np.array(["a", "c"])[y])
    assert clf.module_.fc.out_features == 4
    assert clf.predict_proba(X).shape == (20, 4)
    assert list(clf.classes_) == ["a", "b", "c", "d"]


def test_n_classes_from_labels(tiny_clf, easy_data):
    X, y = easy_data(30, 3)
    clf = tiny_clf().fit(X, y + 10)
    assert clf.module_.fc.out_features == 3
    assert set(clf.predict(X)) <= {10, 11, 12}


def test_predict_proba_mean_model_and_bad_model_name(tiny_clf, easy_data):
    X, y = easy_data(20, 2)
    clf = tiny_clf().fit(X, y)
    proba_mean = clf.predict_proba(X, model="mean")
    np.testing.assert_allclose(proba_mean.sum(1), 1, rtol=1e-5)
    with torch.no_grad():
        clf.ema_module_.eval()
        expected = torch.softmax(clf.ema_module_(torch.from_numpy(X)), 1).numpy()
    np.testing.assert_allclose(proba_mean, expected, rtol=1e-4, atol=1e-6)
    assert clf.predict(X, model="mean").shape == (20,)
    with pytest.raises(ValueError, match="model must be 'task' or 'mean'"):
        clf.predict_proba(X, model="teacher")


def test_regularizer_in_training_loss_equals_hand_computation(tiny_clf, easy_data):
    X, y = easy_data(8, 2)
    clf = tiny_clf(reg_lambda=0.7).fit(X, y)
    clf._set_training(False)
    x = torch.from_numpy(X)
    with torch.no_grad():
        task = clf.module_(x)
        loss = clf.get_loss(task, torch.from_numpy(y), X=x)
        mean = clf.ema_module_(x)
    expected = F.cross_entropy(task, torch.from_numpy(y)) + 0.7 * ((task - mean) ** 2).mean()
    torch.testing.assert_close(loss, expected)
    assert isinstance(clf.criterion_, EMARegularizedLoss) and clf.criterion_.reg_lambda == 0.7


def test_reg_lambda_zero_is_plain_training(tiny_clf, easy_data):
    X, y = easy_data(8, 2)
    clf = tiny_clf(reg_lambda=0).fit(X, y)
    x = torch.from_numpy(X)
    with torch.no_grad():
        task = clf.module_(x)
        loss = clf.get_loss(task, torch.from_numpy(y), X=x)
    torch.testing.assert_close(loss, F.cross_entropy(task, torch.from_numpy(y)))


def test_semi_supervised_uses_unlabeled_batches(tiny_clf, easy_data):
    X, y = easy_data(40, 2)
    sup = tiny_clf(reg_lambda=1.0).fit(X[:10], y[:10])
    semi = tiny_clf(reg_lambda=1.0).fit(X[:10], y[:10], X_unlabeled=X[10:])
    assert not np.allclose(sup.predict_proba(X), semi.predict_proba(X))
    again = tiny_clf(reg_lambda=1.0).fit(X[:10], y[:10], X_unlabeled=X[10:])
    np.testing.assert_array_equal(semi.predict_proba(X), again.predict_proba(X))
    assert semi._unlabeled is None  # nothing kept after fit
    with pytest.raises(ValueError, match="X_unlabeled holds volumes of shape"):
        tiny_clf().fit(X[:10], y[:10], X_unlabeled=np.zeros((4, 1, 20, 20, 20), np.float32))


def test_semi_supervised_from_memmap(tiny_clf, easy_data, tmp_path):
    X, y = easy_data(30, 2)
    mm = np.lib.format.open_memmap(
        tmp_path / "u.npy", mode="w+", dtype=np.float32, shape=X[10:].shape
    )
    mm[:] = X[10:]
    mm.flush()
    pool = np.load(tmp_path / "u.npy", mmap_mode="r")
    a = tiny_clf().fit(X[:10], y[:10], X_unlabeled=pool)
    b = tiny_clf().fit(X[:10], y[:10], X_unlabeled=X[10:])
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_same_random_state_same_model_and_global_rng_untouched(tiny_clf, easy_data):
    X, y = easy_data(20, 2)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = tiny_clf(random_state=7).fit(X, y)
    assert torch.equal(before, torch.get_rng_state())
    b = tiny_clf(random_state=7).fit(X, y)
    c = tiny_clf(random_state=8).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(
        a.predict_proba(X, model="mean"), b.predict_proba(X, model="mean")
    )
    assert not np.allclose(a.predict_proba(X), c.predict_proba(X))


def test_cold_fit_reinitializes_both_models(tiny_clf, easy_data):
    X, y = easy_data(20, 2)
    clf = tiny_clf(random_state=3).fit(X, y)
    first = clf.predict_proba(X, model="mean")
    clf.fit(X, y)  # same seed, fresh start: identical, not continued
    np.testing.assert_array_equal(first, clf.predict_proba(X, model="mean"))
    fresh = tiny_clf(random_state=3).fit(X, y)
    np.testing.assert_array_equal(fresh.predict_proba(X), clf.predict_proba(X))


def test_module_instance_is_reset_at_each_fit(easy_data):
    from skcryoal import ResNet3D

    X, y = easy_data(20, 2)
    clf = CryoNetClassifier(ResNet3D(2, width=4), max_epochs=2, random_state=0).fit(X, y)
    p1 = clf.predict_proba(X)
    clf.fit(X, y)
    np.testing.assert_array_equal(p1, clf.predict_proba(X))


def test_sklearn_params_clone_and_set_params(tiny_clf):
    clf = tiny_clf(reg_lambda=0.1, ema_decay=0.9)
    params = clf.get_params()
    assert params["reg_lambda"] == 0.1 and params["ema_decay"] == 0.9
    assert params["module__width"] == 4 and params["random_state"] == 0
    c = clone(clf)
    assert c.get_params()["reg_lambda"] == 0.1 and c is not clf
    c.set_params(reg_lambda=0.5, module__width=2)
    assert c.reg_lambda == 0.5 and c.module__width == 2


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_pickle_round_trip_keeps_both_models(tiny_clf, easy_data, tmp_path, dump):
    X, y = easy_data(20, 2)
    clf = tiny_clf().fit(X, np.array(["a", "b"])[y])
    if dump == "pickle":
        restored = pickle.loads(pickle.dumps(clf))
    else:
        joblib.dump(clf, tmp_path / "clf.joblib")
        restored = joblib.load(tmp_path / "clf.joblib")
    for model in ("task", "mean"):
        np.testing.assert_array_equal(
            clf.predict_proba(X, model=model), restored.predict_proba(X, model=model)
        )
    np.testing.assert_array_equal(clf.predict(X), restored.predict(X))
    restored.fit(X, np.array(["a", "b"])[y])  # still trainable


def test_pipeline_and_grid_search_over_reg_lambda(tiny_clf, easy_data):
    X, y = easy_data(36, 2)
    pipe = make_pipeline(FunctionTransformer(lambda v: v * 2.0), tiny_clf(max_epochs=2))
    pipe.fit(X, y)
    assert pipe.predict(X).shape == (36,)
    grid = GridSearchCV(
        tiny_clf(max_epochs=2), {"reg_lambda": [0.0, 0.1]}, cv=2, scoring="f1_macro"
    )
    grid.fit(X, y)
    assert grid.best_params_["reg_lambda"] in (0.0, 0.1)
    assert 0 <= f1_score(y, grid.predict(X), average="macro") <= 1


@pytest.mark.parametrize(
    "X, match",
    [
        (np.zeros((4, 16, 16), np.float32), r"must have shape \(n_samples, 1, D, H, W\)"),
        (np.zeros((4, 2, 16, 16, 16), np.float32), "1 channel"),
        (np.zeros((0, 1, 16, 16, 16), np.float32), "is empty"),
        (np.zeros((4, 1, 8, 16, 16), np.float32), "at least 16 voxels"),
        (np.zeros((4, 1, 16, 16, 16), complex), "real numbers"),
        (np.zeros((4, 1, 16, 16, 16), bool), "real numbers"),
    ],
)
def test_bad_training_volumes(tiny_clf, X, match):
    with pytest.raises(ValueError, match=match):
        tiny_clf().fit(X, np.arange(len(X)) % 2)


def test_non_finite_values_name_the_rows(tiny_clf, easy_data):
    X, y = easy_data(10, 2)
    X[3, 0, 1, 1, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinite values in row\(s\) 3"):
        tiny_clf().fit(X, y)
    X[3, 0, 1, 1, 1] = 0
    clf = tiny_clf().fit(X, y)
    X[7, 0, 2, 2, 2] = np.inf
    with pytest.raises(ValueError, match=r"row\(s\) 7"):
        clf.predict(X)


def test_bad_labels(tiny_clf, easy_data):
    X, y = easy_data(10, 2)
    with pytest.raises(ValueError, match="has 9 labels but X has 10"):
        tiny_clf().fit(X, y[:9])
    with pytest.raises(ValueError, match="single class"):
        tiny_clf().fit(X, np.zeros(10, int))
    with pytest.raises(ValueError, match="missing labels"):
        tiny_clf().fit(X, np.array([0.0, np.nan] * 5))
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        tiny_clf().fit(X, np.linspace(0, 1, 10))
    with pytest.raises(ValueError, match="not in classes_"):
        tiny_clf(classes=[0, 1]).fit(X, y + 1)
    with pytest.raises(ValueError, match="must not repeat"):
        tiny_clf(classes=[0, 1, 1]).fit(X, y)
    with pytest.raises(ValueError, match="module__n_classes=5 does not match"):
        tiny_clf(module__n_classes=5).fit(X, y)


def test_other_volume_size_at_predict(tiny_clf, easy_data):
    X, y = easy_data(10, 2)
    clf = tiny_clf().fit(X, y)
    with pytest.raises(ValueError, match=r"fitted on volumes of shape \(16, 16, 16\)"):
        clf.predict(np.zeros((2, 1, 20, 20, 20), np.float32))


def test_predict_before_fit_raises_not_fitted(tiny_clf, easy_data):
    X, _ = easy_data(4, 2)
    with pytest.raises(NotFittedError):
        tiny_clf().predict_proba(X)


def test_wrong_criterion_type(tiny_clf, easy_data):
    X, y = easy_data(8, 2)
    with pytest.raises(TypeError, match="criterion__task_loss"):
        tiny_clf(criterion=torch.nn.CrossEntropyLoss).fit(X, y)


def test_float64_and_integer_volumes_accepted(tiny_clf, easy_data):
    X, y = easy_data(12, 2)
    a = tiny_clf().fit(X.astype(np.float64), y)
    b = tiny_clf().fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    tiny_clf().fit((X * 100).astype(np.int16), y)


def test_validation_split_with_skorch_scoring(tiny_clf, easy_data):
    from skorch.dataset import ValidSplit

    X, y = easy_data(40, 2)
    clf = tiny_clf(train_split=ValidSplit(4, stratified=True)).fit(X, np.array(["a", "b"])[y])
    assert 0 <= clf.history[-1, "valid_acc"] <= 1
    assert np.isfinite(clf.history[-1, "valid_loss"])


@pytest.mark.parametrize("n", [17, 33])
def test_lone_last_batch_is_dropped_not_crashing(tiny_clf, easy_data, n):
    X, y = easy_data(n, 2)
    clf = tiny_clf(batch_size=16, max_epochs=2).fit(X, y)
    steps = dict(clf.callbacks_)["ema"].n_updates_
    assert steps == 2 * (n // 16)


def test_single_volume_rejected(tiny_clf, easy_data):
    X, y = easy_data(4, 2)
    with pytest.raises(ValueError, match="At least 2 labeled volumes"):
        tiny_clf(classes=[0, 1]).fit(X[:1], y[:1])


# ------------------------------------------- silent acceptance (issue: nothing silent)
@pytest.mark.parametrize(
    "params, match",
    [
        ({"reg_lambda": float("nan")}, "'reg_lambda' parameter .* Got nan"),
        ({"reg_lambda": float("inf")}, "'reg_lambda' parameter .* Got inf"),
        ({"max_epochs": -1}, "'max_epochs' parameter .* Got -1"),
        ({"max_epochs": 0}, "'max_epochs' parameter .* Got 0"),
        ({"batch_size": 0}, "'batch_size' parameter .* Got 0"),
        ({"lr": float("nan")}, "'lr' parameter .* Got nan"),
        ({"lr": 0.0}, "'lr' parameter .* Got 0.0"),
        ({"ema_decay": 1.5}, "'ema_decay' parameter .* Got 1.5"),
        ({"ema_decay": float("nan")}, "'ema_decay' parameter .* Got nan"),
    ],
)
def test_bad_hyperparameters_are_rejected_declaratively(tiny_clf, easy_data, params, match):
    X, y = easy_data(8, 2)
    with pytest.raises(ValueError, match=match):
        tiny_clf(**params).fit(X, y)


def test_labels_mixing_strings_and_numbers_are_rejected(tiny_clf, easy_data):
    X, _ = easy_data(8, 2)
    for y in ([0, "a"] * 4, np.array([0, "a"] * 4, dtype=object)):
        with pytest.raises(ValueError, match="mixes strings and numbers"):
            tiny_clf().fit(X, y)
    with pytest.raises(ValueError, match="classes mixes strings and numbers"):
        tiny_clf(classes=[0, "a"]).fit(X, ["a", "b"] * 4)


def test_values_beyond_float32_are_rejected_after_the_cast(tiny_clf, easy_data):
    X, y = easy_data(8, 2)
    X = X.astype(np.float64)
    X[5, 0, 0, 0, 0] = 1e39  # finite in float64, inf in float32
    with pytest.raises(ValueError, match=r"NaN or infinite values in row\(s\) 5 .*float32"):
        tiny_clf().fit(X, y)


def test_non_finite_logits_embeddings_and_loss_fail_clearly(tiny_clf, easy_data):
    X, y = easy_data(8, 2)
    huge = X.copy()
    huge[3] = 3e38  # finite, but overflows inside the network
    clf = tiny_clf().fit(X, y)
    with pytest.raises(ValueError, match=r"NaN or infinite logits for input row\(s\) 3"):
        clf.predict_proba(huge)
    with pytest.raises(ValueError, match=r"NaN or infinite logits"):
        clf.predict(huge)  # argmax of NaN logits would silently be class 0
    with pytest.raises(ValueError, match=r"NaN or infinite embeddings for input row\(s\) 3"):
        clf.embed(huge)
    with pytest.raises(FloatingPointError, match="Training diverged: the loss became nan"):
        tiny_clf().fit(huge, y)


def test_drop_last_false_with_a_lone_last_batch_is_our_error(tiny_clf, easy_data):
    X, y = easy_data(17, 2)
    clf = tiny_clf(batch_size=16, max_epochs=1, iterator_train__drop_last=False)
    with pytest.raises(ValueError, match=r"iterator_train__drop_last=False with 17 training volu"):
        clf.fit(X, y)
    tiny_clf(batch_size=16, max_epochs=1, iterator_train__drop_last=False).fit(X[:16], y[:16])
