"""The store of record: schema, durability settings, labels, undo, history, disagreements."""

import json
import re

import numpy as np
import pytest

from skcryoal.campaign import SCHEMA_VERSION, Campaign, NewerCampaignError

from ._helpers import labels_of, sql


def test_database_settings_and_schema(make_campaign):
    c = make_campaign()
    assert sql(c.path, "PRAGMA journal_mode")[0][0] == "wal"
    assert c._store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert c._store._conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000
    assert c._store.integrity_check() == "ok"
    meta = dict(sql(c.path, "SELECT key, value FROM meta"))
    assert json.loads(meta["schema_version"]) == SCHEMA_VERSION
    tables = {r[0] for r in sql(c.path, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"particles", "classes", "actions", "events", "rounds", "queue", "models"} <= tables


def test_a_newer_campaign_is_refused(make_campaign):
    c = make_campaign()
    sql(c.path, "UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(NewerCampaignError, match="schema version 99.*newer skcryoal.*Upgrade"):
        Campaign.open(c.path)


def test_seed_labels_and_classes(make_campaign, pool):
    c = make_campaign(n_seeds=5)
    _, y = pool
    assert c.classes == [0, 1, 2] and c.n_particles == 30 and c.volume_shape == (16, 16, 16)
    assert labels_of(c) == {i: int(y[i]) for i in range(5)}
    assert set(c.labels()["annotator"]) == {"seed"}
    status = c.status()
    assert (status.n_labeled, status.n_unlabeled, status.n_queued) == (5, 25, 0)
    assert sum(status.per_class.values()) == 5 and list(status.per_class) == [0, 1, 2]


def test_last_label_wins_and_disagreements_are_reported(make_campaign):
    c = make_campaign(n_seeds=0)
    c.label([10, 11], [0, 1], annotator="ana")
    c.label(10, 2, annotator="bob")  # disagrees with ana
    c.label(11, "1", annotator="bob")  # agrees (an int class given as text)
    assert labels_of(c) == {10: 2, 11: 1}
    assert c.labels().set_index("particle_id").loc[10, "annotator"] == "bob"
    events = c.history()
    assert events["event"].tolist() == ["label", "label", "relabel", "relabel"]
    assert events["annotator"].tolist() == ["ana", "ana", "bob", "bob"]
    d = c.disagreements()
    assert d["particle_id"].tolist() == [10, 10]
    assert dict(zip(d["annotator"], d["label"])) == {"ana": 0, "bob": 2}
    assert d["current_label"].tolist() == [2, 2]
    assert c.status().disagreements == 1
    c.label(10, 0, annotator="ana")  # ana relabels: last label wins again
    assert labels_of(c)[10] == 0 and c.status().disagreements == 1


def test_undo_restores_what_was_current_before(make_campaign):
    c = make_campaign(n_seeds=2)
    c.label([5, 6], 1, annotator="ana")
    c.label(5, 2, annotator="bob")
    c.skip(7, annotator="ana")
    undone = c.undo(annotator="ana")  # ana's latest: the skip
    assert undone["kind"] == "skip" and undone["particle_ids"] == [7]
    undone = c.undo(annotator="ana")  # then her label of 5 and 6
    assert undone["particle_ids"] == [5, 6] and undone["labels"] == [1, 1]
    assert labels_of(c) == {0: labels_of(c)[0], 1: labels_of(c)[1], 5: 2}  # bob's label stays
    assert c.undo(annotator="ana") is None  # seed labels are not undone
    assert c.undo()["annotator"] == "bob"
    assert set(labels_of(c)) == {0, 1}
    history = c.history()
    assert (history["event"] == "undo").sum() == 4
    assert history.loc[history["event"] != "undo", "undone"].sum() == 4


def test_skip_leaves_the_queue_and_a_later_label_supersedes_it(make_campaign):
    c = make_campaign(n_seeds=0)
    ids = c.query(3)
    c.skip(ids[0])
    np.testing.assert_array_equal(c.queued(), ids[1:])
    assert c.status().n_skipped == 1
    c.label(ids[0], 1)
    assert c.status().n_skipped == 0 and labels_of(c) == {int(ids[0]): 1}
    frame = c.particles().set_index("particle_id")
    assert frame.loc[int(ids[1]), "queued"] and not frame.loc[int(ids[0]), "queued"]
    assert frame.loc[int(ids[0]), "label"] == 1 and frame.loc[int(ids[1]), "label"] is None


@pytest.mark.parametrize(
    "ids, labels, match",
    [
        ([1, 2], ["ribosome", 0], "unknown class 'ribosome'"),
        ([1, 30], 0, r"particle ids \[30\] are not in this campaign"),
        ([-1], 0, r"particle ids \[-1\] are not in this campaign"),
        ([3, 3], [0, 1], r"\[3\] appear more than once"),
        ([1, 2], [0], "got 1 labels for 2 particle ids"),
        ([1.5], 0, "must be integers"),
        ([1], 7, "unknown class 7.*classes are"),
    ],
)
def test_bad_labels_change_nothing(make_campaign, ids, labels, match):
    c = make_campaign(n_seeds=2)
    before = c.history()
    with pytest.raises(ValueError, match=match):
        c.label(ids, labels)
    assert c.history().equals(before)
    with pytest.raises(ValueError, match="annotator must be"):
        c.label(1, 0, annotator=" ")
    assert c.history().equals(before)


@pytest.mark.parametrize(
    "ids, labels, got",
    [
        (3, None, "None"),
        ([3, 4], [1, None], "None"),
        (3, float("nan"), "NaN"),
        ([3], [None], "None"),
    ],
)
def test_no_label_is_refused_with_the_way_to_skip_or_undo(make_campaign, ids, labels, got):
    c = make_campaign(n_seeds=2)
    before = c.history()
    who = 4 if labels == [1, None] else 3
    with pytest.raises(ValueError) as info:
        c.label(ids, labels)
    message = str(info.value)
    assert f"got no label ({got}) for particle(s) {who}" in message
    assert "[0, 1, 2]" in message and "skip(" in message and "undo()" in message
    assert c.history().equals(before)


def test_string_classes_suggest_the_closest_name(tmp_path, pool):
    X, _ = pool
    c = Campaign.create(tmp_path / "c", X, ["ribosome", "proteasome", "26S proteasome"])
    with pytest.raises(ValueError, match="did you mean 'ribosome'"):
        c.label(0, "ribosme")
    c.label([0, 1], ["26S%20proteasome", "ribosome"])  # percent-encoded, as in STAR files
    assert labels_of(c) == {0: "26S proteasome", 1: "ribosome"}
    assert c.classes == ["ribosome", "proteasome", "26S proteasome"]


def test_empty_calls_record_nothing(make_campaign):
    c = make_campaign(n_seeds=0)
    assert c.label([], []) is None and c.skip([]) is None and c.undo() is None
    assert len(c.history()) == 0 and len(c.labels()) == 0


def test_status_prints_and_renders(make_campaign):
    c = make_campaign(n_seeds=3)
    text = str(c.status())
    assert re.search(r"\n  labeled +3 \(10.0%\)\n", text) and "none fitted yet" in text
    assert "pretrained encoder  none (campaign.pretrain() learns" in text
    assert c.status()._repr_html_().startswith("<table>")


def test_an_interrupted_creation_is_created_again(tmp_path, pool):
    X, _ = pool
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "campaign.sqlite").write_bytes(b"")  # killed before the store was filled
    with pytest.raises(ValueError, match="creation .*interrupted.*create the campaign again"):
        Campaign.open(folder)
    assert Campaign.create(folder, X, [0, 1, 2]).n_particles == 30  # leftovers replaced


@pytest.mark.parametrize(
    "name, match",
    [
        ("campaign.sqlite", "is not a readable campaign database .*restore it from a backup"),
        ("estimator.pkl", "cannot be read back .*UnpicklingError.*Restore it from a backup"),
    ],
)
def test_a_damaged_file_is_named(make_campaign, name, match):
    from skcryoal.campaign import CampaignFileError

    c = make_campaign()
    c.close()  # the last connection folds the write-ahead log into the database
    (c.path / name).write_bytes(b"not what the campaign wrote" * 100)
    with pytest.raises(CampaignFileError, match=match) as info:
        Campaign.open(c.path)
    assert str(c.path / name) in str(info.value) and isinstance(info.value, OSError)


def test_a_read_only_folder_is_said_and_nothing_is_recorded(make_campaign):
    c = make_campaign()
    before = labels_of(c)
    c._store._conn.execute("PRAGMA query_only = 1")  # what SQLite says in a read-only folder
    database = re.escape(str(c.path / "campaign.sqlite"))
    with pytest.raises(PermissionError, match=rf"campaign database {database}: .* read-only"):
        c.label(20, 1)
    with pytest.raises(PermissionError, match=re.escape(f"chmod -R u+w {c.path})")):
        c.query(2)
    c._store._conn.execute("PRAGMA query_only = 0")
    assert labels_of(c) == before and len(c.rounds()) == 0
    c.label(20, 1)  # nothing was left half done: the next write works
    assert labels_of(c)[20] == 1


def test_a_full_disk_is_said_and_nothing_is_recorded(make_campaign):
    import errno

    c = make_campaign()
    pages = c._store._conn.execute("PRAGMA page_count").fetchone()[0]
    c._store._conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's full disk
    n_events = len(c.history())
    with pytest.raises(OSError, match="the disk is full .*free some space") as info:
        for _ in range(200):
            n_events = len(c.history())
            c.label(list(range(6, 30)), 1, annotator="x" * 200)
    assert info.value.errno == errno.ENOSPC and str(c.path) in str(info.value)
    assert len(c.history()) == n_events  # the failing call recorded nothing
    c._store._conn.execute("PRAGMA max_page_count = 1073741823")
    assert c.label(6, 0) is not None
