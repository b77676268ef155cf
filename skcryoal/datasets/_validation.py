"""Checks of simulator parameters, each failing with an actionable message."""

import math
import numbers

import numpy as np


def check_int(value, name, *, minimum):
    """Return ``value`` as int, or raise if it is not an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}.")
    return int(value)


def check_positive_float(value, name):
    """Return ``value`` as float, or raise if it is not a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number; got {value!r}.")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0; got {value}.")
    return float(value)


def check_snr(snr):
    """Return ``snr`` as float; it must be > 0 or ``float('inf')`` (no noise)."""
    if isinstance(snr, bool) or not isinstance(snr, numbers.Real):
        raise TypeError(f"snr must be a number > 0 or float('inf') for no noise; got {snr!r}.")
    snr = float(snr)
    if math.isnan(snr) or snr <= 0:
        raise ValueError(f"snr must be > 0, or float('inf') for noise-free data; got {snr}.")
    return snr


def check_tilt_range(tilt_range):
    """Return ``tilt_range`` as a (min, max) tuple of floats within (-90, 90) degrees."""
    try:
        lo, hi = (float(t) for t in tilt_range)
    except (TypeError, ValueError):
        raise ValueError(
            "tilt_range must be a pair (min_angle, max_angle) in degrees, e.g. (-60, 60); "
            f"got {tilt_range!r}."
        ) from None
    if not (-90 < lo < hi < 90):
        raise ValueError(
            "tilt_range must satisfy -90 < min_angle < max_angle < 90 (degrees), e.g. (-60, 60); "
            f"got {tilt_range!r}."
        )
    return lo, hi


def check_defocus(defocus):
    """Return ``defocus`` (micrometres) as float; it must be finite and non-zero."""
    if isinstance(defocus, bool) or not isinstance(defocus, numbers.Real):
        raise TypeError(f"defocus must be a number in micrometres, e.g. -5.0; got {defocus!r}.")
    if not math.isfinite(defocus) or defocus == 0:
        raise ValueError(
            "defocus must be a finite, non-zero number in micrometres (negative = underfocus, "
            f"e.g. -5.0); got {defocus}."
        )
    return float(defocus)


def check_max_shift(max_shift):
    """Return ``max_shift`` (voxels) as a float >= 0."""
    if isinstance(max_shift, bool) or not isinstance(max_shift, numbers.Real):
        raise TypeError(f"max_shift must be a number of voxels >= 0; got {max_shift!r}.")
    if not (math.isfinite(max_shift) and max_shift >= 0):
        raise ValueError(f"max_shift must be a finite number of voxels >= 0; got {max_shift}.")
    return float(max_shift)


def check_class_weights(class_weights, n_classes):
    """Return normalised class weights of length ``n_classes`` (uniform when None)."""
    if class_weights is None:
        return np.full(n_classes, 1.0 / n_classes)
    try:
        w = np.asarray(class_weights, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"class_weights must be a sequence of {n_classes} non-negative numbers; "
            f"got {class_weights!r}."
        ) from None
    if w.shape != (n_classes,):
        raise ValueError(
            f"class_weights must have one entry per class ({n_classes}); got shape {w.shape}. "
            "Give one weight per class."
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"class_weights must be finite and non-negative; got {w.tolist()}.")
    total = w.sum()
    if total <= 0:
        raise ValueError("class_weights must have a positive sum; got all zeros.")
    return w / total


def class_counts(n_samples, weights):
    """Exact per-class counts summing to ``n_samples`` (largest-remainder rounding).

    Ties in the remainders go to the lower class index, so equal weights give counts
    that differ by at most one, the first classes taking the extra samples.
    """
    quota = n_samples * np.asarray(weights, dtype=float)
    counts = np.floor(quota).astype(np.int64)
    # Rounded so that equal weights tie exactly despite floating-point noise.
    remainder = np.round(quota - counts, 9)
    missing = n_samples - int(counts.sum())
    order = np.lexsort((np.arange(len(quota)), -remainder))
    counts[order[:missing]] += 1
    return counts
