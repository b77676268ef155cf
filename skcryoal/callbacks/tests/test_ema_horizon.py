"""The EMA horizon relative to the fit, and the authors' mean model."""

import numpy as np
import pytest
import torch

from skcryoal import CryoNetClassifier
from skcryoal.callbacks import ExponentialMovingAverage, ema_decay_at, resolve_ema_decay
from skcryoal.callbacks._ema import steps_per_epoch


def test_resolve_ema_decay_auto_is_a_fraction_of_the_fit():
    assert resolve_ema_decay("auto", 0.1, 1000) == pytest.approx(0.99)
    assert resolve_ema_decay("auto", 0.5, 1000) == pytest.approx(0.998)
    # a short fit keeps a time constant of 5 steps: the mean model never equals the task's
    assert resolve_ema_decay("auto", 0.1, 5) == pytest.approx(0.8)
    assert resolve_ema_decay("auto", 0.1, 5, min_steps=1) == 0.0
    assert resolve_ema_decay(0.999, 0.1, 10) == 0.999


@pytest.mark.parametrize(
    "decay, horizon, match",
    [("fast", 0.1, "decay"), (1.5, 0.1, "decay"), ("auto", 0.0, "horizon"), ("auto", 2, "horizon")],
)
def test_resolve_ema_decay_rejects_bad_values(decay, horizon, match):
    with pytest.raises(ValueError, match=match):
        resolve_ema_decay(decay, horizon, 100)


def test_steps_per_epoch():
    assert steps_per_epoch(100, 16) == 7
    assert steps_per_epoch(97, 16, drop_last=True) == 6
    assert steps_per_epoch(10, 16) == 1


def test_authors_warmup_keeps_the_random_start():
    assert ema_decay_at(1, 0.999, warmup="authors") == 0.5
    assert ema_decay_at(1, 0.999, warmup=True) == 0.0
    assert ema_decay_at(5000, 0.999, warmup="authors") == 0.999


def test_auto_decay_resolves_from_the_fit_length(tiny_clf, easy_data):
    X, y = easy_data(48, 2)
    clf = tiny_clf(ema_decay="auto", ema_horizon=0.25, max_epochs=4, batch_size=8).fit(X, y)
    ema = dict(clf.callbacks_)["ema"]
    n_steps = 4 * 6  # 48 volumes in batches of 8, 4 epochs
    assert ema.n_updates_ == n_steps
    assert ema.decay_ == pytest.approx(1 - 1 / (0.25 * n_steps))
    # a fit three times as long keeps the same ratio
    clf.set_params(max_epochs=12).fit(X, y)
    assert dict(clf.callbacks_)["ema"].decay_ == pytest.approx(1 - 1 / (0.25 * 3 * n_steps))


def test_numeric_decay_stays_exact(tiny_clf, easy_data):
    X, y = easy_data(32, 2)
    clf = tiny_clf(ema_decay=0.97).fit(X, y)
    assert dict(clf.callbacks_)["ema"].decay_ == 0.97


def test_step_offset_continues_the_warmup():
    net_module = torch.nn.Linear(3, 2)
    ema = ExponentialMovingAverage(decay=0.999, warmup="authors", step_offset=10, target="none")
    ema.initialize()

    class Net:
        module_ = net_module

    ema.update(Net())  # creates the average as a copy of the module
    before = ema.averaged_module_.weight.detach().clone()
    with torch.no_grad():
        net_module.weight += 1.0
    ema.update(Net())
    # second update of this fit is step 12 overall: a = 1 - 1/13, so the average
    # moves 1/13 of the way (without the offset, a = 1 - 1/3 would move it 1/3)
    assert ema.n_updates_ == 2
    torch.testing.assert_close(ema.averaged_module_.weight, before + 1.0 / 13)
    with pytest.raises(ValueError, match="step_offset"):
        ExponentialMovingAverage(step_offset=-1).initialize()
    with pytest.raises(ValueError, match="warmup"):
        ExponentialMovingAverage(warmup="paper").initialize()


def _bn_buffers(module):
    return [
        b.clone()
        for m in module.modules()
        if isinstance(m, torch.nn.BatchNorm3d)
        for b in (m.running_mean, m.running_var)
    ]


def test_authors_mode_mean_model(tiny_clf, easy_data):
    X, y = easy_data(40, 2)
    clf = tiny_clf(ema_mode="authors", reg_lambda=0.0, max_epochs=2, classes=[0, 1])
    clf.initialize()
    bn = [m for m in clf.ema_module_.modules() if isinstance(m, torch.nn.BatchNorm3d)]
    assert bn and all(m.momentum == 0.1 for m in bn)  # learns its own statistics
    clf.fit(X, y)
    ema = dict(clf.callbacks_)["ema"]
    assert ema.warmup == "authors" and ema.buffers is False
    # buffers are not averaged from the task model: they differ from it
    task_bn, mean_bn = _bn_buffers(clf.module_), _bn_buffers(clf.ema_module_)
    assert any(not torch.allclose(a, b) for a, b in zip(task_bn, mean_bn))
    # ...and they moved away from their initial values through its own passes
    fresh = CryoNetClassifier(module__width=4, classes=[0, 1], random_state=0).initialize()
    assert any(not torch.allclose(a, b) for a, b in zip(_bn_buffers(fresh.ema_module_), mean_bn))
    # the random start stays in the average: the mean model is not the task model
    assert clf.predict_proba(X, model="mean").shape == (40, 2)
    w_task = torch.cat([p.flatten() for p in clf.module_.parameters()])
    w_mean = torch.cat([p.flatten() for p in clf.ema_module_.parameters()])
    assert not torch.allclose(w_task, w_mean)


def test_default_mode_mean_model_equals_task_at_decay_zero(tiny_clf, easy_data):
    X, y = easy_data(32, 2)
    clf = tiny_clf(ema_decay=0.0).fit(X, y)
    np.testing.assert_allclose(
        clf.predict_proba(X, model="mean"), clf.predict_proba(X), rtol=1e-5, atol=1e-6
    )
