"""Semi-supervised training: unlabeled rows of ``y`` and the losses on unlabeled volumes.

scikit-learn's convention for semi-supervised estimators (``SelfTrainingClassifier``,
``LabelSpreading``) marks an unlabeled sample with the label ``-1``; for string classes
skcryoal also accepts ``None``. :func:`split_unlabeled` turns such a ``y`` into the
labeled rows and a lazy view of the unlabeled ones (nothing of a memory-mapped pool
is read until training draws it).
"""

import numbers

import numpy as np
import torch
import torch.nn.functional as F

from ..utils._batches import RowSubset
from ..utils._validation import check_label_types

#: the label of an unlabeled row in ``y`` (scikit-learn's convention)
UNLABELED = -1


def is_unlabeled_marker(values):
    """Return a boolean array: True where a label marks an unlabeled row (-1 or None).

    Parameters
    ----------
    values : array-like of shape (n,)

    Returns
    -------
    mask : ndarray of bool of shape (n,)
    """
    arr = values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
    if arr.dtype == object:
        return np.array(
            [
                v is None
                or (isinstance(v, numbers.Real) and not isinstance(v, bool) and v == UNLABELED)
                for v in arr.ravel()
            ],
            dtype=bool,
        ).reshape(arr.shape)
    if np.issubdtype(arr.dtype, np.number) and not np.issubdtype(arr.dtype, np.bool_):
        return arr == UNLABELED
    return np.zeros(arr.shape, dtype=bool)


def split_unlabeled(X, y, X_unlabeled=None):
    """Split volumes whose label is ``-1`` (or ``None``) off as unlabeled.

    Parameters
    ----------
    X : array-like of shape (n_samples, 1, D, H, W)
        Validated volumes (ndarray, memory map or lazy view).
    y : array-like of shape (n_samples,)
        Labels; ``-1`` or ``None`` marks an unlabeled row.
    X_unlabeled : array-like or None
        Unlabeled volumes given separately; not allowed together with marked rows.

    Returns
    -------
    X_labeled : ndarray or the input X
        The labeled rows (read into memory) or ``X`` itself when no row is marked.
    y_labeled : ndarray or the input y
    X_unlabeled : RowSubset, the input X_unlabeled or None
        A lazy view of the marked rows of ``X``.
    """
    if y is None:
        return X, y, X_unlabeled
    y_arr = y if isinstance(y, np.ndarray) else np.asarray(y, dtype=object)
    if y_arr.ndim != 1 or len(y_arr) != len(X):
        return X, y, X_unlabeled  # check_labels reports the shape
    mask = is_unlabeled_marker(y_arr)
    if not mask.any():
        return X, y, X_unlabeled
    rest = y_arr[~mask]
    if any(isinstance(v, (str, bytes)) for v in rest.tolist()) and any(
        v is not None for v in y_arr[mask].tolist()
    ):
        raise ValueError(
            "y marks unlabeled rows with -1 but its classes are strings; mark them with None "
            "instead (e.g. y = np.array(['ribosome', None, ...], dtype=object))."
        )
    if X_unlabeled is not None:
        raise ValueError(
            f"y marks {int(mask.sum())} row(s) as unlabeled (-1 or None) and X_unlabeled is "
            "given too; pass the unlabeled volumes one way, either as rows of X with label -1 "
            "or as X_unlabeled."
        )
    labeled = np.flatnonzero(~mask)
    if len(labeled) == 0:
        raise ValueError(
            f"y marks all {len(y_arr)} rows as unlabeled (-1 or None); label at least 2 volumes."
        )
    y_labeled = np.asarray(rest.tolist())
    check_label_types(y_labeled)
    return np.asarray(X[labeled]), y_labeled, RowSubset(X, np.flatnonzero(mask))


def unlabeled_loss(method, student, teacher, *, threshold=0.95):
    """Return the loss on an unlabeled batch and the fraction of it that was used.

    Parameters
    ----------
    method : {"fixmatch", "mean-teacher"}
        ``"fixmatch"`` (Sohn et al., 2020): cross-entropy of the student's logits
        against the teacher's most probable class, only where the teacher's
        probability reaches ``threshold``, averaged over the whole batch.
        ``"mean-teacher"`` (Tarvainen & Valpola, 2017): the squared distance
        between the two posteriors, summed over classes, averaged over the batch.
    student : torch.Tensor of shape (n, n_classes)
        Logits of the trained model on the strong views.
    teacher : torch.Tensor of shape (n, n_classes)
        Logits on the weak views (a constant target; detached here).
    threshold : float, default=0.95

    Returns
    -------
    loss : torch.Tensor (scalar)
    used : float
        The fraction of the batch with a confident pseudo-label (fixmatch) or 1.0.
    """
    teacher = teacher.detach().float()
    student = student.float()
    if method == "fixmatch":
        confidence, pseudo = torch.softmax(teacher, dim=1).max(dim=1)
        keep = (confidence >= threshold).float()
        loss = (F.cross_entropy(student, pseudo, reduction="none") * keep).mean()
        return loss, float(keep.mean())
    if method == "mean-teacher":
        diff = torch.softmax(student, dim=1) - torch.softmax(teacher, dim=1)
        return diff.square().sum(dim=1).mean(), 1.0
    raise ValueError(f"method must be 'fixmatch' or 'mean-teacher'; got {method!r}.")
