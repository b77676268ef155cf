"""Band-limited (Fourier) resampling of a box onto a finer or coarser cubic grid.

A box of ``n`` source voxels is a sum of ``n`` complex exponentials (its discrete
Fourier series). Resampling evaluates that sum, truncated to the frequencies that the
target grid can hold, at the target voxel centres:

- downsampling (target voxel larger) keeps only the frequencies below the target
  Nyquist: this *is* Fourier cropping, so nothing aliases;
- upsampling (target voxel smaller) keeps every source frequency: this *is* Fourier
  zero-padding, so nothing is invented or blurred.

Unlike cropping or padding an FFT, the target positions need not fall on the source
grid: any scale and any sub-voxel centre are exact, and the particle centre lands
exactly on the centre voxel of the output. Reconstructed tomograms are band-limited
(the reconstruction, the CTF envelope and the missing-wedge filter remove the highest
frequencies), which is the case where this interpolation is exact rather than an
approximation; :func:`scipy.ndimage.zoom` (splines) would blur them and alias when
downsampling unless the data were low-pass filtered first.

The sum is separable, so each axis is one small real matrix (target x source) and a
box costs three matrix products. The box is treated as periodic, so the source box is
cut with a margin around the target footprint and the wrap-around ringing stays in
the margin.
"""

import math

import numpy as np


def margin_voxels(footprint):
    """Source voxels added on each side of a target footprint of ``footprint`` voxels."""
    return max(4, int(math.ceil(0.125 * footprint)))


def interpolation_matrix(n, positions, scale):
    """Periodic band-limited interpolation weights along one axis.

    Parameters
    ----------
    n : int
        Source samples, at positions ``0 .. n - 1``.
    positions : ndarray of shape (m,)
        Where to evaluate, in source voxel units.
    scale : float
        Target voxel size / source voxel size; frequencies above
        ``0.5 / scale`` cycles per source voxel are removed when ``scale > 1``.

    Returns
    -------
    weights : ndarray of shape (m, n), float64
        ``weights @ samples`` are the values at ``positions``.
    """
    nu = np.arange(n // 2 + 1)
    frequency = nu / n  # cycles per source voxel
    weight = np.where(nu > 0, 2.0, 1.0)  # +nu and -nu together
    if n % 2 == 0:
        weight[-1] = 1.0  # the Nyquist term exists once
    if scale > 1.0:
        cutoff = 0.5 / scale
        # A frequency exactly at the cut-off is shared half-and-half, as in Fourier
        # cropping to an even size; the tolerance absorbs rounding in scale.
        at_cutoff = np.abs(frequency - cutoff) <= 1e-9
        weight = np.where(frequency < cutoff, weight, 0.0)
        weight = np.where(at_cutoff, 0.5 * np.where(nu > 0, 2.0, 1.0), weight)
    t = np.asarray(positions, dtype=np.float64)[:, None] - np.arange(n)[None, :]
    phase = 2.0 * np.pi * t[..., None] * frequency
    return (np.cos(phase) @ weight) / n


def resample_box(box, positions, scale):
    """Evaluate a box at the tensor-product grid of ``positions``.

    Parameters
    ----------
    box : ndarray of shape (D, H, W)
        Source samples, axis order (z, y, x).
    positions : tuple of 3 ndarrays
        Target positions along z, y and x, in source voxel units relative to the
        box's first voxel.
    scale : float
        Target voxel size / source voxel size.

    Returns
    -------
    out : ndarray of shape (len(pz), len(py), len(px)), float64
    """
    out = np.asarray(box, dtype=np.float64)
    for axis, where in enumerate(positions):
        matrix = interpolation_matrix(out.shape[axis], where, scale)
        out = np.moveaxis(np.tensordot(matrix, out, axes=([1], [axis])), 0, axis)
    return out
