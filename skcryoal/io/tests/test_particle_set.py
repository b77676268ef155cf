"""read_particle_set: each tool's convention, checked against particles at known positions.

Each test writes the table the way the tool documents (forward formulas from its source,
see read_particle_set), reads it back, and checks that the voxel coordinates are the
true ones and that the boxes cut are the boxes at the true positions (so the particle
centre is within half a voxel of the box centre).
"""

import numpy as np
import pandas as pd
import pytest
import starfile
from scipy.spatial.transform import Rotation

from skcryoal.io import extract_particles, read_particle_set
from skcryoal.io._conventions import relion_matrices

from .conftest import BINNING, TS_PIXEL, VOXEL

XYZ = ["skcryoal_x", "skcryoal_y", "skcryoal_z"]


def _tomograms_star(scene, path, *, file_column="rlnTomoReconstructedTomogram", binning=True):
    """A RELION 5 tomograms.star in Tomograms/job007/ with paths relative to the project."""
    names = list(scene.arrays)
    sizes = np.array([scene.unbinned_size(n) for n in names])
    table = {
        "rlnTomoName": names,
        "rlnVoltage": [300.0] * len(names),
        "rlnTomoTiltSeriesPixelSize": [TS_PIXEL] * len(names),
        "rlnTomoSizeX": sizes[:, 0],
        "rlnTomoSizeY": sizes[:, 1],
        "rlnTomoSizeZ": sizes[:, 2],
    }
    if binning:
        table["rlnTomoTomogramBinning"] = [float(BINNING)] * len(names)
    if file_column:
        table[file_column] = [f"{n}.mrc" for n in names]
    path.parent.mkdir(parents=True, exist_ok=True)
    starfile.write({"global": pd.DataFrame(table)}, path)
    return path


def _relion_particles(path, particles, pixel_column=True):
    optics = pd.DataFrame(
        {"rlnOpticsGroup": [1], "rlnOpticsGroupName": ["optics1"], "rlnImagePixelSize": [10.0]}
    )
    if pixel_column:
        optics["rlnTomoTiltSeriesPixelSize"] = [TS_PIXEL]
    starfile.write({"optics": optics, "particles": particles.assign(rlnOpticsGroup=1)}, path)
    return path


def _relion5_centred(scene, origin_shift=None):
    """rlnCenteredCoordinate*Angst: (voxel * binning - size / 2) * tilt-series pixel."""
    sizes = np.array([scene.unbinned_size(n) for n in scene.truth.tomogram])
    unbinned = scene.xyz * BINNING  # reconstruct_tomogram: voxel i at unbinned i * bin
    centred = (unbinned - sizes / 2.0) * TS_PIXEL
    return centred if origin_shift is None else centred + origin_shift


def _check(scene, particles, convention, size=16):
    np.testing.assert_allclose(particles[XYZ].to_numpy(), scene.xyz, atol=1e-6)
    assert particles["skcryoal_tomogram"].tolist() == scene.truth.tomogram.tolist()
    paths = [str(scene.paths[n].resolve()) for n in scene.truth.tomogram]
    assert particles["skcryoal_tomogram_path"].tolist() == paths
    np.testing.assert_allclose(particles["skcryoal_voxel_size"], VOXEL)
    assert set(particles["skcryoal_convention"]) == {convention}
    X, table = extract_particles(particles, size, edge="pad", standardize=False)
    np.testing.assert_array_equal(X, scene.expected(size))
    assert table["skcryoal_row"].tolist() == list(range(len(scene.truth)))


def _provenance(scene, rng):
    n = len(scene.truth)
    return {
        "rlnAngleRot": np.round(rng.uniform(-180, 180, n), 3),
        "rlnClassNumber": scene.truth["class"].to_numpy() + 1,
        "rlnTomoParticleName": [f"{t}/{i}" for i, t in enumerate(scene.truth.tomogram)],
    }


