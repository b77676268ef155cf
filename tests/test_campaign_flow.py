"""The annotation-campaign flow of a lab, end to end, through the CLI and the widget.

A partly labeled STAR table of MRC subtomograms goes through ``skcryoal campaign
new`` -> ``query`` -> labels clicked in the notebook widget -> a labelling process
killed with SIGKILL -> reopen -> ``export`` / filled sheet / ``import`` -> ``fit``
-> ``predict``, and every label and every provenance column survives. (The same
flow through the Python API alone is ``skcryoal/campaign/tests/test_end_to_end.py``.)
"""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import starfile

from conftest import make_easy_volumes
from skcryoal.campaign import Campaign
from skcryoal.cli import main
from skcryoal.io import write_subtomograms

pytest.importorskip("ipywidgets")

CLASSES = ["ribosome", "proteasome", "TRiC"]

LABELER = """
import sys
from skcryoal.campaign import Campaign

folder, truth = sys.argv[1], sys.argv[2].split(",")
c = Campaign.open(folder, annotator="ben")
print("ready", flush=True)
while True:
    queued = c.queued()
    if len(queued) == 0:
        c.query(2, fit=False)
        continue
    pid = int(queued[0])
    c.label(pid, truth[pid])
    print("done", pid, flush=True)
"""


def _table(folder):
    X, y = make_easy_volumes(30, 3, 16, random_state=3)
    truth = [CLASSES[v] for v in y]
    table = write_subtomograms(folder, X, truth, voxel_size=11.0)
    blocks = starfile.read(table, always_dict=True)
    particles = blocks["particles"].drop(columns=["rlnClassNumber"])
    particles["rlnTomoName"] = [f"TS_{i % 3 + 1:02d}" for i in range(30)]
    particles["rlnCenteredCoordinateXAngst"] = np.linspace(-800.25, 800.25, 30)
    particles["rlnCenteredCoordinateYAngst"] = np.arange(30) * 2.5
    particles["rlnCenteredCoordinateZAngst"] = -np.arange(30) * 1.25
    particles["ptmLCCmax"] = np.linspace(0.1, 0.4, 30)
    seeded = {0, 1, 2, 3, 4, 5}
    particles["skcryoalLabelText"] = [
        t if i in seeded else "" for i, t in enumerate(particles["skcryoalLabelText"])
    ]
    blocks["particles"] = particles
    starfile.write(blocks, table, overwrite=True)
    return table, truth, starfile.read(table, always_dict=True)["particles"]


def _cli(*args):
    status = main(["campaign", *map(str, args), "--threads", "1"])
    assert status == 0, args


def test_partly_labeled_star_through_cli_widget_crash_and_files(tmp_path, capsys):
    table, truth, original = _table(tmp_path / "data")
    folder = tmp_path / "campaign"
    _cli("new", folder, "--pool", table, "--classes", ",".join(CLASSES), "--width", "4")
    _cli("query", folder, "-n", "6", "--no-progress")

    # labels clicked in the notebook widget, stored at once
    c = Campaign.open(folder, annotator="ana")
    w = c.widget()
    clicked = {}
    for _ in range(3):
        pid = w.current
        w.click(truth[pid])
        clicked[pid] = truth[pid]
    w.press("s")  # skip one
    skipped = set(c.history().query("action == 'skip'")["particle_id"].astype(int))
    assert len(skipped) == 1
    w.close()

    # another annotator's process is killed mid-way
    worker = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(LABELER), str(folder), ",".join(truth)],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore"),
    )
    assert worker.stdout.readline().strip() == "ready"
    done = {int(worker.stdout.readline().split()[1]) for _ in range(3)}
    worker.send_signal(signal.SIGKILL)
    assert worker.wait(timeout=60) == -signal.SIGKILL

    c = Campaign.open(folder)  # reopen after the crash
    labels = dict(zip(c.labels()["particle_id"], c.labels()["label"]))
    assert set(clicked) | done | set(range(6)) <= set(labels)
    assert all(labels[p] == truth[p] for p in labels)

    # the rest of the queue labeled elsewhere: export, fill, import
    if len(c.queued()) == 0:
        _cli("query", folder, "-n", "4", "--no-fit")
    queued = Campaign.open(folder).queued()
    _cli("export", folder, tmp_path / "batch")
    sheet = pd.read_csv(tmp_path / "batch" / "batch.csv", keep_default_na=False)
    assert set(sheet["particle_id"]) == set(queued.tolist())
    sheet["label"] = [truth[p] for p in sheet["particle_id"]]
    sheet.to_csv(tmp_path / "batch" / "batch.csv", index=False)
    _cli("import", folder, tmp_path / "batch" / "batch.csv", "--annotator", "cai")
    _cli("fit", folder, "--no-progress")
    _cli("predict", folder, tmp_path / "pred", "--no-progress")
    capsys.readouterr()

    c = Campaign.open(folder)
    labels = dict(zip(c.labels()["particle_id"], c.labels()["label"]))
    assert set(clicked) | done | set(range(6)) | set(queued.tolist()) <= set(labels)
    assert all(labels[p] == truth[p] for p in labels)  # every label intact
    assert len(c.queued()) == 0
    predicted = pd.read_csv(tmp_path / "pred" / "predictions.csv", keep_default_na=False)
    star = starfile.read(tmp_path / "pred" / "predictions.star", always_dict=True)["particles"]
    for frame in (predicted, star):  # every provenance column intact
        assert frame["particle_id"].tolist() == list(range(30))
        for column in original.columns:
            want = original[column]
            if column == "rlnImageName":  # the same files, named relative to the new table
                got = [os.path.relpath(tmp_path / "pred" / v, table.parent) for v in frame[column]]
                assert got == want.tolist()
            elif pd.api.types.is_float_dtype(want):
                np.testing.assert_array_equal(frame[column].to_numpy(float), want.to_numpy(float))
            else:
                assert frame[column].astype(str).tolist() == want.astype(str).tolist(), column
        for p, label in labels.items():
            assert frame["final_class"][p] == label
