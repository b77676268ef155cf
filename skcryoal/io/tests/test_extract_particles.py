"""extract_particles: many tomograms, table order, provenance, edge policies, out=, errors."""

import numpy as np
import pandas as pd
import pytest

from skcryoal.io import extract_particles, extract_subtomograms

from .conftest import VOXEL


def _particle_set(scene, truth=None):
    truth = scene.truth if truth is None else truth
    return pd.DataFrame(
        {
            "name": [f"p{i}" for i in range(len(truth))],  # provenance of the caller
            "skcryoal_tomogram": truth.tomogram,
            "skcryoal_tomogram_path": [str(scene.paths[t]) for t in truth.tomogram],
            "skcryoal_voxel_size": VOXEL,
            "skcryoal_x": truth.x,
            "skcryoal_y": truth.y,
            "skcryoal_z": truth.z,
            "skcryoal_convention": "pixels",
        }
    )


def test_table_order_and_provenance(make_scene):
    scene = make_scene(("TS_01", "TS_02", "TS_03"))
    particle_set = _particle_set(scene).set_index(pd.Index(range(100, 100 + len(scene.truth))))
    X, table = extract_particles(particle_set, 16, edge="pad", standardize=False)
    assert X.shape == (len(scene.truth), 1, 16, 16, 16) and X.dtype == np.float32
    np.testing.assert_array_equal(X, scene.expected(16))
    assert table.index.tolist() == list(range(len(scene.truth)))
    assert table["name"].tolist() == particle_set["name"].tolist()
    assert table["skcryoal_row"].tolist() == list(range(len(scene.truth)))


def test_edge_policies_work_per_tomogram(make_scene):
    scene = make_scene(("TS_01", "TS_02"))
    truth = scene.truth.copy()
    depth, height, width = scene.shape
    for axis, dim in zip("xyz", (width, height, depth)):
        truth[axis] = truth[axis].clip(8, dim - 9)  # every 16^3 box fits...
    truth.loc[1, "x"] = 1.2  # ...but row 1's, one voxel from the x = 0 face
    scene.truth, name = truth, truth.loc[1, "tomogram"]
    particle_set = _particle_set(scene, truth)
    with pytest.raises(ValueError, match=rf"tomogram '{name}' .*1 particle\(s\): row 1 at"):
        extract_particles(particle_set, 16, standardize=False)
    X, table = extract_particles(particle_set, 16, edge="skip", standardize=False)
    assert table["skcryoal_row"].tolist() == [r for r in range(len(truth)) if r != 1]
    np.testing.assert_array_equal(X, scene.expected(16, rows=table["skcryoal_row"]))
    X, _ = extract_particles(particle_set, 16, edge="pad", standardize=False)
    # the padding of row 1 is the mean of its own tomogram
    fill = np.float32(scene.arrays[name].mean(dtype=np.float64))
    np.testing.assert_allclose(X[1, 0, :, :, :5], fill, rtol=1e-5)
    np.testing.assert_allclose(X, scene.expected(16), rtol=1e-5, atol=1e-6)
    truth.loc[1, "x"] = -3.0
    with pytest.raises(ValueError, match=r"the center lies outside .*row 1 at \(x, y, z\) = \(-3"):
        extract_particles(_particle_set(scene, truth), 16, edge="pad", standardize=False)


def test_out_memmap_keeps_the_output_on_disk(tmp_path, make_scene):
    scene = make_scene()
    n = len(scene.truth)
    out = np.lib.format.open_memmap(
        tmp_path / "X.npy", mode="w+", dtype=np.float32, shape=(n, 1, 16, 16, 16)
    )
    X, _ = extract_particles(_particle_set(scene), 16, edge="pad", out=out, standardize=False)
    assert np.shares_memory(X, out)
    out.flush()
    np.testing.assert_array_equal(np.load(tmp_path / "X.npy"), scene.expected(16))
    X64, _ = extract_particles(
        _particle_set(scene), 16, edge="pad", dtype=np.float64, standardize=False
    )
    assert X64.dtype == np.float64


