import re

import numpy as np
import pytest

import skcryoal
from skcryoal.cli import main
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

    def make_subtomograms(n_samples, n_classes, size, snr, **kwargs):
        calls.append(dict(n_samples=n_samples, n_classes=n_classes, size=size, snr=snr, **kwargs))
        X = np.zeros((n_samples, 1, size, size, size), dtype=np.float32)
        return X, np.arange(n_samples) % n_classes

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
