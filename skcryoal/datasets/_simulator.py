"""Simulated subtomograms: templates in random poses, imaged in Fourier space, plus noise.

Randomness comes from two independent streams derived from ``random_state``: one for
the sample order, the rotations and the shifts, one for the noise. Datasets that
differ only in ``snr`` (or ``normalize``) therefore hold the same particles in the same
poses, with the same noise pattern scaled to each SNR; at ``snr=inf`` and
``normalize=False`` a dataset is exactly the noise-free signal of its noisy twins.
"""

import math
import os

import numpy as np
from scipy import fft as sp_fft
from scipy.spatial.transform import Rotation
from sklearn.utils import Bunch, check_random_state
from threadpoolctl import threadpool_limits

from ._imaging import missing_wedge_mask, transfer_function
from ._junk import check_crowding, check_junk, check_junk_kinds
from ._render import render
from ._templates import bundled_key, check_fits, load_template
from ._validation import (
    check_class_weights,
    check_defocus,
    check_int,
    check_max_shift,
    check_positive_float,
    check_snr,
    check_tilt_range,
    class_counts,
)

_BATCH_SIZE = 32


def _workers():
    return os.cpu_count() or 1


class _Plan:
    """Everything drawn up front: labels in sample order, poses, and the noise seed."""

    def __init__(self, n_samples, counts, max_shift, random_state):
        rng = check_random_state(random_state)
        pose_seed, noise_seed = rng.randint(np.iinfo(np.int32).max, size=2)
        pose_rng = np.random.default_rng(pose_seed)
        labels = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        self.labels = labels[pose_rng.permutation(n_samples)]
        # Positional rng argument: ``random_state`` before scipy 1.15, ``rng`` after.
        self.rotations = Rotation.random(n_samples, pose_rng)
        self.shifts = pose_rng.uniform(-max_shift, max_shift, size=(n_samples, 3))
        self.noise_seed = noise_seed


class _Imager:
    """Fourier-space imaging of rendered batches, plus noise and normalisation."""

    def __init__(self, size, voxel_size, snr, tilt_range, defocus, normalize, noise_seed):
        self.shape = (size, size, size)
        self.transfer = transfer_function(
            size, voxel_size=voxel_size, tilt_range=tilt_range, defocus=defocus
        )
        self.snr = snr
        self.normalize = normalize
        self.workers = _workers()
        if math.isfinite(snr):
            self.wedge = missing_wedge_mask(size, tilt_range, rfft=True).astype(np.float32)
            # Variance that the wedge filter keeps of unit white noise (Parseval).
            self.kept = missing_wedge_mask(size, tilt_range).mean()
            self.noise_rng = np.random.default_rng(noise_seed)

    def _filter(self, volumes, transfer):
        axes = (1, 2, 3)
        spectrum = sp_fft.rfftn(volumes, axes=axes, workers=self.workers)
        spectrum *= transfer
        return sp_fft.irfftn(spectrum, s=self.shape, axes=axes, workers=self.workers)

    def __call__(self, volumes, signal_var=None):
        """Image a batch; noise is set from ``signal_var`` per volume, by default its own."""
        axes = (1, 2, 3)
        signal = self._filter(volumes, self.transfer)
        if math.isfinite(self.snr):
            # Drawn even for a zero-variance signal so that the stream stays aligned.
            noise = self.noise_rng.standard_normal(signal.shape, dtype=np.float32)
            noise = self._filter(noise, self.wedge)
            if signal_var is None:
                signal_var = signal.var(axis=axes, dtype=np.float64)
            scale = np.sqrt(signal_var / (self.snr * self.kept)).astype(np.float32)
            signal += noise * scale[:, None, None, None]
        if self.normalize:
            signal -= signal.mean(axis=axes, keepdims=True, dtype=np.float64).astype(np.float32)
            std = signal.std(axis=axes, keepdims=True, dtype=np.float64).astype(np.float32)
            signal /= np.where(std > 0, std, np.float32(1))
        return signal


def _simulate_into(out, plan, templates, imager, progress=None):
    """Fill ``out`` of shape (n, 1, D, H, W) in order, one batch at a time.

    ``out`` is an array or anything that takes ``out[start:stop, 0] = batch`` in order
    (the preset cache streams batches to a file).

    Only one batch is held in memory. ``templates[k]`` draws class ``k``.
    """
    matrices = plan.rotations.as_matrix()
    n = len(plan.labels)
    # The rendering products are small: one BLAS thread is as fast on an idle machine and
    # several times faster when other processes compete for the cores.
    with threadpool_limits(1, user_api="blas"):
        for start in range(0, n, _BATCH_SIZE):
            stop = min(n, start + _BATCH_SIZE)
            labels = plan.labels[start:stop]
            batch = np.empty((stop - start, *imager.shape), dtype=np.float32)
            for label in np.unique(labels):
                idx = np.flatnonzero(labels == label)
                batch[idx] = templates[label].render(
                    matrices[start + idx], plan.shifts[start + idx]
                )
            out[start:stop, 0] = imager(batch)
            if progress is not None:
                progress.update(stop - start)
    return out


