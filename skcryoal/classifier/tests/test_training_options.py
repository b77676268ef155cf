"""Wedge-preserving augmentation and predicting with the mean model."""

import numpy as np
import pytest
import torch

from skcryoal.classifier import augment_batch
from skcryoal.datasets._imaging import missing_wedge_mask


def _wedged_volumes(n, size=16, seed=0):
    rng = np.random.default_rng(seed)
    mask = missing_wedge_mask(size)
    X = np.fft.ifftn(
        np.fft.fftn(rng.normal(size=(n, size, size, size)), axes=(1, 2, 3)) * mask, axes=(1, 2, 3)
    ).real
    return torch.from_numpy(X[:, None].astype(np.float32)), mask


def test_augmentation_keeps_the_missing_wedge():
    X, mask = _wedged_volumes(8)
    torch.manual_seed(0)
    out = augment_batch(X, max_shift=2)
    assert out.shape == X.shape and not torch.equal(out, X)
    power = np.abs(np.fft.fftn(out[:, 0].numpy().astype(np.float64), axes=(1, 2, 3))) ** 2
    missing = ~mask.astype(bool)
    assert missing.any()
    # no power enters the wedge; a 90-degree rotation about z would put some there
    assert power[:, missing].max() < 1e-6 * power.max()
    rotated = np.rot90(X[:, 0].numpy(), axes=(2, 3))
    power_rot = np.abs(np.fft.fftn(rotated.astype(np.float64), axes=(1, 2, 3))) ** 2
    assert power_rot[:, missing].max() > 1e-3 * power_rot.max()


def test_augmentation_only_moves_voxels():
    X, _ = _wedged_volumes(4)
    torch.manual_seed(1)
    out = augment_batch(X, max_shift=3)
    for a, b in zip(X, out):
        np.testing.assert_array_equal(np.sort(a.numpy().ravel()), np.sort(b.numpy().ravel()))
    torch.manual_seed(1)
    np.testing.assert_array_equal(augment_batch(X, max_shift=3).numpy(), out.numpy())


def test_augmented_fit_is_seeded_and_differs(tiny_clf, easy_data):
    X, y = easy_data(40, 2)
    a = tiny_clf(augment=True).fit(X, y).predict_proba(X)
    b = tiny_clf(augment=True).fit(X, y).predict_proba(X)
    c = tiny_clf(augment=False).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_predict_with_mean(tiny_clf, easy_data):
    X, y = easy_data(40, 2)
    clf = tiny_clf(ema_decay=0.9).fit(X, y)
    mean = clf.predict_proba(X, model="mean")
    assert not np.allclose(mean, clf.predict_proba(X))
    clf.set_params(predict_with="mean")
    np.testing.assert_array_equal(clf.predict_proba(X), mean)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[mean.argmax(1)])
    np.testing.assert_array_equal(clf.predict_proba(X, model="task"), clf.predict_proba(X, "task"))


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(predict_with="average"), "predict_with"),
        (dict(ema_mode="paper"), "ema_mode"),
        (dict(ema_decay="slow"), "ema_decay"),
        (dict(ema_horizon=0.0), "ema_horizon"),
        (dict(augment_shift=-1), "augment_shift"),
    ],
)
def test_bad_options_are_named(tiny_clf, easy_data, params, match):
    X, y = easy_data(16, 2)
    with pytest.raises(ValueError, match=match):
        tiny_clf(**params).fit(X, y)


def test_augmentation_turns_but_never_mirrors():
    X, _ = _wedged_volumes(16)
    torch.manual_seed(2)
    out = augment_batch(X, max_shift=0)
    proper = [(), (2, 3), (1, 3), (1, 2)]
    seen = set()
    for a, b in zip(X, out):
        match = [dims for dims in proper if torch.equal(torch.flip(a, dims) if dims else a, b)]
        assert match, "not a proper half turn"
        seen.add(match[0])
        # a single flip (a mirror image) is never produced
        assert not any(torch.equal(torch.flip(a, (d,)), b) for d in (1, 2, 3))
    assert len(seen) > 1
