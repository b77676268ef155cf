"""Writing subtomograms as one MRC file each plus a particle table."""

import contextlib
import numbers
import os
import re
import uuid
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ._mrc import write_volume
from ._tables import encode_labels, read_table, write_table

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
        written. If True, the directory ends up holding exactly the new set:
        volume files that the replaced table listed and that this function
        wrote (``{prefix}_NNNNNN.mrc`` in ``directory``) but that the new set
        does not include are removed once the new set is in place.

    Returns
    -------
    table : Path
        The particle table written.

    Raises
    ------
    ValueError
        Invalid parameters, ``X`` or ``y`` (shape, NaN or infinite values,
        label types); nothing is written.
    FileExistsError
        A target file exists and ``overwrite`` is False; nothing is written.
    IsADirectoryError
        A target name is a directory; nothing is written.
    OSError
        A file could not be written; the files this call created are removed.

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

    The call writes everything or nothing: parameters, labels, target files
    and (for an ndarray ``X``) non-finite values are checked first; then each
    file is written under a temporary name in ``directory`` and renamed into
    place once all are written, the table last. If anything fails (a NaN in
    the last volume of a lazy ``X``, a full disk), the files this call created
    are removed and the directory is as before. With ``overwrite=True``, the
    volumes of an earlier, larger write with the same ``prefix`` (listed in the
    table being replaced) are removed after the new table is in place; no other
    file is touched (a file the replaced table does not list, or not named like
    this function's files, stays).

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
    if isinstance(X, np.ndarray) and not isinstance(X, np.memmap):
        # In memory: check all now, volume by volume (a memmap is checked as
        # each volume is staged below, so that it is read only once).
        bad = [i for i in range(n) if not np.isfinite(X[i]).all()]
        if bad:
            raise ValueError(
                f"X has NaN or infinite values in subtomograms {bad[:10]}; nothing was written."
            )
    label_columns = {} if y is None else encode_labels(y, n)

    directory = Path(directory)
    width = max(6, len(str(n - 1)))
    names = [f"{prefix}_{i:0{width}d}.mrc" for i in range(n)]
    table = directory / f"particles.{format}"
    targets = [*(directory / m for m in names), table]
    for path in targets:
        if path.is_dir():
            raise IsADirectoryError(
                21,
                f"{path} is a directory; nothing was written. Remove it or choose another "
                "directory or prefix",
                str(path),
            )
    if not overwrite:
        existing = [p for p in [table, *targets[:-1]] if p.exists()]
        if existing:
            shown = ", ".join(str(p) for p in existing[:3])
            raise FileExistsError(
                f"{len(existing)} target file(s) already exist ({shown}"
                f"{', ...' if len(existing) > 3 else ''}); nothing was written. "
                "Pass overwrite=True or choose another directory or prefix."
            )
    particles = pd.DataFrame({"rlnImageName": names, **label_columns})
    stale = _stale_volumes(table, prefix, names) if overwrite else []

    # Everything is first written under temporary names in the target directory
    # (so that the final renames stay on one file system and are atomic), and
    # renamed into place only once every volume has been read, checked and
    # written; the table goes last, so that a reader never sees a table whose
    # files are not all there. On any error, this call's files are removed.
    new_dirs = _missing_dirs(directory)
    directory.mkdir(parents=True, exist_ok=True)
    temps, created, n_renamed = [], [], 0
    try:
        for i, name in enumerate(names):
            volume = np.asarray(X[i], dtype=np.float32).reshape(volume_shape)
            if not np.isfinite(volume).all():
                raise ValueError(
                    f"subtomogram {i} has NaN or infinite values; nothing was written."
                )
            temps.append(_temporary(directory, name))
            write_volume(temps[-1], volume, voxel_size)
        temps.append(_temporary(directory, table.name))
        write_table(temps[-1], particles, voxel_size, volume_shape[-1], format)
        for temp, target in zip(temps, targets):
            existed = target.exists()
            os.replace(temp, target)
            n_renamed += 1
            if not existed:
                created.append(target)
    except BaseException:
        # Files this call replaced keep their new content (a rename failing
        # after others succeeded is rare: the targets were checked first).
        for path in [*temps[n_renamed:], *created]:
            with contextlib.suppress(OSError):
                os.unlink(path)
        for folder in new_dirs:
            with contextlib.suppress(OSError):
                os.rmdir(folder)
        raise
    # Only now that the new set is complete: a kill before this point leaves
    # the new table plus unlisted files, never a table without its files.
    failed = []
    for path in stale:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            failed.append(f"{path.name} ({exc.strerror})")
    if failed:
        warnings.warn(
            f"the new set is written to {table}, but {len(failed)} volume file(s) of the "
            f"replaced set could not be removed: {', '.join(failed[:3])}"
            f"{', ...' if len(failed) > 3 else ''}; remove them by hand.",
            UserWarning,
            stacklevel=2,
        )
    return table


def _stale_volumes(table, prefix, names):
    """Volume files the table being replaced lists, written here, not in ``names``.

    Only bare ``{prefix}_NNNNNN.mrc`` names (this function's naming) listed in
    the existing table count, so that no file this function did not write is
    ever removed. An unreadable table gives none.
    """
    if not table.is_file():
        return []
    try:
        df, _ = read_table(table, ("rlnImageName",), pixel_size=False)
    except (ValueError, OSError):
        return []
    if "rlnImageName" not in df.columns:
        return []
    ours = re.compile(rf"{re.escape(prefix)}_\d{{6,}}\.mrc")
    keep = set(names)
    stale = []
    for value in dict.fromkeys(df["rlnImageName"].tolist()):
        if isinstance(value, str) and ours.fullmatch(value) and value not in keep:
            path = table.parent / value
            if path.is_file() and not path.is_symlink():
                stale.append(path)
    return stale


def _missing_dirs(directory):
    """The folders that ``mkdir(parents=True)`` will create, deepest first."""
    missing = []
    while not directory.exists() and directory != directory.parent:
        missing.append(directory)
        directory = directory.parent
    return missing


def _temporary(directory, name):
    """A fresh hidden name next to ``name``; the file is created by the writer."""
    while True:
        path = directory / f".{name}.{uuid.uuid4().hex[:12]}.tmp"
        if not path.exists():
            return path
