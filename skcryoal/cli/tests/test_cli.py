import json
import re

import numpy as np
import pytest

import skcryoal
from skcryoal.cli import main
from skcryoal.datasets import describe_classes
from skcryoal.io import read_subtomograms


def test_version_and_help(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"skcryoal {skcryoal.__version__}"
    assert main(["--help"]) == 0
    assert "simulate" in capsys.readouterr().out
    assert main(["simulate", "--help"]) == 0
    assert "--n-samples" in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["star", "csv"])
def test_simulate_writes_a_readable_data_set(tmp_path, capsys, fmt):
    out = tmp_path / "sim"
    argv = [
        "simulate",
        str(out),
        "--n-samples",
        "6",
        "--n-classes",
        "2",
        "--size",
        "8",
        "--snr",
        "0.5",
        "--voxel-size",
        "40",
        "--seed",
        "0",
        "--format",
        fmt,
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert f"particles.{fmt}" in printed and "wrote 6 subtomograms" in printed
    X, y, voxel = read_subtomograms(out / f"particles.{fmt}", return_voxel_size=True)
    assert X.shape == (6, 1, 8, 8, 8) and X.dtype == np.float32
    assert y.dtype == np.int64 and set(y.tolist()) <= {0, 1}
    assert voxel == 40.0

    # Same seed, same data; existing files are refused without --overwrite.
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "already exist" in err and "Pass --overwrite" in err
    assert main([*argv, "--overwrite"]) == 0
    np.testing.assert_array_equal(read_subtomograms(out / f"particles.{fmt}")[0], X)


@pytest.fixture
def fake_simulator(monkeypatch):
    calls = []

    def make_subtomograms(n_samples, n_classes, size, snr, return_poses=False, **kwargs):
        calls.append(dict(n_samples=n_samples, n_classes=n_classes, size=size, snr=snr, **kwargs))
        X = np.zeros((n_samples, 1, size, size, size), dtype=np.float32)
        y = np.arange(n_samples) % n_classes
        return (X, y, {}) if return_poses else (X, y)

    monkeypatch.setattr("skcryoal.datasets.make_subtomograms", make_subtomograms)
    return calls


def test_options_reach_the_simulator(tmp_path, fake_simulator, capsys):
    argv = [
        "simulate",
        str(tmp_path),
        "--n-samples",
        "4",
        "--n-classes",
        "3",
        "--size",
        "8",
        "--imbalance",
        "4",
        "--tilt-range",
        "-45",
        "50",
        "--defocus",
        "-3",
        "--no-normalize",
        "--seed",
        "7",
    ]
    assert main(argv) == 0
    call = fake_simulator[-1]
    np.testing.assert_allclose(call.pop("class_weights"), np.array([4, 2, 1]) / 7)
    assert call == dict(
        n_samples=4,
        n_classes=3,
        size=8,
        snr=0.05,
        tilt_range=(-45.0, 50.0),
        voxel_size=10.0,
        defocus=-3.0,
        normalize=False,
        random_state=7,
    )
    assert main([*argv[:8], "--class-weights", "1", "1", "2", "--overwrite"]) == 0
    np.testing.assert_allclose(fake_simulator[-1]["class_weights"], [0.25, 0.25, 0.5])


def test_simulate_from_several_tomograms_writes_their_conditions(tmp_path, capsys):
    out = tmp_path / "sim"
    argv = ["simulate", str(out), "--n-samples", "8", "--n-classes", "2", "--size", "8",
            "--voxel-size", "40", "--seed", "0", "--n-tomograms", "3", "--snr", "0.03", "0.1",
            "--defocus", "-6", "-2", "--tilt-range", "-45", "45", "-70", "70"]  # fmt: skip
    assert main(argv) == 0
    import pandas as pd

    conditions = pd.read_csv(out / "conditions.csv")
    assert list(conditions.columns) == [
        "rlnImageName", "tomogram", "snr", "defocus_um", "tilt_min", "tilt_max"
    ]  # fmt: skip
    assert conditions["rlnImageName"].tolist() == [f"subtomo_{i:06d}.mrc" for i in range(8)]
    assert set(conditions["tomogram"]) <= {0, 1, 2}
    assert conditions["snr"].between(0.03, 0.1).all()
    assert conditions["defocus_um"].between(-6, -2).all()
    assert conditions["tilt_max"].between(45, 70).all()
    assert conditions.groupby("tomogram")["defocus_um"].nunique().eq(1).all()
    recorded = json.loads((out / "classes.json").read_text())["parameters"]
    assert recorded["tilt_range"] == [[-45.0, 45.0], [-70.0, 70.0]]
    assert recorded["snr"] == [0.03, 0.1] and recorded["n_tomograms"] == 3
    # imaged alike: no conditions file
    plain = tmp_path / "plain"
    assert main(["simulate", str(plain), "--n-samples", "4", "--n-classes", "2", "--size", "8",
                 "--voxel-size", "40"]) == 0  # fmt: skip
    assert not (plain / "conditions.csv").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "the following arguments are required: COMMAND"),
        (["bogus"], "invalid choice: 'bogus'"),
        (["simulate"], "the following arguments are required: OUTDIR"),
        (
            ["simulate", "o", "--n-samples", "0"],
            "--n-samples: expected a positive integer, got '0'",
        ),
        (["simulate", "o", "--snr", "-1"], "--snr: expected a positive number or inf, got '-1'"),
        (["simulate", "o", "--format", "json"], "invalid choice: 'json'"),
        (["simulate", "o", "--imbalance", "2", "--class-weights", "1"], "not allowed with"),
        (["simulate", "o", "--imbalance", "0.5"], "--imbalance .* must be >= 1; got 0.5"),
        (
            ["simulate", "o", "--n-classes", "3", "--class-weights", "1", "2"],
            "--class-weights needs 3 values",
        ),
        (["simulate", "o", "--tilt-range", "60", "-60"], "needs MIN < MAX"),
        (["simulate", "o", "--tilt-range", "-45", "45", "-70"], "takes MIN MAX, or four"),
        (["simulate", "o", "--snr", "0.1", "0.2", "0.3"], "--snr takes one value or two"),
        (["simulate", "o", "--snr", "0.1", "0.05"], r"0 < low < high < inf"),
        (
            ["simulate", "o", "--tilt-range", "-70", "70", "-45", "45"],
            "the widest containing the narrowest",
        ),
        (["simulate", "o", "--n-tomograms", "0"], "--n-tomograms: expected a positive integer"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "error:" in captured.err and "Traceback" not in captured.err
    assert re.search(message, captured.err), captured.err
    assert not (tmp_path / "o").exists()


def test_simulator_errors_are_reported_without_traceback(tmp_path, capsys):
    assert main(["simulate", str(tmp_path / "o"), "--n-classes", "1", "--size", "8"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("skcryoal simulate: error:") and "n_classes" in err


def test_simulate_real_structures_with_junk(tmp_path, capsys):
    out = tmp_path / "sim"
    argv = ["simulate", str(out), "--n-samples", "20", "--size", "16", "--voxel-size", "24",
            "--templates", "4V5D,4v1w,3JB9", "--junk", "0.6", "--junk-kinds", "gold,membrane",
            "--crowding", "0.5", "--seed", "0"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "in 4 classes" in printed and "4V1W: apoferritin" in printed
    X, y = read_subtomograms(out / "particles.star")
    assert X.shape == (20, 1, 16, 16, 16)
    # 12 junk boxes labelled 3 ("not a particle"), after the three structures
    assert np.bincount(y).tolist() == [3, 3, 2, 12]
    legend = json.loads((out / "classes.json").read_text())
    assert [c["label"] for c in legend["classes"]] == [0, 1, 2, 3]
    assert legend["classes"][0]["name"].startswith("4V5D: 70S ribosome")
    assert legend["classes"][3]["name"] == "not a particle (gold, membrane)"
    assert [c["count"] for c in legend["classes"]] == [3, 3, 2, 12]
    assert legend["parameters"]["templates"] == ["4V5D", "4v1w", "3JB9"]
    assert legend["parameters"]["crowding"] == 0.5
    # the same boxes as make_subtomograms gives with these arguments
    from skcryoal.datasets import make_subtomograms

    X2, y2 = make_subtomograms(20, size=16, voxel_size=24.0, snr=0.05,
                               templates=["4V5D", "4v1w", "3JB9"], junk=0.6,
                               junk_kinds=["gold", "membrane"], crowding=0.5,
                               random_state=0)  # fmt: skip
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_allclose(X, X2, atol=1e-6)
    # one label per kind of junk; a folder with the legend still reads as one data set
    assert main([*argv, "--junk-as-classes", "--overwrite"]) == 0
    assert np.bincount(read_subtomograms(out)[1]).tolist() == [3, 3, 2, 6, 6]
    legend = json.loads((out / "classes.json").read_text())
    assert legend["classes"][4]["name"].startswith("not a particle: membrane")


def test_simulate_writes_a_legend_of_built_in_classes(tmp_path, capsys):
    out = tmp_path / "sim"
    argv = ["simulate", str(out), "--n-samples", "4", "--n-classes", "2", "--size", "8",
            "--voxel-size", "40", "--seed", "0"]  # fmt: skip
    assert main(argv) == 0
    legend = json.loads((out / "classes.json").read_text())
    assert [c["name"] for c in legend["classes"]] == describe_classes(2)
    assert legend["parameters"]["junk"] == 0.0 and legend["parameters"]["templates"] is None


def test_new_options_reach_the_simulator(tmp_path, fake_simulator, capsys):
    base = ["simulate", str(tmp_path), "--n-samples", "4", "--size", "8"]
    assert main([*base, "--n-classes", "2"]) == 0
    # without the new options, the call is as before they existed
    assert not {"templates", "junk", "junk_kinds", "junk_as_classes", "crowding"} & set(
        fake_simulator[-1]
    )
    argv = [*base, "--n-classes", "2", "--junk", "0.5", "--junk-as-classes", "--crowding", "1",
            "--overwrite"]  # fmt: skip
    assert main(argv) == 0
    call = fake_simulator[-1]
    assert call["junk"] == 0.5 and call["junk_as_classes"] is True and call["crowding"] == 1.0
    assert "junk_kinds" not in call  # all kinds: the simulator's default


@pytest.mark.parametrize(
    "args, message",
    [
        (["--templates", "4V5D,"], "expected comma-separated names"),
        (["--templates", "4V5D,4V1W", "--n-classes", "3"], "contradicts --templates"),
        (["--templates", "4V5D,ribosme"], "Unknown template 'ribosme'.*Did you mean"),
        (["--templates", "4V5D,4V1W", "--size", "16"], "needs a box of at least size=31"),
        (["--templates", "4V5D,4V1W", "--class-weights", "1"], "needs 2 values .*--templates"),
        (["--junk", "1"], "--junk: expected a fraction in \\[0, 1\\)"),
        (["--junk-kinds", "gold"], "--junk-kinds without junk boxes: give --junk F"),
        (["--junk-as-classes"], "--junk-as-classes without junk boxes"),
        (["--junk", "0.5", "--junk-kinds", "gld"], "Unknown junk kind 'gld'. Did you mean"),
        (["--crowding", "-1"], "--crowding: expected a number >= 0"),
    ],
)
def test_bad_structure_and_junk_options(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", "o", "--n-samples", "4", *args]) == 2
    captured = capsys.readouterr()
    assert "error:" in captured.err and "Traceback" not in captured.err
    assert re.search(message, captured.err), captured.err
    assert not (tmp_path / "o").exists()
