"""Scoring a ``dask.array`` pool partition by partition, on a dask cluster if one runs.

Nothing here imports dask until a strategy receives a dask array: users of
ndarrays and memory maps never load it.

What runs where
---------------
* The client (the user's process) validates the pool's metadata, draws the
  subsample, resolves the strategy's random seeds, and ships *one* copy of the
  fitted model per query: scattered to every worker of a running
  :class:`distributed.Client` (``broadcast=True``), or kept in process
  otherwise.
* Each partition of the pool (a block of rows) is read and scored on a worker,
  in the order the in-process path would batch it: partitions are rechunked to
  a multiple of the strategy's batch size, so every forward pass sees the same
  volumes as in-process scoring and the scores are the same.
* Per-volume strategies keep each partition's best ``n_instances`` on the
  worker and merge them in a tree; only ``n_instances`` (score, row) pairs per
  merge travel, never the pool's scores.
* Set-selecting strategies (core-set, BADGE, TypiClust) compute their
  embeddings on the workers; the (n_pool, d) embedding is gathered and the
  selection (k-center greedy, k-means++, clustering) runs on the client.

Without a running client the partitions are computed one after another in
process (dask's synchronous scheduler), with memory bounded by one partition.
"""

import copy
import math
import time
from concurrent.futures import CancelledError

import numpy as np

from ..utils._batches import RowSubset
from ..utils._validation import _ChannelView, check_volumes

#: partitions merged per step of the top-k tree
_SPLIT_EVERY = 8


def is_dask_array(X):
    """Whether ``X`` is a ``dask.array.Array`` (checked without importing dask)."""
    return type(X).__module__.startswith("dask.array") and hasattr(X, "chunks")


def unwrap_dask(X):
    """Return the dask array behind ``X``, or None when ``X`` is not one.

    Sees through the lazy views the package wraps pools in: row subsets
    (:class:`~skcryoal.utils._batches.RowSubset`, e.g. a campaign's unlabeled
    particles) and the added channel axis.
    """
    if is_dask_array(X):
        return X
    if isinstance(X, RowSubset):
        base = unwrap_dask(X.X)
        return None if base is None else base[X.indices]
    if isinstance(X, _ChannelView):
        base = unwrap_dask(X.base)
        return None if base is None else base[:, None]
    return None


def _import_dask():
    try:
        import dask
        import dask.array  # noqa: F401
    except ImportError as exc:  # pragma: no cover - dask ships with the extra
        raise ImportError(
            "Scoring a dask.array pool needs dask; install it with "
            "pip install 'skcryoal[distributed]'."
        ) from exc
    return dask


def current_client():
    """The running :class:`distributed.Client` of this process, or None."""
    try:
        from distributed import get_client
    except ImportError:
        return None
    try:
        return get_client()
    except ValueError:  # no client was started
        return None


def lean_copy(classifier):
    """A copy of a fitted classifier without its optimizer state, for shipping.

    The optimizer's moments are as large as the weights again (twice for Adam)
    and scoring never uses them. Modules are shared with the original, not
    copied: the copy is pickled once and only read.
    """
    lean = copy.copy(classifier)
    for name in getattr(classifier, "_optimizers", ()):
        if hasattr(lean, name + "_"):
            setattr(lean, name + "_", None)
    return lean


