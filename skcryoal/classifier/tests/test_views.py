"""Random 3D views with the missing wedge re-imposed."""

import numpy as np
import pytest
import torch

from skcryoal.classifier import random_rotations, rotate_reimpose_wedge
from skcryoal.datasets import missing_wedge_mask


def test_random_rotations_are_proper_and_seeded():
    g = torch.Generator().manual_seed(0)
    R = random_rotations(200, generator=g)
    eye = torch.eye(3).expand(200, 3, 3)
    assert torch.allclose(R @ R.transpose(1, 2), eye, atol=1e-5)
    assert torch.allclose(torch.linalg.det(R), torch.ones(200), atol=1e-5)
    again = random_rotations(200, generator=torch.Generator().manual_seed(0))
    assert torch.equal(R, again)
    # uniform on SO(3): the rotated z axis is uniform on the sphere (mean ~ 0, E[z^2] = 1/3)
    z = R[:, :, 2]
    assert z.mean(0).abs().max() < 0.15
    assert abs(float((z[:, 2] ** 2).mean()) - 1 / 3) < 0.08


def test_identity_rotation_keeps_a_wedged_volume():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 16, 16))
    # a volume that already lacks the wedge, as real subtomograms do
    x = np.fft.irfftn(
        np.fft.rfftn(x) * missing_wedge_mask(16, rfft=True), s=x.shape, axes=(0, 1, 2)
    )
    x = (x - x.mean()) / x.std()
    X = torch.from_numpy(x[None, None].astype(np.float32))
    out = rotate_reimpose_wedge(X, rotations=torch.eye(3)[None])
    np.testing.assert_allclose(out.numpy(), X.numpy(), atol=3e-3)


def test_views_lack_the_wedge_and_are_standardized():
    rng = np.random.default_rng(1)
    X = torch.from_numpy(rng.normal(size=(4, 1, 16, 16, 16)).astype(np.float32))
    out = rotate_reimpose_wedge(X, generator=torch.Generator().manual_seed(1))
    assert out.shape == X.shape and out.dtype == X.dtype
    spectrum = np.abs(np.fft.rfftn(out.numpy()[:, 0], axes=(1, 2, 3)))
    missing = ~missing_wedge_mask(16, rfft=True)
    assert spectrum[:, missing].max() < 1e-3 * spectrum.max()
    flat = out.reshape(4, -1)
    np.testing.assert_allclose(flat.mean(1).numpy(), 0, atol=1e-5)
    np.testing.assert_allclose(flat.std(1).numpy(), 1, atol=1e-4)
    # without the wedge, a plain rotation
    plain = rotate_reimpose_wedge(X, tilt_range=None, generator=torch.Generator().manual_seed(1))
    assert np.abs(np.fft.rfftn(plain.numpy()[:, 0], axes=(1, 2, 3)))[:, missing].max() > 1e-2


def test_a_quarter_turn_about_z_moves_the_content():
    # a bright off-centre blob on the x axis goes to the y axis (a rotation, not a mirror)
    X = torch.zeros(1, 1, 16, 16, 16)
    X[0, 0, 7:9, 7:9, 12:14] = 1.0
    quarter = torch.tensor([[[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])
    out = rotate_reimpose_wedge(X, rotations=quarter, tilt_range=None)[0, 0]
    z, y, x = np.unravel_index(int(out.argmax()), out.shape)
    assert 7 <= z <= 8 and abs(x - 7.5) <= 1 and abs(y - 7.5) >= 3


def test_bad_shape():
    with pytest.raises(ValueError, match=r"\(n, C, D, H, W\)"):
        rotate_reimpose_wedge(torch.zeros(2, 16, 16, 16))
