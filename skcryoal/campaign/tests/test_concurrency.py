"""Two annotators labeling one campaign at the same time, from two processes."""

import numpy as np

from conftest import make_easy_volumes
from skcryoal.campaign import Campaign

from ._helpers import labels_of, spawn, tiny_clf, wait_for_line

ANNOTATOR = """
    import os, sys, time
    from skcryoal.campaign import Campaign

    folder, name, first, label, log_path, go = sys.argv[1:7]
    c = Campaign.open(folder, annotator=name)
    with open(log_path, "w") as log:
        log.write("ready\\n")
    while not os.path.exists(go):  # start together
        time.sleep(0.01)
    queued = []
    for k, pid in enumerate(range(int(first), int(first) + 30)):
        c.label(pid, int(label))  # one transaction per call
        if k % 10 == 0:
            queued += c.query(2, fit=False).tolist()
    with open(log_path, "a") as log:
        log.write("queued " + " ".join(map(str, queued)) + "\\n")
"""


def test_two_annotators_at_once(tmp_path):
    X, _ = make_easy_volumes(80, 3, 16, random_state=2)
    folder = tmp_path / "c"
    Campaign.create(folder, X, [0, 1, 2], estimator=tiny_clf(), strategy="random")
    go = tmp_path / "go"
    logs = {name: tmp_path / f"{name}.log" for name in ("ana", "bob")}
    workers = {
        "ana": spawn(tmp_path, "ana", ANNOTATOR, folder, "ana", 0, 0, logs["ana"], go),
        "bob": spawn(tmp_path, "bob", ANNOTATOR, folder, "bob", 20, 1, logs["bob"], go),
    }
    for name, worker in workers.items():
        wait_for_line(logs[name], "ready", worker)
    go.touch()
    for worker in workers.values():
        output = worker.communicate(timeout=120)[0].decode()
        assert worker.returncode == 0, output

    c = Campaign.open(folder)
    assert c._store.integrity_check() == "ok"
    history = c.history()
    assert (history["annotator"] == "ana").sum() == 30 and (
        history["annotator"] == "bob"
    ).sum() == 30
    labels = labels_of(c)
    assert sorted(labels) == list(range(50))
    assert all(labels[p] == 0 for p in range(20)) and all(labels[p] == 1 for p in range(30, 50))
    for pid in range(20, 30):  # both labeled it: the later label is current
        events = history[history["particle_id"] == pid]
        assert labels[pid] == events["label"].iloc[-1]
        assert events["event"].tolist() == ["label", "relabel"]
    d = c.disagreements()
    assert sorted(set(d["particle_id"])) == list(range(20, 30))
    assert c.status().disagreements == 10
    queued = sum(
        (
            [int(w) for w in line.split()[1:]]
            for log in logs.values()
            for line in log.read_text().splitlines()
            if line.startswith("queued")
        ),
        [],
    )
    assert len(queued) == len(set(queued)) == 12  # no particle queued twice
    rows = c._store.queue()
    assert len(rows) == len({r[1] for r in rows})
    assert np.isin(c.queued(), queued).all()
