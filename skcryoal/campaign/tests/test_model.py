"""Fitting, checkpoints, queries and the learner of a campaign."""

import os
import time

import numpy as np
import pytest

from skcryoal import ActiveLearner
from skcryoal.campaign import Campaign
from skcryoal.query import RandomQuery

from ._helpers import labels_of, sql, tiny_clf


def pick_first(learner, X_pool, n_instances=1):
    """A module-level (so picklable) strategy: the first rows of the pool."""
    return np.arange(n_instances)


pick_first.requires_fit = False  # without it, a strategy is taken to need a fitted model


def test_cold_start_is_a_recorded_random_selection(make_campaign):
    c = make_campaign(n_seeds=1, random_state=3)
    ids = c.query(4)
    assert len(ids) == 4 and 0 not in ids
    (round_,) = c._store.rounds()
    assert round_["cold_start"] and round_["model_id"] is None
    assert round_["strategy"]["configured"] == {"name": "ema", "params": {}}
    assert "RandomQuery" in round_["strategy"]["used"]
    assert c._store.models() == []  # 1 label: nothing to fit
    expected = RandomQuery(random_state=round_["seed"])(None, np.zeros((29, 1, 2, 2, 2)), 4)
    np.testing.assert_array_equal(ids, np.arange(1, 30)[expected])
    again = make_campaign(name="again", n_seeds=1, random_state=3).query(4)
    np.testing.assert_array_equal(ids, again)  # reproducible from random_state
    np.testing.assert_array_equal(c.queued(), ids)
    assert not np.isin(c.query(4), ids).any()  # a new round of fresh particles


def test_query_fits_first_then_ranks_and_records_scores(make_campaign):
    c = make_campaign(n_seeds=6)
    ids = c.query(5)
    (model,) = c._store.models()
    (round_,) = c._store.rounds()
    assert not round_["cold_start"] and round_["model_id"] == model["model_id"]
    assert model["n_labels"] == 6
    rows = sql(c.path, "SELECT particle_id, rank, score FROM queue ORDER BY rank")
    assert [r[0] for r in rows] == ids.tolist() and [r[1] for r in rows] == [1, 2, 3, 4, 5]
    scores = [r[2] for r in rows]
    assert all(s is not None for s in scores) and scores == sorted(scores, reverse=True)
    frame = c.particles().set_index("particle_id")
    assert frame.loc[ids.tolist(), "queued"].all() and frame.loc[int(ids[0]), "rank"] == 1
    np.testing.assert_allclose(frame.loc[ids.tolist(), "score"], scores)
    rounds = c.rounds()
    assert rounds[["round_id", "model_id", "n_requested", "n_queued"]].values.tolist() == [
        [1, model["model_id"], 5, 5]
    ]
    assert rounds["configured"][0] == {"name": "ema", "params": {}} and not rounds["cold_start"][0]
    c.label(ids[:2], 1)
    more = c.query(3, fit=False)  # the stale model as it is: no new fit
    assert len(c._store.models()) == 1 and not np.isin(more, ids).any()
    c.query(1)  # labels changed since the model: fit first
    assert len(c._store.models()) == 2 and c._store.models()[1]["n_labels"] == 8
    assert c.status().model_up_to_date


def test_query_validates_n(make_campaign):
    c = make_campaign(n_seeds=0)
    with pytest.raises(ValueError, match="positive integer"):
        c.query(0)
    with pytest.raises(ValueError, match="only 30 are neither labeled"):
        c.query(31)
    c.query(30)
    with pytest.raises(ValueError, match="nothing left to query"):
        c.query(1)


def test_strategy_by_spec_and_callable(make_campaign):
    c = make_campaign(n_seeds=0, strategy=pick_first)
    np.testing.assert_array_equal(c.query(3), [0, 1, 2])  # needs no model: no cold start
    np.testing.assert_array_equal(Campaign.open(c.path).query(2), [3, 4])
    d = make_campaign(name="spec", n_seeds=4, strategy="entropy:subsample=10")
    d.query(2)
    assert "EntropyQuery" in d._store.rounds()[0]["strategy"]["used"]
    assert "subsample=10" in d._store.rounds()[0]["strategy"]["used"]


def test_fit_reports_epochs_and_records_metrics(make_campaign):
    c = make_campaign(n_seeds=6)
    epochs = []
    model = c.fit(on_epoch=lambda epoch, n: epochs.append((epoch, n)))
    assert epochs == [(1, 2), (2, 2)]
    assert not any(name == "skcryoal_campaign_epochs" for name, _ in model.callbacks_)
    (record,) = c._store.models()
    metrics = record["metrics"]
    assert metrics["n_labels"] == 6 and 0.0 <= metrics["train_accuracy"] <= 1.0
    assert metrics["epochs"] == 2 and sum(metrics["per_class"].values()) == 6
    assert (c.path / record["file"]).is_file()
    status = c.status()
    assert status.model_up_to_date and status.models[0]["id"] == record["model_id"]
    c.label(10, 0)
    assert not c.status().model_up_to_date
    assert "labels changed since" in str(c.status())


def test_fit_needs_two_labels_and_can_be_cancelled(make_campaign):
    c = make_campaign(n_seeds=1)
    with pytest.raises(ValueError, match="at least 2 labeled particles; the campaign has 1"):
        c.fit()
    c.label(5, 2)

    def stop(epoch, n_epochs):
        raise KeyboardInterrupt("stop button")

    with pytest.raises(KeyboardInterrupt, match="stop button"):
        c.fit(on_epoch=stop)
    assert c._store.models() == [] and c.model is None


