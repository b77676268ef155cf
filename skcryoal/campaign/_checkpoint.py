"""Model checkpoints: atomic pickles, recorded in the store only once complete.

The order of a checkpoint is: pickle to a temporary file, fsync, rename to its
final name, fsync the folder, THEN record name, size and SHA-256 in the store
(one transaction). A process killed at any point leaves either a stray
temporary file (never loaded; removed by a later open once an hour old), or a
complete file the store does not know (ignored), or a recorded file; and a
recorded file is loaded only if its size and checksum match, so a
half-written checkpoint is never loaded.
"""

import hashlib
import os
import pickle
import time
import uuid
from pathlib import Path

from ..utils._atomic import atomic_output

MODELS_DIR = "models"
#: temporary files older than this are left-overs of killed processes
STRAY_AGE_S = 3600.0


class CheckpointError(RuntimeError):
    """A recorded checkpoint is missing, incomplete or unreadable."""


def write_checkpoint(folder, estimator, *, directory=MODELS_DIR, prefix="model"):
    """Pickle ``estimator`` atomically into ``folder/models`` (or ``folder/directory``).

    Parameters
    ----------
    folder : Path
        The campaign folder.
    estimator : object
        A picklable (fitted) estimator.
    directory : str, default="models"
        The sub-folder (``"pretrain"`` for pretrained embedders).
    prefix : str, default="model"
        Start of the file name.

    Returns
    -------
    record : dict
        ``file`` (relative to ``folder``), ``size`` and ``sha256``.
    """
    models = Path(folder) / directory
    models.mkdir(exist_ok=True)
    path = models / f"{prefix}-{uuid.uuid4().hex}.pkl"
    digest = hashlib.sha256()
    with atomic_output(path) as temp, open(temp, "wb") as fh:
        writer = _HashingWriter(fh, digest)
        pickle.dump(estimator, writer, protocol=pickle.HIGHEST_PROTOCOL)
        size = writer.size
    return {"file": f"{directory}/{path.name}", "size": size, "sha256": digest.hexdigest()}


class _HashingWriter:
    def __init__(self, fh, digest):
        self.fh, self.digest, self.size = fh, digest, 0

    def write(self, data):
        self.digest.update(data)
        self.size += len(data)
        return self.fh.write(data)


def load_checkpoint(folder, record):
    """Load a recorded checkpoint after checking its size and checksum.

    Parameters
    ----------
    folder : Path
    record : dict
        A row of the store's ``models`` table.

    Returns
    -------
    estimator : object

    Raises
    ------
    CheckpointError
        The file is missing, or its size or checksum differ from the record.
    """
    path = Path(folder) / record["file"]
    what = f"model {record['model_id']}" if "model_id" in record else "pretrained embedder"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{what}: cannot read {path} ({exc}).") from exc
    if len(data) != record["size"] or hashlib.sha256(data).hexdigest() != record["sha256"]:
        raise CheckpointError(
            f"{what}: {path} has {len(data)} bytes and a checksum that "
            f"does not match the record ({record['size']} bytes); the file is incomplete or "
            "was changed."
        )
    try:
        return pickle.loads(data)
    except Exception as exc:  # unpickling runs arbitrary code; report any failure
        raise CheckpointError(f"{what}: cannot unpickle {path}: {exc}") from exc


def prune_checkpoints(folder, records, keep):
    """Delete the checkpoint files of all but the latest ``keep`` recorded models.

    The records stay (with their metrics); a model whose file is gone is
    never loaded (:func:`load_checkpoint` raises :class:`CheckpointError`).

    Parameters
    ----------
    folder : Path
    records : list of dict
        The store's models, oldest first.
    keep : int
        At least 1.

    Returns
    -------
    removed : list of Path
    """
    removed = []
    for record in records[: max(len(records) - keep, 0)]:
        path = Path(folder) / record["file"]
        try:
            path.unlink()
        except FileNotFoundError:
            continue  # pruned already (by another process, or an earlier fit)
        removed.append(path)
    return removed


def remove_stray_temps(folder, *, min_age_s=STRAY_AGE_S):
    """Remove temporary files of atomic writes older than ``min_age_s``; return them.

    Younger ones may belong to another process writing right now (another
    annotator fitting); they are never loaded in any case.
    """
    removed, limit = [], time.time() - min_age_s
    for sub in (Path(folder), Path(folder) / MODELS_DIR):
        if not sub.is_dir():
            continue
        for temp in sub.glob(".*.tmp*"):
            try:
                if temp.is_file() and temp.stat().st_mtime < limit:
                    os.unlink(temp)
                    removed.append(temp)
            except OSError:
                pass
    return removed