class _Posed:
    """A template bound to the box geometry, drawable in a batch of poses."""

    def __init__(self, template, size, voxel_size):
        self.template = template
        self.size = size
        self.voxel_size = voxel_size

    def render(self, rotations, shifts):
        return render(self.template, rotations, shifts, self.size, self.voxel_size)


def _check_common(n_samples, size, snr, tilt_range, voxel_size, defocus, max_shift):
    return (
        check_int(n_samples, "n_samples", minimum=1),
        check_int(size, "size", minimum=8),
        check_snr(snr),
        check_tilt_range(tilt_range),
        check_positive_float(voxel_size, "voxel_size"),
        check_defocus(defocus),
        check_max_shift(max_shift),
    )


def simulate_from_templates(
    templates,
    n_samples: int = 1000,
    size: int = 32,
    snr: float = 0.05,
    *,
    class_weights=None,
    tilt_range=(-60, 60),
    voxel_size: float = 10.0,
    defocus: float = -5.0,
    max_shift: float = 2.0,
    normalize: bool = True,
    junk: float = 0.0,
    junk_kinds=None,
    junk_as_classes: bool = False,
    crowding: float = 0.0,
    return_poses: bool = False,
    random_state=None,
):
    """Simulate subtomograms of given templates: one class per template, in order.

    Same imaging model and randomness as :func:`make_subtomograms`, for templates of
    your own: atomic models (PDB / mmCIF, needs ``pip install skcryoal[structures]``),
    MRC density maps, arrays, built-in class indices or bundled real structures
    (:func:`list_structures`), freely mixed.

    Parameters
    ----------
    templates : sequence of int, str, path-like or ndarray
        One entry per class, see :func:`load_template`: built-in class indices, keys of
        bundled real structures (:func:`list_structures`), files or arrays. Label ``k``
        is ``templates[k]``. A bundled structure that does not fit the box raises.
    n_samples, size, snr, class_weights, tilt_range, voxel_size, defocus, max_shift, \
normalize, junk, junk_kinds, junk_as_classes, crowding, return_poses, random_state
        As in :func:`make_subtomograms`.

    Returns
    -------
    X : ndarray of shape (n_samples, 1, size, size, size), float32
    y : ndarray of shape (n_samples,), int64
    poses : Bunch
        Only if ``return_poses``; see :func:`make_subtomograms`.

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal.datasets import make_template, simulate_from_templates
    >>> ring = make_template(1, size=16, voxel_size=20.0)  # a density of your own
    >>> X, y = simulate_from_templates([ring, 3], n_samples=4, size=16, voxel_size=20.0,
    ...                                random_state=0)
    >>> X.shape, np.bincount(y).tolist()
    ((4, 1, 16, 16, 16), [2, 2])
    """
    n_samples, size, snr, tilt_range, voxel_size, defocus, max_shift = _check_common(
        n_samples, size, snr, tilt_range, voxel_size, defocus, max_shift
    )
    if isinstance(templates, (str, os.PathLike, np.ndarray)) or not hasattr(templates, "__len__"):
        raise TypeError(
            "templates must be a list with one entry per class (class indices, keys of "
            "bundled structures, file paths or 3D arrays); got "
            f"{type(templates).__name__}. Wrap a single one in a list."
        )
    if len(templates) < 2:
        raise ValueError(f"templates must define at least 2 classes; got {len(templates)}.")
    loaded = [load_template(t, voxel_size) for t in templates]
    check_fits(loaded, size, voxel_size, keys=[bundled_key(t) for t in templates])
    weights = check_class_weights(class_weights, len(loaded))
    junk = check_junk(junk)
    kinds = check_junk_kinds(junk_kinds) if junk > 0 else ()
    crowding = check_crowding(crowding)
    if kinds or crowding > 0:
        from ._mixed import junk_counts, simulate_mixed  # they import this module

        X, y, poses = simulate_mixed(
            loaded,
            junk_counts(n_samples, junk, weights, len(kinds)),
            size,
            snr,
            tilt_range=tilt_range,
            voxel_size=voxel_size,
            defocus=defocus,
            max_shift=max_shift,
            normalize=normalize,
            random_state=random_state,
            kinds=kinds,
            junk_as_classes=bool(junk_as_classes),
            crowding=crowding,
        )
        return (X, y, poses) if return_poses else (X, y)
    counts = class_counts(n_samples, weights)
    plan = _Plan(n_samples, counts, max_shift, random_state)
    posed = [_Posed(t, size, voxel_size) for t in loaded]
    imager = _Imager(size, voxel_size, snr, tilt_range, defocus, normalize, plan.noise_seed)
    X = np.empty((n_samples, 1, size, size, size), dtype=np.float32)
    _simulate_into(X, plan, posed, imager)
    if return_poses:
        poses = Bunch(rotations=plan.rotations.as_quat(), shifts=plan.shifts)
        return X, plan.labels, poses
    return X, plan.labels


