"""A simulated tomogram: built-in particles at known positions, imaged as a whole.

The particles are the built-in class templates of :func:`make_subtomograms`, drawn at
random, non-overlapping positions and orientations in a volume that is then imaged like
a subtomogram (CTF, envelope, band limit, missing wedge; see :mod:`._imaging`) and
given missing-wedge filtered noise. It is what a reconstructed tomogram looks like to a
particle picker, small enough for tests, with the true particle centres known.
"""

import math

import numpy as np
import pandas as pd
from scipy import fft as sp_fft
from scipy.spatial.transform import Rotation
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from ._imaging import missing_wedge_mask, transfer_function
from ._render import _SAMPLING_SIGMA, render
from ._templates import load_template
from ._validation import (
    check_defocus,
    check_int,
    check_positive_float,
    check_snr,
    check_tilt_range,
    class_counts,
)

#: Dart-throwing attempts per particle before giving up.
_ATTEMPTS = 2000


def _check_shape(shape):
    try:
        dims = tuple(shape)
    except TypeError:
        dims = ()
    if len(dims) != 3:
        raise ValueError(f"shape must be a (D, H, W) tuple of 3 integers (z, y, x); got {shape!r}.")
    return tuple(check_int(d, "each entry of shape", minimum=8) for d in dims)


def _place(n, dims, margin, min_distance, rng):
    """Centres (z, y, x) in voxels, ``margin`` from every face, ``min_distance`` apart."""
    low = np.full(3, float(margin))
    high = np.array(dims, dtype=float) - 1 - margin
    if np.any(high < low):
        raise ValueError(
            f"shape (z, y, x) = {dims} is too small for the particles: they reach "
            f"{margin} voxels from their centre, so every side must exceed {2 * margin + 1} "
            "voxels. Use a larger shape or a larger voxel_size."
        )
    centres = np.empty((n, 3))
    for i in range(n):
        for _ in range(_ATTEMPTS):
            candidate = rng.uniform(low, high)
            if i == 0 or np.min(np.linalg.norm(centres[:i] - candidate, axis=1)) >= min_distance:
                centres[i] = candidate
                break
        else:
            raise ValueError(
                f"could not place {n} particles at least {min_distance:g} voxels apart in "
                f"a tomogram of shape (z, y, x) = {dims} (placed {i}). Use fewer "
                "particles, a larger shape or a smaller min_distance."
            )
    return centres


