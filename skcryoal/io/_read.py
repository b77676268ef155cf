"""Reading subtomograms from a particle table, a directory or a stack file."""

import os
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import not_a_file_error
from ._lazy import LazySubtomograms
from ._mrc import MRC_SUFFIXES, inspect_mrc, memmap_stack, read_volumes
from ._tables import (
    CLASS_COLUMN,
    IMAGE_COLUMNS,
    LABEL_COLUMNS,
    TABLE_SUFFIXES,
    decode_labels,
    read_table,
)


def read_subtomograms(
    table_or_directory,
    *,
    mmap: bool = False,
    label_column: str | None = None,
    partial_labels: bool = False,
    return_voxel_size: bool = False,
    return_table: bool = False,
):
    """Read subtomograms and their labels from disk.

    Returns ``(X, y)``, followed by ``voxel_size`` if ``return_voxel_size`` and
    by ``table`` if ``return_table``, in that order:
    ``(X, y[, voxel_size][, table])``.

    Parameters
    ----------
    table_or_directory : str or path-like
        One of:

        - a particle table, ``.star`` (RELION/Warp) or ``.csv``, with one row per
          subtomogram. The file column is ``rlnImageName`` (or ``image_name``,
          ``filename``, ``path``), after skcryoal's own ``skcryoalImageName``
          (in tables that keep another set's ``rlnImageName``: ``skcryoal
          extract``, a campaign's predictions); relative paths are relative to
          the table's folder. A row addresses a single-volume file (``subtomo_000.mrc``) or
          one volume of a volume stack as ``index@file`` with a 1-based index,
          the RELION convention (``3@stack.mrcs`` is the third volume). In a
          CSV file, spaces around the commas (``rlnImageName, skcryoalLabel``)
          are ignored;
        - a directory: if it holds exactly one particle table (``.star`` or
          ``.csv``) whose rows name exactly the MRC files of the directory (as
          one written by :func:`write_subtomograms` does), it is read through
          that table, labels included, in the table's order. Otherwise every
          ``.mrc``, ``.mrcs``, ``.map`` and ``.rec`` file in it is read, sorted
          by name, stacks expanded into their volumes, without labels; a
          ``UserWarning`` says why when the directory holds tables that were
          not used (several tables, or one listing other files);
        - a single MRC file: a volume, or a volume stack (4D data, space group
          401) read as ``n`` subtomograms; no labels.
    mmap : bool, default=False
        If False, read everything into memory. If True, read the volumes only
        when needed: return a read-only ``numpy.memmap`` when all volumes are
        one float32 stack file in order, otherwise a :class:`LazySubtomograms`
        that reads volumes when indexed (``X[i]``, ``X[a:b]``, ``X[indices]``).
        Either way the headers (shape, voxel size, file size) are validated
        now. Volumes with NaN or infinite values are an error when they are
        read; the memmap, which cannot check values as they are read, is
        scanned for them once now (sequentially, in bounded memory).
    label_column : str, optional
        Table column holding the labels. By default the first present of
        ``skcryoalLabelText`` (percent-decoded strings), ``skcryoalLabel``
        (integers) and ``rlnClassNumber``; ``y`` is None if none is present.
        A given column is returned as int64 if all values are integers, else
        as strings (surrounding spaces stripped). ``rlnClassNumber`` is what
        RELION's classification (e.g. Class3D) assigned, not an expert's label,
        and 0 is not a RELION class (classes start at 1): it is returned as-is
        (1-based, 0 kept), with a ``UserWarning`` when the column is picked by
        default; pass ``label_column="rlnClassNumber"`` to use it knowingly.
    partial_labels : bool, default=False
        If False, a label column with labels missing in some rows (empty,
        ``nan`` or ``<NA>``) is an error. If True, ``y`` is an object array
        with None for those rows, and the labels of the other rows as Python
        ints (when all of them are integers) or str (for annotation campaigns
        where only some particles are labeled yet).
    return_voxel_size : bool, default=False
        Also return the voxel size.
    return_table : bool, default=False
        Also return the particle table, one row per subtomogram of ``X``, in
        order.

    Returns
    -------
    X : ndarray, memmap or LazySubtomograms of shape (n_samples, 1, D, H, W)
        float32, axis order (z, y, x).
    y : ndarray of shape (n_samples,) or None
        Labels as written by :func:`write_subtomograms`: int64 for integer
        labels, str for string labels; object (with None for unlabeled rows)
        if ``partial_labels``. None when there is no label column.
    voxel_size : float
        Voxel size in Angstrom, identical in all files (0.0 if the headers do
        not set it and the table gives none). Only if ``return_voxel_size``.
    table : pandas.DataFrame
        Only if ``return_table``. Every column of the particle table, with its
        column names and values as read (``rlnImageName`` untouched; label and
        image columns as text), plus ``skcryoal_file`` (absolute path of the
        MRC file, str) and ``skcryoal_index`` (1-based index of the volume in
        that file), replacing columns of these names; for a directory read
        without a table, or an MRC file, just these two columns. Index
        ``0 .. n_samples - 1``.

    Raises
    ------
    FileNotFoundError
        The source, or a file named by a table row, does not exist (the message
        names the row and the file).
    InvalidMRCError
        A file is not MRC, is truncated, is a 2D image or image stack, has a
        negative or non-finite voxel size, or holds NaN or infinite values.
    ValueError
        A table that cannot be parsed (the message names it), volumes of
        different shapes or voxel sizes, optics groups with different pixel
        sizes, a table row addressing a whole stack or a volume that is not
        there, labels missing in some rows (unless ``partial_labels``).

    Warns
    -----
    UserWarning
        Labels taken from ``rlnClassNumber`` by default; a directory holding
        particle tables that were not used.

    See Also
    --------
    write_subtomograms : The inverse.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from skcryoal.io import read_subtomograms, write_subtomograms
    >>> X = np.random.default_rng(0).normal(size=(3, 1, 8, 8, 8)).astype(np.float32)
    >>> folder = tempfile.mkdtemp()
    >>> table = write_subtomograms(folder, X, ["a", "b", "a"], voxel_size=13.5)
    >>> X2, y2, voxel = read_subtomograms(table, return_voxel_size=True)
    >>> bool(np.array_equal(X, X2)), y2.tolist(), voxel
    (True, ['a', 'b', 'a'], 13.5)
    >>> X3, y3, particles = read_subtomograms(folder, return_table=True)
    >>> y3.tolist(), particles["skcryoal_index"].tolist()
    (['a', 'b', 'a'], [1, 1, 1])
    """
    source = Path(table_or_directory)
    y, df, table_pixel = None, None, None
    if source.is_dir():
        mrc_files = _mrc_files(source)
        particle_table = _directory_table(source, mrc_files)
        if particle_table is not None:
            infos, positions, y, table_pixel, df = _from_table(
                particle_table, label_column, partial_labels
            )
        elif label_column is not None:
            raise ValueError(
                f"label_column={label_column!r} needs a particle table, but {source} is a "
                "directory without one; pass the table (e.g. particles.star) instead."
            )
        else:
            infos, positions = _from_directory(source, mrc_files)
    elif not source.exists():
        raise FileNotFoundError(2, f"no such table, directory or MRC file: {source}", str(source))
    elif source.suffix.lower() in TABLE_SUFFIXES:
        infos, positions, y, table_pixel, df = _from_table(source, label_column, partial_labels)
    elif source.suffix.lower() in MRC_SUFFIXES:
        if label_column is not None:
            raise ValueError(
                f"label_column={label_column!r} needs a particle table; {source} is an MRC file."
            )
        info = inspect_mrc(source)
        infos, positions = [info] * info.n_volumes, list(range(info.n_volumes))
    else:
        raise ValueError(
            f"cannot read {source}: expected a directory, a particle table "
            f"({', '.join(TABLE_SUFFIXES)}) or an MRC file ({', '.join(MRC_SUFFIXES)})."
        )

    voxel_size = _check_consistent(infos, source, table_pixel)
    if mmap:
        X = _lazy(infos, positions, voxel_size)
    else:
        X = _load(infos, positions)
    result = [X, y]
    if return_voxel_size:
        result.append(voxel_size)
    if return_table:
        result.append(_provenance(df, infos, positions))
    return tuple(result)


