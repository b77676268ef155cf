"""A killed ``predict`` never leaves a mixed output set: SIGKILL between any two writes.

An earlier ``predict`` (model 1) left a complete set; a worker process predicts
again with model 2, after labels were changed so that particles move between
classes, and is killed at a chosen moment. A reader must then find the old set
whole (byte for byte) or the new one whole: one model in every file, each
particle in exactly one class file, the class files agreeing with the tables.
"""

import os
import signal
import time

import pandas as pd
import pytest
import starfile

from conftest import make_easy_volumes
from skcryoal.campaign import Campaign
from skcryoal.campaign._predictions import TABLES

from ._helpers import spawn, tiny_clf, wait_for_line

WORKER = """
    import sys, time
    from skcryoal.campaign import Campaign, _files, _predictions

    folder, out, moment, log_path = sys.argv[1:5]
    log = open(log_path, "a", buffering=1)

    def pause(what):
        log.write(f"at {what}\\n")
        time.sleep(3600)  # the test kills the process here

    write_star, write_csv = _files.write_star, _files.write_csv
    replace = _predictions.replace_folder

    def star(path, *args, **kwargs):
        result = write_star(path, *args, **kwargs)
        if moment == path.name or (moment == "a class file" and path.name.startswith("class_")):
            pause(path.name)
        return result

    def csv(path, *args, **kwargs):
        result = write_csv(path, *args, **kwargs)
        if moment == path.name:
            pause(path.name)
        return result

    def switch(new, target):
        if moment == "the switch":
            pause("the switch")
        replace(new, target)
        if moment == "the cleanup":
            pause("the cleanup")

    _files.write_star, _files.write_csv, _predictions.replace_folder = star, csv, switch
    campaign = Campaign.open(folder)
    log.write("ready\\n")
    campaign.predict(out, fit=False)
    log.write("finished\\n")
"""

MOMENTS = ["predictions.star", "predictions.csv", "a class file", "the switch", "the cleanup"]


