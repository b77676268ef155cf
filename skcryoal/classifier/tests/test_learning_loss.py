import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from torch.nn import functional as F

from skcryoal.classifier._learning_loss import LearningLossClassifier
from skcryoal.losses._loss_prediction import loss_ranking_loss
from skcryoal.nn import ResNet3D
from skcryoal.nn._loss_prediction import LossPredictionResNet3D


def _clf(**kwargs):
    params = dict(module__width=4, module__lp_dim=8, max_epochs=3, batch_size=8, random_state=0)
    params.update(kwargs)
    return LearningLossClassifier(**params)


@pytest.fixture(scope="module")
def fitted():
    from conftest import make_easy_volumes

    X, y = make_easy_volumes(40, 3)
    clf = _clf(max_epochs=4).fit(X[:16], y[:16])
    return clf, X, y


def test_defaults_and_params():
    clf = LearningLossClassifier()
    assert clf.module is LossPredictionResNet3D
    params = clf.get_params()
    assert (params["loss_weight"], params["detach_after"], params["margin"]) == (1.0, 0.6, 1.0)
    assert params["reg_lambda"] == 0.03 and params["ema_decay"] == "auto"
    other = clone(_clf(loss_weight=0.5, detach_after=0.25, margin=2.0))
    assert (other.loss_weight, other.detach_after, other.margin) == (0.5, 0.25, 2.0)


def test_fit_predict_and_predicted_losses(fitted):
    clf, X, y = fitted
    assert isinstance(clf.module_, LossPredictionResNet3D)
    assert isinstance(clf.ema_module_, LossPredictionResNet3D)
    assert clf.predict_proba(X[16:]).shape == (24, 3)
    losses = clf.predict_loss(X[16:])
    assert losses.shape == (24,) and losses.dtype == np.float32 and np.isfinite(losses).all()
    clf.module_.eval()
    with torch.no_grad():
        expected = clf.module_(torch.from_numpy(X[16:]))[1].numpy()
    np.testing.assert_allclose(losses, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(clf.predict_loss(X[16:], batch_size=1), losses, rtol=1e-5, atol=1e-6)
    history = clf.history
    assert len(history[-1, "batches", :, "ranking_loss"]) == 2
    assert all(np.isfinite(history[:, "batches", :, "task_loss"][0]))


def test_mean_model_averages_the_whole_wrapper(fitted):
    clf, X, _ = fitted
    proba = clf.predict_proba(X[16:], model="mean")
    clf.ema_module_.eval()
    with torch.no_grad():
        logits, predicted = clf.ema_module_(torch.from_numpy(X[16:]))
    np.testing.assert_allclose(proba, torch.softmax(logits, 1).numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        clf.predict_loss(X[16:], model="mean"), predicted.numpy(), rtol=1e-5, atol=1e-6
    )
    assert not any(p.requires_grad for p in clf.ema_module_.loss_head.parameters())


def test_memmap_input(fitted, tmp_path):
    clf, X, _ = fitted
    path = tmp_path / "pool.npy"
    np.save(path, X[16:, 0])
    mm = np.load(path, mmap_mode="r")
    np.testing.assert_allclose(
        clf.predict_loss(mm, batch_size=5), clf.predict_loss(X[16:]), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize(
    "detach_after, expected",
    [(0.6, [False, False, False, True, True]), (0.0, [True] * 5), (1.0, [False] * 5)],
)
def test_features_detached_from_the_given_epoch(easy_data, detach_after, expected):
    X, y = easy_data(6, 2)
    clf = _clf(max_epochs=5, batch_size=6, detach_after=detach_after).fit(X, y)
    assert clf.history[:, "loss_head_detached"] == expected
    assert clf._detach_features is False
    if detach_after == 0.6:
        # the epoch count restarts with each training call
        clf.partial_fit(X, y)
        assert clf.history[5:, "loss_head_detached"] == expected


def _backbone_grads(clf, batch, detach, loss_weight):
    clf._detach_features = detach
    clf.loss_weight = loss_weight
    clf.module_.zero_grad()
    clf.train_step_single(batch)
    return [
        p.grad.clone()
        for n, p in clf.module_.named_parameters()
        if not n.startswith(("loss_head", "fc."))
    ]


def test_ranking_gradient_reaches_backbone_only_before_detaching(easy_data):
    X, y = easy_data(8, 2)
    clf = _clf(max_epochs=1, reg_lambda=0.0).fit(X, y)
    batch = (torch.from_numpy(X), torch.from_numpy(y))
    # loss_weight=0 isolates the classification gradient; the difference is the ranking term's
    for detach, reaches in [(False, True), (True, False)]:
        without = _backbone_grads(clf, batch, detach, loss_weight=0.0)
        with_rank = _backbone_grads(clf, batch, detach, loss_weight=1.0)
        diff = sum(float((a - b).abs().sum()) for a, b in zip(with_rank, without))
        assert (diff > 0) == reaches, (detach, diff)
    head_grad = sum(float(p.grad.abs().sum()) for p in clf.module_.loss_head.parameters())
    assert head_grad > 0


def test_loss_equals_hand_computation(fitted):
    clf, X, y = fitted
    clf._set_training(False)
    x, t = torch.from_numpy(X[:8]), torch.from_numpy(y[:8])
    with torch.no_grad():
        out = clf.module_(x)
        loss = clf.get_loss(out, t, X=x)
        mean_logits = clf.ema_module_(x)[0]
    logits, predicted = out
    ce = F.cross_entropy(logits, t, reduction="none")
    task = ce.mean() + 0.03 * ((logits - mean_logits) ** 2).mean()
    pairs = [(i, 7 - i) for i in range(4)]
    rank = np.mean(
        [
            max(0.0, -(1 if ce[i] > ce[j] else -1) * float(predicted[i] - predicted[j]) + 1.0)
            for i, j in pairs
        ]
    )
    assert float(loss) == pytest.approx(float(task) + rank, rel=1e-5)
    task_term, rank_term = clf.loss_terms(out, t, X=x)
    assert float(task_term) == pytest.approx(float(task), rel=1e-5)
    assert float(rank_term) == pytest.approx(rank, rel=1e-5)


def test_label_smoothing_task_loss_is_used_per_sample(easy_data):
    X, y = easy_data(8, 2)
    task_loss = torch.nn.CrossEntropyLoss(label_smoothing=0.2)
    clf = _clf(max_epochs=1, reg_lambda=0.0, criterion__task_loss=task_loss).fit(X, y)
    x, t = torch.from_numpy(X), torch.from_numpy(y)
    clf._set_training(False)
    with torch.no_grad():
        out = clf.module_(x)
        task, _ = clf.loss_terms(out, t, X=x)
    assert float(task) == pytest.approx(float(F.cross_entropy(out[0], t, label_smoothing=0.2)))
    assert clf.criterion_.task_loss.reduction == "mean"  # left as configured


def test_pickle_round_trip_keeps_predictions_and_predicted_losses(fitted):
    clf, X, _ = fitted
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X[16:]), clf.predict_proba(X[16:]))
    np.testing.assert_array_equal(loaded.predict_loss(X[16:]), clf.predict_loss(X[16:]))
    np.testing.assert_array_equal(
        loaded.predict_loss(X[16:], model="mean"), clf.predict_loss(X[16:], model="mean")
    )


