import numpy as np
import pytest

from skcryoal import RandomQuery


def test_unique_in_range_and_reproducible():
    pool = np.zeros((30, 16, 16, 16), np.float32)
    idx = RandomQuery(random_state=0)(None, pool, n_instances=10)
    assert len(set(idx)) == 10 and idx.min() >= 0 and idx.max() < 30
    np.testing.assert_array_equal(idx, RandomQuery(random_state=0)(None, pool, 10))
    rs = np.random.RandomState(0)
    strategy = RandomQuery(random_state=rs)
    assert not np.array_equal(strategy(None, pool, 10), strategy(None, pool, 10))


def test_whole_pool_and_errors():
    pool = np.zeros((5, 1, 16, 16, 16), np.float32)
    assert sorted(RandomQuery(random_state=1)(None, pool, 5)) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="larger than the pool"):
        RandomQuery()(None, pool, 6)
    with pytest.raises(ValueError, match="at least 1"):
        RandomQuery()(None, pool, 0)
    with pytest.raises(ValueError, match="X_pool is empty"):
        RandomQuery()(None, pool[:0], 1)