def test_relion5_with_tomograms_star(tmp_path, make_scene):
    scene = make_scene(("TS_01", "TS_02", "TS_03"))
    star = _tomograms_star(scene, tmp_path / "Tomograms" / "job007" / "tomograms.star")
    centred = _relion5_centred(scene)
    extra = _provenance(scene, np.random.default_rng(0))
    particles = pd.DataFrame(
        {
            "rlnTomoName": scene.truth.tomogram,
            "rlnCenteredCoordinateXAngst": centred[:, 0],
            "rlnCenteredCoordinateYAngst": centred[:, 1],
            "rlnCenteredCoordinateZAngst": centred[:, 2],
            **extra,
        }
    )
    path = _relion_particles(tmp_path / "particles.star", particles)
    result = read_particle_set(path, tomograms=star)
    _check(scene, result, "relion5")
    # every original column is kept, values untouched (provenance)
    for column, values in extra.items():
        assert result[column].tolist() == list(values)
    standard = ["skcryoal_tomogram", "skcryoal_tomogram_path", "skcryoal_voxel_size", *XYZ]
    assert list(result.columns) == [
        *particles.columns,
        "rlnOpticsGroup",
        *standard,
        "skcryoal_convention",
    ]


def test_relion5_origin_shift_is_subtracted_in_the_subtomogram_frame(tmp_path, make_scene):
    scene = make_scene()
    star = _tomograms_star(scene, tmp_path / "Tomograms" / "job007" / "tomograms.star")
    rng = np.random.default_rng(1)
    n = len(scene.truth)
    angles = rng.uniform(-180, 180, size=(n, 3))
    origin = rng.uniform(-30, 30, size=(n, 3))  # Angstrom, in the subtomogram frame
    # RELION's matrix is scipy's intrinsic ZYZ rotation, inverted (independent check).
    matrices = Rotation.from_euler("ZYZ", angles, degrees=True).inv().as_matrix()
    np.testing.assert_allclose(relion_matrices(*angles.T), matrices, atol=1e-12)
    shifted = _relion5_centred(scene, np.einsum("nij,nj->ni", matrices, origin))
    particles = pd.DataFrame(
        {
            "rlnTomoName": scene.truth.tomogram,
            "rlnCenteredCoordinateXAngst": shifted[:, 0],
            "rlnCenteredCoordinateYAngst": shifted[:, 1],
            "rlnCenteredCoordinateZAngst": shifted[:, 2],
            "rlnTomoSubtomogramRot": angles[:, 0],
            "rlnTomoSubtomogramTilt": angles[:, 1],
            "rlnTomoSubtomogramPsi": angles[:, 2],
            "rlnOriginXAngst": origin[:, 0],
            "rlnOriginYAngst": origin[:, 1],
            "rlnOriginZAngst": origin[:, 2],
        }
    )
    path = _relion_particles(tmp_path / "particles.star", particles)
    _check(scene, read_particle_set(path, tomograms=star), "relion5")


def test_relion5_without_tomograms_star_uses_the_file_centre(tmp_path, make_scene):
    # pytom-match-pick's --relion5-compat convention: (index - shape / 2) * voxel size.
    scene = make_scene()
    shapes = np.array([scene.arrays[n].shape[::-1] for n in scene.truth.tomogram])
    centred = (scene.xyz - shapes / 2.0) * VOXEL
    particles = pd.DataFrame(
        {
            "rlnTomoName": scene.truth.tomogram,
            "rlnCenteredCoordinateXAngst": centred[:, 0],
            "rlnCenteredCoordinateYAngst": centred[:, 1],
            "rlnCenteredCoordinateZAngst": centred[:, 2],
        }
    )
    _check(scene, read_particle_set(particles, tomogram_dir=tmp_path), "relion5")


@pytest.mark.parametrize("pixel_from", ["optics", "tomograms_star"])
def test_relion4_unbinned_pixels(tmp_path, make_scene, pixel_from):
    scene = make_scene()
    # RELION 4's tomograms.star has no reconstructed file column: files from tomogram_dir,
    # binning from the header (20 A) over the tilt-series pixel size (5 A).
    star = _tomograms_star(scene, tmp_path / "tomograms.star", file_column=None, binning=False)
    unbinned = scene.xyz * BINNING
    particles = pd.DataFrame(
        {
            "rlnTomoName": scene.truth.tomogram,
            "rlnCoordinateX": unbinned[:, 0],
            "rlnCoordinateY": unbinned[:, 1],
            "rlnCoordinateZ": unbinned[:, 2],
        }
    )
    path = _relion_particles(
        tmp_path / "particles.star", particles, pixel_column=pixel_from == "optics"
    )
    tomograms = star if pixel_from == "tomograms_star" else None
    result = read_particle_set(path, tomograms=tomograms, tomogram_dir=tmp_path)
    _check(scene, result, "relion4")


