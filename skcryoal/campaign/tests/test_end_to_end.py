"""A whole campaign on files: a partly labeled STAR table of MRC subtomograms to predictions."""

import os
import signal

import numpy as np
import pandas as pd
import starfile

from conftest import make_easy_volumes
from skcryoal.campaign import Campaign
from skcryoal.io import read_subtomograms, write_subtomograms

from ._helpers import labels_of, spawn, tiny_clf, wait_for_line

CLASSES = ["26S proteasome", "ribosome", "TRiC"]

LABELER = """
    import sys
    from skcryoal.campaign import Campaign

    folder, log_path = sys.argv[1], sys.argv[2]
    truth = open(folder + "/truth.txt").read().split("\\n")
    c = Campaign.open(folder, annotator="bob")
    log = open(log_path, "a", buffering=1)
    log.write("ready\\n")
    while True:
        for pid in c.queued()[:1]:
            log.write(f"begin {pid}\\n")
            c.label(int(pid), truth[pid])
            log.write(f"done {pid}\\n")
        if len(c.queued()) == 0:
            c.query(2, fit=False)
"""


def make_table(folder):
    """A STAR file of 24 MRC subtomograms with RELION columns, 6 of them labeled."""
    X, y = make_easy_volumes(24, 3, 16, random_state=5)
    truth = [CLASSES[v] for v in y]
    table = write_subtomograms(folder, X, truth, voxel_size=13.5)
    blocks = starfile.read(table, always_dict=True)
    particles = blocks["particles"]
    particles["rlnTomoName"] = [f"TS_{i % 2 + 1:03d}" for i in range(24)]
    particles["rlnCenteredCoordinateXAngst"] = np.linspace(-512.5, 512.5, 24)
    particles["rlnCenteredCoordinateYAngst"] = np.arange(24) * 3.0
    particles["rlnCenteredCoordinateZAngst"] = -np.arange(24) * 1.5
    particles["rlnAngleTilt"] = np.linspace(0, 180, 24)
    keep = {0, 1, 2, 3, 4, 5}
    particles["skcryoalLabelText"] = [
        t if i in keep else "" for i, t in enumerate(particles["skcryoalLabelText"])
    ]
    starfile.write(blocks, table, overwrite=True)
    original = starfile.read(table, always_dict=True)["particles"]
    return table, X, truth, original


def test_a_whole_campaign_on_files(tmp_path):
    table, X, truth, original = make_table(tmp_path / "data")
    folder = tmp_path / "campaign"
    c = Campaign.create(
        folder, table, CLASSES, estimator=tiny_clf(), strategy="random", annotator="ana"
    )
    (folder / "truth.txt").write_text("\n".join(truth))
    assert labels_of(c) == {i: truth[i] for i in range(6)}

    ids = c.query(4)
    c.label(ids[:2], [truth[i] for i in ids[:2]])
    given = {int(i): truth[i] for i in ids[:2]}

    # another annotator labels in a process that is killed mid-way
    log = tmp_path / "bob.log"
    worker = spawn(tmp_path, "labeler", LABELER, folder, log)
    wait_for_line(log, "ready", worker)
    wait_for_line(log, "done", worker)
    worker.send_signal(signal.SIGKILL)
    assert worker.wait(timeout=30) == -signal.SIGKILL
    lines = log.read_text().splitlines()
    done = {int(line.split()[1]) for line in lines if line.startswith("done")}
    begun = {int(line.split()[1]) for line in lines if line.startswith("begin")}

    c = Campaign.open(folder, annotator="ana")
    assert c._store.integrity_check() == "ok"
    labels = labels_of(c)
    assert done <= set(labels) <= set(range(6)) | set(given) | begun
    assert all(labels[p] == truth[p] for p in labels)

    # the queued batch, labeled outside Python
    if len(c.queued()) == 0:
        c.query(3)
    queued = c.queued()
    files = c.export_batch(tmp_path / "batch")
    sheet = pd.read_csv(files["csv"], keep_default_na=False)
    sheet["label"] = [truth[p] for p in sheet["particle_id"]]
    sheet.loc[0, "label"] = ""  # not yet
    sheet.to_csv(tmp_path / "filled.csv", index=False)
    summary = c.import_labels(tmp_path / "filled.csv", annotator="carol")
    assert summary["n_labeled"] == len(queued) - 1 and summary["n_empty"] == 1
    np.testing.assert_array_equal(c.queued(), queued[:1])

    c.fit()
    out = c.predict(tmp_path / "pred")

    # every label intact
    labels = labels_of(c)
    assert all(labels[p] == truth[p] for p in labels)
    assert set(range(6)) | set(given) | done | set(queued[1:].tolist()) <= set(labels)
    # every provenance column intact, in the CSV and the STAR file
    predicted_csv = pd.read_csv(out["csv"], keep_default_na=False)
    predicted_star = starfile.read(out["star"], always_dict=True)
    assert "optics" in predicted_star
    for frame in (predicted_csv, predicted_star["particles"]):
        assert frame["particle_id"].tolist() == list(range(24))
        for column in original.columns:
            got, want = frame[column], original[column]
            if column == "rlnImageName":  # the same files, named relative to the new table
                got = [os.path.relpath(out["star"].parent / v, table.parent) for v in got]
                assert got == want.tolist()
            elif pd.api.types.is_float_dtype(want):
                np.testing.assert_array_equal(got.to_numpy(float), want.to_numpy(float))
            else:
                assert got.astype(str).tolist() == want.astype(str).tolist(), column
        for i in range(24):
            label = frame["label"][i]
            expected = labels.get(i, "")
            assert (label if isinstance(label, str) else "") == expected
            assert frame["final_class"][i] == labels.get(i, frame["predicted_class"][i])
    # one STAR per class, readable by skcryoal (absolute image names) and by RELION
    members = []
    for cls, path in out["classes"].items():
        X_cls, y_cls, per_class = read_subtomograms(path, return_table=True)
        assert set(y_cls.tolist()) == {cls}
        ids_cls = [int(name.split("_")[-1].split(".")[0]) for name in per_class["skcryoal_file"]]
        np.testing.assert_array_equal(X_cls, X[ids_cls])
        final = predicted_csv.set_index("particle_id")["final_class"]
        assert all(final[i] == cls for i in ids_cls)
        assert "optics" in starfile.read(path, always_dict=True)
        members += ids_cls
    assert sorted(members) == list(range(24))
