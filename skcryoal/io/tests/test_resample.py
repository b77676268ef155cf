"""Resampling to the classifier's voxel size: Fourier cropping/padding, centre preserved."""

import numpy as np
import pandas as pd
import pytest

from skcryoal.io import extract_particles
from skcryoal.io._resample import interpolation_matrix, resample_box

SIGMA_A = 20.0  # Gaussian blob of 20 A: band-limited enough at 10 A per voxel
CENTRE = np.array([21.3, 23.7, 23.45])  # (x, y, z) in voxels of 10 A, off the grid


def _blob(tmp_path, write_mrc, voxel=10.0, shape=(48, 48, 44)):
    z, y, x = np.indices(shape, dtype=np.float64)
    r2 = (x - CENTRE[0]) ** 2 + (y - CENTRE[1]) ** 2 + (z - CENTRE[2]) ** 2
    volume = np.exp(-r2 * voxel**2 / (2 * SIGMA_A**2)).astype(np.float32)
    path = write_mrc(tmp_path / "blob.mrc", volume, voxel_size=voxel)
    return pd.DataFrame(
        {
            "skcryoal_tomogram": ["blob"],
            "skcryoal_tomogram_path": [str(path)],
            "skcryoal_voxel_size": [voxel],
            "skcryoal_x": [CENTRE[0]],
            "skcryoal_y": [CENTRE[1]],
            "skcryoal_z": [CENTRE[2]],
        }
    )


def test_integer_positions_at_scale_one_are_the_samples():
    box = np.random.default_rng(0).normal(size=(7, 8, 9))
    grid = tuple(np.arange(n, dtype=float) for n in box.shape)
    np.testing.assert_allclose(resample_box(box, grid, 1.0), box, atol=1e-12)


@pytest.mark.parametrize("n", [32, 33])
def test_downsampling_by_two_is_fourier_cropping(n):
    signal = np.random.default_rng(1).normal(size=n)
    m = n // 2
    spectrum = np.fft.rfft(signal)[: m // 2 + 1]
    cropped = np.fft.irfft(spectrum, m) * m / n
    matrix = interpolation_matrix(n, np.arange(m) * n / m, n / m)
    np.testing.assert_allclose(matrix @ signal, cropped, atol=1e-12)


@pytest.mark.parametrize("voxel_size", [7.0, 15.0, 20.0, 25.0])
def test_centre_and_shape_preserved(tmp_path, write_mrc, voxel_size):
    size = 16
    X, _ = extract_particles(
        _blob(tmp_path, write_mrc), size, voxel_size=voxel_size, standardize=False
    )
    box = X[0, 0].astype(np.float64)
    # The particle centre is exactly on voxel size // 2: the centroid is there.
    weights = np.clip(box, 0, None)
    centroid = (np.indices(box.shape) * weights).reshape(3, -1).sum(axis=1) / weights.sum()
    np.testing.assert_allclose(centroid, size // 2, atol=0.05)
    # And the values are the blob sampled on the new grid.
    r2 = (((np.indices(box.shape) - size // 2) * voxel_size) ** 2).sum(axis=0)
    blob = np.exp(-r2 / (2 * SIGMA_A**2))
    assert np.abs(box - blob).max() < 0.05
    assert np.corrcoef(box.ravel(), blob.ravel())[0, 1] > 0.999


def test_almost_equal_voxel_sizes_are_not_resampled(tmp_path, write_mrc):
    particle_set = _blob(tmp_path, write_mrc)
    same, _ = extract_particles(particle_set, 12, standardize=False)
    close, _ = extract_particles(particle_set, 12, voxel_size=10.005, standardize=False)
    np.testing.assert_array_equal(same, close)


def test_edge_applies_to_the_footprint_not_the_margin(tmp_path, write_mrc):
    particle_set = _blob(tmp_path, write_mrc)
    # 8 voxels of 40 A span z - 17.5 to z + 14.5 in voxels of 10 A: z = 17.5 just fits,
    # though the source box and its margin (40 voxels) stick out by 2.
    X, _ = extract_particles(
        particle_set.assign(skcryoal_z=17.5), 8, voxel_size=40.0, standardize=False
    )
    assert np.isfinite(X).all()
    with pytest.raises(ValueError, match=r"the 8\^3 box \(32 voxels of the tomogram on a side\)"):
        extract_particles(
            particle_set.assign(skcryoal_z=17.0), 8, voxel_size=40.0, standardize=False
        )
    X, _ = extract_particles(
        particle_set.assign(skcryoal_z=17.0), 8, voxel_size=40.0, edge="pad", standardize=False
    )
    assert np.isfinite(X).all()