def test_relion3_single_tomogram_named_by_path(tmp_path, make_scene):
    scene = make_scene(("TS_01",))
    particles = pd.DataFrame(
        {
            "rlnMicrographName": ["TS_01.mrc"] * len(scene.truth),  # relative to the table
            "rlnCoordinateX": scene.truth.x,
            "rlnCoordinateY": scene.truth.y,
            "rlnCoordinateZ": scene.truth.z,
        }
    )
    starfile.write(particles, tmp_path / "picks.star")
    result = read_particle_set(tmp_path / "picks.star")
    _check(scene, result, "relion3")
    assert set(result["rlnMicrographName"]) == {"TS_01.mrc"}


def test_warp_m_angstrom_from_the_first_voxel(tmp_path, make_scene):
    scene = make_scene()
    for name in scene.arrays:  # a Warp folder also holds these: not tomograms
        (tmp_path / f"{name}.tomostar").write_text("not a tomogram")
        (tmp_path / name).mkdir()
    angstrom = scene.xyz * VOXEL
    particles = pd.DataFrame(
        {
            "wrpCoordinateX1": angstrom[:, 0],
            "wrpCoordinateY1": angstrom[:, 1],
            "wrpCoordinateZ1": angstrom[:, 2],
            "wrpAngleRot1": 0.0,
            "wrpSourceName": [f"{n}.tomostar" for n in scene.truth.tomogram],
        }
    )
    starfile.write(particles, tmp_path / "m_particles.star")
    result = read_particle_set(tmp_path / "m_particles.star", tomogram_dir=tmp_path)
    _check(scene, result, "warp")
    assert result["wrpSourceName"].tolist() == particles["wrpSourceName"].tolist()


@pytest.mark.parametrize("prefix", ["rln", "ptm"])
def test_pytom_voxel_indices_with_scores_kept(tmp_path, make_scene, prefix):
    scene = make_scene()
    scene.truth[["x", "y", "z"]] = np.round(scene.xyz)  # pytom picks score-map maxima
    n = len(scene.truth)
    scores = {
        f"{prefix}LCCmax": np.linspace(0.3, 0.2, n),
        f"{prefix}CutOff": [0.15] * n,
        f"{prefix}SearchStd": [0.02] * n,
    }
    particles = pd.DataFrame(
        {
            "rlnCoordinateX": scene.truth.x.astype(int),
            "rlnCoordinateY": scene.truth.y.astype(int),
            "rlnCoordinateZ": scene.truth.z.astype(int),
            "rlnAngleRot": 10.0,
            **scores,
            "rlnDetectorPixelSize": VOXEL,
            "rlnMicrographName": scene.truth.tomogram,
        }
    )
    path = tmp_path / "TS_particles.star"
    starfile.write({"particles": particles}, path)
    result = read_particle_set(path, tomogram_dir=tmp_path)
    _check(scene, result, "pytom")
    for column, values in scores.items():
        np.testing.assert_allclose(result[column], values)


def test_pytom_relion5_compat(tmp_path, make_scene):
    scene = make_scene()
    scene.truth[["x", "y", "z"]] = np.round(scene.xyz)
    shapes = np.array([scene.arrays[n].shape[::-1] for n in scene.truth.tomogram])
    centred = (scene.xyz - shapes / 2) * VOXEL  # pytom_tm/extract.py, relion5_compat
    particles = pd.DataFrame(
        {
            "rlnCenteredCoordinateXAngst": centred[:, 0],
            "rlnCenteredCoordinateYAngst": centred[:, 1],
            "rlnCenteredCoordinateZAngst": centred[:, 2],
            "rlnLCCmax": 0.3,
            "rlnCutOff": 0.1,
            "rlnSearchStd": 0.02,
            "rlnTomoTiltSeriesPixelSize": VOXEL,  # pytom writes the tomogram's voxel size
            "rlnTomoName": scene.truth.tomogram,
        }
    )
    result = read_particle_set(particles, tomograms=dict(scene.paths))
    _check(scene, result, "pytom")


