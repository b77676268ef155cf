"""Crash safety with real process kills: SIGKILL while labeling, fitting, checkpointing."""

import random
import signal
import time

import numpy as np
import pytest

from conftest import make_easy_volumes
from skcryoal.campaign import Campaign

from ._helpers import labels_of, spawn, tiny_clf, wait_for_line

WORKER = """
    import sys
    import numpy as np
    from skcryoal.campaign import Campaign

    folder, log_path = sys.argv[1], sys.argv[2]
    y = np.load(folder + "/truth.npy")
    c = Campaign.open(folder, annotator="worker")
    log = open(log_path, "a", buffering=1)

    def say(*words):
        log.write(" ".join(str(w) for w in words) + "\\n")
        log.flush()

    say("ready")
    while True:
        status = c.status()
        if status.n_unlabeled - status.n_queued < 3:  # a fast machine got through the pool
            say("exhausted")
            import time
            time.sleep(3600)
        ids = c.query(3)  # fits first when the labels changed since the last model
        say("queued", *ids)
        say("fit", c._store.models()[-1]["model_id"])
        for pid in ids[:2]:  # the third stays queued
            say("begin", pid)
            c.label(int(pid), int(y[pid]))
            say("done", pid)
"""


def read_log(path):
    log = {"done": [], "begun": [], "queued": [], "fit": []}
    for line in path.read_text().splitlines():
        word, *rest = line.split()
        if word in log:
            log[word] += [int(w) for w in rest]
    return log


@pytest.fixture
def crash_campaign(tmp_path):
    # 150 particles: more than a fast machine labels in the test's 4 seconds
    X, y = make_easy_volumes(150, 3, 16, random_state=1)
    folder = tmp_path / "c"
    seeds = [int(v) if i < 6 else None for i, v in enumerate(y)]
    Campaign.create(folder, X, [0, 1, 2], y=seeds, estimator=tiny_clf(max_epochs=1))
    np.save(folder / "truth.npy", y)
    return folder, y


@pytest.mark.parametrize("seed", [0, 1])
def test_sigkill_at_a_random_moment_loses_at_most_the_label_in_progress(
    tmp_path, crash_campaign, seed
):
    folder, y = crash_campaign
    log_path = tmp_path / "log.txt"
    worker = spawn(tmp_path, "worker", WORKER, folder, log_path)
    wait_for_line(log_path, "ready", worker)
    time.sleep(random.Random(seed).uniform(0.5, 4.0))  # labeling, querying or fitting
    worker.send_signal(signal.SIGKILL)
    assert worker.wait(timeout=30) == -signal.SIGKILL
    log = read_log(log_path)

    c = Campaign.open(folder)
    assert c._store.integrity_check() == "ok"
    labels = {p: v for p, v in labels_of(c).items() if p >= 6}
    in_progress = set(log["begun"]) - set(log["done"])
    assert len(in_progress) <= 1
    assert set(log["done"]) <= set(labels) <= set(log["done"]) | in_progress
    assert all(labels[p] == y[p] for p in labels)
    queued = set(c.queued().tolist())
    assert set(log["queued"]) - set(labels) <= queued  # queued-but-unlabeled stay queued
    assert len(queued - set(log["queued"])) <= 3  # at most the round being recorded
    if log["fit"]:
        model, record = c._latest_model()
        assert model is not None and record["model_id"] >= max(log["fit"])
        assert model.predict(c._volumes[:2]).shape == (2,)
    # the campaign goes on (however far a fast machine got before the kill)
    free = c.status().n_unlabeled - c.status().n_queued
    pid = int(c.query(1, fit=False)[0]) if free else int(sorted(queued - set(labels))[0])
    c.label(pid, 0)
    assert c._store.integrity_check() == "ok"


CHECKPOINT = """
    import os, signal, sys
    from skcryoal.campaign import Campaign, _checkpoint, _store

    folder, moment = sys.argv[1], sys.argv[2]
    c = Campaign.open(folder)
    c.fit()
    print("fit", flush=True)
    if moment == "writing":
        dump = _checkpoint.pickle.dump

        def torn_dump(obj, fh, protocol=None):
            data = _checkpoint.pickle.dumps(obj, protocol=protocol)
            fh.write(data[: len(data) // 2])
            os.kill(os.getpid(), signal.SIGKILL)

        _checkpoint.pickle.dump = torn_dump
    elif moment == "recording":  # the file is complete and renamed, not recorded yet
        def die(self, record):
            os.kill(os.getpid(), signal.SIGKILL)

        _store.Store.add_model = die
    if moment == "labeling":  # inside the label transaction, before its commit
        def die(self, cur, kind, annotator):
            cur.execute("INSERT INTO actions (kind, annotator, time) VALUES ('label', 'x', 't')")
            os.kill(os.getpid(), signal.SIGKILL)

        _store.Store._new_action = die
    c.label(20, 1)
    c.fit()
"""


@pytest.mark.parametrize("moment", ["labeling", "writing", "recording"])
def test_sigkill_at_a_chosen_moment(tmp_path, crash_campaign, moment):
    folder, _ = crash_campaign
    worker = spawn(tmp_path, "checkpoint", CHECKPOINT, folder, moment)
    output = worker.communicate(timeout=120)[0].decode()
    assert worker.returncode == -signal.SIGKILL, output
    c = Campaign.open(folder)
    assert c._store.integrity_check() == "ok"
    assert [m["model_id"] for m in c._store.models()] == [1]
    assert c._latest_model()[1]["model_id"] == 1 and c.model is not None
    files = sorted(p.name for p in (folder / "models").iterdir())
    if moment == "labeling":  # the label being given is lost, nothing else
        assert 20 not in labels_of(c) and len(files) == 1
        assert c.history()["action"].tolist() == ["seed"] * 6
    elif moment == "writing":
        assert len(files) == 2 and sum(name.startswith(".") for name in files) == 1  # the temp
    else:
        assert len(files) == 2 and not any(name.startswith(".") for name in files)  # an orphan
    if moment != "labeling":
        assert labels_of(c)[20] == 1  # the label before the fit was committed
    c.label(21, 2)
    c.fit()
    assert c._latest_model()[1]["model_id"] == 2
