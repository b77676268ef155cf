"""Particle sets and copick projects on the command line: extract, campaign new, benchmark.

A RELION 5 particle set over three synthetic tomograms (binned 4x from a 5 A tilt
series, so 20 A voxels) with particles at known positions, half of them labeled.
"""

import json
import re

import mrcfile
import numpy as np
import pandas as pd
import pytest
import starfile

from skcryoal.campaign import Campaign
from skcryoal.cli import _pools, main
from skcryoal.io import (
    extract_particles,
    extract_subtomograms,
    read_particle_set,
    read_subtomograms,
)
from skcryoal.preprocessing import SubtomogramStandardizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PIXEL, BINNING = 5.0, 4  # tilt-series pixel (A) and tomogram binning
VOXEL = PIXEL * BINNING
SHAPE = (32, 40, 44)  # (z, y, x), every axis different
CLASSES = ["ribosome", "proteasome"]
SIZE = 16
TINY_MODEL = ["--width", "4", "--epochs", "1", "--batch-size", "8"]


class Scene:
    """``particles.star`` (RELION 5) and ``tomograms.star`` over tomograms on disk."""

    def __init__(self, folder):
        from skcryoal.datasets import make_tomogram

        (folder / "Tomograms").mkdir()
        self.folder, self.arrays, rows, tomograms = folder, {}, [], []
        for k in range(3):
            name = f"TS_{k + 1:02d}"
            volume, truth = make_tomogram(SHAPE, 4, n_classes=2, voxel_size=VOXEL, random_state=k)
            with mrcfile.new(folder / "Tomograms" / f"rec_{name}.mrc") as mrc:
                mrc.set_data(volume)
                mrc.voxel_size = VOXEL
            self.arrays[name] = volume
            depth, height, width = SHAPE
            tomograms.append(
                {
                    "rlnTomoName": name,
                    "rlnTomoReconstructedTomogram": f"Tomograms/rec_{name}.mrc",
                    "rlnTomoSizeX": width * BINNING,
                    "rlnTomoSizeY": height * BINNING,
                    "rlnTomoSizeZ": depth * BINNING,
                    "rlnTomoTiltSeriesPixelSize": PIXEL,
                    "rlnTomoTomogramBinning": float(BINNING),
                }
            )
            rows.append(truth.assign(tomogram=name))
        self.truth = pd.concat(rows, ignore_index=True)
        xyz = self.truth[["x", "y", "z"]].to_numpy()
        # RELION 5: Angstrom from the centre of the unbinned tomogram (= the file's here)
        centred = (xyz - np.array(SHAPE[::-1]) / 2.0) * VOXEL
        n = len(self.truth)
        self.labels = [
            CLASSES[c] if i % 2 == 0 else None for i, c in enumerate(self.truth["class"])
        ]
        self.particles = pd.DataFrame(
            {
                "rlnTomoName": self.truth["tomogram"],
                "rlnCenteredCoordinateXAngst": centred[:, 0],
                "rlnCenteredCoordinateYAngst": centred[:, 1],
                "rlnCenteredCoordinateZAngst": centred[:, 2],
                "rlnAngleRot": np.arange(n) * 10.0,
                "rlnAutopickFigureOfMerit": np.linspace(0.1, 0.9, n),
                "rlnClassNumber": self.truth["class"] + 1,  # RELION's, for the benchmark
                "skcryoalLabelText": [v or "" for v in self.labels],
            }
        )
        self.star = folder / "particles.star"
        self.tomograms = folder / "tomograms.star"
        starfile.write({"particles": self.particles}, self.star)
        starfile.write({"global": pd.DataFrame(tomograms)}, self.tomograms)

    def boxes(self, rows=None):
        """The boxes at the true positions (edge padded), in table order."""
        truth = self.truth if rows is None else self.truth.iloc[rows]
        boxes = [
            extract_subtomograms(self.arrays[r.tomogram], [[r.x, r.y, r.z]], SIZE, edge="pad")
            for r in truth.itertuples()
        ]
        return np.concatenate([X for X, _ in boxes])


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return Scene(tmp_path_factory.mktemp("scene"))


