"""The output set of ``predict``: tables for people, the input set per class for RELION.

The whole set is written into a new folder beside the old one and switched in at
once (:func:`~skcryoal.utils._atomic.replace_folder`), so that a reader, or a
process killed at any moment, finds the previous set or the new one, never a mix.
"""

import os
import re
import shutil
import time
import uuid
from collections import Counter

import numpy as np
import pandas as pd

from ..io._tables import IMAGE_COLUMNS, INT_LABEL_COLUMN, TEXT_LABEL_COLUMN, encode_text_label
from ..utils._atomic import replace_folder
from ._checkpoint import STRAY_AGE_S
from ._pool import FILE_COLUMN, INDEX_COLUMN
from ._tables import provenance

TABLES = ("predictions.star", "predictions.csv")
CLASSES_DIR = "classes"
_CLASS_FILE = re.compile(r"class_\d+_.*\.star")
#: a temporary file of an interrupted atomic write (utils._atomic.atomic_output)
_TEMPORARY = re.compile(r"\..*\.[0-9a-f]{12}\.tmp.*")


def check_folder(out_dir):
    """Refuse an output folder holding anything that ``predict`` did not write.

    ``predict`` replaces its folder whole; anything else in it would be lost.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(20, "predict writes a folder, and this is a file", str(out_dir))
    if not out_dir.is_dir():
        return
    foreign = []
    for entry in sorted(out_dir.iterdir()):
        if _TEMPORARY.fullmatch(entry.name) or (entry.name in TABLES and entry.is_file()):
            continue
        if entry.name == CLASSES_DIR and entry.is_dir():
            others = [
                e.name
                for e in sorted(entry.iterdir())
                if not (_CLASS_FILE.fullmatch(e.name) or _TEMPORARY.fullmatch(e.name))
            ]
            foreign += [f"{CLASSES_DIR}/{name}" for name in others]
            continue
        foreign.append(entry.name + ("/" if entry.is_dir() else ""))
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise FileExistsError(
            17,
            f"{out_dir} holds files that predict did not write ({shown}); predict replaces "
            "its output folder whole, so that the tables and class files always come from one "
            f"run. Give it a folder of its own (e.g. {out_dir / 'predictions'}), or move "
            "those files",
            str(out_dir),
        )


def write_outputs(campaign, out_dir, frame, proba, classes, final, model_id):
    """Write the output set into a new folder and switch it in place of ``out_dir``.

    Parameters
    ----------
    campaign : Campaign
    out_dir : Path
        Absolute; checked with :func:`check_folder`.
    frame : DataFrame
        The predictions table (provenance shown names plus the prediction columns).
    proba : ndarray of shape (n_particles, n_model_classes)
    classes : list
        The model's classes, the columns of ``proba``.
    final : list
        Each particle's final class (its label, else the prediction).
    model_id : int

    Returns
    -------
    files : dict
        As :meth:`Campaign.predict` returns it, with the final paths.
    """
    from ._files import write_csv, write_star

    blocks = campaign._meta.get("blocks") or {}
    table = _with_volume_names(campaign, frame, out_dir)
    relion = _class_rows(campaign)
    final_text = np.asarray([str(v) for v in final], dtype=object)
    names = {}
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_stray_sets(out_dir)
    staging = out_dir.parent / f".{out_dir.name}.{uuid.uuid4().hex[:12]}.new"
    staging.mkdir()
    try:
        write_star(staging / TABLES[0], table, blocks)
        write_csv(staging / TABLES[1], table.fillna({"label": ""}))
        (staging / CLASSES_DIR).mkdir()
        for k, cls in enumerate(campaign.classes):
            members = np.flatnonzero(final_text == str(cls))
            if len(members) == 0:
                continue
            rows = _with_class(campaign, relion, members, k, cls, frame, proba, classes)
            rows["skcryoalModelId"] = model_id
            names[cls] = f"class_{k:02d}_{_safe(cls)}.star"
            write_star(staging / CLASSES_DIR / names[cls], rows, blocks)
        replace_folder(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {
        "star": out_dir / TABLES[0],
        "csv": out_dir / TABLES[1],
        "classes": {cls: out_dir / CLASSES_DIR / name for cls, name in names.items()},
        "model_id": model_id,
    }


def remove_stray_sets(out_dir, *, min_age_s=STRAY_AGE_S):
    """Remove the hidden folders that killed runs left beside ``out_dir``; return them.

    ``.NAME.*.new`` (a set being written) and ``.NAME.*.old`` (a set switched
    out), untouched for ``min_age_s``: younger ones may belong to a ``predict``
    running now in another process.
    """
    pattern = re.compile(rf"\.{re.escape(out_dir.name)}\.[0-9a-f]{{12}}\.(new|old)")
    removed, limit = [], time.time() - min_age_s
    for entry in out_dir.parent.iterdir():
        try:
            if pattern.fullmatch(entry.name) and entry.is_dir():
                if entry.stat().st_mtime < limit:
                    shutil.rmtree(entry)
                    removed.append(entry)
        except OSError:
            pass
    return removed


def _safe(name):
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", str(name)) or "class"


def _image_column(campaign):
    """The column naming each particle's volume file, of a pool read from files."""
    columns = campaign._meta["columns"]
    return next((c for c in IMAGE_COLUMNS if c in columns), "rlnImageName")


