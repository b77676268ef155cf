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

from ._conditions import check_defocus_spec, check_snr_spec, check_tilt_range_spec, make_conditions
from ._imaging import missing_wedge_mask, transfer_function
from ._junk import check_crowding, check_junk, check_junk_kinds
from ._render import render
from ._templates import bundled_key, check_fits, load_template
from ._validation import (
    check_class_weights,
    check_int,
    check_max_shift,
    check_positive_float,
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
        self.pose_seed = pose_seed
        self.noise_seed = noise_seed


class _Imaging:
    """The filters of one imaging condition: CTF and wedge of the signal, wedge of the noise."""

    def __init__(self, size, voxel_size, snr, tilt_range, defocus):
        self.transfer = transfer_function(
            size, voxel_size=voxel_size, tilt_range=tilt_range, defocus=defocus
        )
        self.snr = snr
        if math.isfinite(snr):
            self.wedge = missing_wedge_mask(size, tilt_range, rfft=True).astype(np.float32)
            # Variance that the wedge filter keeps of unit white noise (Parseval).
            self.kept = missing_wedge_mask(size, tilt_range).mean()


class _Imager:
    """Fourier-space imaging of rendered batches, plus noise and normalisation.

    With ``conditions`` (:class:`._conditions.Conditions`) that vary, each box is imaged
    with its tomogram's defocus, tilt range and SNR; the calls then take the boxes'
    positions in the dataset. The noise is drawn for a whole batch at once either way,
    so its stream does not depend on the conditions.
    """

    def __init__(
        self, size, voxel_size, snr, tilt_range, defocus, normalize, noise_seed, conditions=None
    ):
        self.shape = (size, size, size)
        self.size = size
        self.voxel_size = voxel_size
        self.normalize = normalize
        self.workers = _workers()
        self.conditions = conditions if conditions is not None and conditions.varies else None
        if self.conditions is None:
            self._fixed = _Imaging(size, voxel_size, snr, tilt_range, defocus)
            self.noisy = math.isfinite(snr)
        else:
            self._by_tomogram = {}
            self.noisy = bool(np.all(np.isfinite(self.conditions.snr)))
        if self.noisy:
            self.noise_rng = np.random.default_rng(noise_seed)

    def imaging(self, tomogram):
        """The filters of one tomogram (cached)."""
        if tomogram not in self._by_tomogram:
            self._by_tomogram[tomogram] = _Imaging(
                self.size, self.voxel_size, *self.conditions.of(tomogram)
            )
        return self._by_tomogram[tomogram]

    def _groups(self, positions):
        """``(imaging, rows)`` for each condition among the boxes at ``positions``."""
        if self.conditions is None:
            return [(self._fixed, slice(None))]
        if positions is None:
            raise ValueError("imaging conditions vary by tomogram: give the boxes' positions")
        tomograms = self.conditions.tomogram[np.asarray(positions)]
        return [
            (self.imaging(int(t)), np.flatnonzero(tomograms == t)) for t in np.unique(tomograms)
        ]

    def _filter(self, volumes, transfer):
        axes = (1, 2, 3)
        spectrum = sp_fft.rfftn(volumes, axes=axes, workers=self.workers)
        spectrum *= transfer
        return sp_fft.irfftn(spectrum, s=self.shape, axes=axes, workers=self.workers)

    def signal(self, volumes, positions=None):
        """The imaged, noise-free signal of a batch (boxes at ``positions`` in the dataset)."""
        return self._signal(volumes, self._groups(positions))

    def _signal(self, volumes, groups):
        if self.conditions is None:
            return self._filter(volumes, self._fixed.transfer)
        out = np.empty(volumes.shape, dtype=np.float32)
        for imaging, rows in groups:
            out[rows] = self._filter(volumes[rows], imaging.transfer)
        return out

    def __call__(self, volumes, signal_var=None, positions=None):
        """Image a batch; noise is set from ``signal_var`` per volume, by default its own."""
        axes = (1, 2, 3)
        groups = self._groups(positions)
        signal = self._signal(volumes, groups)
        if self.noisy:
            # Drawn even for a zero-variance signal so that the stream stays aligned.
            noise = self.noise_rng.standard_normal(signal.shape, dtype=np.float32)
            if signal_var is None:
                signal_var = signal.var(axis=axes, dtype=np.float64)
            signal_var = np.asarray(signal_var, dtype=np.float64)
            for imaging, rows in groups:
                filtered = self._filter(noise[rows], imaging.wedge)
                scale = np.sqrt(signal_var[rows] / (imaging.snr * imaging.kept))
                signal[rows] += filtered * scale.astype(np.float32)[:, None, None, None]
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
            out[start:stop, 0] = imager(batch, positions=np.arange(start, stop))
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
        check_snr_spec(snr),
        check_tilt_range_spec(tilt_range),
        check_positive_float(voxel_size, "voxel_size"),
        check_defocus_spec(defocus),
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
    n_tomograms: int = 1,
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
normalize, junk, junk_kinds, junk_as_classes, crowding, n_tomograms, return_poses, \
random_state
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
            n_tomograms=n_tomograms,
        )
        return (X, y, poses) if return_poses else (X, y)
    counts = class_counts(n_samples, weights)
    plan = _Plan(n_samples, counts, max_shift, random_state)
    conditions = make_conditions(n_samples, n_tomograms, snr, defocus, tilt_range, plan.pose_seed)
    posed = [_Posed(t, size, voxel_size) for t in loaded]
    imager = _Imager(
        size, voxel_size, snr, tilt_range, defocus, normalize, plan.noise_seed, conditions
    )
    X = np.empty((n_samples, 1, size, size, size), dtype=np.float32)
    _simulate_into(X, plan, posed, imager)
    if return_poses:
        poses = Bunch(rotations=plan.rotations.as_quat(), shifts=plan.shifts)
        if conditions.varies:
            poses.update(conditions.per_box())
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
    n_tomograms: int = 1,
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
    snr : float or (float, float), default=0.05
        Signal-to-noise ratio, > 0; ``float("inf")`` gives noise-free data. A pair
        ``(low, high)`` draws each tomogram's SNR log-uniformly between them (see
        ``n_tomograms``): ice thickness as a noise level, thicker ice giving lower SNR.
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
    tilt_range : tuple of 2 floats, or 2 such tuples, default=(-60, 60)
        Tilt range in degrees, ``-90 < min < max < 90``; (-60, 60) leaves a missing
        wedge of 30 degrees half-angle around kz. Two ranges, the narrowest and the
        widest, e.g. ``((-45, 45), (-70, 70))``, give each tomogram its own: its lowest
        and highest tilts are drawn uniformly between theirs.
    voxel_size : float, default=10.0
        Angstrom per voxel.
    defocus : float or (float, float), default=-5.0
        Defocus in micrometres; negative means underfocus. A pair ``(low, high)`` (one
        sign) draws each tomogram's defocus uniformly between them.
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
    n_tomograms : int, default=1
        Number of tomograms the boxes come from, each box assigned to one at random.
        Each tomogram is imaged with its own ``snr``, ``defocus`` and ``tilt_range``
        when these are ranges. The sample order, poses and noise draws are those of the
        same dataset imaged alike, so the two can be compared box by box.
    return_poses : bool, default=False
        Also return the poses (and each box's imaging conditions).
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
        without a particle is NaN. When the imaging varies (``n_tomograms > 1`` or a
        range), also each box's ``tomogram``, ``snr``, ``tilt_range`` (n_samples, 2)
        and ``defocus``.

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

    Boxes from 5 tomograms, each with its own defocus, tilt range and ice thickness:

    >>> X, y, poses = make_subtomograms(
    ...     n_samples=10, n_classes=2, size=16, voxel_size=20.0, n_tomograms=5,
    ...     snr=(0.03, 0.1), defocus=(-6.0, -2.0), tilt_range=((-45, 45), (-70, 70)),
    ...     return_poses=True, random_state=0)
    >>> len(set(poses.tomogram.tolist())) <= 5, bool(np.all(poses.tilt_range[:, 1] >= 45))
    (True, True)
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
        n_tomograms=n_tomograms,
        return_poses=return_poses,
        random_state=random_state,
    )