def test_plain_xyz_csv_with_one_tomogram_path(tmp_path, make_scene):
    scene = make_scene(("TS_01",))
    scene.truth[["x", "y", "z", "class"]].to_csv(tmp_path / "picks.csv", index=False)
    result = read_particle_set(tmp_path / "picks.csv", tomograms=scene.paths["TS_01"])
    _check(scene, result, "pixels")
    assert result["class"].tolist() == scene.truth["class"].tolist()


def test_forced_convention_and_rec_prefix(tmp_path, make_scene):
    scene = make_scene(("TS_01",))
    scene.paths["TS_01"] = scene.paths["TS_01"].rename(tmp_path / "rec_TS_01.mrc")
    particles = pd.DataFrame(
        {
            "rlnTomoName": "TS_01",
            "rlnCoordinateX": scene.truth.x,
            "rlnCoordinateY": scene.truth.y,
            "rlnCoordinateZ": scene.truth.z,
        }
    )
    result = read_particle_set(particles, tomogram_dir=tmp_path, convention="relion3")
    _check(scene, result, "relion3")


def test_names_that_look_like_numbers_stay_text(tmp_path, make_scene):
    scene = make_scene(("007",))
    particles = pd.DataFrame(
        {
            "rlnTomoName": ["007"] * len(scene.truth),
            "rlnCoordinateX": scene.truth.x * BINNING,
            "rlnCoordinateY": scene.truth.y * BINNING,
            "rlnCoordinateZ": scene.truth.z * BINNING,
        }
    )
    path = _relion_particles(tmp_path / "particles.star", particles)
    result = read_particle_set(path, tomogram_dir=tmp_path)
    assert result["skcryoal_tomogram"].tolist() == ["007"] * len(scene.truth)
    np.testing.assert_allclose(result[XYZ].to_numpy(), scene.xyz, atol=1e-6)


def test_relion5_files_as_relion_writes_them(tmp_path, make_scene):
    """A ``data_general`` block first, and a one-tomogram global block as key-value pairs."""
    scene = make_scene(("TS_01",))
    size = scene.unbinned_size("TS_01")
    (tmp_path / "tomograms.star").write_text(
        "data_global\n\n"
        "_rlnTomoName TS_01\n"
        f"_rlnTomoTiltSeriesPixelSize {TS_PIXEL}\n"
        f"_rlnTomoSizeX {size[0]}\n_rlnTomoSizeY {size[1]}\n_rlnTomoSizeZ {size[2]}\n"
        f"_rlnTomoTomogramBinning {BINNING}\n"
        "_rlnTomoReconstructedTomogram TS_01.mrc\n"
    )
    centred = _relion5_centred(scene)
    lines = ["data_general\n\n_rlnTomoSubTomosAre2DStacks 1\n\n", "data_optics\n\nloop_\n"]
    lines += ["_rlnOpticsGroup #1\n_rlnTomoTiltSeriesPixelSize #2\n1 5.0\n\n"]
    lines += ["data_particles\n\nloop_\n_rlnTomoName #1\n"]
    lines += [f"_rlnCenteredCoordinate{a}Angst #{i + 2}\n" for i, a in enumerate("XYZ")]
    lines += ["_rlnOpticsGroup #5\n"]
    lines += [f"TS_01 {x:.6f} {y:.6f} {z:.6f} 1\n" for x, y, z in centred]
    (tmp_path / "particles.star").write_text("".join(lines))
    result = read_particle_set(tmp_path / "particles.star", tomograms=tmp_path / "tomograms.star")
    _check(scene, result, "relion5")


def test_empty_particle_set(tmp_path, make_scene):
    scene = make_scene(("TS_01",))
    empty = pd.DataFrame({"x": [], "y": [], "z": []})
    result = read_particle_set(empty, tomograms=scene.paths["TS_01"])
    assert len(result) == 0 and "skcryoal_x" in result.columns
    X, table = extract_particles(result, 16, standardize=False)
    assert X.shape == (0, 1, 16, 16, 16) and len(table) == 0
