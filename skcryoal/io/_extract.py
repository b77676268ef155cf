"""Cutting subtomograms out of a tomogram at particle coordinates."""

import numbers
from pathlib import Path

import mrcfile
import numpy as np
import pandas as pd

from ._errors import InvalidMRCError
from ._mrc import inspect_mrc
from ._tables import read_table

# (x, y, z) column triples, tried in order.
COORDINATE_COLUMNS = (
    ("rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ"),
    ("wrpCoordinateX1", "wrpCoordinateY1", "wrpCoordinateZ1"),
    ("x", "y", "z"),
    ("X", "Y", "Z"),
)
_TOMOGRAM_COLUMNS = ("rlnTomoName", "rlnMicrographName", "wrpSourceName")
EDGE_POLICIES = ("raise", "skip", "pad")


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
        The tomogram: an MRC file (memory-mapped, so only the boxes are read)
        or a 3D array, axis order (z, y, x).
    coordinates : str, path-like, DataFrame or array-like of shape (n, 3)
        Particle centers **in (x, y, z) order**, in voxels of the tomogram
        (0-based: ``x`` indexes the last array axis, ``z`` the first). A table
        (``.star`` or ``.csv`` file, or DataFrame) is read from the columns
        ``rlnCoordinateX/Y/Z`` (RELION), ``wrpCoordinateX1/Y1/Z1`` (Warp) or
        ``x, y, z``. Origin offsets (``rlnOriginX/Y/ZAngst``) are not applied.
        A table listing several tomograms (``rlnTomoName`` or
        ``rlnMicrographName`` with several values) is refused: filter it first.
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
    if edge not in EDGE_POLICIES:
        raise ValueError(f"edge must be one of {EDGE_POLICIES}; got {edge!r}.")
    if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 1:
        raise ValueError(f"size must be a positive integer number of voxels; got {size!r}.")
    if not isinstance(binning, numbers.Real) or not np.isfinite(binning) or binning <= 0:
        raise ValueError(f"binning must be a positive number; got {binning!r}.")

    xyz = _coordinates(coordinates) / float(binning)
    volume, name, close = _open_tomogram(tomogram)
    try:
        return _extract(volume, xyz, int(size), edge, name)
    finally:
        close()


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
                    f"df[df.{column} == name]."
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


def _open_tomogram(tomogram):
    if isinstance(tomogram, (str, Path)):
        info = inspect_mrc(tomogram)
        if info.is_stack:
            raise InvalidMRCError(
                f"{tomogram}: a volume stack of {info.n_volumes}, not a tomogram.", path=tomogram
            )
        try:
            mrc = mrcfile.mmap(tomogram, mode="r", permissive=False)
        except (ValueError, OSError) as exc:
            raise InvalidMRCError(f"{tomogram}: could not read the data ({exc}).") from exc
        return mrc.data.reshape(info.volume_shape), str(tomogram), mrc.close
    volume = np.asarray(tomogram)
    if volume.ndim != 3:
        raise ValueError(f"tomogram must be a 3D array (z, y, x); got shape {volume.shape}.")
    return volume, "tomogram", lambda: None


def _extract(volume, xyz, size, edge, name):
    dims = np.array(volume.shape)  # (z, y, x)
    shape = tuple(int(d) for d in dims)
    centers = np.floor(xyz[:, ::-1] + 0.5).astype(np.int64)  # (z, y, x)
    starts = centers - size // 2
    stops = starts + size
    inside = ((starts >= 0) & (stops <= dims)).all(axis=1)
    center_inside = ((centers >= 0) & (centers < dims)).all(axis=1)

    def rows_text(mask):
        rows = np.flatnonzero(mask)
        shown = "; ".join(
            f"row {r} at (x, y, z) = ({', '.join(f'{v:g}' for v in xyz[r])})" for r in rows[:5]
        )
        return f"{len(rows)} particle(s): {shown}{' ...' if len(rows) > 5 else ''}"

    if edge == "raise" and not inside.all():
        raise ValueError(
            f"{name}: the {size}^3 box does not fit inside the tomogram (z, y, x) = "
            f"{shape} for {rows_text(~inside)}. Use edge='skip' to drop them or "
            "edge='pad' to pad with the tomogram mean."
        )
    if edge == "pad" and not center_inside.all():
        raise ValueError(
            f"{name}: the center lies outside the tomogram (z, y, x) = {shape} for "
            f"{rows_text(~center_inside)}. Check the coordinate order (x, y, z) and binning."
        )
    kept = np.flatnonzero(inside) if edge == "skip" else np.arange(len(xyz))

    X = np.empty((len(kept), 1, size, size, size), dtype=np.float32)
    fill = None
    for k, row in enumerate(kept):
        lo, hi = starts[row], stops[row]
        if inside[row]:
            X[k, 0] = volume[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
            continue
        if fill is None:
            fill = np.float32(np.mean(volume, dtype=np.float64))
        a, b = np.maximum(lo, 0), np.minimum(hi, dims)
        X[k, 0] = fill
        source = tuple(slice(i, j) for i, j in zip(a, b))
        target = tuple(slice(i, j) for i, j in zip(a - lo, b - lo))
        X[k, 0][target] = volume[source]
    return X, kept.astype(np.int64)
