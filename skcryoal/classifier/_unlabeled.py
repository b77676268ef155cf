"""An endless, reshuffled stream of unlabeled batches (semi-supervised training)."""

import numpy as np
import torch


class UnlabeledStream:
    """Draw unlabeled volumes in random order, reshuffling after each pass.

    Parameters
    ----------
    X : array-like of shape (n_samples, C, D, H, W)
        Unlabeled volumes (ndarray, memmap or lazy array). Rows are read on demand.

    Notes
    -----
    The permutation is drawn from torch's global generator, which
    :class:`~skcryoal.classifier.CryoNetClassifier` seeds from its ``random_state`` for the
    duration of ``fit``.
    """

    def __init__(self, X):
        self.X = X
        self._order = None
        self._pos = 0

    def next_batch(self, n):
        """Return the next ``n`` volumes as a float32 tensor (fewer if the pool is smaller)."""
        n = min(n, len(self.X))
        rows = []
        while len(rows) < n:
            if self._order is None or self._pos >= len(self._order):
                self._order = torch.randperm(len(self.X)).numpy()
                self._pos = 0
            take = self._order[self._pos : self._pos + n - len(rows)]
            self._pos += len(take)
            rows.extend(take.tolist())
        idx = np.asarray(rows)
        # sorted reads are sequential on a memory map; restore the drawn order after
        order = np.argsort(idx, kind="stable")
        batch = np.empty((n, *self.X.shape[1:]), dtype=np.float32)
        batch[order] = np.asarray(self.X[idx[order]], dtype=np.float32)
        return torch.from_numpy(batch)
