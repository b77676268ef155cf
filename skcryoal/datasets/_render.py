"""Drawing rotated and shifted pseudo-atom templates on a voxel grid.

A sum of isotropic Gaussians is separable per atom, so a batch of volumes is one batched
matrix product: ``V[z, y, x] = sum_i gz[i, z] * gy[i, y] * gx[i, x]``.
"""

import numpy as np

#: Extra Gaussian blur (in voxels) added to every pseudo-atom so that the grid samples
#: the density without aliasing, whatever the template's own sigma.
_SAMPLING_SIGMA = 0.5
#: Pseudo-atoms drawn per matrix product; bounds the temporary memory.
_ATOM_CHUNK = 1024
_TAIL = np.float32(1e-6)


def _profiles(centers, sigma, size):
    """Gaussian profiles along one axis: (batch, n_atoms) centres -> (batch, n_atoms, size)."""
    grid = np.arange(size, dtype=np.float32)
    d = grid - centers[..., None].astype(np.float32)
    g = np.exp(d * d * np.float32(-0.5 / sigma**2))
    # Cut the tails (beyond ~5 sigma): products of tiny values become subnormal floats,
    # which make the matrix products below ten times slower.
    g[g < _TAIL] = 0
    return g


def render(template, rotations, shifts, size, voxel_size):
    """Draw one template in several poses.

    Parameters
    ----------
    template : Template
        Pseudo-atoms in Angstrom, (x, y, z).
    rotations : ndarray of shape (n, 3, 3)
        Rotation matrices acting on (x, y, z) column vectors.
    shifts : ndarray of shape (n, 3)
        Shifts in voxels, (z, y, x) order.
    size : int
        Box edge in voxels; the centre is voxel ``size // 2``.
    voxel_size : float
        Angstrom per voxel.

    Returns
    -------
    volumes : ndarray of shape (n, size, size, size), float32
        Axis order (z, y, x); each volume integrates to the template's total weight
        (up to what falls outside the box).
    """
    sigma = float(np.hypot(template.sigma / voxel_size, _SAMPLING_SIGMA))
    norm = np.float32(1.0 / ((2 * np.pi) ** 1.5 * sigma**3))
    n = len(rotations)
    out = np.zeros((n, size * size, size), dtype=np.float32)
    center = size // 2
    for start in range(0, len(template.points), _ATOM_CHUNK):
        points = template.points[start : start + _ATOM_CHUNK]
        weights = (template.weights[start : start + _ATOM_CHUNK] * norm).astype(np.float32)
        # (n, atoms, 3) in voxels, reordered from (x, y, z) to (z, y, x)
        xyz = np.einsum("nij,aj->nai", rotations, points) / voxel_size
        zyx = xyz[..., ::-1] + center + shifts[:, None, :]
        gz = _profiles(zyx[..., 0], sigma, size) * weights[:, None]
        gy = _profiles(zyx[..., 1], sigma, size)
        gx = _profiles(zyx[..., 2], sigma, size)
        plane = (gz[:, :, :, None] * gy[:, :, None, :]).reshape(n, len(points), size * size)
        # One 2D product per pose: numpy's stacked matmul on a transposed operand does not
        # reach BLAS and is ten times slower.
        for i in range(n):
            out[i] += plane[i].T @ gx[i]
    return out.reshape(n, size, size, size)
