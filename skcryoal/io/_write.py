"""Writing subtomograms as one MRC file each plus a particle table."""

import numbers
from pathlib import Path

import numpy as np
import pandas as pd

from ._mrc import write_volume
from ._tables import encode_labels, write_table

FORMATS = ("star", "csv")


def write_subtomograms(
    directory,
    X,
    y=None,
    *,
    voxel_size: float = 10.0,
    format: str = "star",
    prefix: str = "subtomo",
    overwrite: bool = False,
) -> Path:
    """Write subtomograms as MRC files plus a RELION-style particle table.

    Each subtomogram ``X[i]`` becomes ``{prefix}_{i:06d}.mrc`` (float32, voxel
    size in the header, numbering from 0 like the rows of ``X``). The table
    ``particles.star`` (or ``particles.csv``) has one row per file, in order.

    Parameters
    ----------
    directory : str or path-like
        Output folder, created if needed.
    X : array-like of shape (n_samples, 1, D, H, W) or (n_samples, D, H, W)
        Volumes, axis order (z, y, x); written as float32. May be a memmap or
        :class:`LazySubtomograms` (written one volume at a time).
    y : array-like of shape (n_samples,), optional
        Integer or (non-empty) string labels; None writes no label columns.
    voxel_size : float, default=10.0
        Voxel size in Angstrom, written to every header and to the table.
    format : {"star", "csv"}, default="star"
        ``"star"``: RELION 3.1+ STAR file with an ``optics`` block
        (``rlnImagePixelSize``, ``rlnImageSize``, ``rlnImageDimensionality=3``)
        and a ``particles`` block. ``"csv"``: the same particle columns plus
        ``rlnImagePixelSize`` as a CSV file.
    prefix : str, default="subtomo"
        File name prefix of the MRC files.
    overwrite : bool, default=False
        Replace existing files. If False and any target file exists, nothing is
        written.

    Returns
    -------
    table : Path
        The particle table written.

    Notes
    -----
    Columns of the particle table:

    - ``rlnImageName``: the MRC file, relative to the table's folder;
    - ``rlnClassNumber``: 1-based position of the label in the sorted unique
      labels (RELION wants class numbers >= 1 whatever the labels are);
    - ``skcryoalLabel`` (integer labels) or ``skcryoalLabelText`` (string
      labels, percent-encoded UTF-8, e.g. ``"26S proteasome"`` is written
      ``26S%20proteasome``): the label itself, so that
      :func:`read_subtomograms` returns labels equal to ``y`` (int64 or str).
      RELION ignores these columns.

    Non-finite values in an ndarray ``X`` are refused before anything is
    written; for other array-likes each volume is checked as it is written.
    Existing files that this call does not target (e.g. from an earlier, larger
    write) are left alone; the table is the authoritative list.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from skcryoal.io import write_subtomograms
    >>> X = np.zeros((2, 1, 8, 8, 8), dtype=np.float32)
    >>> table = write_subtomograms(tempfile.mkdtemp(), X, [3, 7], voxel_size=4.2)
    >>> table.name, sorted(p.name for p in table.parent.glob("*.mrc"))
    ('particles.star', ['subtomo_000000.mrc', 'subtomo_000001.mrc'])
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}; got {format!r}.")
    if (
        not isinstance(voxel_size, numbers.Real)
        or isinstance(voxel_size, bool)
        or not np.isfinite(voxel_size)
        or voxel_size <= 0
    ):
        raise ValueError(f"voxel_size must be a positive number of Angstrom; got {voxel_size!r}.")
    if not isinstance(prefix, str) or not prefix or any(s in prefix for s in "/\\"):
        raise ValueError(f"prefix must be a non-empty file name prefix; got {prefix!r}.")

    if not (hasattr(X, "shape") and hasattr(X, "__getitem__")):
        X = np.asarray(X)
    shape = tuple(X.shape)
    valid_layout = len(shape) == 4 or (len(shape) == 5 and shape[1] == 1)
    if not valid_layout or min(shape) < 1:
        raise ValueError(
            "X must have shape (n_samples, 1, D, H, W) or (n_samples, D, H, W) with "
            f"no empty axis; got {shape}."
        )
    n, volume_shape = shape[0], shape[-3:]
    if isinstance(X, np.ndarray):
        bad = ~np.isfinite(X.reshape(n, -1)).all(axis=1)
        if bad.any():
            raise ValueError(
                "X has NaN or infinite values in subtomograms "
                f"{np.flatnonzero(bad)[:10].tolist()}; nothing was written."
            )
    label_columns = {} if y is None else encode_labels(y, n)

    directory = Path(directory)
    width = max(6, len(str(n - 1)))
    names = [f"{prefix}_{i:0{width}d}.mrc" for i in range(n)]
    table = directory / f"particles.{format}"
    if not overwrite:
        existing = [p for p in [table, *(directory / m for m in names)] if p.exists()]
        if existing:
            shown = ", ".join(str(p) for p in existing[:3])
            raise FileExistsError(
                f"{len(existing)} target file(s) already exist ({shown}"
                f"{', ...' if len(existing) > 3 else ''}); nothing was written. "
                "Pass overwrite=True or choose another directory or prefix."
            )
    directory.mkdir(parents=True, exist_ok=True)

    for i, name in enumerate(names):
        volume = np.asarray(X[i], dtype=np.float32).reshape(volume_shape)
        if not np.isfinite(volume).all():
            raise ValueError(f"subtomogram {i} has NaN or infinite values; not writing {name}.")
        write_volume(directory / name, volume, voxel_size, overwrite=overwrite)

    particles = pd.DataFrame({"rlnImageName": names, **label_columns})
    return write_table(table, particles, voxel_size, volume_shape[-1], format)
