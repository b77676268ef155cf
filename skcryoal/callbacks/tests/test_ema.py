import pickle

import numpy as np
import pytest
import torch
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback

from skcryoal import CryoNetClassifier, ExponentialMovingAverage
from skcryoal.callbacks import ema_decay_at


class Flat(torch.nn.Module):
    """A linear classifier on flattened 16^3 volumes (no batch norm)."""

    def __init__(self, n_classes):
        super().__init__()
        self.fc = torch.nn.Linear(16**3, n_classes)

    def forward(self, x):
        return self.fc(x.flatten(1))


class Recorder(Callback):
    """Records T's and M's weights at the start and after every batch."""

    def initialize(self):
        self.task, self.mean = [], []
        return self

    def _snap(self, net):
        self.task.append(net.module_.fc.weight.detach().clone())
        self.mean.append(net.ema_module_.fc.weight.detach().clone())

    def on_train_begin(self, net, **kwargs):
        self._snap(net)

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self._snap(net)


def _fit(easy_data, **kwargs):
    X, y = easy_data(24, 2)
    rec = Recorder()
    clf = CryoNetClassifier(
        Flat,
        max_epochs=2,
        batch_size=8,
        random_state=0,
        callbacks=[("rec", rec)],
        optimizer=torch.optim.SGD,
        lr=0.1,
        **kwargs,
    )
    clf.fit(X, y)
    return clf, rec


@pytest.mark.parametrize("warmup", [True, False])
def test_ema_matches_hand_computation(easy_data, warmup):
    clf, rec = _fit(easy_data, ema_decay=0.6, callbacks__ema__warmup=warmup)
    assert len(rec.task) == 1 + 6  # 24 samples / batch 8 * 2 epochs
    expected = rec.mean[0]
    for t in range(1, len(rec.task)):
        a = min(0.6, 1 - 1 / t) if warmup else 0.6
        expected = a * expected + (1 - a) * rec.task[t]
        torch.testing.assert_close(rec.mean[t], expected)
    assert clf.callbacks_[[n for n, _ in clf.callbacks_].index("ema")][1].n_updates_ == 6


def test_decay_zero_makes_mean_equal_task(easy_data):
    clf, rec = _fit(easy_data, ema_decay=0.0)
    for t, m in zip(rec.task[1:], rec.mean[1:]):
        torch.testing.assert_close(t, m)
    X, _ = easy_data(5, 2, random_state=1)
    np.testing.assert_allclose(clf.predict_proba(X), clf.predict_proba(X, model="mean"))


def test_decay_zero_copies_batchnorm_buffers(tiny_clf, easy_data):
    X, y = easy_data(20, 2)
    clf = tiny_clf(ema_decay=0.0).fit(X, y)
    for (n, b_t), (_, b_m) in zip(clf.module_.named_buffers(), clf.ema_module_.named_buffers()):
        torch.testing.assert_close(b_t, b_m, msg=n)
    np.testing.assert_allclose(clf.predict_proba(X), clf.predict_proba(X, model="mean"), rtol=1e-5)


def test_warmup_schedule():
    assert ema_decay_at(1, 0.999) == 0.0
    assert ema_decay_at(2, 0.999) == 0.5
    assert ema_decay_at(10_000, 0.999) == 0.999
    assert ema_decay_at(1, 0.999, warmup=False) == 0.999


def test_mean_model_gets_no_gradient_and_is_not_optimized(tiny_clf, easy_data):
    X, y = easy_data(20, 2)
    clf = tiny_clf().fit(X, y)
    assert all(not p.requires_grad and p.grad is None for p in clf.ema_module_.parameters())
    optimized = {id(p) for g in clf.optimizer_.param_groups for p in g["params"]}
    assert optimized == {id(p) for p in clf.module_.parameters()}
    assert not optimized & {id(p) for p in clf.ema_module_.parameters()}


def test_mean_model_differs_from_task_model_after_training(tiny_clf, easy_data):
    X, y = easy_data(40, 2)
    clf = tiny_clf(max_epochs=4).fit(X, y)
    assert not np.allclose(clf.predict_proba(X), clf.predict_proba(X, model="mean"))


def test_standalone_on_plain_skorch_net():
    ema = ExponentialMovingAverage(decay=0.0)
    net = NeuralNetClassifier(
        torch.nn.Linear(4, 2),
        criterion=torch.nn.CrossEntropyLoss,
        train_split=None,
        max_epochs=2,
        batch_size=8,
        verbose=0,
        callbacks=[ema],
    )
    X, y = torch.randn(16, 4), torch.arange(16) % 2
    net.fit(X, y)
    assert ema.n_updates_ == 4
    torch.testing.assert_close(ema.averaged_module_.weight, net.module_.weight)
    assert not ema.averaged_module_.weight.requires_grad
    clone = pickle.loads(pickle.dumps(ema))
    torch.testing.assert_close(clone.averaged_module_.weight, net.module_.weight)


def test_cold_fit_resets_counter_and_warm_start_continues(tiny_clf, easy_data):
    X, y = easy_data(16, 2)
    clf = tiny_clf(max_epochs=1, batch_size=8).fit(X, y)
    ema = dict(clf.callbacks_)["ema"]
    assert ema.n_updates_ == 2
    clf.fit(X, y)
    assert dict(clf.callbacks_)["ema"].n_updates_ == 2
    clf.partial_fit(X, y)
    assert dict(clf.callbacks_)["ema"].n_updates_ == 4


def test_bad_decay(tiny_clf, easy_data):
    with pytest.raises(ValueError, match="decay must be a float in"):
        ExponentialMovingAverage(decay=1.5).initialize()
    X, y = easy_data(8, 2)
    with pytest.raises(ValueError, match="ema_decay"):
        tiny_clf(ema_decay=-0.1).fit(X, y)
