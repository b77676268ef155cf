"""Datasets that mix particles with junk boxes and crowding neighbours.

The plan is the one of a junk-free dataset (:class:`._simulator._Plan`), with one
internal label per junk kind after the particle classes; a third seed, drawn from
``random_state`` after the plan's two, seeds each box's junk or neighbours through its
own generator (``default_rng([seed, index])``), so a box does not depend on batching.
A dataset with crowding but no junk thus holds the same particles in the same poses,
with the same noise, as its uncrowded twin.

Noise: a particle box gets noise from the variance of its own particle's imaged signal,
as without junk (neighbours do not raise it); a junk box gets the noise of a typical
particle, the mean variance of the classes imaged in a few fixed poses, so an empty box
holds the same noise as a particle's and gold stands out as in a tomogram.
"""

import math

import numpy as np
from sklearn.utils import Bunch, check_random_state
from threadpoolctl import threadpool_limits

from . import _simulator
from ._conditions import make_conditions
from ._junk import Scene
from ._render import render
from ._validation import class_counts


def junk_counts(n_samples, junk, class_weights, n_kinds):
    """Samples per particle class, then per junk kind: ``round(junk * n_samples)`` junk."""
    n_junk = math.floor(junk * n_samples + 0.5) if n_kinds else 0
    particles = class_counts(n_samples - n_junk, class_weights)
    kinds = class_counts(n_junk, np.full(n_kinds, 1.0 / n_kinds)) if n_kinds else []
    return np.concatenate([particles, np.asarray(kinds, dtype=np.int64)])


def simulate_mixed(
    loaded,
    counts,
    size,
    snr,
    *,
    tilt_range,
    voxel_size,
    defocus,
    max_shift,
    normalize,
    random_state,
    kinds,
    junk_as_classes,
    crowding,
    n_tomograms=1,
    out=None,
    progress=None,
):
    """Like :func:`simulate_from_templates` with junk and crowding; inputs already checked.

    ``counts`` holds the samples of each particle class, then of each of ``kinds``.
    ``out`` takes ``out[start:stop, 0] = batch`` in order (see ``_simulate_into``); by
    default a new array. Returns ``out``, the labels and the poses.
    """
    n_classes = len(loaded)
    n_samples = int(np.sum(counts))
    rng = check_random_state(random_state)
    plan = _simulator._Plan(n_samples, counts, max_shift, rng)
    box_seed = int(rng.randint(np.iinfo(np.int32).max))
    conditions = make_conditions(n_samples, n_tomograms, snr, defocus, tilt_range, plan.pose_seed)
    imager = _simulator._Imager(
        size, voxel_size, snr, tilt_range, defocus, normalize, plan.noise_seed, conditions
    )
    scene = Scene(loaded, size, voxel_size, max_shift)
    finite = imager.noisy
    # the noise of a junk box: a typical particle's imaged variance, in its own tomogram
    junk_variance = np.zeros(conditions.n_tomograms)
    if finite and counts[n_classes:].sum():
        if imager.conditions is None:
            junk_variance[:] = scene.reference_variance(imager.signal)
        else:
            for t in np.unique(conditions.tomogram[plan.labels >= n_classes]):
                imaging = imager.imaging(int(t))
                junk_variance[t] = scene.reference_variance(
                    lambda v, imaging=imaging: imager._filter(v, imaging.transfer)
                )

    matrices = plan.rotations.as_matrix()
    quats = plan.rotations.as_quat()
    shifts = plan.shifts.copy()
    particle_class = np.where(plan.labels < n_classes, plan.labels, -1)
    n_neighbours = np.zeros(n_samples, dtype=np.int64)
    if out is None:
        out = np.empty((n_samples, 1, size, size, size), dtype=np.float32)
    with threadpool_limits(1, user_api="blas"):
        for start in range(0, n_samples, _simulator._BATCH_SIZE):
            stop = min(n_samples, start + _simulator._BATCH_SIZE)
            labels = plan.labels[start:stop]
            particles = np.zeros((stop - start, size, size, size), dtype=np.float32)
            extra = np.zeros_like(particles)
            for label in np.unique(labels[labels < n_classes]):
                idx = np.flatnonzero(labels == label)
                particles[idx] = render(
                    loaded[label],
                    matrices[start + idx],
                    plan.shifts[start + idx],
                    size,
                    voxel_size,
                )
            for j, label in enumerate(labels):
                i = start + j
                box_rng = np.random.default_rng([box_seed, i])
                if label >= n_classes:
                    extra[j], particle_class[i], quats[i], shifts[i] = scene.draw(
                        kinds[label - n_classes], box_rng
                    )
                elif crowding > 0:
                    n_neighbours[i] = box_rng.poisson(crowding)
                    extra[j] = scene.neighbours(box_rng, label, plan.shifts[i], n_neighbours[i])
            variance = None
            positions = np.arange(start, stop)
            if finite:
                variance = junk_variance[conditions.tomogram[start:stop]]
                is_particle = labels < n_classes
                if is_particle.any():
                    variance[is_particle] = imager.signal(
                        particles[is_particle], positions[is_particle]
                    ).var(axis=(1, 2, 3), dtype=np.float64)
            out[start:stop, 0] = imager(particles + extra, variance, positions)
            if progress is not None:
                progress.update(stop - start)

    y = plan.labels if junk_as_classes else np.minimum(plan.labels, n_classes)
    names = np.array(["particle", *kinds], dtype=object)
    poses = Bunch(
        rotations=quats,
        shifts=shifts,
        kind=names[np.maximum(plan.labels - n_classes + 1, 0)],
        particle_class=particle_class,
        n_neighbours=n_neighbours,
    )
    if conditions.varies:
        poses.update(conditions.per_box())
    return out, y, poses
