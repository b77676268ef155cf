"""Checks of annotator names and particle ids, shared by the campaign's modules."""

import getpass
import numbers

import numpy as np


def default_annotator():
    """Return the login name, or ``"anonymous"``."""
    try:
        return getpass.getuser() or "anonymous"
    except Exception:  # no user name in some containers
        return "anonymous"


def check_annotator(annotator):
    """Return a valid annotator name (the login name for None), or raise."""
    if annotator is None:
        return default_annotator()
    if not isinstance(annotator, str) or not annotator.strip() or len(annotator) > 200:
        raise ValueError(
            f"annotator must be a non-empty name of at most 200 characters; got {annotator!r}."
        )
    return annotator.strip()


def check_ids(ids, n_particles):
    """Return ``ids`` as a list of distinct ints in ``[0, n_particles)``, or raise."""
    if isinstance(ids, (bool, np.bool_)) or not (
        isinstance(ids, (numbers.Integral, np.ndarray)) or hasattr(ids, "__iter__")
    ):
        raise ValueError(f"particle ids must be an int or a sequence of ints; got {ids!r}.")
    if isinstance(ids, numbers.Integral):
        ids = [ids]
    arr = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids))
    if arr.ndim != 1:
        raise ValueError(f"particle ids must be an int or a 1D sequence; got shape {arr.shape}.")
    if arr.size == 0:
        return []
    if arr.dtype.kind not in "iu":
        raise ValueError(
            f"particle ids must be integers (pool rows); got {arr[:5].tolist()} "
            f"(dtype {arr.dtype})."
        )
    bad = arr[(arr < 0) | (arr >= n_particles)]
    if bad.size:
        raise ValueError(
            f"particle ids {bad[:10].tolist()} are not in this campaign (ids run from 0 to "
            f"{n_particles - 1}); nothing was recorded."
        )
    uniq, counts = np.unique(arr, return_counts=True)
    if (counts > 1).any():
        raise ValueError(
            f"particle ids {uniq[counts > 1][:10].tolist()} appear more than once in one call; "
            "give each particle one label. Nothing was recorded."
        )
    return [int(i) for i in arr]


def check_seconds(seconds, ids):
    """``{id: seconds}`` of decision times given per id (or one for all), or None."""
    if seconds is None:
        return None
    values = np.atleast_1d(np.asarray(seconds, dtype=object))
    if values.ndim != 1 or len(values) not in (1, len(ids)):
        raise ValueError(
            f"seconds must be one number or one per particle ({len(ids)}); got {seconds!r}."
        )
    if len(values) == 1:
        values = np.repeat(values, len(ids))
    out = {}
    for pid, value in zip(ids, values):
        if value is None:
            continue  # this one was not timed
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise ValueError(f"seconds must be numbers >= 0 (or None); got {value!r}.")
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(
                f"seconds must be finite numbers >= 0: how long particle {pid} was looked at "
                f"before the decision; got {value!r}."
            )
        out[int(pid)] = float(value)
    return out
