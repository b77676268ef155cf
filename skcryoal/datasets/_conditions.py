"""Imaging conditions per tomogram: defocus, tilt range and noise level of each box.

A real dataset pools subtomograms from many tomograms, each with its own defocus, its
own tilt range (lamellae and stage limits give anything from +-45 to +-70 degrees) and
its own ice thickness, which sets its noise level. ``n_tomograms`` splits the boxes
among that many tomograms at random; ``snr``, ``defocus`` and ``tilt_range`` given as
ranges are drawn once per tomogram. With one tomogram and fixed values every box is
imaged alike, exactly as before these conditions existed.

The draws come from their own generator, seeded from the plan's pose seed (not from
``random_state`` directly), so the sample order, poses and noise of a dataset do not
change when conditions are added, and datasets that differ only in ``snr`` hold the
same tomograms with the same conditions.
"""

import math
import numbers

import numpy as np
from sklearn.utils import Bunch

from ._validation import check_defocus, check_int, check_snr, check_tilt_range


def _is_pair(value):
    return not isinstance(value, (str, bytes)) and hasattr(value, "__len__") and len(value) == 2


def check_snr_spec(snr):
    """``snr`` as a float, or a ``(low, high)`` pair drawn log-uniformly per tomogram."""
    if isinstance(snr, numbers.Real) or not _is_pair(snr):
        return check_snr(snr)
    low, high = (check_snr(s) for s in snr)
    if not (math.isfinite(high) and low < high):
        raise ValueError(
            "snr as a range must be (low, high) with 0 < low < high < inf, drawn log-uniformly "
            f"per tomogram (thicker ice, lower SNR), e.g. (0.03, 0.1); got {tuple(snr)!r}."
        )
    return (low, high)


def check_defocus_spec(defocus):
    """``defocus`` as a float, or a ``(low, high)`` pair drawn uniformly per tomogram."""
    if isinstance(defocus, numbers.Real) or not _is_pair(defocus):
        return check_defocus(defocus)
    low, high = (check_defocus(d) for d in defocus)
    if not (low < high and (high < 0 or low > 0)):
        raise ValueError(
            "defocus as a range must be (low, high) in micrometres with low < high, both of "
            f"one sign (negative = underfocus), e.g. (-6.0, -2.0); got {tuple(defocus)!r}."
        )
    return (low, high)


def check_tilt_range_spec(tilt_range):
    """``(min, max)``, or ``((min, max), (min, max))``: the narrowest and widest ranges."""
    if _is_pair(tilt_range) and all(_is_pair(t) for t in tilt_range):
        narrow, wide = (check_tilt_range(t) for t in tilt_range)
        if not (wide[0] <= narrow[0] and narrow[1] <= wide[1]) or narrow == wide:
            raise ValueError(
                "tilt_range as a range of tilt ranges must be (narrowest, widest), the "
                "widest containing the narrowest, e.g. ((-45, 45), (-70, 70)); got "
                f"{tuple(tuple(t) for t in tilt_range)!r}."
            )
        return (narrow, wide)
    return check_tilt_range(tilt_range)


class Conditions:
    """The tomogram of every box and the imaging conditions of every tomogram.

    Parameters
    ----------
    n_samples : int
    n_tomograms : int
    snr, defocus, tilt_range
        Checked specs (:func:`check_snr_spec`, :func:`check_defocus_spec`,
        :func:`check_tilt_range_spec`): a value for every tomogram, or a range.
    seed : int
        Seeds the tomogram of each box and each tomogram's draws.

    Attributes
    ----------
    tomogram : ndarray of shape (n_samples,), int64
    snr, defocus : ndarray of shape (n_tomograms,)
    tilt_range : ndarray of shape (n_tomograms, 2)
    varies : bool
        Whether the boxes are not all imaged alike.
    """

    def __init__(self, n_samples, n_tomograms, snr, defocus, tilt_range, seed):
        self.n_tomograms = n_tomograms
        rng = np.random.default_rng([int(seed), 0x70E0])
        self.tomogram = (
            rng.integers(n_tomograms, size=n_samples)
            if n_tomograms > 1
            else np.zeros(n_samples, dtype=np.int64)
        )
        # one uniform per tomogram and quantity, drawn whether it varies or not, so that
        # the draws of one quantity do not depend on which others vary
        u = rng.uniform(size=(n_tomograms, 4))
        snr_range = isinstance(snr, tuple)
        defocus_range = isinstance(defocus, tuple)
        tilt_ranges = isinstance(tilt_range[0], tuple)
        if snr_range:
            low, high = np.log(snr)
            self.snr = np.exp(low + u[:, 0] * (high - low))
        else:
            self.snr = np.full(n_tomograms, snr)
        if defocus_range:
            self.defocus = defocus[0] + u[:, 1] * (defocus[1] - defocus[0])
        else:
            self.defocus = np.full(n_tomograms, defocus)
        if tilt_ranges:
            (n_lo, n_hi), (w_lo, w_hi) = tilt_range
            self.tilt_range = np.stack(
                [n_lo + u[:, 2] * (w_lo - n_lo), n_hi + u[:, 3] * (w_hi - n_hi)], axis=1
            )
        else:
            self.tilt_range = np.tile(np.asarray(tilt_range, dtype=float), (n_tomograms, 1))
        self.varies = n_tomograms > 1 or snr_range or defocus_range or tilt_ranges

    def of(self, tomogram):
        """``(snr, tilt_range, defocus)`` of one tomogram."""
        return (
            float(self.snr[tomogram]),
            (float(self.tilt_range[tomogram, 0]), float(self.tilt_range[tomogram, 1])),
            float(self.defocus[tomogram]),
        )

    def per_box(self):
        """Bunch of per-box ``tomogram``, ``snr``, ``tilt_range`` (n, 2) and ``defocus``."""
        t = self.tomogram
        return Bunch(
            tomogram=t, snr=self.snr[t], tilt_range=self.tilt_range[t], defocus=self.defocus[t]
        )


def make_conditions(n_samples, n_tomograms, snr, defocus, tilt_range, seed):
    """Checked :class:`Conditions`; ``n_tomograms`` must be an integer >= 1."""
    return Conditions(
        n_samples,
        check_int(n_tomograms, "n_tomograms", minimum=1),
        check_snr_spec(snr),
        check_defocus_spec(defocus),
        check_tilt_range_spec(tilt_range),
        seed,
    )