def cli(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_extract_writes_boxes_centred_on_the_particles_with_provenance(scene, tmp_path, capsys):
    out = tmp_path / "boxes"
    argv = ["extract", scene.star, out, "--tomograms", scene.tomograms, "--size", SIZE]
    # --no-standardize: the tomograms' own grey values, compared exactly
    code, stdout, _ = cli(capsys, *argv, "--edge", "pad", "--no-standardize")
    assert code == 0
    assert f"Cut 12 subtomograms of 16x16x16 voxels at {VOXEL:g} A" in stdout
    assert "TS_02  4 particle(s)" in stdout and "labels for 6 of 12" in stdout
    assert "not standardized (--no-standardize)" in stdout

    X, y, voxel, table = read_subtomograms(
        out / "particles.star", partial_labels=True, return_voxel_size=True, return_table=True
    )
    assert voxel == VOXEL and X.shape == (12, 1, SIZE, SIZE, SIZE)
    np.testing.assert_array_equal(X, scene.boxes())  # centred on the true positions
    assert y.tolist() == scene.labels
    # every column of the input rows, in order, under its name, plus where each box came from
    columns = scene.particles.columns.drop(["skcryoalLabelText"]).tolist()
    assert [c for c in table.columns if c in columns] == columns
    for column in columns:
        expected = scene.particles[column]
        if expected.dtype.kind == "f":
            np.testing.assert_allclose(table[column], expected, atol=1e-5)
        else:
            assert table[column].astype(str).tolist() == expected.astype(str).tolist()
    # RELION's class numbers (compared above) are read as labels when named
    _, classes = read_subtomograms(out / "particles.star", label_column="rlnClassNumber")
    assert classes.tolist() == scene.particles["rlnClassNumber"].tolist()
    assert not [c for c in table.columns if c.endswith("_input")]
    xyz = table[["skcryoal_x", "skcryoal_y", "skcryoal_z"]].to_numpy()
    np.testing.assert_allclose(xyz, scene.truth[["x", "y", "z"]], atol=1e-5)
    assert table["skcryoal_row"].tolist() == list(range(12))
    assert table["skcryoal_standardized"].tolist() == [0] * 12
    assert set(table["skcryoal_convention"]) == {"relion5"}

    # an extraction is not replaced by accident, and is replaced whole on request
    code, _, err = cli(capsys, *argv, "--edge", "pad")
    assert code == 2 and "--overwrite" in err
    code, stdout, _ = cli(capsys, *argv, "--edge", "skip", "--overwrite")
    assert code == 0 and "skipped (box off the edge, --edge skip)" in stdout
    # by default each box is standardized, and the table says so
    assert "standardized: each subtomogram to zero mean and unit standard deviation" in stdout
    X, _, table = read_subtomograms(out / "particles.star", partial_labels=True, return_table=True)
    raw = scene.boxes(table["skcryoal_row"].tolist())
    expected = SubtomogramStandardizer().fit_transform(raw)
    np.testing.assert_allclose(X, expected, rtol=1e-5, atol=1e-5)
    assert set(table["skcryoal_standardized"]) == {1}
    files = [f"subtomo_{i:06d}.mrc" for i in range(len(table))]
    assert 0 < len(files) < 12  # the files of the larger extraction are gone
    assert sorted(p.name for p in out.iterdir()) == ["particles.star", *files]
    assert not list(tmp_path.glob(".*"))  # no staging folder left


def test_extract_resamples_and_skips_as_extract_particles_does(scene, tmp_path, capsys):
    out = tmp_path / "boxes"
    code, stdout, _ = cli(
        capsys, "extract", scene.star, out, "--tomogram-dir", scene.folder / "Tomograms",
        "--size", 8, "--voxel-size", 2 * VOXEL, "--edge", "skip", "--format", "csv",
        "--label-column", "rlnClassNumber",
    )  # fmt: skip
    assert code == 0
    assert f"resampled from {VOXEL:g} A to {2 * VOXEL:g} A (Fourier cropping)" in stdout
    assert "TS_02  2 particle(s), 2 skipped (box off the edge, --edge skip)" in stdout
    X, y, voxel, table = read_subtomograms(
        out / "particles.csv", return_voxel_size=True, return_table=True
    )
    # without a tomograms STAR, centred coordinates are from the file's centre: the same
    particles = read_particle_set(scene.star, tomogram_dir=scene.folder / "Tomograms")
    expected, kept = extract_particles(particles, 8, voxel_size=2 * VOXEL, edge="skip")
    np.testing.assert_allclose(X, expected, atol=1e-6)
    assert voxel == 2 * VOXEL
    assert table["skcryoal_row"].tolist() == kept["skcryoal_row"].tolist()
    assert y.tolist() == (scene.truth["class"].to_numpy()[kept["skcryoal_row"]] + 1).tolist()


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "no file found for tomogram 'TS_01'.*--tomograms .*--tomogram-dir"),
        (["--tomograms", "{t}", "--size", "40"], r"does not fit .*--edge skip"),
        (["--tomograms", "{t}", "--tomogram", "{t}"], "--tomogram names the one tomogram"),
        (
            ["--tomograms", "{t}", "--truth-user", "ana"],
            "--truth-user select the picks of a copick",
        ),
        (["--tomograms", "{t}", "--copick", "c.json"], "either PARTICLES or --copick"),
        (["--tomograms", "{t}", "--label-column", "nope"], "'nope' is not a column"),
    ],
)
def test_extract_errors_name_the_fix(scene, tmp_path, capsys, extra, message):
    extra = [a.format(t=scene.tomograms) for a in extra]
    code, _, err = cli(capsys, "extract", scene.star, tmp_path / "out", *extra)
    assert code == 2
    assert re.search(message, err), err
    assert not (tmp_path / "out").exists()


