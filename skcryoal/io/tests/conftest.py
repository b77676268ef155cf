import mrcfile
import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def volumes(rng):
    """Five 8x10x12 (z, y, x) float32 volumes of distinct random values."""
    return rng.normal(size=(5, 1, 8, 10, 12)).astype(np.float32)


def _write_mrc(path, data, voxel_size=10.0):
    """Write a volume (3D) or a volume stack (4D, space group 401)."""
    with mrcfile.new(path, overwrite=True) as mrc:
        mrc.set_data(np.asarray(data, dtype=np.float32))
        mrc.voxel_size = voxel_size
    return path


@pytest.fixture
def write_mrc():
    return _write_mrc
