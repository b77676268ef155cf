"""Pool sources of a campaign (files on disk or arrays) and the provenance of each particle."""

import hashlib
import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..utils._atomic import atomic_output

POOL_FILE = "pool.npy"
FILE_COLUMN = "skcryoal_file"
INDEX_COLUMN = "skcryoal_index"
TOMO_COLUMNS = ("rlnTomoName", "rlnMicrographName", "tomo_name", "tomogram")
_EXPERT_LABELS = ("skcryoalLabelText", "skcryoalLabel")
_CHUNK = 64
#: volumes read into the fingerprint of a referenced (not copied) array pool
_FINGERPRINT_ROWS = 8


@dataclass
class PoolSource:
    """What a campaign needs to know about its pool when it is created."""

    kind: str  # "path" or "array"
    volumes: object  # array-like (n, 1, D, H, W), lazy where possible
    rows: list  # one dict of provenance columns per particle
    columns: list  # provenance column names, in order
    labels: object = None  # seed labels (None entries unlabeled) or None
    source: str = ""  # absolute path of the table/directory/stack ("" for arrays)
    blocks: dict = field(default_factory=dict)  # other STAR blocks (e.g. optics)

    @property
    def volume_shape(self):
        """Spatial shape (D, H, W) of the volumes."""
        return tuple(int(s) for s in self.volumes.shape[-3:])