def test_extract_never_replaces_its_input(scene, tmp_path, capsys):
    code, _, err = cli(
        capsys, "extract", scene.star, scene.folder, "--tomograms", scene.tomograms, "--edge",
        "pad", "--size", SIZE, "--overwrite",
    )  # fmt: skip
    assert code == 2 and "would replace the input" in err


def test_campaign_from_a_particle_set(scene, tmp_path, capsys):
    folder = tmp_path / "camp"
    new = [
        "campaign", "new", folder, "--pool", scene.star, "--tomograms", scene.tomograms,
        "--size", SIZE, "--edge", "pad", *TINY_MODEL,
    ]  # fmt: skip
    code, stdout, _ = cli(capsys, *new, "--classes", ",".join(CLASSES))
    assert code == 0
    assert f"cut into {folder / 'extracted'}" in stdout and "seeded     6 labels" in stdout
    with Campaign.open(folder) as campaign:  # reopened: the pool is the cut table
        particles = campaign.particles()
        assert campaign._meta["pool"]["source"] == str(folder / "extracted" / "particles.star")
        # standardized where the data enter (campaign new cuts with extract's defaults)
        expected = SubtomogramStandardizer().fit_transform(scene.boxes([5]))[0, 0]
        np.testing.assert_allclose(campaign.volume(5), expected, rtol=1e-5, atol=1e-5)
    assert particles["rlnTomoName"].tolist() == scene.truth["tomogram"].tolist()
    np.testing.assert_allclose(
        particles["rlnCenteredCoordinateXAngst"], scene.particles["rlnCenteredCoordinateXAngst"],
        atol=1e-5,
    )  # fmt: skip
    assert particles["label"].tolist()[0] == scene.labels[0] and pd.isna(particles["label"][1])

    # a failed --overwrite (labels outside the classes) leaves the campaign and its pool
    code, _, err = cli(capsys, *new, "--classes", "ribosome,junk", "--overwrite")
    assert code == 2 and "not campaign classes" in err
    with Campaign.open(folder) as campaign:
        assert campaign.status().n_labeled == 6 and campaign.volume(0).shape == (16, 16, 16)
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".extracted")) == []
    # without --overwrite: refused before anything is cut
    code, _, err = cli(capsys, *new, "--classes", ",".join(CLASSES))
    assert code == 2 and "already holds a campaign" in err


def test_benchmark_on_a_labeled_particle_set(scene, tmp_path, capsys):
    out = tmp_path / "bench"
    argv = [
        "benchmark", "--preset", "quick-paper", "--table", scene.star, "--tomograms",
        scene.tomograms, "--size", SIZE,
        "--edge", "pad", "--label-column", "rlnClassNumber", "--test-fraction", "0.25",
        "--strategies", "random", "--initial", "4", "--step", "2", "--final", "6",
        "--epochs", "1", "--width", "4", "--trials", "1", "--device", "cpu",
        "--no-progress", "--no-ceiling", "--out", out,
    ]  # fmt: skip
    code, stdout, _ = cli(capsys, *argv)
    assert code == 0, stdout
    assert "Cut 12 subtomograms" in stdout
    results = pd.read_csv(out / "results.csv", keep_default_na=False)
    assert results["n_pool"].tolist()[0] == 9 and results["n_test"].tolist()[0] == 3
    assert results["dataset"].iloc[0].startswith("particles.star")
    config = json.loads((out / "config.json").read_text())
    assert config["data"]["particle_set"]["tomograms"] == str(scene.tomograms)
    assert len(read_subtomograms(out / "extracted")[1]) == 12
    # resumed: the subtomograms are read again, not cut again
    code, stdout, _ = cli(capsys, *argv)
    assert code == 0 and "Reading the subtomograms cut earlier" in stdout


