"""The benchmark presets of real structures and of candidate cleaning (with junk)."""

import json

import numpy as np
import pandas as pd
import pytest

from skcryoal.benchmark import get_preset
from skcryoal.cli import main
from skcryoal.datasets import list_structures
from skcryoal.datasets._presets import _resolve, _sizes

# 16^3 at 24 A holds the same 384 A as the presets' 32^3 at 12 A
TINY = [
    "--size", "16", "--voxel-size", "24", "--train-per-class", "3", "--test-per-class", "2",
    "--strategies", "entropy,random", "--initial", "6", "--step", "3", "--final", "9",
    "--epochs", "1", "--width", "4", "--batch-size", "8", "--trials", "1", "--no-ceiling",
    "--device", "cpu", "--no-progress",
]  # fmt: skip


def _dry_run_config(capsys, *argv):
    assert main(["benchmark", *argv, "--dry-run"]) == 0
    return json.loads(capsys.readouterr().out.split("\n}\n")[0] + "}")


def test_real_structures_preset_resolves():
    preset = get_preset("real-structures-cpu")
    assert preset.pretrain is None and not preset.gpu
    params = _resolve(preset.dataset, preset.data_params)
    # every bundled structure but 7PBL (added later; the preset stays as it was run),
    # in table order, in a box that holds the largest even when shifted
    assert params["templates"] == [key for key in list_structures().key if key != "7PBL"]
    half_box = params["size"] * params["voxel_size"] / 2
    shift = params["max_shift"] * params["voxel_size"]
    assert list_structures().max_radius.max() + shift <= half_box
    assert _sizes(params) == (2002, 7)
    assert sum(params["n_test_per_class"]) == 1001
    assert params["snr"] == 0.1


def test_candidate_cleaning_preset_resolves():
    preset = get_preset("candidate-cleaning-cpu")
    assert preset.pretrain is None and preset.primary_metric == "macro_f1"
    params = _resolve(preset.dataset, preset.data_params)
    assert params["junk"] == 0.6 and not params["junk_as_classes"]
    assert len(params["junk_kinds"]) == 7  # every kind
    assert _sizes(params) == (2000, 5)  # four complexes and "not a particle"


@pytest.mark.parametrize("name", ["real-structures-cpu", "candidate-cleaning-cpu"])
def test_dry_run_and_list(capsys, name):
    config = _dry_run_config(capsys, "--preset", name)
    assert config["data"]["dataset"] == "quick"
    assert config["data"]["overrides"]["voxel_size"] == 12.0
    assert config["pretrain"] is None
    metric = "macro_f1" if name == "candidate-cleaning-cpu" else "accuracy"
    assert config["primary_endpoint"]["metric"] == metric
    assert main(["benchmark", "--list-presets"]) == 0
    text = capsys.readouterr().out
    line = text.split(f"\n{name}\n")[1].split("\n")[1]
    assert "pool 2002" in line or "pool 2000" in line  # junk counts in the pool
    assert "CPU training estimate" in line


def test_voxel_size_sizes_simulated_volumes(capsys):
    config = _dry_run_config(capsys, "--preset", "real-structures-cpu", *TINY[:4])
    assert config["data"]["overrides"]["size"] == 16
    assert config["data"]["overrides"]["voxel_size"] == 24.0


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--size", "16"], "needs a box of at least size=23"),
        (["--n-classes", "3"], "--n-classes does not go with the preset"),
    ],
)
def test_bad_overrides_fail_clearly(tmp_path, capsys, extra, message):
    argv = ["benchmark", "--preset", "real-structures-cpu", *extra, "--out", str(tmp_path / "b")]
    assert main([*argv, "--dry-run"]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("name", ["real-structures-cpu", "candidate-cleaning-cpu"])
def test_tiny_run(tmp_path, data_home, capsys, name):
    out = tmp_path / "bench"
    assert main(["benchmark", "--preset", name, *TINY, "--out", str(out)]) == 0
    results = pd.read_csv(out / "results.csv", keep_default_na=False)
    assert len(results) == 2 * 2  # strategies x cycles
    assert np.isfinite(results["macro_f1"]).all()
    summary = (out / "summary.md").read_text()
    config = json.loads((out / "config.json").read_text())
    if name == "candidate-cleaning-cpu":
        assert config["primary_endpoint"]["metric"] == "macro_f1"
        assert "macro" in summary.lower()
        # per-class recall, the junk class named: junk called a particle shows there
        assert "## Per-class recall (secondary)" in summary
        assert "not a particle |" in summary.split("## Per-class recall")[1].splitlines()[4]