def test_bad_out_and_dtype(make_scene):
    scene = make_scene(("TS_01",))
    particle_set = _particle_set(scene)
    with pytest.raises(ValueError, match=r"out must be an array of shape \(n, 1, 16, 16, 16\)"):
        extract_particles(
            particle_set, 16, edge="pad", out=np.empty((1, 1, 16, 16, 16)), standardize=False
        )
    with pytest.raises(ValueError, match="out must have a floating-point dtype"):
        extract_particles(
            particle_set, 16, edge="pad", out=np.empty((3, 1, 16, 16, 16), int), standardize=False
        )
    readonly = np.empty((3, 1, 16, 16, 16), np.float32)
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="out must be writeable"):
        extract_particles(particle_set, 16, edge="pad", out=readonly, standardize=False)
    with pytest.raises(ValueError, match="dtype must be a floating-point type; got int32"):
        extract_particles(particle_set, 16, edge="pad", dtype=np.int32, standardize=False)


def test_bad_particle_sets(make_scene):
    scene = make_scene(("TS_01",))
    particle_set = _particle_set(scene)
    with pytest.raises(TypeError, match="particle_set must be a DataFrame"):
        extract_particles(np.zeros((3, 3)), standardize=False)
    with pytest.raises(ValueError, match=r"lacks the columns skcryoal_voxel_size.*read_particle"):
        extract_particles(particle_set.drop(columns="skcryoal_voxel_size"), standardize=False)
    bad = particle_set.copy()
    bad.loc[2, "skcryoal_y"] = np.nan
    with pytest.raises(ValueError, match=r"rows \[2\] have missing or non-finite coordinates"):
        extract_particles(bad, 16, standardize=False)
    for kwargs, match in [
        ({"size": 0}, "size must be a positive integer"),
        ({"edge": "wrap"}, "edge must be one of"),
        ({"voxel_size": -1.0}, "voxel_size must be a positive number of Angstrom or None"),
    ]:
        with pytest.raises(ValueError, match=match):
            extract_particles(particle_set, **kwargs, standardize=False)


def test_voxel_sizes_must_be_known_and_agree(make_scene):
    scene = make_scene()
    particle_set = _particle_set(scene)
    mixed = particle_set.assign(skcryoal_voxel_size=np.where(particle_set.index % 2, 10.0, 20.0))
    with pytest.raises(ValueError, match=r"different voxel sizes .*pass voxel_size="):
        extract_particles(mixed, 16, edge="pad", standardize=False)
    unknown = particle_set.assign(skcryoal_voxel_size=0.0)
    with pytest.raises(ValueError, match=r"voxel size of tomograms 'TS_0.' .* is unknown"):
        extract_particles(unknown, 16, voxel_size=20.0, edge="pad", standardize=False)
    half = particle_set.assign(skcryoal_voxel_size=np.where(particle_set.index == 0, 0.0, 20.0))
    with pytest.raises(ValueError, match=r"some tomograms have an unknown voxel size \(rows \[0\]"):
        extract_particles(half, 16, edge="pad", standardize=False)
    wrong = particle_set.assign(skcryoal_voxel_size=14.0)  # the headers say 20 A
    with pytest.raises(ValueError, match=r"particle set says 14 A per voxel but the file says 20"):
        extract_particles(wrong, 16, edge="pad", standardize=False)
    # all unknown and no resampling asked: cut as they are
    X, _ = extract_particles(unknown, 16, edge="pad", standardize=False)
    np.testing.assert_array_equal(X, scene.expected(16))


@pytest.mark.filterwarnings("ignore:Data array contains NaN")
def test_nan_in_a_box_names_the_row(tmp_path, write_mrc):
    volume = np.zeros((20, 20, 20), np.float32)
    volume[10, 10, 10] = np.nan
    write_mrc(tmp_path / "nan.mrc", volume, voxel_size=10.0)
    particle_set = pd.DataFrame(
        {
            "skcryoal_tomogram": "nan",
            "skcryoal_tomogram_path": str(tmp_path / "nan.mrc"),
            "skcryoal_voxel_size": 10.0,
            "skcryoal_x": [4.0, 10.0],
            "skcryoal_y": [4.0, 10.0],
            "skcryoal_z": [4.0, 10.0],
        }
    )
    with pytest.raises(ValueError, match=r"nan.mrc\): the box of row 1 holds 1 NaN"):
        extract_particles(particle_set, 8, standardize=False)


