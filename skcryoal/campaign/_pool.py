"""Pool sources of a campaign (files on disk or arrays) and the provenance of each particle."""

import hashlib
import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..io._tables import plain as jsonable
from ..utils._atomic import atomic_output
from ..utils._batches import RowSubset

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


def read_pool(pool, *, label_column=None, particles=None):
    """Describe a pool given as a path or as an array, without loading its volumes.

    Parameters
    ----------
    pool : str, path-like or array-like
        A particle table (``.star``/``.csv``), a directory of MRC files, a
        single MRC stack, or an array (ndarray, memmap, lazy array) of shape
        ``(n, 1, D, H, W)`` or ``(n, D, H, W)``.
    label_column : str or None, default=None
        Label column of a table (see :func:`skcryoal.io.read_subtomograms`), or
        of ``particles``.
    particles : DataFrame or None, default=None
        The provenance of an array pool, one row per volume (see
        :meth:`Campaign.create`).

    Returns
    -------
    source : PoolSource
    """
    if isinstance(pool, (str, os.PathLike)):
        if particles is not None:
            raise ValueError(
                "particles= gives the rows of an array pool; the rows of a table pool "
                f"({pool}) are its provenance already. Leave particles out."
            )
        return _read_path(Path(pool).resolve(), label_column)
    X, shape = _check_array(pool)
    if particles is not None:
        return _array_with_particles(X, shape[0], particles, label_column)
    if label_column is not None:
        raise ValueError(
            "label_column applies to a particle table (a table pool, or particles=); pass "
            "labels as y= instead."
        )
    rows = [{FILE_COLUMN: POOL_FILE, INDEX_COLUMN: i + 1} for i in range(shape[0])]
    return PoolSource("array", X, rows, [FILE_COLUMN, INDEX_COLUMN])


def _array_with_particles(X, n, particles, label_column):
    """An array pool whose rows are described by a table (extract_particles' table)."""
    import pandas as pd

    from ..io._tables import BLOCKS_ATTR

    if not isinstance(particles, pd.DataFrame):
        raise TypeError(
            "particles must be a DataFrame with one row per volume of the pool (the table "
            "that extract_particles or read_copick_subtomograms returns with it); got "
            f"{type(particles).__name__}."
        )
    if len(particles) != n:
        raise ValueError(
            f"particles has {len(particles)} rows but the pool has {n} volumes; pass the "
            "table returned with the volumes (its row i describes volume i)."
        )
    table = particles.reset_index(drop=True)
    table.columns = [str(c) for c in table.columns]
    table = table.drop(columns=[c for c in (FILE_COLUMN, INDEX_COLUMN) if c in table.columns])
    rows = [
        {**row, FILE_COLUMN: POOL_FILE, INDEX_COLUMN: i + 1}
        for i, row in enumerate(table.to_dict("records"))
    ]
    columns = [*table.columns, FILE_COLUMN, INDEX_COLUMN]
    labels = _table_labels(table, label_column)
    blocks = json.loads(json.dumps(particles.attrs.get(BLOCKS_ATTR) or {}))
    return PoolSource("array", X, rows, columns, labels, "", blocks)


def _table_labels(table, label_column):
    """The labels of a particles table, as a table pool's are read (None: no labels)."""
    import pandas as pd

    from ..io._tables import decode_labels

    column = label_column or next((c for c in _EXPERT_LABELS if c in table.columns), None)
    if column is None:
        return None
    if column not in table.columns:
        raise ValueError(
            f"particles: label_column={column!r} is not a column; columns found: "
            f"{', '.join(table.columns)}."
        )
    text = pd.DataFrame({column: [_label_text(v) for v in table[column]]})
    labels = decode_labels(text, column, "particles", partial=True)
    return None if all(v is None for v in labels) else labels


