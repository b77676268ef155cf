"""Cutting subtomograms out of a tomogram at particle coordinates."""

import numbers
import os
from pathlib import Path

import numpy as np
import pandas as pd

from . import _conventions as conv
from ._boxes import check_edge, check_size, cut, plan
from ._particles import read_particle_set
from ._tables import read_table
from ._tomogram import as_tomogram

# (x, y, z) column triples, for messages (read_particle_set recognises them).
_UPPER_XYZ = ("X", "Y", "Z")
COORDINATE_COLUMNS = (conv.CENTERED, conv.RELION, conv.WARP_M, conv.PLAIN, _UPPER_XYZ)
_TOMOGRAM_COLUMNS = ("rlnTomoName", "rlnMicrographName", "wrpSourceName")


def extract_subtomograms(
    tomogram,
    coordinates,
    size: int = 32,
    *,
    edge: str = "raise",
    binning: float = 1,
):
    """Cut cubic subtomograms out of a tomogram around particle coordinates.

    Parameters
    ----------
    tomogram : str, path-like or ndarray of shape (D, H, W)
        The tomogram: an MRC file (memory-mapped, so only the boxes are read),
        an OME-Zarr group (its finest level, see :func:`open_tomogram`) or a 3D
        array, axis order (z, y, x).
    coordinates : str, path-like, DataFrame or array-like of shape (n, 3)
        Particle centers. An array is **(x, y, z) in voxels** of the tomogram
        (0-based: ``x`` indexes the last array axis, ``z`` the first). A table
        (``.star`` or ``.csv`` file, or DataFrame) is read with
        :func:`read_particle_set` (``tomograms=`` this tomogram), so its columns
        mean what they mean there, with one exception: ``rlnCoordinateX/Y/Z``
        (RELION 3, pytom-match-pick) and ``x, y, z`` are voxels of this
        tomogram even where ``rlnTomoName`` would make them RELION 4's unbinned
        tilt-series pixels (use ``binning`` for those). Warp/M's
        ``wrpCoordinateX1/Y1/Z1`` are Angstrom from the first voxel and RELION
        5's ``rlnCenteredCoordinateX/Y/ZAngst`` Angstrom from the centre: both
        are divided by the voxel size in the tomogram's header, so they need a
        tomogram file (an array has no voxel size). Origin offsets
        (``rlnOriginX/Y/ZAngst``) are applied to RELION 5 tables, as
        :func:`read_particle_set` does, not to ``rlnCoordinate*`` tables. A
        table listing several tomograms
        (``rlnTomoName``, ``rlnMicrographName`` or ``wrpSourceName`` with
        several values) is refused: filter it first, or cut them all with
        :func:`read_particle_set` and :func:`extract_particles`.
    size : int, default=32
        Box edge in voxels. Box ``i`` spans ``round(c) - size // 2`` to
        ``round(c) - size // 2 + size`` (exclusive) along each axis, so the
        particle center lands on voxel ``size // 2`` of the box. Rounding is
        half up.
    edge : {"raise", "skip", "pad"}, default="raise"
        Boxes that do not fit inside the tomogram:

        - ``"raise"``: ValueError naming the rows (0-based) and coordinates;
        - ``"skip"``: leave them out; ``kept`` tells which rows remain;
        - ``"pad"``: fill the part outside the tomogram with the tomogram mean
          (computed over the whole tomogram). A center outside the tomogram is
          still an error, since its box would hold little or no data.
    binning : float, default=1
        Coordinates in voxels or pixels (an array, ``rlnCoordinate*``, ``x, y, z``)
        are divided by ``binning`` first: use it when the particle list is in
        unbinned pixels and the tomogram is binned by this factor. Coordinates
        in Angstrom are converted with the voxel size and need ``binning=1``.

    Returns
    -------
    X : ndarray of shape (n_kept, 1, size, size, size)
        float32 subtomograms, axis order (z, y, x).
    kept : ndarray of shape (n_kept,)
        Rows of ``coordinates`` that were extracted, in order (all rows unless
        ``edge="skip"``).

    Raises
    ------
    ValueError
        Boxes off the edge with ``edge="raise"``, centers outside the tomogram
        with ``edge="pad"``, non-finite coordinates, no coordinate columns, a
        tomogram that is not 3D, coordinates in Angstrom with an array tomogram
        or with ``binning`` other than 1.
    FileNotFoundError, InvalidMRCError
        An unreadable tomogram or particle table, named in the message.

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal.io import extract_subtomograms
    >>> tomo = np.arange(20 * 30 * 40, dtype=np.float32).reshape(20, 30, 40)  # (z, y, x)
    >>> X, kept = extract_subtomograms(tomo, [[20, 15, 10]], size=4)  # x=20, y=15, z=10
    >>> bool(np.array_equal(X[0, 0], tomo[8:12, 13:17, 18:22])), kept.tolist()
    (True, [0])

    See Also
    --------
    read_particle_set : The coordinate conventions, and tables over many tomograms.
    extract_particles : Cut the particles of many tomograms, resampled.
    """
    check_edge(edge)
    size = check_size(size)
    if not isinstance(binning, numbers.Real) or not np.isfinite(binning) or binning <= 0:
        raise ValueError(f"binning must be a positive number; got {binning!r}.")

    xyz = _coordinates(coordinates, tomogram, float(binning))
    tomo = as_tomogram(tomogram)
    name = str(tomogram) if isinstance(tomogram, (str, Path)) else "tomogram"
    try:
        zyx = xyz[:, ::-1]
        kept = plan(zyx, tomo.shape, size, edge, name, xyz=xyz)
        X = np.empty((len(kept), 1, size, size, size), dtype=np.float32)
        cut(tomo, zyx, kept, size, edge, X, np.arange(len(kept)), name=name)
    finally:
        if tomo is not tomogram:
            tomo.close()
    return X, kept