def test_a_particle_table_path_is_read_first(tmp_path, make_scene):
    scene = make_scene(("TS_01",))
    scene.truth.rename(
        columns={"x": "rlnCoordinateX", "y": "rlnCoordinateY", "z": "rlnCoordinateZ"}
    ).assign(rlnMicrographName="TS_01.mrc").to_csv(tmp_path / "picks.csv", index=False)
    X, table = extract_particles(tmp_path / "picks.csv", 16, edge="pad", standardize=False)
    np.testing.assert_array_equal(X, scene.expected(16))
    assert set(table["skcryoal_convention"]) == {"relion3"}


def test_ome_zarr_tomograms_at_the_matching_level(tmp_path, make_scene, write_ome_zarr, bin2):
    scene = make_scene(("TS_01",))
    volume = scene.arrays["TS_01"]
    level1 = bin2(volume)
    zarr_path = write_ome_zarr(
        tmp_path / "TS_01.zarr", [volume, level1], [VOXEL, 2 * VOXEL], [0.0, VOXEL / 2]
    )
    particle_set = _particle_set(scene).assign(skcryoal_tomogram_path=str(zarr_path))
    X, _ = extract_particles(
        particle_set, 16, edge="pad", standardize=False
    )  # finest level: the MRC's voxels
    np.testing.assert_array_equal(X, scene.expected(16))
    X, _ = extract_particles(particle_set, 8, voxel_size=2 * VOXEL, edge="pad", standardize=False)
    level_xyz = (scene.xyz - 0.5) / 2  # voxels of level 1
    expected, _ = extract_subtomograms(level1, level_xyz, 8, edge="pad")
    np.testing.assert_array_equal(X, expected)


def test_an_output_larger_than_the_free_memory_is_refused_first(make_scene, monkeypatch, tmp_path):
    from skcryoal.io import _extract_particles

    scene = make_scene(("TS_01",))
    particle_set = _particle_set(scene)
    n = len(particle_set)
    monkeypatch.setattr(_extract_particles, "available_memory", lambda: 1000)
    need = f"{n} boxes of 16x16x16 voxels .float32. need {n * 16**3 * 4 / 2**10:.1f} KiB"
    with pytest.raises(MemoryError, match=rf"{need}.*only 1000 B.*size=.*out="):
        extract_particles(particle_set, 16, edge="pad", standardize=False)
    # with out= (the caller's own memory map) nothing is allocated, so nothing is refused
    out = np.lib.format.open_memmap(tmp_path / "o.npy", "w+", np.float32, (n, 1, 16, 16, 16))
    X, _ = extract_particles(particle_set, 16, edge="pad", out=out, standardize=False)
    assert X.shape[0] == n


def test_boxes_are_standardized_per_subtomogram_by_default(make_scene, tmp_path):
    from skcryoal.preprocessing import SubtomogramStandardizer

    scene = make_scene(("TS_01", "TS_02"))
    particle_set = _particle_set(scene)
    raw, raw_table = extract_particles(particle_set, 16, edge="pad", standardize=False)
    np.testing.assert_array_equal(raw, scene.expected(16))
    assert (raw_table["skcryoal_standardized"] == 0).all()
    X, table = extract_particles(particle_set, 16, edge="pad")
    assert (table["skcryoal_standardized"] == 1).all()
    np.testing.assert_allclose(X.mean(axis=(1, 2, 3, 4)), 0, atol=1e-5)
    np.testing.assert_allclose(X.std(axis=(1, 2, 3, 4)), 1, rtol=1e-4)
    expected = SubtomogramStandardizer().fit_transform(raw)
    np.testing.assert_allclose(X, expected, rtol=1e-5, atol=1e-5)
    # into a memory map too, box by box
    out = np.lib.format.open_memmap(tmp_path / "o.npy", "w+", np.float32, raw.shape)
    X, _ = extract_particles(particle_set, 16, edge="pad", out=out)
    np.testing.assert_allclose(np.load(tmp_path / "o.npy"), expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="standardize must be True or False; got 'no'"):
        extract_particles(particle_set, 16, edge="pad", standardize="no")
