"""min_steps: a fit on a few labels trains for enough optimizer steps."""

import pickle

import numpy as np
import pytest

from skcryoal import CryoNetClassifier

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _data(n):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 1, 16, 16, 16)).astype(np.float32), np.arange(n) % 2


def _clf(**kwargs):
    params = dict(module__width=4, max_epochs=2, batch_size=8, random_state=0)
    return CryoNetClassifier(**{**params, **kwargs})


@pytest.mark.parametrize(
    "n, min_steps, epochs",
    [
        (20, None, 2),  # unset: max_epochs whatever the size
        (20, 10, 4),  # 3 steps per epoch (20 = 8 + 8 + 4): ceil(10 / 3) = 4
        (20, 5, 2),  # max_epochs already gives 6 >= 5 steps
        (17, 10, 5),  # a lone last volume is dropped: 2 steps per epoch
        (6, 7, 7),  # one step per epoch
    ],
)
def test_epochs_follow_min_steps(n, min_steps, epochs):
    X, y = _data(n)
    clf = _clf(min_steps=min_steps).fit(X, y)
    assert clf.fit_epochs_ == epochs
    assert len(clf.history) == epochs
    assert clf.max_epochs == 2  # the parameter itself is never changed
    scheduler = dict(clf.callbacks_)["lr_scheduler"]
    assert scheduler.kwargs["T_max"] == epochs  # the cosine decay spans the whole fit


def test_the_mean_models_horizon_follows_the_longer_fit():
    X, y = _data(40)  # 5 steps per epoch
    short = _clf(max_epochs=4, ema_horizon=0.5).fit(X, y)  # 20 steps
    long = _clf(max_epochs=4, ema_horizon=0.5, min_steps=100).fit(X, y)  # 100 steps
    assert long.fit_epochs_ == 20
    assert dict(short.callbacks_)["ema"].decay_ == pytest.approx(1 - 1 / (0.5 * 20))
    assert dict(long.callbacks_)["ema"].decay_ == pytest.approx(1 - 1 / (0.5 * 100))


def test_semi_supervised_fits_count_labeled_batches():
    X, y = _data(30)
    y = y.copy()
    y[12:] = -1  # 12 labeled: 2 steps per epoch (8 + 4)
    clf = _clf(min_steps=6, unlabeled_method="mean-teacher").fit(X, y)
    assert clf.fit_epochs_ == 3


def test_min_steps_is_validated_and_old_pickles_get_none():
    X, y = _data(8)
    with pytest.raises(ValueError, match="min_steps"):
        _clf(min_steps=0).fit(X, y)
    clf = _clf().fit(X, y)
    state = clf.__getstate__()
    del state["min_steps"]
    old = CryoNetClassifier.__new__(CryoNetClassifier)
    old.__setstate__(pickle.loads(pickle.dumps(state)))
    assert old.min_steps is None
    np.testing.assert_array_equal(old.predict(X), clf.predict(X))