def jsonable(value):
    """Convert a table cell to a JSON-serialisable Python value."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    try:
        if value != value:  # pandas NA / NaT
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def to_json(row):
    """Serialise a provenance row (NaN is kept, as JSON ``NaN``)."""
    return json.dumps({k: jsonable(v) for k, v in row.items()})


def tomo_name(row):
    """Return the tomogram name of a provenance row, or None."""
    for column in TOMO_COLUMNS:
        value = row.get(column)
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            return str(value)
    return None


def _check_array(X, name="pool"):
    if not (hasattr(X, "shape") and hasattr(X, "__getitem__")):
        X = np.asarray(X)
    shape = tuple(X.shape)
    if len(shape) == 4:
        shape = (shape[0], 1, *shape[1:])
    if len(shape) != 5 or shape[1] != 1 or min(shape) < 1:
        raise ValueError(
            f"{name} must be a path (particle table, directory or MRC stack) or an array of "
            f"shape (n_particles, 1, D, H, W) or (n_particles, D, H, W); got shape "
            f"{tuple(X.shape)}."
        )
    dtype = np.dtype(getattr(X, "dtype", np.float32))
    if not (np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer)):
        raise ValueError(f"{name} must hold real numbers; got dtype {dtype}.")
    return X, shape


def pool_record(X):
    """Describe an array pool that is referenced, not copied: shape, dtype, fingerprint.

    The fingerprint is a SHA-256 over the shape, the dtype and the bytes of up
    to ``_FINGERPRINT_ROWS`` volumes evenly spaced through the pool (the first
    and last included): cheap on a pool of gigabytes, and it tells the wrong
    pool (other data, another order, other preprocessing) from the right one.

    Parameters
    ----------
    X : array-like of shape (n, 1, D, H, W) or (n, D, H, W)

    Returns
    -------
    record : dict
        ``shape`` (with the channel axis), ``dtype`` and ``fingerprint``.
    """
    X, shape = _check_array(X)
    dtype = np.dtype(getattr(X, "dtype", np.float32))
    digest = hashlib.sha256(f"{shape} {dtype.str}".encode())
    rows = np.unique(np.linspace(0, shape[0] - 1, min(shape[0], _FINGERPRINT_ROWS)).astype(int))
    for i in rows:
        volume = np.ascontiguousarray(np.asarray(X[int(i)]), dtype=dtype)
        digest.update(volume.tobytes())
    return {"shape": list(shape), "dtype": dtype.str, "fingerprint": digest.hexdigest()}


def is_referenced(pool_meta):
    """Whether the pool is an array referenced by the campaign, not copied into its folder."""
    return pool_meta["kind"] == "array" and not pool_meta.get("copied", True)


def read_pool(pool, *, label_column=None):
    """Describe a pool given as a path or as an array, without loading its volumes.

    Parameters
    ----------
    pool : str, path-like or array-like
        A particle table (``.star``/``.csv``), a directory of MRC files, a
        single MRC stack, or an array (ndarray, memmap, lazy array) of shape
        ``(n, 1, D, H, W)`` or ``(n, D, H, W)``.
    label_column : str or None, default=None
        Label column of a table (see :func:`skcryoal.io.read_subtomograms`).

    Returns
    -------
    source : PoolSource
    """
    if isinstance(pool, (str, os.PathLike)):
        return _read_path(Path(pool).resolve(), label_column)
    if label_column is not None:
        raise ValueError("label_column applies to a particle table; pass labels as y= instead.")
    X, shape = _check_array(pool)
    rows = [{FILE_COLUMN: POOL_FILE, INDEX_COLUMN: i + 1} for i in range(shape[0])]
    return PoolSource("array", X, rows, [FILE_COLUMN, INDEX_COLUMN])


def _read_path(source, label_column):
    from ..io import read_subtomograms

    with warnings.catch_warnings():
        # RELION's rlnClassNumber is what a classification assigned, not an
        # expert's label: it seeds a campaign only when asked for by name
        warnings.filterwarnings("ignore", message=".*rlnClassNumber.*", category=UserWarning)
        X, y, table = read_subtomograms(
            source, mmap=True, label_column=label_column, partial_labels=True, return_table=True
        )
    if label_column is None and not any(c in table.columns for c in _EXPERT_LABELS):
        y = None
    return _source_from_table(source, X, y, table)


def _source_from_table(source, X, y, table):
    columns = [str(c) for c in table.columns]
    rows = table.to_dict("records")
    blocks = _other_blocks(source) if source.suffix.lower() == ".star" else {}
    return PoolSource("path", X, rows, columns, y, str(source), blocks)


def _other_blocks(table_path):
    """The STAR blocks other than the particles (e.g. optics), as JSON-ready dicts."""
    import pandas as pd
    import starfile

    try:
        blocks = starfile.read(table_path, always_dict=True)
    except Exception:  # the particles were read already; extra blocks are a bonus
        return {}
    out = {}
    for name, block in blocks.items():
        if name == "particles" or not isinstance(block, pd.DataFrame):
            continue
        if "rlnImageName" in block.columns:
            continue
        out[str(name)] = {str(c): [jsonable(v) for v in block[c]] for c in block.columns}
    return out


def save_array_pool(X, folder):
    """Write an array pool to ``folder/pool.npy`` atomically, a chunk at a time.

    Values must be finite: a NaN volume is refused before the file is renamed
    into place.
    """
    X, shape = _check_array(X)
    four_d = len(X.shape) == 4
    path = Path(folder) / POOL_FILE
    with atomic_output(path) as temp:
        out = np.lib.format.open_memmap(temp, mode="w+", dtype=np.float32, shape=shape)
        for start in range(0, shape[0], _CHUNK):
            chunk = np.asarray(X[start : start + _CHUNK], dtype=np.float32)
            if four_d:
                chunk = chunk[:, None]
            bad = ~np.isfinite(chunk.reshape(len(chunk), -1)).all(axis=1)
            if bad.any():
                raise ValueError(
                    f"pool has NaN or infinite values in volume(s) "
                    f"{(np.flatnonzero(bad) + start)[:10].tolist()}; repair them first."
                )
            out[start : start + len(chunk)] = chunk
        out.flush()
        del out
    return path


def open_pool(folder, pool_meta, rows, pool=None):
    """Return the volumes of an existing campaign, checked against its record.

    Parameters
    ----------
    folder : Path
    pool_meta : dict
        ``kind``, ``source``, ``n`` and ``volume_shape`` recorded at creation
        (and ``copied``, ``shape``, ``dtype``, ``fingerprint`` for an array
        pool that was not copied).
    rows : callable
        ``rows()`` returns the recorded provenance, used to recognise a
        relocated table (called only for a table given as ``pool``).
    pool : str, path-like, array-like or None, default=None
        Use this pool instead of the recorded one (data moved to another
        folder); it must hold the same particles, with the same volume shape.
        Required for an array pool that was not copied: the same array,
        checked against the recorded shape, dtype and fingerprint.

    Returns
    -------
    volumes : array-like of shape (n, 1, D, H, W)
    """
    n, shape = pool_meta["n"], tuple(pool_meta["volume_shape"])
    if is_referenced(pool_meta):
        return _check_reference(pool_meta, pool)
    if pool is None and pool_meta["kind"] == "array":
        path = Path(folder) / POOL_FILE
        try:
            X = np.load(path, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise OSError(f"cannot read the campaign's pool {path}: {exc}") from exc
        where = str(path)
    elif pool is None:
        X = read_pool(pool_meta["source"]).volumes
        where = pool_meta["source"]
    elif isinstance(pool, (str, os.PathLike)):
        source = read_pool(pool)
        _check_same_table(source, rows(), pool)
        X, where = source.volumes, str(pool)
    else:
        X, _ = _check_array(pool)
        where = "the given pool"
    got_shape = tuple(int(s) for s in X.shape[-3:])
    if got_shape != shape:
        raise ValueError(
            f"{where} holds volumes of shape {got_shape} (z, y, x) but this campaign's "
            f"volumes are {shape}; pass the campaign's own pool (crop or resample to {shape})."
        )
    if len(X) != n:
        raise ValueError(
            f"{where} holds {len(X)} particles but this campaign has {n}; pass the "
            "campaign's own pool."
        )
    return X if len(X.shape) == 5 else with_channel(X)


def _check_reference(pool_meta, pool):
    """Return the referenced array pool after checking it is the recorded one."""
    if pool is None:
        raise ValueError(
            "this campaign's pool was not copied into its folder (created with "
            "copy_pool=False); pass the same array again: Campaign.open(path, pool=X)."
        )
    if isinstance(pool, (str, os.PathLike)):
        raise ValueError(
            "this campaign's pool is an array that was not copied into its folder; pass that "
            f"array (e.g. np.load(..., mmap_mode='r')), not the path {str(pool)!r}."
        )
    X, _ = _check_array(pool)
    got = pool_record(X)
    if got["shape"] != pool_meta["shape"] or got["dtype"] != pool_meta["dtype"]:
        raise ValueError(
            f"the given pool has shape {tuple(got['shape'])} and dtype "
            f"{np.dtype(got['dtype'])}, but this campaign's pool has shape "
            f"{tuple(pool_meta['shape'])} and dtype {np.dtype(pool_meta['dtype'])}; pass the "
            "array the campaign was created with."
        )
    if got["fingerprint"] != pool_meta["fingerprint"]:
        raise ValueError(
            "the given pool has this campaign's shape and dtype but other volumes (their "
            f"fingerprint, over up to {_FINGERPRINT_ROWS} volumes spread through the pool, "
            "differs); pass the array the campaign was created with (same particles, in the "
            "same order, with the same values)."
        )
    return X if len(X.shape) == 5 else with_channel(X)


def with_channel(X):
    """Return ``X`` of shape (n, D, H, W) as (n, 1, D, H, W), lazily (no copy)."""
    from ..utils._validation import check_volumes

    return check_volumes(X, name="pool", check_finite=False)


def _check_same_table(source, rows, where):
    image = "rlnImageName"
    if not source.rows or image not in source.rows[0] or image not in rows[0]:
        return
    if len(source.rows) != len(rows):
        return  # the length check reports it
    for pid, (new, old) in enumerate(zip(source.rows, rows)):
        if str(new.get(image)) != str(old.get(image)):
            raise ValueError(
                f"{where}: row {pid} is {new.get(image)!r} but particle {pid} of this campaign "
                f"is {old.get(image)!r}; pass the campaign's own particle table."
            )
