"""MRC files that parse but are not usable subtomograms."""

import mrcfile
import numpy as np
import pytest

from skcryoal.io import InvalidMRCError, LazySubtomograms, read_subtomograms, write_subtomograms


@pytest.mark.parametrize(
    "shape, match",
    [
        ((16, 16), r"img.mrc: a 2D image \(nz=1\), not a volume"),
        ((3, 1, 16, 16), r"img.mrc: a stack of 2D images \(volumes of depth 1, mz=1\)"),
    ],
)
def test_2d_image_is_not_a_volume(tmp_path, write_mrc, rng, shape, match):
    write_mrc(tmp_path / "img.mrc", rng.normal(size=shape))
    with pytest.raises(InvalidMRCError, match=match):
        read_subtomograms(tmp_path / "img.mrc")


@pytest.mark.parametrize(
    "voxel_size, match",
    [
        (-3.0, r"v.mrc: negative voxel size -3 Angstrom"),
        ((10.0, 10.0, -10.0), r"v.mrc: negative voxel size .*-10"),
        (float("nan"), r"v.mrc: the voxel size is NaN"),
        ((10.0, 10.0, float("nan")), r"v.mrc: the voxel size is NaN"),
        (float("inf"), r"v.mrc: the voxel size is infinite"),
    ],
)
def test_invalid_voxel_size(tmp_path, write_mrc, volumes, voxel_size, match):
    write_mrc(tmp_path / "v.mrc", volumes[0, 0], voxel_size=voxel_size)
    with pytest.raises(InvalidMRCError, match=match) as info:
        read_subtomograms(tmp_path / "v.mrc")
    assert "anisotropic" not in str(info.value)
    assert info.value.path == tmp_path / "v.mrc"


def _nan_mrc(path, data):
    with pytest.warns(RuntimeWarning):  # mrcfile warns about NaN when writing
        with mrcfile.new(path, overwrite=True) as mrc:
            mrc.set_data(np.asarray(data, dtype=np.float32))
            mrc.voxel_size = 10.0


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_single_volume_fails_eager_read(tmp_path, volumes, bad):
    table = write_subtomograms(tmp_path, volumes)
    _nan_mrc(tmp_path / "subtomo_000003.mrc", np.full(volumes.shape[2:], bad))
    for source in (table, tmp_path, tmp_path / "subtomo_000003.mrc"):
        with pytest.raises(InvalidMRCError, match=r"subtomo_000003.mrc: .*NaN or infinite"):
            read_subtomograms(source)


def test_non_finite_volume_fails_lazy_read_when_read(tmp_path, volumes):
    table = write_subtomograms(tmp_path, volumes)
    data = volumes[3, 0].copy()
    data[1, 2, 3] = np.nan
    _nan_mrc(tmp_path / "subtomo_000003.mrc", data)
    X, _ = read_subtomograms(table, mmap=True)  # headers only: no error yet
    assert isinstance(X, LazySubtomograms)
    np.testing.assert_array_equal(X[:3], volumes[:3])
    with pytest.raises(InvalidMRCError, match=r"subtomo_000003.mrc: .*1 NaN or infinite"):
        X[2:4]


@pytest.mark.parametrize("mmap", [False, True])
def test_non_finite_volume_in_stack(tmp_path, volumes, mmap):
    data = volumes[:, 0].copy()
    data[3] = np.nan
    _nan_mrc(tmp_path / "stack.mrcs", data)
    # The memmap of a single float32 stack cannot check values as they are
    # read, so it is scanned when opened.
    with pytest.raises(InvalidMRCError, match=r"stack.mrcs: volume 4 of 5 holds .*NaN or inf"):
        read_subtomograms(tmp_path / "stack.mrcs", mmap=mmap)