def _volume_names(campaign, base=None):
    """Each particle's volume as ``file`` or ``index@file``: absolute, or relative to ``base``."""
    rows = [row for _, row in provenance(campaign)]
    original = _image_column(campaign)
    counts = Counter(r[FILE_COLUMN] for r in rows)
    names = []
    for r in rows:
        given = r.get(original)
        stack = "@" in str(given) if given is not None else counts[r[FILE_COLUMN]] > 1
        path = str(r[FILE_COLUMN])
        if base is not None:
            path = _relative(path, base)
        names.append(f"{r[INDEX_COLUMN]}@{path}" if stack else path)
    return original, names


def _relative(path, base):
    try:
        return os.path.relpath(path, base)
    except ValueError:  # another drive (Windows): absolute
        return str(path)


def _with_volume_names(campaign, frame, out_dir):
    """The predictions table with its volumes named relative to ``out_dir``.

    The table lies in ``out_dir``, and a table's file names are read relative to
    its folder; the other columns are the provenance as recorded.
    """
    if campaign._meta["pool"]["kind"] != "path":
        if FILE_COLUMN in frame.columns:  # the campaign's pool.npy (None: not copied)
            frame = frame.copy()
            frame[FILE_COLUMN] = [
                None if name is None else _relative(campaign.path / str(name), out_dir)
                for name in frame[FILE_COLUMN]
            ]
        return frame
    column, names = _volume_names(campaign, base=out_dir)
    frame = frame.copy()
    if column in frame.columns:
        frame[column] = names
    else:  # a directory or stack read without a table
        frame.insert(1, column, names)
    return frame


def _class_rows(campaign):
    """The pool's own rows: every recorded column, the volume files absolute.

    ``skcryoal_file`` and ``skcryoal_index`` (where the campaign reads each volume)
    are left out: the image column says it.
    """
    rows = [row for _, row in provenance(campaign)]
    columns = [c for c in campaign._meta["columns"] if c not in (FILE_COLUMN, INDEX_COLUMN)]
    frame = pd.DataFrame({c: [r.get(c) for r in rows] for c in columns}, index=range(len(rows)))
    if campaign._meta["pool"]["kind"] == "path":
        column, names = _volume_names(campaign)
        frame[column] = names
    return frame


def _with_class(campaign, relion, members, k, cls, frame, proba, classes):
    """The rows of one class file: the pool's rows plus skcryoal's ``skcryoal*`` columns."""
    rows = relion.iloc[members].reset_index(drop=True)
    rows = rows.drop(columns=[INT_LABEL_COLUMN, TEXT_LABEL_COLUMN], errors="ignore")
    if isinstance(cls, str):
        rows[TEXT_LABEL_COLUMN] = encode_text_label(cls)
    else:
        rows[INT_LABEL_COLUMN] = cls
    text = campaign._classes.to_text(cls)
    column = next((j for j, c in enumerate(classes) if campaign._classes.to_text(c) == text), None)
    rows["skcryoalParticleId"] = members.astype(np.int64)
    rows["skcryoalClassNumber"] = k + 1
    rows["skcryoalClassProbability"] = (
        proba[members, column] if column is not None else np.full(len(members), np.nan)
    )
    rows["skcryoalClassSource"] = frame["final_source"].to_numpy()[members]
    return rows