def test_benchmark_uses_the_labeled_rows_and_refuses_unlabeled_sets(scene, tmp_path, capsys):
    base = ["benchmark", "--table", scene.star, "--tomograms", scene.tomograms, "--size", SIZE,
            "--edge", "pad", "--dry-run"]  # fmt: skip
    code, stdout, _ = cli(capsys, *base)
    assert code == 0
    code, _, err = cli(capsys, "benchmark", "--table", scene.star, "--snr", "1", "--size", SIZE)
    assert code == 2 and "--snr do not apply" in err
    code, _, err = cli(capsys, "benchmark", "--tomograms", scene.tomograms)
    assert code == 2 and "--tomograms apply to a particle set" in err and "as --table" in err
    # the labeled rows only, each remembering its row in the particle set
    spec = json.loads(stdout[: stdout.rindex("}") + 1])["data"]["particle_set"]
    table = _pools.cached_extraction(spec, tmp_path / "cache", "prog", labeled_only=True)
    assert "Leaving out the 6 of 12 particles without a label" in capsys.readouterr().out
    _, y, rows = read_subtomograms(table, return_table=True)
    assert rows["skcryoal_row"].tolist() == [0, 2, 4, 6, 8, 10]
    assert y.tolist() == scene.labels[::2]
    unlabeled = tmp_path / "unlabeled.star"
    starfile.write(scene.particles.drop(columns=["skcryoalLabelText"]), unlabeled)
    code, _, err = cli(
        capsys, "benchmark", "--table", unlabeled, "--tomograms", scene.tomograms, "--edge",
        "pad", "--size", SIZE, "--out", tmp_path / "b",
    )  # fmt: skip
    assert code == 2 and "have no labels" in err and "--label-column" in err


def test_help_says_where_the_particles_are_cut(capsys):
    for argv, words in (
        (["extract", "--help"], ["--tomograms STAR", "--copick CONFIG", "examples:"]),
        (["campaign", "new", "--help"], ["FOLDER/extracted", "--tomogram-dir"]),
        (["benchmark", "--help"], ["OUT/extracted", "--truth-user"]),
    ):
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert all(w in out for w in words), (argv, out)


# ------------------------------------------------------------------ copick
VS = 10.0
COPICK_SHAPE = (24, 32, 40)  # (z, y, x)
BLOBS = {  # blob centres in voxels, (x, y, z)
    "TS_001": {"ribosome": [(10, 12, 8), (28, 20, 15)], "apoferritin": [(20, 8, 16)]},
    "TS_002": {"ribosome": [(30, 22, 12)], "apoferritin": [(12, 24, 10), (25, 10, 9)]},
}