def test_reproducible_with_random_state(easy_data):
    X, y = easy_data(8, 2)
    a = _clf(max_epochs=2).fit(X, y).predict_loss(X)
    b = _clf(max_epochs=2).fit(X, y).predict_loss(X)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"loss_weight": -1.0}, "loss_weight must be a non-negative float; got -1.0"),
        ({"margin": "1"}, "margin must be a non-negative float; got '1'"),
        ({"detach_after": 1.5}, r"detach_after must be a float in \[0, 1\]; got 1.5"),
    ],
)
def test_bad_hyperparameters(easy_data, kwargs, match):
    X, y = easy_data(6, 2)
    with pytest.raises(ValueError, match=match):
        _clf(**kwargs).fit(X, y)


def test_module_without_loss_head_and_bad_task_loss(easy_data):
    X, y = easy_data(6, 2)
    with pytest.raises(TypeError, match="such as LossPredictionResNet3D; got ResNet3D"):
        LearningLossClassifier(ResNet3D, module__width=4, max_epochs=1).fit(X, y)

    class SumLoss(torch.nn.Module):
        def forward(self, logits, target):
            return logits.sum()

    with pytest.raises(TypeError, match="criterion__task_loss must be a torch loss with a"):
        _clf(criterion__task_loss=SumLoss()).fit(X, y)


def test_not_fitted(easy_data):
    X, _ = easy_data(4, 2)
    with pytest.raises(NotFittedError, match="LearningLossClassifier is not fitted"):
        _clf().predict_loss(X)


def test_unlabeled_rows_enter_the_regularizer_only(fitted):
    clf, X, y = fitted
    clf._set_training(False)
    x, t = torch.from_numpy(X[:12]), torch.from_numpy(y[:6])  # rows 6..11 unlabeled
    with torch.no_grad():
        out = clf.module_(x)
        task, rank = clf.loss_terms(out, t, X=x)
        mean_logits = clf.ema_module_(x)[0]
    ce = F.cross_entropy(out[0][:6], t, reduction="none")
    expected_task = ce.mean() + 0.03 * ((out[0] - mean_logits) ** 2).mean()
    assert float(task) == pytest.approx(float(expected_task), rel=1e-5)
    assert float(rank) == pytest.approx(float(loss_ranking_loss(out[1][:6], ce)), rel=1e-5)
    semi = _clf(max_epochs=1, batch_size=6).fit(X[:12], y[:12], X_unlabeled=X[12:])
    assert np.isfinite(semi.history[-1, "train_loss"])