def _coordinates(coordinates, tomogram, binning):
    """(x, y, z) voxels of the tomogram, one row per particle, as float64."""
    source = "coordinates"
    if isinstance(coordinates, (str, os.PathLike)):
        source = str(coordinates)
        coordinates, _ = read_table(Path(coordinates), _TOMOGRAM_COLUMNS, pixel_size=False)
    if isinstance(coordinates, pd.DataFrame):
        xyz, in_voxels = _table_coordinates(coordinates, source, tomogram)
        if not in_voxels and binning != 1:
            raise ValueError(
                f"{source}: the coordinates are in Angstrom and are converted with the "
                f"tomogram's voxel size, so binning must be 1; got binning={binning:g}. Set "
                "the voxel size of the binned tomogram in its header instead."
            )
    else:
        xyz = np.asarray(coordinates, dtype=np.float64)
        if xyz.ndim != 2 or xyz.shape[1] != 3:
            raise ValueError(
                f"coordinates must have shape (n_particles, 3) in (x, y, z) order; got {xyz.shape}."
            )
    bad = np.flatnonzero(~np.isfinite(xyz).all(axis=1))
    if bad.size:
        raise ValueError(
            f"{source}: rows {bad[:10].tolist()} have missing or non-finite coordinates."
        )
    return xyz / binning


def _table_coordinates(df, source, tomogram):
    """Voxel coordinates of a one-tomogram table, and whether they were voxels already.

    The conversion is :func:`read_particle_set`'s, except that ``rlnCoordinate*`` are
    voxels of this tomogram (RELION 3) even beside ``rlnTomoName``.
    """
    for column in _TOMOGRAM_COLUMNS:
        if column in df.columns and df[column].nunique() > 1:
            raise ValueError(
                f"{source}: the particle list spans {df[column].nunique()} tomograms "
                f"(column {column}); keep only the rows of this tomogram, e.g. "
                f"df[df.{column} == name], or cut them all with read_particle_set "
                "and extract_particles."
            )
    convention = conv.detect(df.columns)
    if convention is None and set(_UPPER_XYZ) <= set(df.columns):
        df = df.rename(columns=dict(zip(_UPPER_XYZ, conv.PLAIN)))
        convention = "pixels"
    if convention is None:
        raise ValueError(
            f"{source}: no coordinate columns; expected one of "
            f"{', '.join('/'.join(c) for c in COORDINATE_COLUMNS)}. "
            f"Columns found: {', '.join(map(str, df.columns))}."
        )
    if convention == "relion4":
        convention = "relion3"
    columns = conv.coordinate_columns(convention, df.columns)
    in_voxels = columns in (conv.RELION, conv.PLAIN)
    if isinstance(tomogram, (str, os.PathLike)):
        particles = read_particle_set(df, tomograms=tomogram, convention=convention)
        return particles[["skcryoal_x", "skcryoal_y", "skcryoal_z"]].to_numpy(np.float64), in_voxels
    if not in_voxels:
        raise ValueError(
            f"{source}: the coordinates ({', '.join(columns)}) are in Angstrom and need the "
            "voxel size of the tomogram, which an array does not have. Pass the tomogram's "
            "MRC file (its header gives the voxel size), or divide the coordinates by the "
            "voxel size and pass them as x, y, z (voxels)."
        )
    return np.stack([conv.numeric(df, c) for c in columns], axis=1), in_voxels
