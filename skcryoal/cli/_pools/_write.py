"""Cutting a particle set into a folder of MRC files plus a particle table, all or nothing."""

import contextlib
import errno
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ...io._write import _missing_dirs

TABLE_NAME = "particles"
#: the files write_subtomograms names (prefix "subtomo"), the only ones ever deleted
_OUR_FILES = re.compile(r"subtomo_\d{6,}\.mrc")
#: skcryoal's own columns of the output table, written anew: an input column of such a
#: name (the input is an earlier extraction, or a campaign's class file) is replaced.
#: Every other input column is kept under its name, RELION's rlnImageName,
#: rlnClassNumber and rlnOpticsGroup included.
_OURS = (
    "skcryoalImageName",
    "skcryoalImagePixelSize",
    "skcryoalLabel",
    "skcryoalLabelText",
    "skcryoal_file",
    "skcryoal_index",
)


@dataclass
class Extraction:
    """What :func:`extract_to_folder` wrote."""

    folder: Path
    table_path: Path
    files: list  # MRC file names, in table order
    particles: pd.DataFrame  # the input rows
    table: pd.DataFrame  # the rows written (extract_particles' table)
    labels: np.ndarray | None  # of the rows written
    size: int
    voxel_size: float


def extract_to_folder(
    source,
    folder,
    *,
    size,
    voxel_size=None,
    edge="raise",
    standardize=True,
    fmt="star",
    overwrite=False,
    replace=False,
    protect=(),
    manifest=None,
):
    """Cut ``source``'s particles into ``folder``: MRC files plus ``particles.{fmt}``.

    The boxes are cut with :func:`skcryoal.io.extract_particles` into a memory map
    (memory stays bounded by a tomogram's boxes), written with
    :func:`skcryoal.io.write_subtomograms` into a hidden folder beside ``folder``,
    and the table is completed there; only then does anything appear in ``folder``.
    The table is the input particle set itself, restricted to the rows cut: its
    other STAR blocks (``data_general``, ``data_optics``...) and every column as
    given, under its name, plus skcryoal's columns: ``skcryoalImageName`` (the
    subtomogram file, relative to the table), ``skcryoalImagePixelSize`` (its voxel
    size), the labels in ``skcryoalLabelText`` or ``skcryoalLabel``, and the
    ``skcryoal_*`` columns of :func:`skcryoal.io.extract_particles`.

    Parameters
    ----------
    source : Source
        The particles and labels.
    folder : path-like
        Output folder.
    size, voxel_size, edge, standardize
        As in :func:`skcryoal.io.extract_particles`.
    fmt : {"star", "csv"}, default="star"
        The table's format.
    overwrite : bool, default=False
        Replace files of an earlier extraction in ``folder``; without it, a table or
        subtomogram file of the same name there is an error (before any work).
    replace : bool, default=False
        ``folder`` is a cache owned by the caller: its old content is removed whole
        and the new folder takes its place in one rename.
    protect : sequence of path-like
        Input files that must not be replaced (the particle table itself).
    manifest : dict, optional
        Written as ``extraction.json`` in the folder, with it (a record of how it was
        cut, for caches).

    Returns
    -------
    extraction : Extraction
    """
    from ...io import extract_particles, write_subtomograms

    folder = Path(folder).absolute()
    table_path = folder / f"{TABLE_NAME}.{fmt}"
    for path in protect:
        if path is not None and table_path.exists() and table_path.samefile(path):
            raise ValueError(
                f"the output table {table_path} would replace the input {path}; choose "
                "another output folder."
            )
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(20, "the output folder is a file", str(folder))
    if not replace:
        _check_targets(folder, table_path, overwrite)
    particles = source.particles.reset_index(drop=True)
    if len(particles) == 0:
        raise ValueError("there are no particles to cut.")
    output_voxel = _output_voxel_size(particles, voxel_size)

    _check_disk_space(folder, len(particles), size)
    staging = folder.parent / f".{folder.name}.{uuid.uuid4().hex[:12]}.staging"
    new_dirs = _missing_dirs(folder.parent)
    staging.mkdir(parents=True)
    try:
        boxes = staging / ".boxes.tmp"
        out = np.memmap(boxes, dtype=np.float32, mode="w+", shape=(len(particles), 1, *(size,) * 3))
        X, table = extract_particles(
            particles, size, voxel_size=voxel_size, edge=edge, out=out, standardize=standardize
        )
        if len(table) == 0:
            raise ValueError(
                "no particle's box fits inside its tomogram, so --edge skip left none; "
                "check the coordinates and the tomograms, or use --edge pad."
            )
        positions = table["skcryoal_row"].to_numpy()
        if source.rows is not None:  # a subset: the rows of the input
            table["skcryoal_row"] = source.rows[positions]
        labels = None if source.labels is None else np.asarray(source.labels)[positions]
        if labels is not None and all(v is None for v in labels):
            labels = None
        output_voxel = output_voxel or _common_voxel_size(table)
        out.flush()
        del X, out
        volumes = _VolumeFile(boxes, len(table), size)
        written = write_subtomograms(staging, volumes, voxel_size=output_voxel, format=fmt)
        boxes.unlink()
        files = _write_table(written, table, labels, output_voxel, fmt)
        if manifest is not None:
            text = json.dumps(manifest, indent=2) + "\n"
            (staging / "extraction.json").write_text(text, encoding="utf-8")
        if replace:
            _replace_folder(staging, folder)
        else:
            _publish(staging, folder, table_path, overwrite)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for path in new_dirs:
            with contextlib.suppress(OSError):
                path.rmdir()
        raise
    return Extraction(folder, table_path, files, particles, table, labels, size, output_voxel)