def test_an_incomplete_checkpoint_is_never_loaded(make_campaign):
    c = make_campaign(n_seeds=6)
    first = c.fit()
    c.label(10, 0)
    c.fit()
    latest = c._store.models()[-1]
    path = c.path / latest["file"]
    path.write_bytes(path.read_bytes()[: latest["size"] // 2])  # a torn write
    (c.path / "models" / ".model-x.0123.tmp.pkl").write_bytes(b"half")  # a killed writer
    (c.path / "models" / "model-orphan.pkl").write_bytes(b"never recorded")
    reopened = Campaign.open(c.path)
    model = reopened.model
    assert model is not None and reopened._latest_model()[1]["model_id"] == 1
    X = reopened._volumes[:4]
    np.testing.assert_allclose(model.predict_proba(X), first.predict_proba(X), rtol=1e-5)


def test_an_unreadable_only_checkpoint_is_said(make_campaign, tmp_path):
    c = make_campaign(n_seeds=6, strategy="margin")
    c.fit()
    record = c._store.models()[0]
    (c.path / record["file"]).write_bytes(b"garbage")
    c = Campaign.open(c.path)
    pattern = r"checkpoint of the latest model #1 cannot be loaded: .* random selection .*cold"
    with pytest.warns(UserWarning, match=pattern):
        c.query(2, fit=False)
    assert c.rounds()["cold_start"].tolist() == [True]
    pattern = r"no model can be loaded: the checkpoint of the latest"
    with pytest.raises(ValueError, match=pattern) as info:
        c.predict(tmp_path / "p", fit=False)
    assert record["file"] in str(info.value) and "Fit a new model" in str(info.value)
    assert "label at least 2" not in str(info.value)


def test_a_query_with_an_older_model_says_so(make_campaign):
    c = make_campaign(n_seeds=6, strategy="margin")
    c.fit()
    c.label(10, 0)
    c.fit()
    (c.path / c._store.models()[-1]["file"]).write_bytes(b"garbage")
    c = Campaign.open(c.path)
    with pytest.warns(UserWarning, match=r"model #2 cannot be loaded.*with the older model #1"):
        c.query(2, fit=False)
    assert c.rounds()["model_id"].tolist() == [1]


def test_old_stray_temp_files_are_removed_on_open(make_campaign):
    c = make_campaign()
    (c.path / "models").mkdir()
    old = c.path / "models" / ".model-a.0123.tmp.pkl"
    young = c.path / "models" / ".model-b.4567.tmp.pkl"
    old.write_bytes(b"x")
    young.write_bytes(b"y")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    Campaign.open(c.path)
    assert not old.exists() and young.exists()  # young: maybe another process writing now


def test_learner_wraps_the_latest_model_and_all_labels(make_campaign, pool):
    X, _ = pool
    c = make_campaign(n_seeds=6)
    unfitted = c.learner
    assert isinstance(unfitted, ActiveLearner) and len(unfitted.y_training) == 6
    c.label([20, 21], [0, 1])
    model = c.fit()
    learner = Campaign.open(c.path).learner
    assert len(learner.X_training) == 8 and sorted(learner.y_training.tolist()) == sorted(
        labels_of(c).values()
    )
    np.testing.assert_allclose(
        learner.estimator.predict_proba(X[:3]), model.predict_proba(X[:3]), rtol=1e-5
    )
    idx, _ = learner.query(X[10:20], n_instances=2)
    assert len(idx) == 2


def test_a_pipeline_estimator_reports_one_epoch(make_campaign):
    from sklearn.pipeline import make_pipeline

    from skcryoal.preprocessing import SubtomogramStandardizer

    c = make_campaign(n_seeds=6, estimator=make_pipeline(SubtomogramStandardizer(), tiny_clf()))
    calls = []
    c.fit(on_epoch=lambda e, n: calls.append((e, n)))
    assert calls == [(1, 2), (2, 2)]  # the hook reaches the pipeline's last step


def nan_pool_campaign(tmp_path, pool, bad=7):
    """A referenced pool whose particle ``bad`` has a NaN voxel, labeled around it."""
    X = np.array(pool[0], dtype=np.float32)
    X[bad, 0, 1, 1, 1] = np.nan
    c = Campaign.create(
        tmp_path / "c", X, [0, 1, 2], estimator=tiny_clf(), annotator="ana", copy_pool=False
    )
    return c


def test_a_nan_labeled_volume_is_named_by_its_particle_id(tmp_path, pool):
    c = nan_pool_campaign(tmp_path, pool)
    c.label([0, 3, 7, 9], [0, 1, 2, 0])  # particle 7 is row 2 of the training subset
    with pytest.raises(ValueError, match=r"particle\(s\) 7 of the campaign .*NaN") as info:
        c.fit()
    assert "row(s) 2" not in str(info.value) and "campaign.skip([7])" in str(info.value)
    assert c._store.models() == []
    c.skip(7)  # what the message advises: the fit goes on without it
    c.fit()


def test_a_nan_pool_volume_is_named_by_its_particle_id_when_scored(tmp_path, pool):
    c = nan_pool_campaign(tmp_path, pool)
    c.label([0, 3, 9], [0, 1, 2])
    c.fit()
    with pytest.raises(ValueError, match=r"particle\(s\) 7 of the campaign .*cannot score"):
        c.query(2, fit=False, random_state=0)
    assert c._store.rounds() == []
    with pytest.raises(ValueError, match=r"particle\(s\) 7 of the campaign .*cannot be predicted"):
        c.predict(tmp_path / "out", fit=False)