def _provenance(df, infos, positions):
    table = pd.DataFrame() if df is None else df.copy()
    table["skcryoal_file"] = [os.path.abspath(info.path) for info in infos]
    table["skcryoal_index"] = np.asarray(positions, dtype=np.int64) + 1
    return table.reset_index(drop=True)


def _mrc_files(directory):
    return sorted(
        p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in MRC_SUFFIXES
    )


def _directory_table(directory, mrc_files):
    """The particle table describing ``directory``'s MRC files, or None (with a warning)."""
    tables = sorted(
        p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES
    )
    if not tables:
        return None
    fallback = (
        f"reading the {len(mrc_files)} MRC files of {directory} without labels. Pass the "
        "table itself to read the particles it lists, with their labels."
    )
    if len(tables) > 1:
        names = ", ".join(p.name for p in tables)
        warnings.warn(
            f"{directory} holds {len(tables)} particle tables ({names}), so which one "
            f"describes its files is unclear; {fallback}",
            UserWarning,
            stacklevel=3,
        )
        return None
    table = tables[0]
    # A first, light pass: does the table list exactly these files? Reading
    # through it afterwards parses it again, so that its errors surface as usual.
    try:
        df, _ = read_table(table, IMAGE_COLUMNS, pixel_size=False)
        column = next((c for c in IMAGE_COLUMNS if c in df.columns), None)
        if column is None:
            raise ValueError(f"no image column ({', '.join(IMAGE_COLUMNS)})")
        listed = {
            _resolve(table, _parse_image_name(value, row, table)[1])
            for row, value in enumerate(df[column].tolist())
        }
    except (ValueError, OSError) as exc:
        warnings.warn(
            f"{table} is not a particle table for these files ({exc}); {fallback}",
            UserWarning,
            stacklevel=3,
        )
        return None
    present = {os.path.abspath(p) for p in mrc_files}
    if listed != present:
        unlisted = sorted(Path(p).name for p in present - listed)
        elsewhere = sorted(str(p) for p in listed - present)
        details = "; ".join(
            part
            for part in (
                f"files it does not list: {_shorten(unlisted)}" if unlisted else "",
                f"rows naming other files: {_shorten(elsewhere)}" if elsewhere else "",
            )
            if part
        )
        warnings.warn(
            f"{table} does not list exactly the MRC files of its directory ({details}); {fallback}",
            UserWarning,
            stacklevel=3,
        )
        return None
    return table