def make_subtomograms(
    n_samples: int = 1000,
    n_classes: int | None = None,
    size: int = 32,
    snr: float = 0.05,
    *,
    templates=None,
    class_weights=None,
    tilt_range=(-60, 60),
    voxel_size: float = 10.0,
    defocus: float = -5.0,
    max_shift: float = 2.0,
    normalize: bool = True,
    junk: float = 0.0,
    junk_kinds=None,
    junk_as_classes: bool = False,
    crowding: float = 0.0,
    return_poses: bool = False,
    random_state=None,
):
    """Simulate labelled cryo-ET subtomograms of built-in macromolecule-like classes.

    Class ``k`` is a fixed structure of Gaussian pseudo-atoms with point-group symmetry
    (see :func:`describe_template`), the same in every dataset; with ``templates``, it
    is the ``k``-th real complex of a list such as ``["4V5D", "4V1W"]`` (see
    :func:`list_structures`). Each sample is one particle of its class in a uniformly
    random orientation (SO(3)) with a random shift of at most ``max_shift`` voxels per
    axis, imaged in Fourier space like AITom's simulator: CTF (300 kV, Cs 2 mm),
    envelope (1/e at 0.4 Nyquist), band limit at half Nyquist and the missing wedge of
    a tilt series about the y axis. Gaussian noise, missing-wedge filtered like the
    noise of a reconstructed tomogram, is added with an expected variance of
    ``var(signal) / snr``, ``var(signal)`` measured on each subtomogram (the realized
    ratio varies around ``snr`` by about 1% at 32^3, 5% at 16^3).

    Arrays are (z, y, x); voxel sizes are in Angstrom.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of subtomograms (>= 1).
    n_classes : int, default=None
        Number of built-in classes (>= 2); the classes are ``0 .. n_classes - 1``.
        None means 50, or ``len(templates)`` when ``templates`` is given.
    size : int, default=32
        Box edge in voxels (>= 8). Built-in structures are up to 250 A across, so keep
        ``size * voxel_size`` near 320 A (e.g. 16 voxels of 20 A for quick tests). Real
        structures need the ``box_size`` of :func:`list_structures` at 10 A per voxel.
    snr : float, default=0.05
        Signal-to-noise ratio, > 0; ``float("inf")`` gives noise-free data.
    templates : sequence of str, int, path-like or ndarray, default=None
        Keys of bundled real structures, e.g. ``["4V5D", "3JB9", "4V1W"]``, which then
        replace the built-in classes: class ``k`` is ``templates[k]``. Any other source
        of :func:`load_template` (a file, an array, a class index) may be mixed in. A
        structure too large for ``size * voxel_size`` raises a ValueError that names
        the box it needs.
    class_weights : array-like of shape (n_classes,), default=None
        Relative class frequencies (non-negative, normalised to sum to one). The class
        counts are exact: largest-remainder rounding of ``n_samples * weights``. None
        gives balanced classes whose counts differ by at most one.
    tilt_range : tuple of 2 floats, default=(-60, 60)
        Tilt range in degrees, ``-90 < min < max < 90``; (-60, 60) leaves a missing
        wedge of 30 degrees half-angle around kz.
    voxel_size : float, default=10.0
        Angstrom per voxel.
    defocus : float, default=-5.0
        Defocus in micrometres; negative means underfocus.
    max_shift : float, default=2.0
        Largest shift of a particle from the box centre, in voxels per axis (uniform).
    normalize : bool, default=True
        Scale every subtomogram to zero mean and unit standard deviation. With False
        the density is in arbitrary units and ``snr=inf`` gives the exact noise-free
        signal of the noisy datasets made with the same ``random_state``.
    junk : float, default=0.0
        Fraction of the samples, in [0, 1), that are junk instead of particles:
        ``round(junk * n_samples)`` boxes, split evenly over ``junk_kinds`` (see
        :func:`make_junk` and :ref:`ug-data-junk`), imaged like the particles. A junk
        box gets the noise of a typical particle box (the classes' mean signal
        variance over ``snr``), so an empty box holds noise only. ``class_weights``
        then share out the other samples.
    junk_kinds : sequence of str, default=None
        Kinds of junk, from ``"gold"``, ``"membrane"``, ``"ice"``, ``"empty"``,
        ``"carbon"``, ``"off-centre"`` and ``"edge-cut"``; None means all of them, in
        that order. Ignored when ``junk=0``.
    junk_as_classes : bool, default=False
        With False every junk box has label ``n_classes`` ("not a particle"); with
        True kind ``junk_kinds[j]`` has label ``n_classes + j``. The volumes are the
        same either way. :func:`describe_classes` names the labels.
    crowding : float, default=0.0
        Mean number (Poisson) of neighbouring particles, of uniformly random classes
        and poses, drawn touching each particle box's own particle, partly inside the
        box. Their density does not change the box's noise level. A dataset with
        ``crowding`` and no junk holds the same particles, poses and noise as without.
    return_poses : bool, default=False
        Also return the poses.
    random_state : int, RandomState instance or None, default=None
        Seeds the sample order, poses and noise (see the module notes on pairing).

    Returns
    -------
    X : ndarray of shape (n_samples, 1, size, size, size), float32
        The subtomograms, in random order.
    y : ndarray of shape (n_samples,), int64
        Class labels.
    poses : Bunch
        Only if ``return_poses``: ``rotations``, (n_samples, 4) scalar-last quaternions
        (:class:`scipy.spatial.transform.Rotation`) acting on (x, y, z) coordinates, and
        ``shifts``, (n_samples, 3) voxels in (z, y, x) order. With ``junk`` or
        ``crowding`` also ``kind`` (``"particle"`` or the junk kind of each box),
        ``particle_class`` (the class of the box's particle, including off-centre and
        edge-cut ones; -1 for none) and ``n_neighbours``; the pose of a junk box
        without a particle is NaN.

    See Also
    --------
    simulate_from_templates : The same for structures of your own.
    make_junk : The density of one junk box.
    describe_classes : What each label of a dataset is.
    list_structures : The bundled real complexes that ``templates`` may name.
    fetch_simulated : The paper's datasets, generated once and cached on disk.

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal.datasets import make_subtomograms
    >>> X, y = make_subtomograms(n_samples=20, n_classes=4, size=16, voxel_size=20.0,
    ...                          random_state=0)
    >>> X.shape, X.dtype, sorted(set(y.tolist()))
    ((20, 1, 16, 16, 16), dtype('float32'), [0, 1, 2, 3])

    Real complexes, the 70S ribosome (label 0) and apoferritin (label 1):

    >>> X, y = make_subtomograms(n_samples=4, size=16, voxel_size=20.0,
    ...                          templates=["4V5D", "4V1W"], random_state=0)
    >>> X.shape, sorted(set(y.tolist()))
    ((4, 1, 16, 16, 16), [0, 1])

    Cleaning picks: 60 % junk, all labelled 3, "not a particle":

    >>> X, y = make_subtomograms(n_samples=10, n_classes=3, size=16, voxel_size=20.0,
    ...                          junk=0.6, random_state=0)
    >>> np.bincount(y).tolist()
    [2, 1, 1, 6]
    """
    if templates is None:
        n_classes = 50 if n_classes is None else check_int(n_classes, "n_classes", minimum=2)
        templates = list(range(n_classes))
    else:
        if isinstance(templates, (str, os.PathLike, np.ndarray)) or not hasattr(
            templates, "__len__"
        ):
            raise TypeError(
                "templates must be a list with one entry per class, e.g. ['4V5D', '4V1W'] "
                f"(see list_structures()); got {type(templates).__name__}. Wrap a single "
                "one in a list."
            )
        if n_classes is not None and n_classes != len(templates):
            raise ValueError(
                f"n_classes={n_classes!r} contradicts templates, which define "
                f"{len(templates)} classes; leave n_classes out when giving templates."
            )
        templates = list(templates)
    return simulate_from_templates(
        templates,
        n_samples,
        size,
        snr,
        class_weights=class_weights,
        tilt_range=tilt_range,
        voxel_size=voxel_size,
        defocus=defocus,
        max_shift=max_shift,
        normalize=normalize,
        junk=junk,
        junk_kinds=junk_kinds,
        junk_as_classes=junk_as_classes,
        crowding=crowding,
        return_poses=return_poses,
        random_state=random_state,
    )
