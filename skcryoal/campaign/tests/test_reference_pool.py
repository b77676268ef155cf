"""A pool referenced, not copied (``copy_pool=False``): recorded by fingerprint, checked on open."""

import numpy as np
import pytest

from skcryoal.campaign import Campaign
from skcryoal.io import write_subtomograms

from ._helpers import tiny_clf


def create(tmp_path, X, name="c", **kwargs):
    return Campaign.create(
        tmp_path / name, X, [0, 1, 2], estimator=tiny_clf(), copy_pool=False, **kwargs
    )


def test_the_pool_is_referenced_and_must_be_given_again(tmp_path, pool):
    X, y = pool
    c = create(tmp_path, X, y=[int(v) if i < 4 else None for i, v in enumerate(y)])
    assert not (c.path / "pool.npy").exists()
    assert c._volumes is X  # neither a copy nor a view
    meta = c._meta["pool"]
    assert meta["copied"] is False and meta["shape"] == [30, 1, 16, 16, 16]
    assert meta["dtype"] == "<f4" and len(meta["fingerprint"]) == 64
    assert c.particles()["skcryoal_file"].isna().all()  # no file holds these volumes
    np.testing.assert_array_equal(c.volume(4), X[4, 0])
    c.label([10, 11], [int(y[10]), int(y[11])])
    with pytest.raises(ValueError, match=r"not copied into its folder.*pool=X"):
        Campaign.open(c.path)
    reopened = Campaign.open(c.path, pool=X)
    assert reopened._volumes is X and len(reopened.labels()) == 6
    # the same values as a memory map, or without the channel axis, are the same pool
    np.save(tmp_path / "pool.npy", X)
    mapped = np.load(tmp_path / "pool.npy", mmap_mode="r")
    assert Campaign.open(c.path, pool=mapped)._volumes is mapped
    np.testing.assert_array_equal(Campaign.open(c.path, pool=X[:, 0]).volume(7), X[7, 0])


def test_a_memory_mapped_pool_is_never_read_whole(tmp_path, pool):
    X, _ = pool
    np.save(tmp_path / "pool.npy", X[:, 0])  # (n, D, H, W) on disk
    mapped = np.load(tmp_path / "pool.npy", mmap_mode="r")
    c = create(tmp_path, mapped)
    assert c._volumes.shape == (30, 1, 16, 16, 16)
    np.testing.assert_array_equal(c.volume(29), X[29, 0])


def other_order(X):
    return X[::-1].copy()


def other_values(X):
    X = X.copy()
    X[0, 0, 0, 0, 0] += 1.0  # the first volume is always in the fingerprint
    return X


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda X: X[:29], r"shape \(29, 1, 16, 16, 16\) and dtype float32, but this campaign"),
        (lambda X: X.astype(np.float64), "dtype float64, but this campaign's pool"),
        (other_order, "other volumes"),
        (other_values, "other volumes"),
    ],
)
def test_another_pool_is_refused(tmp_path, pool, change, match):
    X, _ = pool
    c = create(tmp_path, X)
    with pytest.raises(ValueError, match=match):
        Campaign.open(c.path, pool=change(X))


def test_a_path_is_not_the_referenced_array(tmp_path, pool):
    X, _ = pool
    c = create(tmp_path, X)
    np.save(tmp_path / "copy.npy", X)
    with pytest.raises(ValueError, match="pass that array"):
        Campaign.open(c.path, pool=tmp_path / "copy.npy")


def test_a_table_pool_is_read_in_place_either_way(tmp_path, pool):
    X, _ = pool
    table = write_subtomograms(tmp_path / "data", X[:5])
    c = Campaign.create(tmp_path / "c", table, ["a", "b"], copy_pool=False)
    assert c._meta["pool"]["kind"] == "path" and "copied" not in c._meta["pool"]
    np.testing.assert_array_equal(Campaign.open(c.path).volume(4), X[4, 0])
    with pytest.raises(TypeError, match="copy_pool must be True or False"):
        Campaign.create(tmp_path / "d", X, [0, 1], copy_pool="no")
    assert not (tmp_path / "d").exists()