def snapshot(folder):
    """Every file under ``folder``, by relative path, with its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def read_output_set(out):
    """Check that ``out`` holds one whole output set; return its model id."""
    star = starfile.read(out / "predictions.star", always_dict=True)["particles"]
    table = pd.read_csv(out / "predictions.csv", keep_default_na=False)
    models = set(star["model_id"]) | set(table["model_id"])
    assert len(models) == 1, models  # the two tables come from one model
    assert star["final_class"].astype(str).tolist() == table["final_class"].astype(str).tolist()
    final = dict(zip(table["particle_id"], table["final_class"].astype(str)))
    seen = []
    for path in sorted((out / "classes").glob("class_*.star")):
        rows = starfile.read(path, always_dict=True)["particles"]
        cls = path.stem.split("_", 2)[2]
        assert set(rows["skcryoalModelId"]) == models, path.name
        assert all(final[pid] == cls for pid in rows["skcryoalParticleId"]), path.name
        seen += rows["skcryoalParticleId"].tolist()
    assert sorted(seen) == sorted(final)  # every particle in exactly one class file
    return models.pop()


@pytest.fixture
def two_models(tmp_path):
    """A campaign whose ``predictions`` folder was written by model 1; model 2 is fitted."""
    X, y = make_easy_volumes(30, 3, 16, random_state=2)
    folder, out = tmp_path / "c", tmp_path / "c" / "predictions"
    seeds = [int(v) if i < 9 else None for i, v in enumerate(y)]
    campaign = Campaign.create(folder, X, [0, 1, 2], y=seeds, estimator=tiny_clf(max_epochs=1))
    campaign.fit()
    campaign.predict(out, fit=False)
    # relabel: these particles move to another class file in the new set
    campaign.label(list(range(6)), [int((v + 1) % 3) for v in y[:6]], annotator="bob")
    campaign.fit()
    campaign.close()
    assert read_output_set(out) == 1
    return folder, out


@pytest.mark.parametrize("moment", MOMENTS)
def test_sigkill_during_predict_leaves_the_old_set_or_the_new_one(tmp_path, two_models, moment):
    folder, out = two_models
    before = snapshot(out)
    log_path = tmp_path / "log.txt"
    worker = spawn(tmp_path, "predict", WORKER, folder, out, moment, log_path)
    wait_for_line(log_path, "at ", worker)
    worker.send_signal(signal.SIGKILL)
    assert worker.wait(timeout=30) == -signal.SIGKILL
    if moment == "the cleanup":  # switched: the new set, whole
        assert read_output_set(out) == 2
        assert snapshot(out) != before
    else:  # the old set, byte for byte
        assert snapshot(out) == before
    # the campaign goes on: the next predict writes the new set
    with Campaign.open(folder) as campaign:
        files = campaign.predict(out, fit=False)
    assert read_output_set(out) == 2 and files["star"] == out / "predictions.star"


def test_predict_replaces_only_a_folder_of_its_own(tmp_path, two_models):
    folder, out = two_models
    notes = out / "classes" / "notes.txt"
    notes.write_text("mine")
    before = snapshot(out)
    with Campaign.open(folder) as campaign:
        with pytest.raises(FileExistsError, match=r"holds files that predict did not write "
                           r"\(classes/notes.txt\).*a folder of its own"):  # fmt: skip
            campaign.predict(out, fit=False)
        with pytest.raises(FileExistsError, match="campaign.sqlite"):
            campaign.predict(folder, fit=False)  # never the campaign's own folder
        assert snapshot(out) == before
        assert len(campaign.status().models) == 2
        notes.unlink()
        campaign.predict(out, fit=False)
    assert read_output_set(out) == 2
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".")) == []


def test_what_killed_runs_left_is_removed_once_old(two_models):
    _, out = two_models
    stray = [out.parent / f".predictions.{k:012x}.{kind}" for k, kind in ((1, "new"), (2, "old"))]
    running = out.parent / ".predictions.00000000000f.new"  # another predict, writing now
    for folder in (*stray, running):
        (folder / "classes").mkdir(parents=True)
        (folder / "predictions.csv").write_text("partial")
    hour_ago = time.time() - 3700
    for folder in stray:
        os.utime(folder, (hour_ago, hour_ago))
    with Campaign.open(two_models[0]) as campaign:
        campaign.predict(out, fit=False)
    assert not any(folder.exists() for folder in stray) and running.is_dir()
    assert read_output_set(out) == 2


def test_the_switch_without_an_atomic_exchange(tmp_path, two_models, monkeypatch):
    from skcryoal.utils import _atomic

    folder, out = two_models
    calls = []
    exchange = _atomic._exchange
    monkeypatch.setattr(_atomic, "_exchange", lambda a, b: calls.append(a) or False)
    with Campaign.open(folder) as campaign:
        files = campaign.predict(out, fit=False)
    assert len(calls) == 1 and read_output_set(out) == 2
    assert sorted(files["classes"].values()) == sorted(out.glob("classes/class_*.star"))
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".")) == []
    # where the system can exchange (Linux, a local file system), it does
    monkeypatch.setattr(_atomic, "_exchange", lambda a, b: calls.append(a) or exchange(a, b))
    with Campaign.open(folder) as campaign:
        campaign.predict(out, fit=False)
    assert len(calls) == 2 and read_output_set(out) == 2
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".")) == []


def test_a_new_output_folder_and_its_missing_parents(tmp_path, two_models):
    folder, _ = two_models
    out = tmp_path / "a" / "b" / "predictions"
    with Campaign.open(folder) as campaign:
        files = campaign.predict(out, fit=False)
    assert files["csv"] == out / "predictions.csv" and read_output_set(out) == 2
    assert sorted(p.name for p in out.iterdir()) == ["classes", *sorted(TABLES)]
