"""A RELION 5 particle set through extraction, a campaign and predict, and back to RELION.

The particle set is what RELION 5 writes after subtomogram extraction: a
``data_general`` block, an optics table (voltage, Cs, amplitude contrast,
tilt-series pixel size, subtomogram binning; two optics groups) and particles with
RELION's own image names, class numbers and optics groups. Each class file that
``predict`` writes must be that set itself, restricted to the class's particles:
every block and every column as given (read back with ``starfile`` and with the
project's readers), plus columns named ``skcryoal*``.
"""

import mrcfile
import numpy as np
import pandas as pd
import pytest
import starfile

from skcryoal.campaign import Campaign
from skcryoal.campaign.tests._helpers import tiny_clf
from skcryoal.cli import main
from skcryoal.io import extract_particles, read_particle_set, read_subtomograms
from skcryoal.io._tables import read_blocks

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PIXEL, BINNING = 5.0, 4  # tilt-series pixel (A) and tomogram binning
VOXEL = PIXEL * BINNING
SHAPE = (32, 40, 44)  # (z, y, x)
SIZE = 16
CLASSES = ["ribosome", "proteasome"]
TINY_MODEL = ["--width", "4", "--epochs", "1", "--batch-size", "8"]
#: labels given in the campaign, by particle id (= row of the particle set here)
LABELED = {0: "ribosome", 1: "proteasome", 2: "ribosome", 5: "proteasome"}
XYZ = ["skcryoal_x", "skcryoal_y", "skcryoal_z"]
PREDICTION_COLUMNS = (
    "particle_id", "label", "predicted_class", "probability", "mean_deviation", "final_class",
    "final_source", "model_id",
)  # fmt: skip


class Relion5Set:
    """``particles.star`` as RELION 5 writes it, ``tomograms.star`` and the tomograms."""

    def __init__(self, folder):
        from skcryoal.datasets import make_tomogram

        (folder / "Tomograms").mkdir()
        rows, tomograms = [], []
        for k in range(3):
            name = f"TS_{k + 1:02d}"
            volume, truth = make_tomogram(SHAPE, 4, n_classes=2, voxel_size=VOXEL, random_state=k)
            with mrcfile.new(folder / "Tomograms" / f"rec_{name}.mrc") as mrc:
                mrc.set_data(volume)
                mrc.voxel_size = VOXEL
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
        truth = pd.concat(rows, ignore_index=True)
        n = len(truth)
        centred = (truth[["x", "y", "z"]].to_numpy() - np.array(SHAPE[::-1]) / 2.0) * VOXEL
        ids = truth.groupby("tomogram").cumcount() + 1
        optics = pd.DataFrame(
            {
                "rlnOpticsGroup": [1, 2],
                "rlnOpticsGroupName": ["opticsGroup1", "opticsGroup2"],
                "rlnSphericalAberration": [2.7, 2.7],
                "rlnVoltage": [300.0, 300.0],
                "rlnAmplitudeContrast": [0.1, 0.07],
                "rlnTomoTiltSeriesPixelSize": [PIXEL, PIXEL],
                "rlnTomoSubtomogramBinning": [2.0, 2.0],
                "rlnImagePixelSize": [PIXEL * 2, PIXEL * 2],  # RELION's 2D stacks, not ours
                "rlnImageSize": [64, 64],
                "rlnImageDimensionality": [2, 2],
                "rlnCtfDataAreCtfPremultiplied": [1, 1],
            }
        )
        particles = pd.DataFrame(
            {
                "rlnTomoName": truth["tomogram"],
                "rlnTomoParticleName": [f"{t}/{i}" for t, i in zip(truth["tomogram"], ids)],
                "rlnCenteredCoordinateXAngst": centred[:, 0] + 1e-7,  # more than 6 decimals
                "rlnCenteredCoordinateYAngst": centred[:, 1],
                "rlnCenteredCoordinateZAngst": centred[:, 2],
                "rlnAngleRot": np.arange(n) * 10.123456789,
                "rlnAngleTilt": np.full(n, 90.0),
                "rlnAnglePsi": np.linspace(-179.5, 179.5, n),
                "rlnOpticsGroup": np.where(truth["tomogram"] == "TS_02", 2, 1),
                "rlnClassNumber": truth["class"] + 1,
                "rlnImageName": [
                    f"Extract/job010/Subtomograms/{t}/{i}_stack2d.mrcs"
                    for t, i in zip(truth["tomogram"], ids)
                ],
                "rlnTomoVisibleFrames": ["[1,1,0,1,1,1]"] * n,
                "rlnRandomSubset": np.arange(n) % 2 + 1,
                "rlnLogLikeliContribution": 123456.7890123 + np.arange(n),
            }
        )
        self.folder = folder
        self.star = folder / "particles.star"
        self.tomograms = folder / "tomograms.star"
        general = {"rlnTomoSubTomosAre2DStacks": 1}
        blocks = {"general": general, "optics": optics, "particles": particles}
        starfile.write(blocks, self.star, float_format="%.12g")
        starfile.write({"global": pd.DataFrame(tomograms)}, self.tomograms)
        #: the file as starfile reads it: what every output is compared with
        self.blocks = starfile.read(self.star, always_dict=True)
        self.n = n
        self.voxels = read_particle_set(self.star, tomograms=self.tomograms)[XYZ].to_numpy()


