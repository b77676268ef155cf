import mrcfile
import numpy as np
import pandas as pd
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


# --- Tomograms with particles at known positions (particle sets, extraction) ---

#: RELION-like geometry of the scenes: tilt-series pixel 5 A, tomograms binned 4x.
TS_PIXEL = 5.0
BINNING = 4
VOXEL = TS_PIXEL * BINNING
SHAPE = (28, 40, 36)  # (z, y, x): every axis different, to catch swapped axes


class Scene:
    """Tomograms on disk with particles at known positions, in a shuffled table.

    ``truth`` has one row per particle, tomograms interleaved: ``tomogram`` (name),
    ``x``, ``y``, ``z`` (voxels of the tomogram file, 0-based, non-integer) and
    ``class``; ``arrays[name]`` is the tomogram, ``paths[name]`` its MRC file.
    """

    def __init__(self, folder, names, shape, voxel_size, header_voxel, seed):
        from skcryoal.datasets import make_tomogram

        self.folder = folder
        self.shape = shape
        self.voxel_size = voxel_size
        self.arrays, self.paths, parts = {}, {}, []
        for k, name in enumerate(names):
            tomogram, truth = make_tomogram(
                shape, 3, n_classes=2, voxel_size=voxel_size, random_state=seed + k
            )
            path = folder / f"{name}.mrc"
            _write_mrc(path, tomogram, voxel_size=header_voxel)
            self.arrays[name], self.paths[name] = tomogram, path
            parts.append(truth.assign(tomogram=name))
        truth = pd.concat(parts, ignore_index=True)
        order = np.random.default_rng(seed).permutation(len(truth))
        self.truth = truth.iloc[order].reset_index(drop=True)

    @property
    def xyz(self):
        return self.truth[["x", "y", "z"]].to_numpy()

    def unbinned_size(self, name):
        """RELION's rlnTomoSizeX/Y/Z (x, y, z) for a tomogram of ``shape`` at BINNING."""
        depth, height, width = self.arrays[name].shape
        # An odd unbinned width: RELION still reconstructs int(w / bin + 0.5) voxels.
        return np.array([width * BINNING + 1, height * BINNING, depth * BINNING])

    def expected(self, size=16, edge="pad", rows=None):
        """Boxes cut at the true positions, tomogram by tomogram, in table order."""
        from skcryoal.io import extract_subtomograms

        truth = self.truth if rows is None else self.truth.iloc[rows]
        boxes = [
            extract_subtomograms(self.arrays[r.tomogram], [[r.x, r.y, r.z]], size, edge=edge)[0]
            for r in truth.itertuples()
        ]
        return np.concatenate(boxes)


@pytest.fixture
def make_scene(tmp_path):
    """``make_scene(names=("TS_01", "TS_02"), header_voxel=VOXEL, seed=0)``."""

    def make(names=("TS_01", "TS_02"), *, shape=SHAPE, header_voxel=VOXEL, seed=0):
        return Scene(tmp_path, names, shape, VOXEL, header_voxel, seed)

    return make


def _write_ome_zarr(
    path, levels, scales, translations=None, *, unit="angstrom", ngff="0.4", axes=("z", "y", "x")
):
    """An OME-Zarr multiscale group as copick writes it (zarr 2 or 3, Zarr format 2).

    ``ngff="0.5"`` writes the OME-NGFF 0.5 layout (Zarr format 3, metadata under "ome"),
    which needs zarr 3.
    """
    zarr = pytest.importorskip("zarr")
    major = int(zarr.__version__.split(".")[0])
    if ngff == "0.5" and major < 3:
        pytest.skip("OME-NGFF 0.5 needs zarr 3")
    kwargs = {"zarr_format": 2 if ngff == "0.4" else 3} if major >= 3 else {}
    group = zarr.open_group(str(path), mode="w", **kwargs)
    translations = translations or [0.0] * len(levels)
    datasets = []
    for i, (data, scale, shift) in enumerate(zip(levels, scales, translations)):
        create = getattr(group, "create_array", None) or group.create_dataset
        array = create(str(i), shape=data.shape, chunks=(8,) * data.ndim, dtype=data.dtype)
        array[...] = data
        lead = data.ndim - 3
        datasets.append(
            {
                "path": str(i),
                "coordinateTransformations": [
                    {"type": "scale", "scale": [1.0] * lead + [scale] * 3},
                    {"type": "translation", "translation": [0.0] * lead + [shift] * 3},
                ],
            }
        )
    multiscale = {
        "version": ngff,
        "axes": [{"name": a, "type": "space", "unit": unit} for a in axes],
        "datasets": datasets,
    }
    if ngff == "0.5":
        group.attrs["ome"] = {"version": "0.5", "multiscales": [multiscale]}
    else:
        group.attrs["multiscales"] = [multiscale]
    return path


def _bin2(volume):
    """Mean of 2x2x2 blocks: the next level of a pyramid (voxel centres shift by 0.5)."""
    d, h, w = (s // 2 * 2 for s in volume.shape)
    v = volume[:d, :h, :w]
    return v.reshape(d // 2, 2, h // 2, 2, w // 2, 2).mean(axis=(1, 3, 5)).astype(np.float32)


@pytest.fixture
def write_ome_zarr():
    return _write_ome_zarr


@pytest.fixture
def bin2():
    return _bin2
