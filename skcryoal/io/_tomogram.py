"""Tomograms opened lazily: memory-mapped MRC files, OME-Zarr groups, arrays.

Every tomogram is read through the same small interface (``shape``, ``voxel_size``,
``tomo[z0:z1, y0:y1, x0:x1]``, ``mean()``, ``to_level``, ``release()``, ``close()``), so
that cutting boxes does not care where the voxels live and reads only the boxes.
"""

import mmap
import os
from pathlib import Path

import mrcfile
import numpy as np

from ._errors import InvalidMRCError
from ._mrc import inspect_mrc

#: Bytes read per slab when a whole tomogram must be scanned (its mean).
_SLAB_BYTES = 16 << 20


class _Tomogram:
    """What the box cutter needs; subclasses set the attributes and ``_read``.

    Attributes
    ----------
    path : str
        The file or group (or ``"tomogram"`` for an array).
    shape : tuple of int
        ``(D, H, W)`` of the level read, axis order (z, y, x).
    voxel_size : float
        Angstrom per voxel of the level read; 0.0 when unknown.
    reference_voxel_size : float
        Angstrom per voxel of the reference level (the finest one), in whose voxels
        particle coordinates are given; equal to ``voxel_size`` for MRC files.
    level : str or None
        The OME-Zarr dataset path read (e.g. ``"0"``), None for MRC files and arrays.
    """

    path = "tomogram"
    level = None

    def __getitem__(self, key):
        """Read ``tomo[z0:z1, y0:y1, x0:x1]`` (slices with non-negative bounds) as float32."""
        return np.asarray(self._read(key), dtype=np.float32)

    def to_level(self, zyx):
        """Convert voxel coordinates of the reference level to voxels of the level read."""
        return np.asarray(zyx, dtype=np.float64)

    def mean(self):
        """Mean voxel value over the whole tomogram, read in slabs (bounded memory)."""
        depth, height, width = self.shape
        per_slab = max(1, _SLAB_BYTES // max(1, 4 * height * width))
        total = 0.0
        for z in range(0, depth, per_slab):
            slab = self[z : min(depth, z + per_slab), 0:height, 0:width]
            total += float(slab.sum(dtype=np.float64))
            self.release()
        return total / float(depth * height * width)

    def release(self):
        """Drop the pages read so far from memory (memory-mapped files only)."""

    def close(self):
        """Close the file; the object cannot be read afterwards."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        level = f", level={self.level!r}" if self.level is not None else ""
        return (
            f"{type(self).__name__}({self.path!r}, shape={self.shape}, "
            f"voxel_size={self.voxel_size:g}{level})"
        )


class ArrayTomogram(_Tomogram):
    """A 3D array in memory (axis order z, y, x)."""

    def __init__(self, volume, voxel_size=0.0):
        volume = np.asarray(volume)
        if volume.ndim != 3:
            raise ValueError(f"tomogram must be a 3D array (z, y, x); got shape {volume.shape}.")
        self.data = volume
        self.shape = tuple(int(d) for d in volume.shape)
        self.voxel_size = self.reference_voxel_size = float(voxel_size)

    def _read(self, key):
        return self.data[key]

    def mean(self):
        # Exactly what extract_subtomograms has always used for an array.
        return float(np.float32(np.mean(self.data, dtype=np.float64)))


class MrcTomogram(_Tomogram):
    """An MRC tomogram, memory-mapped: only the pages of the boxes read are loaded."""

    def __init__(self, path):
        info = inspect_mrc(path)
        if info.is_stack:
            raise InvalidMRCError(
                f"{path}: a volume stack of {info.n_volumes}, not a tomogram. "
                "Pass a single 3D volume.",
                path=path,
            )
        try:
            self._mrc = mrcfile.mmap(path, mode="r", permissive=False)
        except (ValueError, OSError) as exc:
            raise InvalidMRCError(f"{path}: could not read the data ({exc}).", path=path) from exc
        self.path = str(path)
        self.shape = tuple(info.volume_shape)
        self.voxel_size = self.reference_voxel_size = float(info.voxel_size)
        self._data = self._mrc.data.reshape(self.shape)

    def _read(self, key):
        return self._data[key]

    def release(self):
        # The pages are clean and file-backed: dropping them only costs a re-read from
        # the page cache, and keeps the resident size to the boxes being cut.
        memmap = getattr(self._mrc.data, "_mmap", None)
        if memmap is not None and hasattr(mmap, "MADV_DONTNEED"):
            try:
                memmap.madvise(mmap.MADV_DONTNEED)
            except (OSError, ValueError):
                pass

    def close(self):
        self._data = None
        self._mrc.close()


def is_zarr(path):
    """Whether ``path`` is a Zarr store (by suffix, or by its metadata files)."""
    if path.suffix.lower() == ".zarr":
        return True
    return path.is_dir() and any(
        (path / marker).exists() for marker in (".zgroup", ".zarray", ".zattrs", "zarr.json")
    )


def open_tomogram(path, voxel_size=None):
    """Open a tomogram for reading boxes, without loading it.

    Parameters
    ----------
    path : str or path-like
        An MRC file (``.mrc``, ``.rec``, ``.map``...), memory-mapped with
        ``mrcfile.mmap`` so that only the pages of the boxes read are loaded; or an
        OME-Zarr group (``.zarr``, multiscale, axes z, y, x, as written by copick:
        ``ExperimentRuns/{run}/VoxelSpacing{vs:.3f}/{tomo_type}.zarr``), read
        through ``zarr`` (2.x or 3.x; ``pip install skcryoal[zarr]``) chunk by chunk.
    voxel_size : float, optional
        Wanted voxel size in Angstrom. For OME-Zarr, the level whose voxel size
        matches it (within 0.1%) is read; otherwise, or when None, the finest
        level. Ignored for MRC files, which have one level.

    Returns
    -------
    tomogram : tomogram object
        Read-only and lazy, with attributes ``path``, ``shape`` (D, H, W of the level
        read, axis order z, y, x), ``voxel_size`` (Angstrom per voxel of that level,
        0.0 when the file does not say), ``reference_voxel_size`` (of the finest
        level, in whose voxels particle coordinates are given) and ``level`` (the
        OME-Zarr dataset path, None for MRC). ``tomogram[z0:z1, y0:y1, x0:x1]`` reads
        a box as a float32 array; ``tomogram.to_level(zyx)`` converts coordinates in
        voxels of the finest level to voxels of the level read; ``mean()`` scans the
        whole tomogram in bounded memory. Use it as a context manager, or call
        ``close()``.

    Raises
    ------
    FileNotFoundError
        If the path does not exist.
    InvalidMRCError
        An MRC file that is not a single complete volume.
    ValueError
        An OME-Zarr group without usable ``multiscales`` metadata (axes other than
        z, y, x; unknown unit; anisotropic voxels).
    ImportError
        An OME-Zarr group when ``zarr`` is not installed.

    Examples
    --------
    >>> import tempfile, os, mrcfile, numpy as np
    >>> from skcryoal.io import open_tomogram
    >>> path = os.path.join(tempfile.mkdtemp(), "tomo.mrc")
    >>> with mrcfile.new(path) as mrc:
    ...     mrc.set_data(np.arange(8 * 10 * 12, dtype=np.float32).reshape(8, 10, 12))
    ...     mrc.voxel_size = 13.5
    >>> with open_tomogram(path) as tomo:
    ...     box = tomo[0:2, 0:2, 0:3]
    >>> tomo.shape, tomo.voxel_size, box.shape
    ((8, 10, 12), 13.5, (2, 2, 3))
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be the path of an MRC file or OME-Zarr group; got {type(path).__name__}."
        )
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, f"tomogram not found: {path}", str(path))
    if is_zarr(path):
        from ._zarr import ZarrTomogram

        return ZarrTomogram(path, voxel_size)
    if path.is_dir():
        raise ValueError(
            f"{path}: a directory that is not an OME-Zarr group (no .zgroup, .zattrs or "
            "zarr.json). Pass an MRC file or a .zarr group."
        )
    return MrcTomogram(path)


def as_tomogram(tomogram):
    """An open tomogram from a path or an array (for :func:`extract_subtomograms`)."""
    if isinstance(tomogram, _Tomogram):
        return tomogram
    if isinstance(tomogram, (str, os.PathLike)):
        return open_tomogram(tomogram)
    return ArrayTomogram(tomogram)