def make_tomogram(
    shape=(64, 96, 96),
    n_particles: int = 10,
    *,
    n_classes: int = 3,
    voxel_size: float = 10.0,
    snr: float = 0.05,
    tilt_range=(-60, 60),
    defocus: float = -5.0,
    min_distance: float | None = None,
    normalize: bool = True,
    random_state=None,
):
    """Simulate a tomogram holding built-in particles at known positions.

    Each particle is one of the built-in class templates (the classes of
    :func:`make_subtomograms`, balanced: counts differ by at most one) in a uniformly
    random orientation, centred at a random, non-integer position at least its radius
    from every face and at least ``min_distance`` voxels from the other particles. The
    whole volume is then imaged in Fourier space like a subtomogram (CTF, envelope,
    band limit at half Nyquist, missing wedge about the y axis) and given
    missing-wedge filtered Gaussian noise of variance ``var(signal) / snr``, where
    ``var(signal)`` is the mean variance of the imaged signal in a box around each
    particle (the SNR of :func:`make_subtomograms`, measured the same way).

    Arrays are (z, y, x); voxel sizes are in Angstrom.

    Parameters
    ----------
    shape : tuple of 3 ints, default=(64, 96, 96)
        Tomogram shape (D, H, W), axis order (z, y, x); each at least 8.
    n_particles : int, default=10
        Number of particles (>= 1).
    n_classes : int, default=3
        Number of classes (>= 1); the classes are ``0 .. n_classes - 1``.
    voxel_size : float, default=10.0
        Angstrom per voxel. Built-in particles are up to 250 A across (25 voxels at
        10 A, 12.5 at 20 A).
    snr : float, default=0.05
        Signal-to-noise ratio, > 0; ``float("inf")`` gives a noise-free tomogram.
    tilt_range : tuple of 2 floats, default=(-60, 60)
        Tilt range in degrees, ``-90 < min < max < 90``.
    defocus : float, default=-5.0
        Defocus in micrometres; negative means underfocus.
    min_distance : float, optional
        Smallest distance between two particle centres, in voxels. By default the
        largest particle diameter, so that particles do not overlap.
    normalize : bool, default=True
        Scale the tomogram to zero mean and unit standard deviation.
    random_state : int, RandomState instance or None, default=None
        Seeds the classes, positions, orientations and noise.

    Returns
    -------
    tomogram : ndarray of shape (D, H, W), float32
        Axis order (z, y, x); particles are bright (positive density).
    particles : pandas.DataFrame
        One row per particle: ``x``, ``y``, ``z`` (float, the particle centre in
        voxels, 0-based: ``x`` indexes the last array axis, ``z`` the first) and
        ``class`` (int64).

    Raises
    ------
    ValueError
        Invalid parameters, a shape too small for the particles, or particles that
        cannot be placed ``min_distance`` apart.

    See Also
    --------
    make_subtomograms : The same particles and imaging, one per box.
    skcryoal.io.extract_subtomograms : Cut them out again.

    Examples
    --------
    >>> from skcryoal.datasets import make_tomogram
    >>> tomogram, particles = make_tomogram((32, 64, 64), 4, n_classes=2, voxel_size=20.0,
    ...                                     random_state=0)
    >>> tomogram.shape, tomogram.dtype, list(particles.columns)
    ((32, 64, 64), dtype('float32'), ['x', 'y', 'z', 'class'])
    """
    dims = _check_shape(shape)
    n_particles = check_int(n_particles, "n_particles", minimum=1)
    n_classes = check_int(n_classes, "n_classes", minimum=1)
    voxel_size = check_positive_float(voxel_size, "voxel_size")
    snr = check_snr(snr)
    tilt_range = check_tilt_range(tilt_range)
    defocus = check_defocus(defocus)
    if min_distance is not None:
        min_distance = check_positive_float(min_distance, "min_distance")

    templates = [load_template(k, voxel_size) for k in range(n_classes)]
    # Reach of a particle in voxels: its farthest pseudo-atom plus 3 Gaussian widths
    # (the pseudo-atom's own, widened by the renderer's sampling blur).
    reach = max(
        t.radius / voxel_size + 3 * math.hypot(t.sigma / voxel_size, _SAMPLING_SIGMA)
        for t in templates
    )
    margin = int(math.ceil(reach))
    if min_distance is None:
        min_distance = 2.0 * reach

    rng = check_random_state(random_state)
    pose_seed, noise_seed = rng.randint(np.iinfo(np.int32).max, size=2)
    pose_rng = np.random.default_rng(pose_seed)
    counts = class_counts(n_particles, np.full(n_classes, 1.0 / n_classes))
    labels = np.repeat(np.arange(n_classes), counts)
    labels = labels[pose_rng.permutation(n_particles)]
    centres = _place(n_particles, dims, margin, min_distance, pose_rng)  # (z, y, x)
    rotations = Rotation.random(n_particles, pose_rng).as_matrix()

    box = 2 * margin + 2
    corner = np.floor(centres).astype(np.int64) - box // 2
    shifts = centres - np.floor(centres)  # sub-voxel part, (z, y, x)
    volume = np.zeros(dims, dtype=np.float32)
    with threadpool_limits(1, user_api="blas"):
        for label in range(n_classes):
            rows = np.flatnonzero(labels == label)
            if rows.size == 0:
                continue
            drawn = render(templates[label], rotations[rows], shifts[rows], box, voxel_size)
            for row, density in zip(rows, drawn):
                _add_clipped(volume, density, corner[row])

    spectrum = sp_fft.rfftn(volume)
    spectrum *= transfer_function(
        dims, voxel_size=voxel_size, tilt_range=tilt_range, defocus=defocus
    )
    tomogram = sp_fft.irfftn(spectrum, s=dims).astype(np.float32)
    if math.isfinite(snr):
        boxes = [_clipped(tomogram, c, box) for c in corner]
        signal_var = float(np.mean([b.var(dtype=np.float64) for b in boxes]))
        noise = np.random.default_rng(noise_seed).standard_normal(dims, dtype=np.float32)
        noise_spectrum = sp_fft.rfftn(noise)
        noise_spectrum *= missing_wedge_mask(dims, tilt_range, rfft=True)
        noise = sp_fft.irfftn(noise_spectrum, s=dims).astype(np.float32)
        kept = float(missing_wedge_mask(dims, tilt_range).mean())
        tomogram += noise * np.float32(math.sqrt(signal_var / (snr * kept)))
    if normalize:
        tomogram -= np.float32(tomogram.mean(dtype=np.float64))
        std = np.float32(tomogram.std(dtype=np.float64))
        if std > 0:
            tomogram /= std
    particles = pd.DataFrame(
        {
            "x": centres[:, 2],
            "y": centres[:, 1],
            "z": centres[:, 0],
            "class": labels.astype(np.int64),
        }
    )
    return tomogram, particles


def _window(corner, size, dims):
    lo = np.maximum(corner, 0)
    hi = np.minimum(corner + size, dims)
    target = tuple(slice(a, b) for a, b in zip(lo, hi))
    source = tuple(slice(a - c, b - c) for a, b, c in zip(lo, hi, corner))
    return target, source


def _add_clipped(volume, density, corner):
    target, source = _window(corner, density.shape[0], np.array(volume.shape))
    volume[target] += density[source]


def _clipped(volume, corner, size):
    target, _ = _window(corner, size, np.array(volume.shape))
    return volume[target]
