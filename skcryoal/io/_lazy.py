"""A read-only array-like that reads subtomograms from disk when indexed."""

import numbers
from collections import defaultdict

import numpy as np

from ._mrc import read_volumes


class LazySubtomograms:
    """Subtomograms on disk, read only when indexed.

    Returned by :func:`~skcryoal.io.read_subtomograms` with ``mmap=True`` when
    the volumes are spread over several files (or are not float32). Indexing
    along the first axis reads just the requested volumes, so a pool larger
    than memory can be scored batch by batch::

        for start in range(0, len(X), 256):
            batch = X[start:start + 256]      # ndarray (<=256, 1, D, H, W)

    Parameters
    ----------
    infos : list of MrcInfo
        Validated headers, one per row.
    positions : sequence of int
        0-based volume position inside each row's file.
    voxel_size : float
        Voxel size in Angstrom, checked consistent across files.

    Attributes
    ----------
    shape : tuple of int
        ``(n_samples, 1, D, H, W)``, axis order (z, y, x).
    dtype : numpy.dtype
        Always float32.
    ndim : int
        Always 5.
    voxel_size : float
        Voxel size in Angstrom.
    paths : list of Path
        The file holding each row.

    Notes
    -----
    ``X[key]`` accepts an int, a slice, an integer array or a boolean mask for
    the first axis (optionally followed by indices for the other axes) and
    returns a new float32 ndarray; it never returns a view, and the object is
    read-only. ``numpy.asarray(X)`` reads everything. Files are opened per
    access and not kept open, so the object pickles as a list of paths. A
    volume holding NaN or infinite values raises
    :class:`~skcryoal.io.InvalidMRCError` (naming the file) when it is read.
    """

    def __init__(self, infos, positions, voxel_size):
        self._infos = list(infos)
        self._positions = np.asarray(positions, dtype=np.intp)
        self.voxel_size = float(voxel_size)
        volume_shape = self._infos[0].volume_shape if self._infos else (0, 0, 0)
        self.shape = (len(self._infos), 1, *volume_shape)
        self.dtype = np.dtype(np.float32)
        self.ndim = 5

    @property
    def paths(self):
        """The file holding each row."""
        return [info.path for info in self._infos]

    def __len__(self):
        return self.shape[0]

    def __repr__(self):
        return f"LazySubtomograms(shape={self.shape}, voxel_size={self.voxel_size})"

    def _rows(self, key):
        n = len(self)
        if isinstance(key, numbers.Integral):
            if not -n <= key < n:
                raise IndexError(f"index {key} is out of bounds for {n} subtomograms")
            return np.array([key % n]), True
        if isinstance(key, slice):
            return np.arange(n)[key], False
        if key is Ellipsis:
            return np.arange(n), False
        rows = np.asarray(key)
        if rows.dtype == bool:
            if rows.shape != (n,):
                raise IndexError(f"boolean index must have shape ({n},); got {rows.shape}")
            return np.flatnonzero(rows), False
        if rows.dtype.kind not in "iu" or rows.ndim != 1:
            raise IndexError(
                "LazySubtomograms rows are selected with an int, a slice, a 1D integer "
                f"array or a boolean mask; got {key!r}"
            )
        if rows.size and (rows.min() < -n or rows.max() >= n):
            raise IndexError(f"index out of bounds for {n} subtomograms")
        return rows % n if rows.size else rows.astype(np.intp), False

    def __getitem__(self, key):
        rest = ()
        if isinstance(key, tuple):
            key, rest = (key[0], key[1:]) if key else (Ellipsis, ())
        rows, scalar = self._rows(key)
        out = np.empty((len(rows), *self.shape[2:]), dtype=np.float32)
        by_file = defaultdict(list)
        for k, row in enumerate(rows):
            by_file[self._infos[row].path].append(k)
        for ks in by_file.values():
            info = self._infos[rows[ks[0]]]
            volumes = read_volumes(info, self._positions[rows[ks]])
            out[ks] = volumes
        out = out[:, None]
        if scalar:
            out = out[0]
            return out[rest] if rest else out
        return out[(slice(None), *rest)] if rest else out

    def __array__(self, dtype=None, copy=None):
        data = self[:]
        return data if dtype is None else data.astype(dtype, copy=False)