def _label_text(value):
    value = jsonable(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an integer column with gaps is read as floats
    return str(value)


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
    """The STAR file's blocks as given (the particles' place marked), JSON-ready.

    See :func:`skcryoal.io._tables.side_blocks`: ``data_general``, the optics
    table..., which class files write back around their particles.
    """
    from ..io._tables import read_blocks, side_blocks

    try:
        return side_blocks(table_path, read_blocks(table_path))
    except Exception:  # noqa: BLE001 - the particles were read already; blocks are a bonus
        return {}


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
        ``rows()`` returns the recorded provenance. A table's rows are matched
        to it (a re-sorted table is followed, a changed one refused: see
        :func:`follow_rows`), and the volumes sampled at creation are checked
        (:func:`check_volumes_fingerprint`).
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
    elif pool is None or isinstance(pool, (str, os.PathLike)):
        source = read_pool(pool_meta["source"] if pool is None else pool)
        X, where = source.volumes, source.source
    else:
        X, _ = _check_array(pool)
        where = "the given pool"
    got_shape = tuple(int(s) for s in X.shape[-3:])
    if got_shape != shape:
        raise ValueError(
            f"{where} holds volumes of shape {got_shape} (z, y, x) but this campaign's "
            f"volumes are {shape}; pass the campaign's own pool (crop or resample to {shape})."
        )
    table = pool_meta["kind"] == "path" and (pool is None or isinstance(pool, (str, os.PathLike)))
    if len(X) != n and not table:  # a table's rows say which particles are missing
        raise ValueError(
            f"{where} holds {len(X)} particles but this campaign has {n}; pass the "
            "campaign's own pool."
        )
    X = X if len(X.shape) == 5 else with_channel(X)
    if pool_meta["kind"] == "path":
        recorded = rows()
        if table:
            order = follow_rows(source.rows, recorded, where)
            if order is not None:
                X = RowSubset(X, order)
        check_volumes_fingerprint(X, pool_meta.get("source_fingerprint"), where, recorded)
    return X


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


def source_signature(source, files):
    """Size and modification time of a pool's table (or directory) and of some of its files.

    Only says whether the pool must be read again to be checked when the
    campaign opens; the check itself compares the rows (:func:`follow_rows`)
    and the sampled volumes (:func:`check_volumes_fingerprint`).

    Returns
    -------
    signature : list
        ``[size, mtime_ns]`` of ``source`` and of each of ``files``, None
        for a file that cannot be read.
    """
    out = []
    for path in (source, *files):
        try:
            stat = os.stat(path)
        except (OSError, TypeError, ValueError):
            out.append(None)
            continue
        out.append([int(stat.st_size), int(stat.st_mtime_ns)])
    return out


def source_fingerprint(X, rows, source):
    """What a table pool's campaign records to check its source when it opens.

    Parameters
    ----------
    X : array-like of shape (n, 1, D, H, W)
        The volumes, in the campaign's order.
    rows : list of dict
        The provenance of each particle (its ``skcryoal_file``).
    source : str
        The table (or directory).

    Returns
    -------
    fingerprint : dict
        ``volumes`` (:func:`volumes_fingerprint`), ``files`` (the files of
        those volumes) and ``stat`` (:func:`source_signature` of the table
        and those files).
    """
    volumes = volumes_fingerprint(X)
    files = [rows[pid].get(FILE_COLUMN) for pid in volumes["rows"]]
    return {"volumes": volumes, "files": files, "stat": source_signature(source, files)}


def _volume_digest(volume):
    volume = np.ascontiguousarray(np.asarray(volume, dtype=np.float32))
    return hashlib.sha256(f"{volume.shape[-3:]}".encode() + volume.tobytes()).hexdigest()


def volumes_fingerprint(X):
    """SHA-256 of each of up to ``_FINGERPRINT_ROWS`` volumes spread through a pool.

    The first and last included; one digest per volume, so that a mismatch
    names the particle (and its file).

    Returns
    -------
    fingerprint : dict
        ``rows`` (particle ids) and ``sha256`` (one hex digest each).
    """
    n = len(X)
    rows = np.unique(np.linspace(0, n - 1, min(n, _FINGERPRINT_ROWS)).astype(int))
    return {
        "rows": [int(i) for i in rows],
        "sha256": [_volume_digest(X[int(i)]) for i in rows],
    }


def check_volumes_fingerprint(X, record, where, rows):
    """Raise if the volumes sampled at creation hold other values now.

    ``record`` is the ``source_fingerprint`` of the pool's metadata (None for
    a campaign created before it was recorded: nothing to check).
    """
    fingerprint = (record or {}).get("volumes")
    if not fingerprint:
        return
    changed = [
        pid
        for pid, digest in zip(fingerprint["rows"], fingerprint["sha256"])
        if _volume_digest(X[pid]) != digest
    ]
    if not changed:
        return
    named = ", ".join(f"particle {pid} ({_name(rows[pid])})" for pid in changed[:5])
    raise ValueError(
        f"{where}: the volume files changed since the campaign was created: {named} "
        f"{'holds' if len(changed) == 1 else 'hold'} other values ({len(changed)} of the "
        f"{len(fingerprint['rows'])} volumes checked, spread through the pool), so the "
        "campaign's labels would belong to other volumes. Put the original files back (or "
        "pass them as pool= / --pool); to label the new volumes, create a new campaign. "
        "Nothing was changed in the campaign."
    )


def _identity(row):
    """A provenance row as compared at open: its file by name only (moved data keeps it)."""
    row = dict(row)
    if row.get(FILE_COLUMN) is not None:
        row[FILE_COLUMN] = os.path.basename(str(row[FILE_COLUMN]))
    return to_json(row)


def _name(row):
    """How a person finds a particle: its image name, else its file (and index)."""
    image = row.get("rlnImageName")
    if image is not None:
        return repr(str(image))
    name = os.path.basename(str(row.get(FILE_COLUMN)))
    index = row.get(INDEX_COLUMN)
    return repr(name if index in (None, 1) else f"{index}@{name}")


def follow_rows(rows, recorded, where):
    """Match a table's rows to the campaign's particles; return the new order or None.

    Parameters
    ----------
    rows : list of dict
        The rows read from the table now.
    recorded : list of dict
        The campaign's particles (their provenance as recorded at creation).
    where : str
        The table, for messages.

    Returns
    -------
    order : ndarray of int or None
        None if the table lists the particles as recorded, in order; the row
        of each particle if the same rows come in another order (the table
        was re-sorted), with a ``UserWarning`` saying that the particles are
        followed to their new rows.

    Raises
    ------
    ValueError
        Rows were changed, removed or added: the campaign would attach its
        labels to other particles' volumes. The message names them.
    """
    new = [_identity(r) for r in rows]
    old = [_identity(json.loads(to_json(r))) for r in recorded]
    if new == old:
        return None
    positions = {}
    for k, key in enumerate(new):
        positions.setdefault(key, []).append(k)
    order = []
    for key in old:
        free = positions.get(key)
        if not free:
            break
        order.append(free.pop(0))
    if len(order) == len(old) == len(new):
        moved = [pid for pid, k in enumerate(order) if pid != k]
        warnings.warn(
            f"{where} lists this campaign's particles in another order than when the campaign "
            f"was created ({len(moved)} of {len(old)} rows moved, e.g. particle {moved[0]} "
            f"({_name(recorded[moved[0]])}) is now row {order[moved[0]]}): every row is "
            "unchanged, so each particle is read from its new row and its labels stay with it.",
            UserWarning,
            stacklevel=5,
        )
        return np.asarray(order, dtype=np.int64)
    raise ValueError(_changes(rows, recorded, new, old, where))


def _changes(rows, recorded, new, old, where):
    """Say which particles of the campaign a table no longer lists as recorded."""
    new_set, old_set = set(new), set(old)
    by_name = {_name(r): r for r in rows}
    lines = []
    gone = [pid for pid, key in enumerate(old) if key not in new_set]
    added = [k for k, key in enumerate(new) if key not in old_set]
    for pid in gone[:5]:
        name = _name(recorded[pid])
        now = by_name.get(name)
        if now is None:
            lines.append(f"particle {pid} ({name}) is no longer in it")
            continue
        diff = [
            f"{c} is {now.get(c)!r} (was {recorded[pid].get(c)!r})"
            for c in recorded[pid]
            if c != FILE_COLUMN and to_json({c: now.get(c)}) != to_json({c: recorded[pid][c]})
        ]
        diff += [f"{c} is new" for c in now if c not in recorded[pid]]
        lines.append(f"particle {pid} ({name}): {', '.join(diff[:3]) or 'its file moved'}")
    if len(gone) > 5:
        lines.append(f"... {len(gone) - 5} more particles")
    known = {_name(r) for r in recorded}
    for k in [k for k in added if _name(rows[k]) not in known][:5]:
        lines.append(f"row {k} ({_name(rows[k])}) is not a particle of this campaign")
    summary = f"{len(gone)} of the campaign's {len(old)} particles are not in it as recorded"
    if len(new) != len(old):
        summary = f"it holds {len(new)} particles but this campaign has {len(old)}; {summary}"
    return (
        f"{where} does not list this campaign's particles as recorded: {summary}.\n  - "
        + "\n  - ".join(lines)
        + "\nThe campaign reads each particle's volume from its row, so its labels would "
        "belong to other volumes; nothing was changed in the campaign. Restore the table "
        "as it was (Campaign.open(path).particles() lists every particle with its recorded "
        "columns, in order) or pass the original as pool= (--pool); to label the new table, "
        "create a new campaign."
    )