class DaskPool:
    """A validated dask pool: the array (n, C, D, H, W) and the preprocessing to apply.

    Parameters
    ----------
    array : dask.array.Array of shape (n, 1, D, H, W) or (n, D, H, W)
    transform : fitted transformer or None
        The pipeline's preprocessing, applied on the workers, partition by
        partition.
    name : str
        Name used in error messages.
    """

    def __init__(self, array, transform=None, name="X_pool"):
        _import_dask()
        if array.ndim == 4:
            array = array[:, None]
        # metadata only: a dask array is a lazy array to check_volumes
        check_volumes(
            array,
            name=name,
            n_channels=array.shape[1] if array.ndim == 5 else 1,
            check_finite=False,
        )
        if any(math.isnan(c) for c in array.shape):
            raise ValueError(
                f"{name} has unknown chunk sizes (shape {array.shape}); call "
                f"{name}.compute_chunk_sizes() first."
            )
        self.array = array
        self.transform = transform
        self.name = name
        self.shape = tuple(int(s) for s in array.shape)

    def __len__(self):
        return self.shape[0]

    def subset(self, candidates):
        """The pool restricted to sorted row indices ``candidates`` (None: all rows)."""
        if candidates is None:
            return self
        return DaskPool(self.array[np.asarray(candidates)], self.transform, self.name)

    def _aligned(self, batch_size):
        """The array rechunked so partitions start at multiples of ``batch_size``.

        Rows are split only between batches of the in-process loop, and the
        volume axes are whole in every partition.
        """
        rows = self.array.chunks[0]
        body = rows[:-1]
        if body and (len(set(body)) > 1 or body[0] % batch_size):
            size = max(batch_size, round(max(rows) / batch_size) * batch_size)
        else:
            size = rows[0]
        target = {0: size, **{axis: -1 for axis in range(1, self.array.ndim)}}
        return self.array.rechunk(target)

    def _partitions(self, batch_size):
        array = self._aligned(batch_size)
        blocks = array.to_delayed().ravel()
        offsets = np.concatenate([[0], np.cumsum(array.chunks[0])[:-1]]).astype(int)
        return list(zip(blocks, offsets.tolist(), array.chunks[0]))

    def _ship(self, partition_fn):
        """The model-carrying callable, sent to the workers once for this query."""
        dask = _import_dask()
        client = current_client()
        if client is None:
            return dask.delayed(partition_fn, pure=False), client
        return client.scatter(partition_fn, broadcast=True, hash=False), client

    def _compute(self, graph, client, partitions=None):
        """Compute ``graph``; ``partitions``: its per-partition tasks, as (task, rows).

        On a cluster, the partition tasks are held as futures too (the same
        keys as in the graph: nothing is computed twice), so that when workers
        die the error can say which partition killed them; dask alone ends in
        ``FutureCancelledError ... already forgotten`` once the model shipped
        to the dead workers is lost.
        """
        dask = _import_dask()
        if client is None:
            (out,) = dask.compute(graph, scheduler="sync")
            return out
        held = client.compute([task for task, _ in partitions or []])
        try:
            return client.gather(client.compute(graph))
        except Exception as exc:
            if not (isinstance(exc, CancelledError) or _killed_worker(exc)):
                raise
            died = _workers_died(self.name, exc, held, [rows for _, rows in partitions or []])
            if died is None:
                raise
            raise died from exc

    def top(self, strategy, classifier, n_instances, order):
        """Indices (into this pool) of the ``n_instances`` best scores, best first."""
        dask = _import_dask()
        batch_size = _batch_size(strategy, classifier)
        fn = Partition(strategy, classifier, self.transform, "_score_block", self.name)
        shipped, client = self._ship(fn)
        partitions = [
            (
                dask.delayed(_partition_top, pure=True)(shipped, block, offset, n_instances, order),
                (offset, offset + n - 1),
            )
            for block, offset, n in self._partitions(batch_size)
        ]
        parts = [task for task, _ in partitions]
        while len(parts) > 1:
            parts = [
                dask.delayed(_merge_tops, pure=True)(
                    n_instances, order, *parts[i : i + _SPLIT_EVERY]
                )
                for i in range(0, len(parts), _SPLIT_EVERY)
            ]
        _, index = self._compute(parts[0], client, partitions)
        return np.asarray(index, dtype=np.int64)

    def scores(self, strategy, classifier):
        """The score of every volume, as a lazy dask array (one value per row)."""
        dask = _import_dask()
        import dask.array as da

        batch_size = _batch_size(strategy, classifier)
        fn = Partition(strategy, classifier, self.transform, "_score_block", self.name)
        shipped, _ = self._ship(fn)
        pieces = [
            da.from_delayed(
                dask.delayed(_call, pure=True)(shipped, block, offset), shape=(n,), dtype=np.float64
            )
            for block, offset, n in self._partitions(batch_size)
        ]
        return da.concatenate(pieces)

    def map(self, strategy, classifier, method):
        """Gather ``strategy.<method>(classifier, rows, offset)`` over all partitions.

        ``method`` returns an array or a tuple of arrays with one row per
        volume (``offset``: the partition's first pool row); the results are
        concatenated in pool order on the client.
        """
        dask = _import_dask()
        batch_size = _batch_size(strategy, classifier)
        fn = Partition(strategy, classifier, self.transform, method, self.name)
        shipped, client = self._ship(fn)
        partitions = [
            (dask.delayed(_call, pure=True)(shipped, block, offset), (offset, offset + n - 1))
            for block, offset, n in self._partitions(batch_size)
        ]
        results = self._compute([task for task, _ in partitions], client, partitions)
        if isinstance(results[0], tuple):
            return tuple(np.concatenate(r) for r in zip(*results))
        return np.concatenate(results)