def free_disk(path):
    """Bytes free for an unprivileged user on the file system of ``path``."""
    return shutil.disk_usage(path).free


def _check_disk_space(folder, n, size):
    """Refuse, before anything is written, an extraction the disk cannot hold.

    The boxes are cut into a raw file, then written as MRC files beside it (1024-byte
    headers) before the raw file is removed: at the peak, twice the boxes.
    """
    from ...io._extract_particles import bytes_text

    need = 2 * n * size**3 * 4 + n * 1024
    where = folder.parent
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        free = free_disk(where)
    except OSError:
        return  # unknown: let the writes tell
    if need > free:
        raise OSError(
            errno.ENOSPC,
            f"{n} subtomograms of {size}x{size}x{size} voxels need about {bytes_text(need)} "
            f"of disk space to cut into {folder} (float32 boxes, staged then written as MRC "
            f"files), but only {bytes_text(free)} is free there. Use a smaller --size, fewer "
            "particles (a smaller particle table), or an output folder on a larger disk",
            str(folder),
        )


class _VolumeFile:
    """The boxes in a raw float32 file, read one at a time without mapping the file.

    Volumes read through a memory map stay resident (the pages remain mapped); read
    from the file, only the one being written is in memory.
    """

    def __init__(self, path, n, size):
        self.path, self.shape, self.dtype = path, (n, 1, size, size, size), np.dtype(np.float32)
        self._nbytes = size**3 * self.dtype.itemsize

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, i):
        with open(self.path, "rb") as f:
            f.seek(int(i) * self._nbytes)
            data = f.read(self._nbytes)
        return np.frombuffer(data, dtype=self.dtype).reshape(self.shape[1:])


def _check_targets(folder, table_path, overwrite):
    if overwrite or not folder.is_dir():
        return
    if table_path.exists():
        raise FileExistsError(
            17,
            f"{table_path} exists; pass --overwrite to replace the extraction in "
            f"{folder}, or choose another folder",
            str(table_path),
        )
    clashes = sorted(p.name for p in folder.iterdir() if _OUR_FILES.fullmatch(p.name))
    if clashes:
        raise FileExistsError(
            17,
            f"{folder} holds subtomogram files ({', '.join(clashes[:3])}"
            f"{', ...' if len(clashes) > 3 else ''}); pass --overwrite to replace them, or "
            "choose another folder",
            str(folder),
        )


def _output_voxel_size(particles, voxel_size):
    """``voxel_size``, or 0.0 to take the tomograms' own; unknown ones are an error."""
    voxels = pd.to_numeric(particles["skcryoal_voxel_size"], errors="coerce").to_numpy()
    unknown = ~(np.isfinite(voxels) & (voxels > 0))
    if unknown.any():
        names = particles["skcryoal_tomogram"].astype(str).to_numpy()[unknown]
        shown = ", ".join(dict.fromkeys(names[:50]).keys())
        raise ValueError(
            f"the voxel size of tomogram(s) {shown} is unknown (0 in the file's header and "
            "no tilt-series pixel size and binning in the tables), so neither the "
            "subtomograms' voxel size nor a resampling is known. Set it in the header (with "
            "mrcfile: mrc.voxel_size = ...) or pass --tomograms the tomograms STAR with "
            "rlnTomoTiltSeriesPixelSize and rlnTomoTomogramBinning."
        )
    return float(voxel_size or 0.0)