def _resolve(table, name):
    path = Path(name) if Path(name).is_absolute() else table.parent / name
    return os.path.abspath(path)


def _shorten(names, n=3):
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


def _from_directory(directory, files):
    if not files:
        raise ValueError(
            f"{directory} holds no MRC files ({', '.join(MRC_SUFFIXES)}); "
            "pass a particle table or a directory of subtomograms."
        )
    infos, positions = [], []
    for path in files:
        info = inspect_mrc(path)
        infos += [info] * info.n_volumes
        positions += range(info.n_volumes)
    return infos, positions


def _parse_image_name(value, row, table):
    text = str(value).strip()
    if "@" not in text:
        return None, text
    index, _, name = text.partition("@")
    try:
        index = int(index)
    except ValueError:
        raise ValueError(
            f"{table}: row {row} has image name {text!r}; expected 'file' or 'index@file' "
            "with a 1-based integer index."
        ) from None
    if index < 1:
        raise ValueError(
            f"{table}: row {row} has image name {text!r}; stack indices are 1-based "
            "(RELION convention), so the first volume is 1@file."
        )
    return index, name.strip()


def _from_table(table, label_column, partial_labels):
    text_columns = [*IMAGE_COLUMNS, *LABEL_COLUMNS]
    if label_column is not None:
        text_columns.append(label_column)
    df, table_pixel = read_table(table, text_columns)
    image_column = next((c for c in IMAGE_COLUMNS if c in df.columns), None)
    if image_column is None:
        raise ValueError(
            f"{table}: no image column; expected one of {', '.join(IMAGE_COLUMNS[1:])} (or "
            f"skcryoal's own {IMAGE_COLUMNS[0]}). "
            f"Columns found: {', '.join(map(str, df.columns))}."
        )
    if len(df) == 0:
        raise ValueError(f"{table}: the particle table has no rows.")
    if label_column is not None and label_column not in df.columns:
        raise ValueError(
            f"{table}: label_column={label_column!r} is not a column; "
            f"columns found: {', '.join(map(str, df.columns))}."
        )

    cache, infos, positions = {}, [], []
    for row, value in enumerate(df[image_column].tolist()):
        index, name = _parse_image_name(value, row, table)
        if not name:
            raise ValueError(f"{table}: row {row} has an empty image name.")
        path = Path(_resolve(table, name))
        if path not in cache:
            if not path.is_file():
                error = not_a_file_error(path, "MRC file", "name an MRC volume file there.")
                if not isinstance(error, FileNotFoundError):  # a directory, a device...
                    why = error.strerror if isinstance(error, OSError) else str(error)
                    raise ValueError(f"{table}: row {row} ({value!r}) points to {why}")
                raise FileNotFoundError(
                    2,
                    f"{table}: row {row} ({value!r}) points to {path}, which does not exist",
                    str(path),
                )
            cache[path] = inspect_mrc(path)
        info = cache[path]
        if index is None:
            if info.n_volumes > 1:
                raise ValueError(
                    f"{table}: row {row} ({value!r}) names a stack of {info.n_volumes} volumes; "
                    "address one volume per row as index@file (1-based)."
                )
            index = 1
        if index > info.n_volumes:
            raise ValueError(
                f"{table}: row {row} ({value!r}) asks for volume {index} but {path} holds "
                f"{info.n_volumes}."
            )
        infos.append(info)
        positions.append(index - 1)

    column = label_column or next((c for c in LABEL_COLUMNS if c in df.columns), None)
    y = None if column is None else decode_labels(df, column, table, partial=partial_labels)
    if label_column is None and column == CLASS_COLUMN:
        _warn_class_numbers(table, y)
    return infos, positions, y, table_pixel, df