@pytest.fixture
def project(tmp_path):
    copick = pytest.importorskip("copick")
    from copick.models import PickableObject

    config = tmp_path / "copick.json"
    root = copick.new_config(
        str(config),
        str(tmp_path / "overlay"),
        pickable_objects=[
            PickableObject(name="ribosome", is_particle=True, label=1, radius=60),
            PickableObject(name="apoferritin", is_particle=True, label=2, radius=40),
        ],
    )
    z, y, x = np.indices(COPICK_SHAPE, dtype=np.float32)
    for run_name, objects in BLOBS.items():
        run = root.new_run(run_name)
        volume = np.zeros(COPICK_SHAPE, np.float32)
        for centres in objects.values():
            for cx, cy, cz in centres:
                volume += np.exp(-((x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2) / 3.0)
        run.new_voxel_spacing(VS).new_tomogram("wbp").from_numpy(volume, levels=1)
        for obj, centres in objects.items():
            angstrom = np.asarray(centres, float) * VS
            run.new_picks(obj, "1", "alice").from_numpy(angstrom + [2.0, -2.0, 1.0])
            run.new_picks(obj, "0", "curation").from_numpy(angstrom)
    return config


def test_extract_and_campaign_from_copick(project, tmp_path, capsys):
    out = tmp_path / "boxes"
    code, stdout, _ = cli(
        capsys, "extract", "--copick", project, out, "--user", "alice", "--truth-user",
        "curation", "--size", "8",
    )  # fmt: skip
    assert code == 0 and "Cut 12 subtomograms of 8x8x8 voxels at 10 A" in stdout
    X, y, table = read_subtomograms(out / "particles.star", partial_labels=True, return_table=True)
    truth = (table["copick_user_id"] == "curation").to_numpy()
    assert y[truth].tolist() == table.loc[truth, "copick_object"].tolist()
    assert all(v is None for v in y[~truth])
    for column in ("copick_run", "copick_object", "copick_session_id", "copick_point_index"):
        assert column in table.columns
    # the truth boxes are centred on their blobs: the brightest voxel is the centre
    for box in X[truth]:
        assert np.unravel_index(np.argmax(box[0]), box[0].shape) == (4, 4, 4)

    folder = tmp_path / "camp"
    code, stdout, _ = cli(
        capsys, "campaign", "new", folder, "--copick", project, "--truth-user", "curation",
        "--size", "8", "--classes", "ribosome,apoferritin", *TINY_MODEL,
    )  # fmt: skip
    assert code == 0 and "seeded     6 labels" in stdout
    with Campaign.open(folder) as campaign:
        particles = campaign.particles()
    assert set(particles["copick_run"]) == {"TS_001", "TS_002"}
    assert particles["label"].notna().sum() == 6


def test_copick_option_errors(tmp_path, capsys, monkeypatch):
    from skcryoal.cli._pools import _options

    monkeypatch.setattr(_options, "copick_installed", lambda: False)
    code, _, err = cli(capsys, "extract", "--copick", tmp_path / "c.json", tmp_path / "out")
    assert code == 2 and "pip install 'skcryoal[copick]'" in err
    monkeypatch.setattr(_options, "copick_installed", lambda: True)
    code, _, err = cli(
        capsys, "benchmark", "--copick", tmp_path / "c.json", "--test-table", "t.star"
    )
    assert code == 2 and "--test-table does not go with --copick" in err
    code, _, err = cli(
        capsys, "extract", "--copick", tmp_path / "c.json", tmp_path / "out", "--tomogram-dir", "."
    )
    assert code == 2 and "a copick project names its own" in err


def test_a_copick_level_at_the_wanted_voxel_size_is_read_not_resampled(tmp_path, capsys):
    copick = pytest.importorskip("copick")
    from copick.models import PickableObject

    config = tmp_path / "copick.json"
    root = copick.new_config(
        str(config),
        str(tmp_path / "overlay"),
        pickable_objects=[PickableObject(name="ribosome", is_particle=True, label=1, radius=60)],
    )
    run = root.new_run("TS_001")
    volume = np.random.default_rng(0).normal(size=(32, 48, 48)).astype(np.float32)
    run.new_voxel_spacing(VS).new_tomogram("wbp").from_numpy(volume, levels=2)  # 10 and 20 A
    run.new_picks("ribosome", "1", "alice").from_numpy(np.array([[240.0, 240.0, 160.0]]))
    args = ["extract", "--copick", config, None, "--user", "alice", "--size", "8"]
    args[3] = tmp_path / "at20"
    code, stdout, _ = cli(capsys, *args, "--voxel-size", str(2 * VS))
    assert code == 0 and "at 20 A" in stdout and "resampled" not in stdout  # level "1"
    args[3] = tmp_path / "at15"
    code, stdout, _ = cli(capsys, *args, "--voxel-size", "15")
    assert code == 0 and "resampled from 10 A to 15 A (Fourier cropping)" in stdout


def test_extract_refuses_an_output_larger_than_the_free_disk(scene, tmp_path, capsys, monkeypatch):
    from skcryoal.cli._pools import _write

    monkeypatch.setattr(_write, "free_disk", lambda path: 5000)
    code, _, err = cli(
        capsys, "extract", scene.star, tmp_path / "out", "--tomograms", scene.tomograms,
        "--edge", "pad", "--size", SIZE,
    )  # fmt: skip
    assert code == 2
    need = r"12 subtomograms of 16x16x16 voxels need about .* of disk space"
    assert re.search(rf"{need} .*only 4.9 KiB is free", err), err
    assert "--size" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists() and list(tmp_path.iterdir()) == []
