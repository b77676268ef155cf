import time

import numpy as np
import pytest

from skcryoal.datasets import make_tomogram

INF = float("inf")


def test_shapes_columns_and_speed():
    start = time.perf_counter()
    tomogram, particles = make_tomogram((64, 96, 96), 10, n_classes=3, random_state=0)
    elapsed = time.perf_counter() - start
    assert tomogram.shape == (64, 96, 96) and tomogram.dtype == np.float32
    assert list(particles.columns) == ["x", "y", "z", "class"]
    assert len(particles) == 10 and particles["class"].dtype == np.int64
    assert sorted(np.bincount(particles["class"]).tolist()) == [3, 3, 4]
    assert np.isclose(tomogram.mean(), 0, atol=1e-5) and np.isclose(tomogram.std(), 1, rtol=1e-4)
    assert elapsed < 1.0, f"make_tomogram took {elapsed:.2f} s"


def test_positions_are_inside_apart_and_off_the_grid():
    shape = (40, 64, 56)
    _, particles = make_tomogram(shape, 6, voxel_size=20.0, min_distance=10, random_state=1)
    xyz = particles[["x", "y", "z"]].to_numpy()
    assert np.all(xyz > 0) and np.all(xyz < np.array(shape[::-1]) - 1)
    distances = np.linalg.norm(xyz[:, None] - xyz[None], axis=-1)
    assert distances[np.triu_indices(len(xyz), 1)].min() >= 10
    assert np.all(np.abs(xyz - np.round(xyz)) > 1e-6)


def test_particles_are_where_the_table_says():
    tomogram, particles = make_tomogram(
        (64, 96, 96), 10, voxel_size=10.0, snr=INF, normalize=False, random_state=1
    )
    for row in particles.itertuples():
        centre = np.array([row.z, row.y, row.x])
        corner = np.floor(centre).astype(int) - 10
        box = tomogram[tuple(slice(c, c + 21) for c in corner)].astype(np.float64)
        weights = np.clip(box, 0, None)
        grid = np.indices(box.shape).reshape(3, -1) + corner[:, None]
        centroid = (grid * weights.ravel()).sum(axis=1) / weights.sum()
        # the density's centre of mass, through CTF and band limit, within a voxel
        assert np.linalg.norm(centroid - centre) < 1.0


def test_seeds_and_snr_pairing():
    a, pa = make_tomogram((32, 48, 48), 4, voxel_size=20.0, random_state=3)
    b, pb = make_tomogram((32, 48, 48), 4, voxel_size=20.0, random_state=3)
    c, _ = make_tomogram((32, 48, 48), 4, voxel_size=20.0, random_state=4)
    np.testing.assert_array_equal(a, b)
    assert pa.equals(pb) and not np.allclose(a, c)
    clean, pclean = make_tomogram((32, 48, 48), 4, voxel_size=20.0, snr=INF, random_state=3)
    assert pclean.equals(pa)  # the same particles at every SNR
    noisy = [
        make_tomogram((32, 48, 48), 4, voxel_size=20.0, snr=s, random_state=3)[0]
        for s in (10.0, 1.0)
    ]
    correlation = [np.corrcoef(clean.ravel(), t.ravel())[0, 1] for t in noisy]
    assert correlation[0] > correlation[1] > np.corrcoef(clean.ravel(), a.ravel())[0, 1] > 0


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"shape": (10, 10)}, ValueError, r"shape must be a \(D, H, W\) tuple"),
        ({"shape": 32}, ValueError, r"shape must be a \(D, H, W\) tuple"),
        ({"shape": (4, 32, 32)}, ValueError, "each entry of shape must be an integer >= 8"),
        ({"shape": (12, 64, 64)}, ValueError, r"shape \(z, y, x\) = \(12, 64, 64\) is too small"),
        ({"n_particles": 200}, ValueError, r"could not place 200 particles at least"),
        ({"n_particles": 0}, ValueError, "n_particles must be an integer >= 1"),
        ({"voxel_size": -1.0}, ValueError, "voxel_size must be a finite number > 0"),
        ({"min_distance": 0}, ValueError, "min_distance must be a finite number > 0"),
        ({"snr": 0}, ValueError, "snr must be > 0"),
    ],
)
def test_bad_parameters(kwargs, error, match):
    params = {"shape": (32, 48, 48), "n_particles": 3, "voxel_size": 20.0, **kwargs}
    with pytest.raises(error, match=match):
        make_tomogram(params.pop("shape"), params.pop("n_particles"), **params)
