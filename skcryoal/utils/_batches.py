"""Contiguous batching over arrays and memory maps."""

import mmap

import numpy as np


def iter_batches(X, batch_size, *, dtype=np.float32):
    """Yield ``(start, stop, batch)`` over the first axis of ``X``.

    Each batch is a contiguous slice read into memory and cast to ``dtype``, so a
    :class:`numpy.memmap` larger than RAM is traversed with memory proportional to
    ``batch_size`` only.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
        Anything that supports slicing along the first axis (ndarray, memmap,
        lazy arrays from :mod:`skcryoal.io`).
    batch_size : int
        Number of rows per batch (the last one may be smaller).
    dtype : numpy dtype, default=np.float32
        Dtype of the yielded batches.

    Yields
    ------
    start, stop : int
        Row range of the batch in ``X``.
    batch : ndarray of shape (stop - start, ...)
        The rows, as a writable, C-contiguous in-memory array.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
    n = len(X)
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        rows = X[start:stop]
        batch = np.ascontiguousarray(rows, dtype=dtype)
        if isinstance(batch, np.memmap) or not batch.flags.writeable:
            # read the rows now, into memory torch may own
            batch = np.array(batch)
        release_pages(rows)
        yield start, stop, batch


def release_pages(view):
    """Unmap the pages of a read-only memory-map view from this process.

    Reading a memory map leaves every page read resident in the process, so a
    pass over a pool larger than RAM would grow the resident set to the pool's
    size. After a batch is copied, ``madvise(MADV_DONTNEED)`` drops its pages
    from the process (they stay in the page cache). Only read-only maps are
    touched: on a copy-on-write map it would discard the user's changes.

    Parameters
    ----------
    view : object
        Anything; only C-contiguous views of read-only :class:`numpy.memmap`
        objects are acted on.
    """
    base = getattr(view, "_mmap", None)
    if (
        base is None
        or getattr(view, "mode", None) != "r"
        or not hasattr(mmap, "MADV_DONTNEED")
        or not view.flags.c_contiguous
        or view.nbytes == 0
    ):
        return
    try:
        base_addr = np.frombuffer(base, dtype=np.uint8).ctypes.data
        first = view.ctypes.data - base_addr
        start = first - first % mmap.PAGESIZE
        # keep the partial last page mapped: it may hold the next batch's first row
        stop = first + view.nbytes
        stop -= stop % mmap.PAGESIZE
        if stop > start:
            base.madvise(mmap.MADV_DONTNEED, start, stop - start)
    except (ValueError, OSError, TypeError):  # an unusual map: keep the pages
        return


class RowSubset:
    """Lazy view of selected rows of an array, read on slicing.

    Used to score a random subset of a memory-mapped pool without loading the
    subset at once: ``RowSubset(X, idx)[a:b]`` reads ``X[idx[a:b]]`` only.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
    indices : ndarray of int
        Rows of ``X``; sorted indices give sequential reads on a memory map.
    """

    def __init__(self, X, indices):
        self.X = X
        self.indices = np.asarray(indices)
        self.shape = (len(self.indices), *X.shape[1:])
        self.dtype = np.dtype(X.dtype)
        self.ndim = len(self.shape)

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, key):
        if isinstance(key, tuple):
            return np.asarray(self.X[self.indices[key[0]]])[(slice(None), *key[1:])]
        return np.asarray(self.X[self.indices[key]])

    def __array__(self, dtype=None, copy=None):
        out = np.asarray(self.X[self.indices])
        return out if dtype is None else out.astype(dtype)