@pytest.fixture(scope="module")
def relion5(tmp_path_factory):
    return Relion5Set(tmp_path_factory.mktemp("relion5"))


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    return out


def assert_is_the_input(path, relion5, rows, others=()):
    """``path`` is the input set, restricted to ``rows`` (in order), plus ``skcryoal*`` columns.

    ``others``: more columns allowed besides (those of the predictions tables).
    """
    for blocks in (starfile.read(path, always_dict=True), read_blocks(path)):
        assert list(blocks) == list(relion5.blocks)  # data_general, data_optics, data_particles
        assert blocks["general"] == relion5.blocks["general"]
        pd.testing.assert_frame_equal(blocks["optics"], relion5.blocks["optics"])
        want = relion5.blocks["particles"].iloc[list(rows)].reset_index(drop=True)
        got = blocks["particles"]
        assert [c for c in got.columns if c in want.columns] == want.columns.tolist()
        extra = [c for c in got.columns if c not in want.columns]
        assert all(c.startswith("skcryoal") or c in others for c in extra), extra
        pd.testing.assert_frame_equal(got[want.columns], want)


def check_predictions(out_dir, relion5, volumes, files=True):
    """Every output of ``predict`` read back: tables, and each class file as the input set."""
    predictions = pd.read_csv(out_dir / "predictions.csv", keep_default_na=False)
    rows = predictions["skcryoal_row"].to_numpy()
    assert sorted(rows.tolist()) == list(range(relion5.n))
    for pid, label in LABELED.items():
        assert predictions["final_class"][pid] == label
    # the predictions table: the input's blocks and rows too, in particle order
    assert_is_the_input(out_dir / "predictions.star", relion5, rows, others=PREDICTION_COLUMNS)
    star = starfile.read(out_dir / "predictions.star", always_dict=True)
    assert star["particles"]["particle_id"].tolist() == list(range(relion5.n))
    if files:  # the subtomograms, from the tables themselves, from any folder
        for table in ("predictions.star", "predictions.csv"):
            X, y = read_subtomograms(out_dir / table, label_column="final_class")
            np.testing.assert_array_equal(X, volumes)
            assert y.tolist() == predictions["final_class"].tolist()
    seen = []
    for path in sorted((out_dir / "classes").glob("class_*.star")):
        cls = path.stem.split("_", 2)[2]
        members = np.flatnonzero(predictions["final_class"] == cls)
        assert len(members) > 0
        assert_is_the_input(path, relion5, rows[members])
        got = starfile.read(path, always_dict=True)["particles"]
        assert got["skcryoalParticleId"].tolist() == members.tolist()
        assert set(got["skcryoalClassNumber"]) == {CLASSES.index(cls) + 1}
        # read as a RELION 5 particle set: the same particles, at the same voxels
        again = read_particle_set(path, tomograms=relion5.tomograms)
        np.testing.assert_allclose(again[XYZ].to_numpy(), relion5.voxels[rows[members]])
        if files:  # and as subtomograms, labeled with the class
            X, y = read_subtomograms(path)
            assert set(y.tolist()) == {cls}
            np.testing.assert_array_equal(X, volumes[members])
        seen += rows[members].tolist()
    assert sorted(seen) == list(range(relion5.n))  # each particle in exactly one class file