def _killed_worker(exc):
    """Whether ``exc`` is ``distributed.KilledWorker`` (checked without importing it)."""
    return type(exc).__name__ == "KilledWorker"


def _workers_died(name, exc, held, rows, wait=30.0):
    """The error for a query whose partition kept killing the workers that ran it, or None.

    The failed partition's future holds dask's ``KilledWorker``; its state can
    reach the client after the cancellation of the whole graph, seconds later on
    a loaded machine (5 s were too short under a full test run beside two
    benchmarks), so it is waited for; only a failed query waits.
    """
    deadline = time.monotonic() + wait
    while True:
        dead = [
            (rows[k], future.exception())
            for k, future in enumerate(held)
            if future.status == "error" and _killed_worker(future.exception())
        ]
        if dead or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if not dead and not _killed_worker(exc):
        return None  # cancelled for another reason: dask's own error
    killed = dead[0][1] if dead else exc
    tries = getattr(killed, "allowed_failures", None)
    tries = f"{tries + 1} times" if isinstance(tries, int) else "on every attempt"
    where = (
        "the partition of " + ", ".join(f"{name} rows {a}-{b}" for (a, b), _ in dead)
        if dead
        else f"a task of the query over {name}"
    )
    return RuntimeError(
        f"dask workers died while scoring {where}: it killed the worker that ran it, "
        f"{tries} (dask gives up after distributed.scheduler.allowed-failures + 1). A "
        "worker process dies when it runs out of memory (smaller chunks, or more memory per "
        "worker) or on a crash in native code; see the worker logs. No particles were selected."
    )


def _batch_size(strategy, classifier):
    size = getattr(strategy, "batch_size", None)
    return int(size if size is not None else getattr(classifier, "batch_size", 32))


class Partition:
    """What a worker needs to process one partition of the pool.

    Pickled once per query and shared by every partition on a worker: the
    strategy (its random seeds resolved on the client), the fitted model
    without optimizer state, and the preprocessing.
    """

    def __init__(self, strategy, classifier, transform, method, name="X_pool"):
        self.strategy = strategy._frozen() if hasattr(strategy, "_frozen") else strategy
        self.classifier = lean_copy(classifier)
        self.transform = transform
        self.method = method
        self.name = name

    def rows(self, block):
        X = np.asarray(block)
        if self.transform is not None:
            X = np.asarray(self.transform.transform(np.asarray(X, dtype=np.float32)))
        if hasattr(self.strategy, "_check_pool"):
            return self.strategy._check_pool(self.classifier, X)
        return check_volumes(X, name=self.name, check_finite=False)

    def __call__(self, block, offset):
        X = self.rows(block)
        method = getattr(self.strategy, self.method)
        try:
            return method(self.classifier, X, offset)
        except ValueError as exc:
            raise ValueError(
                f"{exc} (in the partition of {self.name} rows {offset}-{offset + len(X) - 1}; "
                "row numbers above count from that partition's first row)"
            ) from exc


def _call(partition_fn, block, offset):
    return partition_fn(block, offset)


def _partition_top(partition_fn, block, offset, k, order):
    """Score one partition and keep its ``k`` best (score, pool row) pairs."""
    from ._base import select_top

    scores = np.asarray(partition_fn(block, offset), dtype=np.float64)
    if np.isnan(scores).any():
        bad = np.flatnonzero(np.isnan(scores))[:10] + offset
        raise ValueError(
            f"The query scores contain NaN (pool rows {bad.tolist()}); the model output is "
            "not finite."
        )
    best = select_top(scores, min(k, len(scores)), order=order)
    return scores[best], best + offset


def _merge_tops(k, order, *parts):
    """The ``k`` best of several partitions' (scores, rows); ties go to the lower row."""
    scores = np.concatenate([p[0] for p in parts])
    index = np.concatenate([p[1] for p in parts])
    key = -scores if order == "highest" else scores
    best = np.lexsort((index, key))[:k]
    return scores[best], index[best]
