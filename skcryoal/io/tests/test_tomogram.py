"""open_tomogram: memory-mapped MRC and OME-Zarr multiscale tomograms, read box by box."""

import sys

import mrcfile
import numpy as np
import pytest

from skcryoal.io import InvalidMRCError, open_tomogram


@pytest.fixture
def volume(rng):
    return rng.normal(size=(12, 20, 18)).astype(np.float32)  # (z, y, x)


def test_mrc_is_memory_mapped_and_read_box_by_box(tmp_path, write_mrc, volume):
    path = write_mrc(tmp_path / "tomo.mrc", volume, voxel_size=13.5)
    with open_tomogram(path, voxel_size=99.0) as tomo:  # one level: voxel_size ignored
        assert tomo.shape == (12, 20, 18) and tomo.voxel_size == 13.5
        assert tomo.reference_voxel_size == 13.5 and tomo.level is None
        box = tomo[2:5, 3:9, 4:6]
        tomo.release()  # dropping the pages keeps the data readable
        np.testing.assert_array_equal(box, volume[2:5, 3:9, 4:6])
        np.testing.assert_array_equal(tomo[2:5, 3:9, 4:6], box)
        assert box.dtype == np.float32
        assert np.isclose(tomo.mean(), volume.mean(dtype=np.float64))
        np.testing.assert_array_equal(tomo.to_level([[1.5, 2.0, 3.0]]), [[1.5, 2.0, 3.0]])
        assert "tomo.mrc" in repr(tomo)


def test_mrc_integer_modes_read_as_float32(tmp_path):
    data = np.arange(8 * 8 * 8, dtype=np.int16).reshape(8, 8, 8)
    with mrcfile.new(tmp_path / "int.mrc") as mrc:
        mrc.set_data(data)
    with open_tomogram(tmp_path / "int.mrc") as tomo:
        box = tomo[0:2, 0:2, 0:2]
    assert box.dtype == np.float32 and tomo.voxel_size == 0.0
    np.testing.assert_array_equal(box, data[:2, :2, :2])


def test_bad_paths(tmp_path, write_mrc):
    with pytest.raises(FileNotFoundError, match="tomogram not found: .*nope.mrc"):
        open_tomogram(tmp_path / "nope.mrc")
    with pytest.raises(TypeError, match="path must be the path of an MRC file or OME-Zarr"):
        open_tomogram(np.zeros((4, 4, 4)))
    (tmp_path / "folder").mkdir()
    with pytest.raises(ValueError, match="folder: a directory that is not an OME-Zarr group"):
        open_tomogram(tmp_path / "folder")
    write_mrc(tmp_path / "stack.mrcs", np.zeros((2, 4, 4, 4), np.float32))
    with pytest.raises(InvalidMRCError, match="stack.mrcs: a volume stack of 2, not a tomogram"):
        open_tomogram(tmp_path / "stack.mrcs")
    (tmp_path / "text.mrc").write_text("no")
    with pytest.raises(InvalidMRCError, match="text.mrc: not a readable MRC2014 file"):
        open_tomogram(tmp_path / "text.mrc")


def test_ome_zarr_levels_and_coordinates(tmp_path, write_ome_zarr, bin2, volume):
    level1 = bin2(volume)
    # A mean-binned pyramid: level 1 voxel centres sit half a level-0 voxel further.
    path = write_ome_zarr(tmp_path / "tomo.zarr", [volume, level1], [10.0, 20.0], [0.0, 5.0])
    with open_tomogram(path) as tomo:
        assert tomo.level == "0" and tomo.shape == volume.shape and tomo.voxel_size == 10.0
        np.testing.assert_array_equal(tomo[1:4, 2:7, 0:5], volume[1:4, 2:7, 0:5])
    with open_tomogram(path, voxel_size=20.0) as tomo:
        assert tomo.level == "1" and tomo.shape == level1.shape
        assert tomo.voxel_size == 20.0 and tomo.reference_voxel_size == 10.0
        np.testing.assert_array_equal(tomo[1:3, 0:4, 2:5], level1[1:3, 0:4, 2:5])
        # level-0 voxels 2 and 3 make level-1 voxel 1
        np.testing.assert_allclose(tomo.to_level([[2.5, 4.5, 6.5]]), [[1.0, 2.0, 3.0]])
        assert np.isclose(tomo.mean(), level1.mean(dtype=np.float64))
    with open_tomogram(path, voxel_size=15.0) as tomo:  # no such level: the finest
        assert tomo.level == "0"