@pytest.mark.parametrize("route", ["extract", "campaign new"])
def test_cli_round_trip_gives_back_the_input_set(relion5, tmp_path, capsys, monkeypatch, route):
    folder = tmp_path / "camp"
    cut = ["--tomograms", relion5.tomograms, "--size", SIZE, "--edge", "pad"]
    new = ["campaign", "new", folder, "--classes", ",".join(CLASSES), *TINY_MODEL]
    if route == "extract":
        out = tmp_path / "extracted"
        cli(capsys, "extract", relion5.star, out, *cut)
        table = out / "particles.star"
        # the extraction is the input set plus skcryoal's columns, nothing renamed
        assert_is_the_input(table, relion5, range(relion5.n))
        _, y = read_subtomograms(table, label_column="rlnClassNumber")
        assert y.tolist() == relion5.blocks["particles"]["rlnClassNumber"].tolist()
        cli(capsys, *new, "--pool", table)
        # RELION's class numbers seed a campaign when named
        cli(capsys, *new[:2], tmp_path / "seeded", "--pool", table, "--classes", "1,2",
            "--label-column", "rlnClassNumber", *TINY_MODEL)  # fmt: skip
        with Campaign.open(tmp_path / "seeded") as seeded:
            labels = seeded.labels()
        assert labels["label"].tolist() == relion5.blocks["particles"]["rlnClassNumber"].tolist()
    else:
        cli(capsys, *new, "--pool", relion5.star, *cut)
        table = folder / "extracted" / "particles.star"
        assert_is_the_input(table, relion5, range(relion5.n))
    with Campaign.open(folder) as campaign:
        campaign.label(list(LABELED), list(LABELED.values()))
        volumes = np.asarray(campaign._volumes[np.arange(relion5.n)])
    cli(capsys, "campaign", "predict", folder, folder / "predictions")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    check_predictions(folder / "predictions", relion5, volumes)


def test_python_route_keeps_the_provenance(relion5, tmp_path, monkeypatch):
    particles = read_particle_set(relion5.star, tomograms=relion5.tomograms)
    X, table = extract_particles(particles, SIZE, edge="pad")
    folder = tmp_path / "camp"
    campaign = Campaign.create(folder, X, CLASSES, particles=table, estimator=tiny_clf())
    campaign.close()
    campaign = Campaign.open(folder)  # reopened: the provenance is the campaign's
    frame = campaign.particles()
    for column in ("rlnTomoName", "rlnImageName", "skcryoal_tomogram_path", *XYZ):
        assert frame[column].tolist() == table[column].tolist(), column
    campaign.label(list(LABELED), list(LABELED.values()))
    files = campaign.predict(folder / "predictions")
    predictions = pd.read_csv(files["csv"], keep_default_na=False)
    np.testing.assert_array_equal(predictions[XYZ].to_numpy(), table[XYZ].to_numpy())
    # the campaign's pool file, named relative to the table, as every path in it
    pool = {(files["csv"].parent / name).resolve() for name in predictions["skcryoal_file"]}
    assert pool == {(folder / "pool.npy").resolve()}
    monkeypatch.chdir(tmp_path)
    check_predictions(folder / "predictions", relion5, X, files=False)


def test_python_route_checks_the_particles_table(relion5, tmp_path):
    particles = read_particle_set(relion5.star, tomograms=relion5.tomograms)
    X, table = extract_particles(particles, SIZE, edge="pad")
    with pytest.raises(ValueError, match=rf"particles has {relion5.n - 1} rows but the pool"):
        Campaign.create(tmp_path / "a", X, CLASSES, particles=table.iloc[1:])
    with pytest.raises(TypeError, match="particles must be a DataFrame"):
        Campaign.create(tmp_path / "b", X, CLASSES, particles="particles.star")
    with pytest.raises(ValueError, match="the rows of a table pool .* are its provenance"):
        Campaign.create(tmp_path / "c", relion5.star, CLASSES, particles=table)
    with pytest.raises(ValueError, match="particles: label_column='nope' is not a column"):
        Campaign.create(tmp_path / "d", X, CLASSES, particles=table, label_column="nope")
    assert not any((tmp_path / name).exists() for name in "abcd")
    # the table's labels seed the campaign, as a table pool's do
    campaign = Campaign.create(
        tmp_path / "e", X, [1, 2], particles=table, label_column="rlnClassNumber",
        estimator=tiny_clf(),
    )  # fmt: skip
    assert campaign.labels()["label"].tolist() == table["rlnClassNumber"].tolist()
