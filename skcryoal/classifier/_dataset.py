"""A torch dataset over volume arrays, read one volume at a time."""

import numpy as np
import torch


class VolumeDataset(torch.utils.data.Dataset):
    """Serve ``(volume, label)`` pairs from arrays, memory maps or lazy arrays.

    Each item is copied out of ``X`` as its own float32 array, so read-only
    memory maps are never handed to torch directly and only the volumes of the
    current batch are read.

    Parameters
    ----------
    X : array-like of shape (n_samples, C, D, H, W)
    y : ndarray of shape (n_samples,) or None
        Encoded class indices.
    """

    def __init__(self, X, y=None):
        self.X = X
        self.y = None if y is None else np.asarray(y)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        x = torch.from_numpy(np.array(self.X[i], dtype=np.float32))
        if self.y is None:
            return x, torch.zeros((), dtype=torch.int64)
        return x, torch.as_tensor(self.y[i])