def _warn_class_numbers(table, y):
    zeros = sum(1 for label in y if label == 0)
    counted = (
        f": {zeros} row{'s have' if zeros > 1 else ' has'} class 0, returned as label 0"
        if zeros
        else ""
    )
    warnings.warn(
        f"{table}: labels taken from {CLASS_COLUMN}. These are classification results "
        "(e.g. of RELION Class3D), not expert labels, and 0 is not a RELION class (classes "
        f"start at 1){counted}. Pass label_column={CLASS_COLUMN!r} to use them anyway "
        "(without this warning), or give the expert labels in skcryoalLabel or "
        "skcryoalLabelText.",
        UserWarning,
        stacklevel=4,
    )


def _check_consistent(infos, source, table_pixel):
    first = infos[0]
    for info in infos:
        if info.volume_shape != first.volume_shape:
            raise ValueError(
                f"subtomograms in {source} differ in size: {first.path} is "
                f"{_fmt(first.volume_shape)} but {info.path} is {_fmt(info.volume_shape)} "
                "(z, y, x). Crop or resample them to one box size."
            )
        if not np.isclose(info.voxel_size, first.voxel_size, rtol=1e-4, atol=1e-6):
            raise ValueError(
                f"subtomograms in {source} differ in voxel size: {first.path} has "
                f"{first.voxel_size:g} A but {info.path} has {info.voxel_size:g} A. "
                "Resample them to one voxel size."
            )
    voxel_size = first.voxel_size
    if table_pixel is not None:
        if voxel_size == 0.0:
            voxel_size = table_pixel
        elif not np.isclose(table_pixel, voxel_size, rtol=1e-4, atol=1e-6):
            raise ValueError(
                f"{source}: the table gives rlnImagePixelSize {table_pixel:g} A but the MRC "
                f"headers say {voxel_size:g} A (e.g. {first.path}). Fix the table or the headers."
            )
    return float(voxel_size)


def _fmt(shape):
    return "x".join(str(s) for s in shape)


def _load(infos, positions):
    X = np.empty((len(infos), 1, *infos[0].volume_shape), dtype=np.float32)
    rows_by_file = defaultdict(list)
    for row, info in enumerate(infos):
        rows_by_file[info.path].append(row)
    for rows in rows_by_file.values():
        info = infos[rows[0]]
        X[rows, 0] = read_volumes(info, [positions[r] for r in rows])
    return X


def _lazy(infos, positions, voxel_size):
    first = infos[0]
    single_stack_in_order = (
        all(info.path == first.path for info in infos)
        and list(positions) == list(range(first.n_volumes))
        and first.native_float32
    )
    if single_stack_in_order:
        return memmap_stack(first)
    return LazySubtomograms(infos, positions, voxel_size)