def _common_voxel_size(table):
    # extract_particles refused tomograms of different voxel sizes without voxel_size
    return float(pd.to_numeric(table["skcryoal_voxel_size"]).iloc[0])


def _label_columns(labels, n):
    """The label columns of the output table: ``skcryoalLabel`` or ``skcryoalLabelText``.

    Missing (``<NA>`` in STAR, empty in CSV) where a row has no label. No
    ``rlnClassNumber``: that column is the input's, kept as given.
    """
    from ...io._tables import CLASS_COLUMN, encode_labels

    if labels is None:
        return {}
    present = [i for i, v in enumerate(labels) if v is not None]
    if not present:
        return {}
    values = np.asarray([labels[i] for i in present])
    columns = {}
    for name, column in encode_labels(values, len(present)).items():
        if name == CLASS_COLUMN:
            continue
        full = np.full(n, None, dtype=object)
        full[present] = column
        columns[name] = full if len(present) < n else list(column)
    return columns


def _write_table(written, table, labels, voxel_size, fmt):
    """Replace the table write_subtomograms wrote: the input set plus skcryoal's columns."""
    from ...io._tables import (
        BLOCKS_ATTR,
        IMAGE_COLUMNS,
        OWN_IMAGE_COLUMN,
        OWN_PIXEL_SIZE_COLUMN,
        read_table,
        write_star,
    )

    images = read_table(written, IMAGE_COLUMNS, pixel_size=False)[0]["rlnImageName"].tolist()
    rows = table.reset_index(drop=True)
    rows = rows.drop(columns=[c for c in _OURS if c in rows.columns])
    ours = {OWN_IMAGE_COLUMN: images, OWN_PIXEL_SIZE_COLUMN: float(voxel_size)}
    frame = pd.concat([rows, pd.DataFrame({**ours, **_label_columns(labels, len(rows))})], axis=1)
    try:
        if fmt == "csv":
            frame.to_csv(written, index=False)
        else:
            write_star(written, frame, table.attrs.get(BLOCKS_ATTR))
    except (ValueError, OSError) as exc:
        raise OSError(f"could not write particle table {written}: {exc}") from exc
    return images


def _replace_folder(staging, folder):
    """Put ``staging`` in the place of ``folder`` (a cache), removing its old content."""
    old = None
    if folder.exists():
        old = folder.parent / f".{folder.name}.{uuid.uuid4().hex[:12]}.old"
        os.rename(folder, old)
    os.rename(staging, folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _publish(staging, folder, table_path, overwrite):
    """Move the staged files into ``folder``, the table last (a reader sees one or the other).

    With ``overwrite``, the subtomogram files that the previous table listed and the new
    one does not are deleted after it (and a previous table of the other format).
    """
    if not folder.exists():
        os.rename(staging, folder)
        return
    previous = _previous_files(folder) if overwrite else set()
    names = sorted(p.name for p in staging.iterdir() if p.name != table_path.name)
    for name in [*names, table_path.name]:
        os.replace(staging / name, folder / name)
    staging.rmdir()
    for name in sorted(previous - {*names, table_path.name}):
        with contextlib.suppress(OSError):
            (folder / name).unlink()


def _previous_files(folder):
    """The tables of an earlier extraction in ``folder`` and the subtomogram files they list."""
    from ...io._tables import IMAGE_COLUMNS, read_table

    found = set()
    for suffix in ("star", "csv"):
        table = folder / f"{TABLE_NAME}.{suffix}"
        if not table.is_file():
            continue
        try:
            rows = read_table(table, IMAGE_COLUMNS, pixel_size=False)[0]
            # skcryoalImageName, or rlnImageName in an extraction of an earlier version
            images = rows[next(c for c in IMAGE_COLUMNS if c in rows.columns)]
        except (ValueError, OSError, KeyError, StopIteration):
            continue  # not one of ours: left alone
        listed = {str(v) for v in images}
        if listed and all(_OUR_FILES.fullmatch(v) for v in listed):
            found |= listed | {table.name}
    return found
