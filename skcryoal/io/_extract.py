"""Cutting subtomograms out of a tomogram at particle coordinates."""

import numbers
from pathlib import Path

import numpy as np
import pandas as pd

from ._boxes import check_edge, check_size, cut, plan
from ._tables import read_table
from ._tomogram import as_tomogram

# (x, y, z) column triples, tried in order.
COORDINATE_COLUMNS = (
    ("rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ"),
    ("wrpCoordinateX1", "wrpCoordinateY1", "wrpCoordinateZ1"),
    ("x", "y", "z"),
    ("X", "Y", "Z"),
)
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
        Particle centers **in (x, y, z) order**, in voxels of the tomogram
        (0-based: ``x`` indexes the last array axis, ``z`` the first). A table
        (``.star`` or ``.csv`` file, or DataFrame) is read from the columns
        ``rlnCoordinateX/Y/Z`` (RELION), ``wrpCoordinateX1/Y1/Z1`` (Warp) or
        ``x, y, z``, all taken as voxels of this tomogram. Origin offsets
        (``rlnOriginX/Y/ZAngst``) are not applied. A table listing several
        tomograms (``rlnTomoName`` or ``rlnMicrographName`` with several values)
        is refused: filter it first. For tables in other units (RELION 5's
        centred Angstrom, RELION 4's unbinned pixels, M's Angstrom) or over
        many tomograms, use :func:`read_particle_set` and
        :func:`extract_particles`, which convert them.
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
        Coordinates are divided by ``binning`` first: use it when the particle
        list is in unbinned pixels and the tomogram is binned by this factor.

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
        tomogram that is not 3D.
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
    """
    check_edge(edge)
    size = check_size(size)
    if not isinstance(binning, numbers.Real) or not np.isfinite(binning) or binning <= 0:
        raise ValueError(f"binning must be a positive number; got {binning!r}.")

    xyz = _coordinates(coordinates) / float(binning)
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


def _coordinates(coordinates):
    source = "coordinates"
    if isinstance(coordinates, (str, Path)):
        source = str(coordinates)
        coordinates, _ = read_table(Path(coordinates), _TOMOGRAM_COLUMNS, pixel_size=False)
    if isinstance(coordinates, pd.DataFrame):
        df = coordinates
        for column in _TOMOGRAM_COLUMNS:
            if column in df.columns and df[column].nunique() > 1:
                raise ValueError(
                    f"{source}: the particle list spans {df[column].nunique()} tomograms "
                    f"(column {column}); keep only the rows of this tomogram, e.g. "
                    f"df[df.{column} == name], or cut them all with read_particle_set "
                    "and extract_particles."
                )
        columns = next((c for c in COORDINATE_COLUMNS if set(c) <= set(df.columns)), None)
        if columns is None:
            raise ValueError(
                f"{source}: no coordinate columns; expected one of "
                f"{', '.join('/'.join(c) for c in COORDINATE_COLUMNS)}. "
                f"Columns found: {', '.join(map(str, df.columns))}."
            )
        xyz = df[list(columns)].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
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
    return xyz
