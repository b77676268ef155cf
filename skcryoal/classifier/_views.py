"""Random views of subtomograms in another 3D orientation, with the missing wedge re-imposed.

A subtomogram of a particle in another pose is not a rotated copy of this one: the
missing wedge stays fixed in the microscope's frame (around the beam, z) while the
particle turns. :func:`rotate_reimpose_wedge` makes such a view from a volume: it
turns the volume by a uniformly random proper rotation (which also turns its own
wedge), then removes the frequencies of the microscope's wedge again, so that every
view has the wedge where real data has it. These are the views that teach a network
invariance to the particle's 3D orientation; the half turns of
:func:`~skcryoal.classifier.augment_batch` cover only four of the orientations.
"""

import numpy as np
import torch
import torch.nn.functional as F

from ..datasets._imaging import missing_wedge_mask


def random_rotations(n, *, generator=None, device="cpu"):
    """Return ``n`` uniformly distributed 3D rotation matrices (Haar measure on SO(3)).

    Drawn as normalized Gaussian quaternions (uniform on the 3-sphere), so every
    orientation is equally likely; the determinant is +1 (no mirror: handedness
    is kept).

    Parameters
    ----------
    n : int
    generator : torch.Generator or None, default=None
        None draws from torch's global generator, which
        :meth:`~skcryoal.classifier.CryoNetClassifier.fit` seeds from its
        ``random_state``.
    device : str or torch.device, default="cpu"

    Returns
    -------
    R : torch.Tensor of shape (n, 3, 3)
    """
    q = torch.randn(n, 4, generator=generator)
    q = q / q.norm(dim=1, keepdim=True)
    w, x, y, z = q.unbind(1)
    R = torch.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
            2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
            2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
        ],
        dim=1,
    ).reshape(n, 3, 3)  # fmt: skip
    return R.to(device)


_WEDGES = {}


def _wedge(shape, tilt_range, device):
    key = (tuple(shape), tuple(float(t) for t in tilt_range), str(device))
    if key not in _WEDGES:
        mask = missing_wedge_mask(tuple(shape), tilt_range, rfft=True)
        _WEDGES[key] = torch.from_numpy(mask.astype(np.float32)).to(device)
    return _WEDGES[key]


def rotate_reimpose_wedge(X, *, tilt_range=(-60, 60), rotations=None, generator=None):
    """Turn each volume to a random 3D orientation and re-impose the missing wedge.

    Parameters
    ----------
    X : torch.Tensor of shape (n, C, D, H, W)
        Volumes, axis order (z, y, x), the beam along z (as everywhere in skcryoal).
    tilt_range : tuple of 2 floats or None, default=(-60, 60)
        The tilt range of the data, in degrees. The view keeps only the Fourier
        samples such a tilt series measures (tilt axis y, as in
        :func:`~skcryoal.datasets.missing_wedge_mask`). None skips the wedge: a
        plain rotation.
    rotations : torch.Tensor of shape (n, 3, 3) or None, default=None
        The rotations to apply; None draws them with :func:`random_rotations`.
    generator : torch.Generator or None, default=None
        Used when ``rotations`` is None.

    Returns
    -------
    views : torch.Tensor of shape (n, C, D, H, W)
        Trilinear resampling (zeros outside the box), then the wedge, then each
        volume standardized to zero mean and unit variance (the wedge and the box's
        corners lower the variance; the classifier sees standardized volumes).
    """
    if X.ndim != 5:
        raise ValueError(f"X must have shape (n, C, D, H, W); got {tuple(X.shape)}.")
    n = X.shape[0]
    if rotations is None:
        rotations = random_rotations(n, generator=generator)
    R = rotations.to(device=X.device, dtype=torch.float32)
    theta = torch.cat([R, torch.zeros(n, 3, 1, device=X.device)], dim=2)
    grid = F.affine_grid(theta, list(X.shape), align_corners=False)
    out = F.grid_sample(X.float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if tilt_range is not None:
        spatial = out.shape[-3:]
        spectrum = torch.fft.rfftn(out, dim=(-3, -2, -1))
        spectrum = spectrum * _wedge(spatial, tilt_range, out.device)
        out = torch.fft.irfftn(spectrum, s=spatial, dim=(-3, -2, -1))
    flat = out.reshape(n, -1)
    mean = flat.mean(dim=1, keepdim=True)
    std = flat.std(dim=1, keepdim=True).clamp_min(1e-6)
    return ((flat - mean) / std).reshape(out.shape).to(X.dtype)
