"""``skcryoal campaign``: the whole labelling loop from the shell, re-runs and bad input."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import starfile

from skcryoal.campaign import Campaign
from skcryoal.cli import main
from skcryoal.io import write_subtomograms

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CLASSES = ["ribosome", "proteasome", "membrane"]
# the paper's recipe (no pretraining at the first fit): what these tests are about is not it
TINY = ["--width", "4", "--epochs", "2", "--batch-size", "8", "--recipe", "paper"]
N_SEEDED = 9


@pytest.fixture
def table(tmp_path, easy_data):
    """A partly labeled STAR table of 36 MRC subtomograms (16^3) with extra provenance."""
    X, y = easy_data(36, 3, 16, random_state=0)
    path = write_subtomograms(tmp_path / "data", X, [CLASSES[v] for v in y], voxel_size=13.5)
    blocks = starfile.read(path, always_dict=True)
    particles = blocks["particles"]
    particles["rlnTomoName"] = [f"TS_{i % 2:02d}" for i in range(len(particles))]
    particles["rlnCoordinateX"] = np.arange(len(particles)) * 10.25
    labels = particles["skcryoalLabelText"].astype(str)
    particles["skcryoalLabelText"] = [s if i < N_SEEDED else "" for i, s in enumerate(labels)]
    starfile.write(blocks, path, overwrite=True)
    return path, y


def cli(capsys, *argv):
    """Run ``skcryoal campaign ...``; return (status, stdout, stderr)."""
    status = main(["campaign", *map(str, argv)])
    out, err = capsys.readouterr()
    return status, out, err


def fill(sheet, y, rows=None):
    """Write the true class into the label column of an exported CSV sheet (all or ``rows``)."""
    frame = pd.read_csv(sheet, dtype=str, keep_default_na=False)
    rows = range(len(frame)) if rows is None else rows
    for k in rows:
        frame.loc[k, "label"] = CLASSES[y[int(frame.loc[k, "particle_id"])]]
    frame.to_csv(sheet, index=False)
    return frame


def test_full_labelling_loop(tmp_path, capsys, table):
    path, y = table
    folder = tmp_path / "camp"
    provenance = starfile.read(path, always_dict=True)["particles"].columns.tolist()

    # new: a summary with the seeded labels, then the next command
    code, out, _ = cli(
        capsys, "new", folder, "--pool", path, "--classes", ",".join(CLASSES), *TINY,
        "--annotator", "ana",
    )  # fmt: skip
    assert code == 0
    assert "36 particles of 16x16x16 voxels" in out and f"seeded     {N_SEEDED} labels" in out
    assert f"skcryoal campaign query {folder} -n 20" in out
    assert ", augmented" in out and Campaign.open(folder)._template.augment is True
    # run again by mistake: a clear error, the campaign is kept
    code, _, err = cli(capsys, "new", folder, "--pool", path, "--classes", ",".join(CLASSES))
    assert code == 2
    assert "already holds a campaign" in err and "--overwrite" in err and str(folder) in err
    assert Campaign.open(folder).status().n_labeled == N_SEEDED

    code, out, _ = cli(capsys, "status", folder)
    assert code == 0 and re.search(rf"labeled +{N_SEEDED} \(25.0%\)", out)
    assert re.search(r"query rounds +0\n", out)

    # query: fits on the seed labels first, says so, lists ids with provenance
    code, out, err = cli(capsys, "query", folder, "-n", "6")
    assert code == 0, err
    assert f"Fitting a model on {N_SEEDED} labels" in out and "model #1" in out
    assert "epoch 2/2" in err  # a line per epoch when stderr is not a terminal
    ids = Campaign.open(folder).queued()
    assert len(ids) == 6 and "Queued 6 particles in round 1" in out
    assert all(f"subtomo_{i:06d}.mrc" in out for i in ids)
    assert f"skcryoal campaign export {folder} {folder / 'batch-001'}" in out
    # query again: a second round, the first stays queued; the model is reused
    code, out, _ = cli(capsys, "query", folder, "-n", "2", "--no-progress")
    assert code == 0 and "round 2" in out and "up to date" in out and "Fitting" not in out
    assert "6 particles queued earlier" in out
    assert Campaign.open(folder).status().n_rounds == 2

    # export: pages, PDF and the sheets, with how to fill them in
    batch = tmp_path / "batch"
    code, out, _ = cli(capsys, "export", folder, batch)
    assert code == 0
    for name in ("batch.csv", "batch.star", "batch.pdf", "batch-page-001.png"):
        assert (batch / name).is_file() and str(batch / name) in out
    assert ", ".join(CLASSES) in out and "label column" in out
    sheet = pd.read_csv(batch / "batch.csv", dtype=str, keep_default_na=False)
    assert len(sheet) == 8 and all(c in sheet.columns for c in provenance)

    # a filled sheet not imported yet is not overwritten by a second export
    fill(batch / "batch.csv", y, rows=range(5))
    code, _, err = cli(capsys, "export", folder, batch)
    assert code == 2 and "still queued" in err and "batch.csv" in err and "--overwrite" in err
    code, out, _ = cli(capsys, "import", folder, batch / "batch.csv", "--annotator", "bob")
    assert code == 0 and "as bob: 5 labels applied, 0 unchanged, 3 rows left empty" in out
    assert "3 still queued" in out
    # importing the same sheet again records nothing twice
    code, out, _ = cli(capsys, "import", folder, batch / "batch.csv", "--annotator", "bob")
    assert code == 0 and "0 labels applied, 5 unchanged" in out
    fill(batch / "batch.csv", y)
    code, out, _ = cli(capsys, "import", folder, batch / "batch.csv", "--annotator", "bob")
    assert code == 0 and "3 labels applied" in out and "0 still queued" in out
    labels = Campaign.open(folder).labels()
    assert len(labels) == N_SEEDED + 8
    assert all(lab == CLASSES[y[p]] for p, lab in zip(labels["particle_id"], labels["label"]))

    # fit: progress and metrics; again on the same labels is a no-op
    code, out, err = cli(capsys, "fit", folder, "--no-progress")
    assert code == 0 and "model #2: fitted on 17 labels, training accuracy" in out
    assert "epoch" not in err
    code, out, _ = cli(capsys, "fit", folder)
    assert code == 0 and "nothing to do" in out
    assert len(Campaign.open(folder).status().models) == 2

    # predict: every particle, every provenance column, one STAR per class
    out_dir = tmp_path / "pred"
    code, out, _ = cli(capsys, "predict", folder, out_dir)
    assert code == 0 and "with model #2" in out
    predictions = pd.read_csv(out_dir / "predictions.csv", dtype=str, keep_default_na=False)
    original = starfile.read(path, always_dict=True)["particles"]
    assert len(predictions) == 36
    for column in provenance:
        got = predictions[column].tolist()
        if column == "rlnImageName":  # the same files, named relative to the new table
            got = [os.path.relpath(out_dir / v, path.parent) for v in got]
        assert got == original[column].astype(str).tolist(), column
    star = starfile.read(out_dir / "predictions.star", always_dict=True)
    assert "optics" in star and all(c in star["particles"].columns for c in provenance)
    for cls in CLASSES:
        files = list((out_dir / "classes").glob(f"class_*_{cls}.star"))
        assert files and str(files[0]) in out
    code, out, _ = cli(capsys, "status", folder)
    assert re.search(r"models +2; latest #2 on 17 labels", out) and "model history" in out


def test_array_pool_class_file_cold_start_and_json(tmp_path, capsys, easy_data):
    X, _ = easy_data(12, 2, 16, random_state=1)
    np.save(tmp_path / "pool.npy", X[:, 0])
    (tmp_path / "classes.txt").write_text("# one per line\nribosome\n\nproteasome\n")
    folder = tmp_path / "c"
    code, out, _ = cli(
        capsys, "new", folder, "--pool", tmp_path / "pool.npy",
        "--classes", f"@{tmp_path / 'classes.txt'}", "--strategy", "random", *TINY,
    )  # fmt: skip
    assert code == 0 and "copied into the folder" in out and "cold start" in out
    code, out, _ = cli(capsys, "query", folder, "-n", "3")
    assert code == 0 and "cold start" in out and "@pool.npy" in out and "Fitting" not in out
    code, out, _ = cli(capsys, "status", folder, "--json")
    data = json.loads(out)
    assert data["classes"] == ["ribosome", "proteasome"]
    assert data["n_queued"] == 3 and data["n_rounds"] == 1 and data["n_labeled"] == 0
    code, _, err = cli(capsys, "query", folder, "-n", "10")
    assert code == 2 and "only 9" in err and "-n 9" in err
    code, _, err = cli(capsys, "fit", folder)
    assert code == 2 and "has 0 label(s)" in err


def test_no_augment_option(tmp_path, capsys, table):
    path, _ = table
    folder = tmp_path / "camp"
    args = ["new", folder, "--pool", path, "--classes", ",".join(CLASSES), *TINY, "--no-augment"]
    code, out, _ = cli(capsys, *args)
    assert code == 0 and "no augmentation" in out
    assert Campaign.open(folder)._template.augment is False


def test_warm_start_and_subsample_options(tmp_path, capsys, table):
    path, _ = table
    folder = tmp_path / "camp"
    args = ["new", folder, "--pool", path, "--classes", ",".join(CLASSES), *TINY]
    code, out, _ = cli(capsys, *args, "--warm-start", "1", "--subsample", "12")
    assert code == 0 and "scoring 12 random particles per round" in out
    assert "later fits continue from the latest model for 1 epochs" in out
    c = Campaign.open(folder)
    assert (c.warm_start_epochs, c.subsample) == (1, 12)
    assert cli(capsys, "fit", folder, "--no-progress")[0] == 0
    code, out, _ = cli(capsys, "fit", folder, "--force", "--no-progress")
    assert code == 0 and "from the latest model, 1 epochs" in out
    assert "continued from model #1" in out and "1 epochs in" in out
    code, _, err = cli(capsys, *args, "--overwrite", "--strategy", "ema:subsample=5",
                       "--subsample", "12")  # fmt: skip
    assert code == 2 and "conflict" in err
    code, _, err = cli(capsys, *args, "--overwrite", "--warm-start", "0")
    assert code == 2 and "--warm-start" in err


def test_bad_input_names_the_problem_and_the_file(tmp_path, capsys, table):
    path, y = table
    folder = tmp_path / "camp"
    assert cli(capsys, "new", folder, "--pool", path, "--classes", ",".join(CLASSES), *TINY)[0] == 0
    assert cli(capsys, "query", folder, "-n", "4", "--no-fit")[0] == 0
    assert cli(capsys, "export", folder, tmp_path / "b")[0] == 0
    frame = fill(tmp_path / "b" / "batch.csv", y)
    frame.loc[2, "label"] = "ribosme"
    bad = tmp_path / "b" / "bad.csv"
    frame.to_csv(bad, index=False)
    code, _, err = cli(capsys, "import", folder, bad)
    assert code == 2 and str(bad) in err and "row 3" in err and "'ribosme'" in err
    assert "nothing was imported" in err and "Traceback" not in err
    assert Campaign.open(folder).status().n_labeled == N_SEEDED  # all or nothing

    code, _, err = cli(capsys, "import", folder, tmp_path / "b" / "missing.csv")
    assert code == 2 and "missing.csv" in err and "not found" in err
    code, _, err = cli(capsys, "status", tmp_path / "nowhere")
    assert code == 2 and "nowhere" in err and "does not exist" in err
    assert "skcryoal campaign new" in err
    code, _, err = cli(capsys, "fit", tmp_path / "data")
    assert code == 2 and "not a campaign folder" in err and str(tmp_path / "data") in err
    code, _, err = cli(capsys, "new", tmp_path / "x", "--pool", path, "--classes", "a,,b")
    assert code == 2 and "empty class name" in err
    code, _, err = cli(capsys, "new", tmp_path / "x", "--pool", path, "--classes", "@none.txt")
    assert code == 2 and "none.txt" in err
    code, _, err = cli(capsys, "new", tmp_path / "x", "--pool", path, "--classes", "ribosome,x")
    assert code == 2 and str(path) in err and "'proteasome'" in err
    assert not (tmp_path / "x" / "campaign.sqlite").exists()
    assert cli(capsys, "export", folder, tmp_path / "b")[0] == 2  # labels not imported
    assert cli(capsys, "export", folder, tmp_path / "b", "--overwrite")[0] == 0

    # the particles moved: said before any work, and --pool reads them from their new place
    (tmp_path / "data").rename(tmp_path / "moved")
    code, _, err = cli(capsys, "export", folder, tmp_path / "b2")
    assert code == 2 and str(path) in err and "--pool" in err
    assert not (tmp_path / "b2").exists()
    moved = tmp_path / "moved" / path.name
    assert cli(capsys, "export", folder, tmp_path / "b2", "--pool", moved)[0] == 0


def test_interrupted_commands_record_nothing_and_run_again(tmp_path, capsys, table, monkeypatch):
    path, _ = table
    folder = tmp_path / "camp"
    # the leftovers of an interrupted `new` (files written before the database)
    folder.mkdir()
    (folder / "estimator.pkl").write_bytes(b"partial")
    code, out, _ = cli(capsys, "new", folder, "--pool", path, "--classes", ",".join(CLASSES), *TINY)
    assert code == 0 and "Replacing the leftovers of an interrupted `new`" in out

    def interrupted(self, on_epoch=None):
        raise KeyboardInterrupt("fit interrupted; no model was recorded.")

    with monkeypatch.context() as m:
        m.setattr(Campaign, "fit", interrupted)
        code, _, err = cli(capsys, "fit", folder)
    assert code == 130 and "interrupted" in err and "again" in err
    assert Campaign.open(folder).status().models == []
    code, _, err = cli(capsys, "fit", folder)
    assert code == 0


def test_help_threads_and_progress_bar(tmp_path, capsys, monkeypatch, table):
    for command in ("new", "status", "query", "export", "import", "fit", "predict"):
        assert main(["campaign", command, "--help"]) == 0
        out = capsys.readouterr().out
        assert f"example:\n  skcryoal campaign {command} " in out and "--threads" in out
    assert main(["campaign", "--help"]) == 0
    assert "a campaign, step by step" in capsys.readouterr().out
    assert main(["campaign"]) == 2

    import skcryoal.cli as cli_module

    threads = []
    monkeypatch.setattr(cli_module, "set_num_threads", threads.append)
    path, _ = table
    folder = tmp_path / "camp"
    assert cli(capsys, "new", folder, "--pool", path, "--classes", ",".join(CLASSES), *TINY)[0] == 0
    assert main(["campaign", "--threads", "2", "status", str(folder)]) == 0
    assert main(["campaign", "status", str(folder), "--threads", "3"]) == 0
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a tqdm bar on a terminal
    code, _, err = cli(capsys, "fit", folder)
    assert code == 0 and "training" in err and "epoch 1/2" not in err
    assert threads == ["auto", 2, 3, "auto"]


def test_console_entry_point(tmp_path, capsys, table):
    path, _ = table
    folder = tmp_path / "camp"
    assert cli(capsys, "new", folder, "--pool", path, "--classes", ",".join(CLASSES), *TINY)[0] == 0
    root = Path(__file__).resolve().parents[3]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(root))
    done = subprocess.run(
        [sys.executable, "-m", "skcryoal.cli", "campaign", "status", str(folder)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert re.search(rf"labeled +{N_SEEDED} ", done.stdout)
    done = subprocess.run(
        [sys.executable, "-m", "skcryoal.cli", "campaign", "status", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2 and "not a campaign folder" in done.stderr
    assert "Traceback" not in done.stderr


def test_pretrain_then_fit_from_the_shell(tmp_path, capsys, table):
    path, _ = table
    folder = tmp_path / "camp"
    assert cli(capsys, "new", folder, "--pool", path, "--classes", ",".join(CLASSES), *TINY)[0] == 0
    status, out, err = cli(
        capsys, "pretrain", folder, "--epochs", "2", "--batch-size", "8", "--no-progress"
    )
    assert status == 0, err
    assert "Pretrained: 2 epochs" in out and "skcryoal campaign query" in out
    status, out, _ = cli(capsys, "status", folder)
    assert "pretrained encoder  simclr, 2 epochs on 36 particles" in out
    assert cli(capsys, "fit", folder, "--no-progress")[0] == 0
    status, out, _ = cli(capsys, "status", folder, "--json")
    data = json.loads(out)
    assert data["models"][-1]["metrics"]["pretrained"] == data["pretrained"]["key"]
    # run again: the finished training is found, nothing is retrained
    status, out, _ = cli(
        capsys, "pretrain", folder, "--epochs", "2", "--batch-size", "8", "--no-progress"
    )
    assert status == 0 and "Pretrained: 2 epochs" in out
    # a pretraining that cannot run says why, without a traceback
    status, _, err = cli(capsys, "pretrain", folder, "--batch-size", "64", "--no-progress")
    assert status == 2 and "at least batch_size=64 volumes; got 36" in err


def test_the_default_recipe_is_said_when_created(tmp_path, capsys, table):
    path, _ = table
    folder = tmp_path / "camp"
    code, out, _ = cli(capsys, "new", folder, "--pool", path, "--classes", ",".join(CLASSES),
                       "--width", "4")  # fmt: skip
    assert code == 0
    assert "recipe     pretrained: the first fit first learns an encoder from the 36 " in out
    assert Campaign.open(folder)._store.meta()["recipe"] == "pretrained"
    code, out, _ = cli(capsys, "status", folder)
    assert "none yet: the first fit learns one from the unlabeled pool" in out
    paper = tmp_path / "paper"
    code, out, _ = cli(capsys, "new", paper, "--pool", path, "--classes", ",".join(CLASSES),
                       "--recipe", "paper")  # fmt: skip
    assert code == 0 and "recipe     paper: every fit from scratch" in out


def test_status_says_what_the_labels_cost(tmp_path, capsys, table):
    path, _ = table
    folder = tmp_path / "camp"
    assert cli(capsys, "new", folder, "--pool", path, "--classes", ",".join(CLASSES), *TINY)[0] == 0
    with Campaign.open(folder) as c:
        c.label([20, 21], CLASSES[0], annotator="ana", seconds=[5.0, 7.0])
    code, out, _ = cli(capsys, "status", folder, "--budget", "30")
    assert code == 0
    assert "2 decisions timed in 0.2 min (600 labels/hour; ana 600/h" in out
    assert "to 30 labels: 1.9 min more (19 labels)" in out
    assert "annotation per annotator:" in out and "labels_per_hour" in out
    code, out, _ = cli(capsys, "status", folder, "--json", "--budget", "30")
    data = json.loads(out)
    rows = {r["annotator"]: r for r in data["annotation_cost"]["per_annotator"]}
    assert rows["ana"]["n_timed"] == 2 and data["annotation_cost"]["budget"] == 30