def test_ome_zarr_units_leading_axes_and_ngff_05(tmp_path, write_ome_zarr, volume):
    path = write_ome_zarr(tmp_path / "nm.zarr", [volume], [1.5], unit="nanometer")
    with open_tomogram(path) as tomo:
        assert tomo.voxel_size == 15.0
    path = write_ome_zarr(tmp_path / "czyx.zarr", [volume[None]], [10.0], axes=("c", "z", "y", "x"))
    with open_tomogram(path) as tomo:
        assert tomo.shape == volume.shape
        np.testing.assert_array_equal(tomo[0:2, 0:2, 0:2], volume[:2, :2, :2])
    path = write_ome_zarr(tmp_path / "v05.zarr", [volume], [10.0], ngff="0.5")
    with open_tomogram(path) as tomo:
        assert tomo.voxel_size == 10.0 and tomo.shape == volume.shape


def test_bare_zarr_array_has_unknown_voxel_size(tmp_path, volume):
    zarr = pytest.importorskip("zarr")
    kwargs = {"zarr_format": 2} if int(zarr.__version__.split(".")[0]) >= 3 else {}
    array = zarr.open_array(
        str(tmp_path / "raw.zarr"),
        mode="w",
        shape=volume.shape,
        chunks=(8, 8, 8),
        dtype="f4",
        **kwargs,
    )
    array[...] = volume
    with open_tomogram(tmp_path / "raw.zarr") as tomo:
        assert tomo.voxel_size == 0.0 and tomo.level is None
        np.testing.assert_array_equal(tomo[0:3, 0:3, 0:3], volume[:3, :3, :3])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"unit": "parsec"}, r"axis 'z' has unit 'parsec'; expected one of angstrom"),
        ({"axes": ("x", "y", "z")}, r"the multiscales axes are \['x', 'y', 'z'\]"),
    ],
)
def test_ome_zarr_bad_metadata(tmp_path, write_ome_zarr, volume, kwargs, match):
    path = write_ome_zarr(tmp_path / "bad.zarr", [volume], [10.0], **kwargs)
    with pytest.raises(ValueError, match=match):
        open_tomogram(path)


def test_ome_zarr_anisotropic_and_missing_metadata(tmp_path, write_ome_zarr, volume):
    zarr = pytest.importorskip("zarr")
    path = write_ome_zarr(tmp_path / "aniso.zarr", [volume], [10.0])
    group = zarr.open_group(str(path), mode="r+")
    multiscales = group.attrs["multiscales"]
    multiscales[0]["datasets"][0]["coordinateTransformations"][0]["scale"] = [20.0, 10.0, 10.0]
    group.attrs["multiscales"] = multiscales
    with pytest.raises(ValueError, match=r"level '0' has anisotropic voxels"):
        open_tomogram(path)
    del group.attrs["multiscales"]
    with pytest.raises(ValueError, match="aniso.zarr: a Zarr group without OME-Zarr 'multi"):
        open_tomogram(path)


def test_zarr_missing_is_an_actionable_import_error(tmp_path, monkeypatch):
    (tmp_path / "t.zarr").mkdir()
    monkeypatch.setitem(sys.modules, "zarr", None)
    with pytest.raises(ImportError, match=r"t.zarr.*pip install skcryoal\[zarr\]"):
        open_tomogram(tmp_path / "t.zarr")
