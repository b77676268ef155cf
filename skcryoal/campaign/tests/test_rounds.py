"""Cheaper rounds: warm-started fits and a subsampled pool per query round."""

import json

import numpy as np
import pytest
import torch

from skcryoal import CryoNetClassifier
from skcryoal.campaign import Campaign

from ._helpers import sql


def params_of(module):
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def same(a, b, atol=0.0):
    return all(torch.allclose(a[k], b[k], rtol=0.0, atol=atol) for k in a)


@pytest.fixture
def fit_spy(monkeypatch):
    """The task model's parameters when each CryoNetClassifier fit starts its first epoch."""
    seen = []
    real_loop = CryoNetClassifier.fit_loop

    def fit_loop(self, *args, **kwargs):
        seen.append(params_of(self.module_))
        return real_loop(self, *args, **kwargs)

    monkeypatch.setattr(CryoNetClassifier, "fit_loop", fit_loop)
    return seen


# ---------------------------------------------------------------- warm start
def test_warm_fit_continues_from_the_previous_weights(make_campaign, fit_spy):
    c = make_campaign(n_seeds=6, warm_start_epochs=1)
    assert c.warm_start_epochs == 1
    first = c.fit()  # nothing to continue from: cold, the estimator's 2 epochs
    task0, mean0 = params_of(first.module_), params_of(first.ema_module_)
    (record0,) = c._store.models()
    assert record0["metrics"]["warm_start_from"] is None and record0["metrics"]["epochs"] == 2
    assert len(fit_spy) == 1
    assert not same(task0, mean0, atol=1e-6)  # a mean model that lags the task model

    c.label([10, 11, 12], [1, 0, 2])
    epochs = []
    # lr ~ 0: a fit that re-initialized would end far from the first model's weights
    second = c.fit(params={"lr": 1e-12}, on_epoch=lambda e, n: epochs.append((e, n)))
    assert same(fit_spy[1], task0)  # the weights it started from are the first model's
    assert same(params_of(second.module_), task0, atol=1e-6)
    # the mean model restarts from the warm task weights (see _warm), not the old average
    assert same(params_of(second.ema_module_), task0, atol=1e-6)
    assert not same(params_of(second.ema_module_), mean0, atol=1e-6)
    record1 = c._store.models()[1]["metrics"]
    assert record1["warm_start_from"] == record0["model_id"] and record1["epochs"] == 1
    assert epochs == [(1, 1)] and len(second.history) == 1  # a fresh history and schedule
    assert second.history[0, "event_lr"] == pytest.approx(1e-12)
    assert second.max_epochs == 1 and c._template.max_epochs == 2  # the template unchanged
    assert not any(name == "skcryoal_campaign_warm_start" for name, _ in second.callbacks_)


def test_cold_fits_stay_the_default_and_can_be_asked_for(make_campaign, fit_spy):
    cold = make_campaign(n_seeds=6)
    assert cold.warm_start_epochs is None and cold.subsample is None
    first = cold.fit()
    cold.label([10, 11], [1, 0])
    second = cold.fit(params={"lr": 1e-12})
    # re-initialized: it starts, and with lr ~ 0 ends, far from the first model
    assert not same(fit_spy[1], params_of(first.module_), atol=1e-3)
    assert not same(params_of(second.module_), params_of(first.module_), atol=1e-3)
    metrics = [m["metrics"] for m in cold._store.models()]
    assert [m["warm_start_from"] for m in metrics] == [None, None]
    assert [m["epochs"] for m in metrics] == [2, 2]
    # per fit: warm_start=<epochs> on a cold campaign, False on a warm one
    cold.fit(warm_start=1)
    assert cold._store.models()[-1]["metrics"]["warm_start_from"] == 2
    warm = make_campaign(name="warm", n_seeds=6, warm_start_epochs=1)
    warm.fit()
    warm.fit(warm_start=False)
    assert warm._store.models()[-1]["metrics"]["warm_start_from"] is None
    assert warm._store.models()[-1]["metrics"]["epochs"] == 2
    with pytest.raises(ValueError, match="conflicts with a warm start of 1 epochs"):
        warm.fit(params={"max_epochs": 3})
    with pytest.raises(ValueError, match="does not say for how many epochs"):
        warm.fit(warm_start=True)
    with pytest.raises(ValueError, match="positive integer"):
        warm.fit(warm_start=0)


def test_a_reopened_campaign_continues_from_the_saved_model(make_campaign, fit_spy):
    c = make_campaign(n_seeds=6, warm_start_epochs=1)
    ids = c.query(3)  # fits the first model (cold), then queues
    saved = params_of(c.model.module_)
    c.label(ids, [0, 1, 2])
    c.close()  # the process ends (or is killed): nothing but the folder is left

    reopened = Campaign.open(c.path)
    assert reopened.warm_start_epochs == 1 and reopened._model_cache == (None, None)
    reopened.query(3)  # labels changed: a warm fit first, from the checkpoint
    assert same(fit_spy[-1], saved)
    models = reopened._store.models()
    assert models[1]["metrics"]["warm_start_from"] == models[0]["model_id"]
    assert models[1]["metrics"]["epochs"] == 1


def test_a_lost_checkpoint_is_said_not_silently_skipped(make_campaign, fit_spy):
    c = make_campaign(n_seeds=6, warm_start_epochs=1)
    c.fit()
    c.label(10, 0)
    c.fit()
    c.label(11, 1)
    latest = c._store.models()[-1]
    (c.path / latest["file"]).write_bytes(b"torn")  # the latest checkpoint is unreadable
    reopened = Campaign.open(c.path)
    with pytest.warns(UserWarning, match="warm-starting from model #1 instead"):
        reopened.fit()
    assert reopened._store.models()[-1]["metrics"]["warm_start_from"] == 1
    for record in reopened._store.models():
        (c.path / record["file"]).unlink(missing_ok=True)  # every checkpoint gone
    reopened = Campaign.open(c.path)
    with pytest.warns(UserWarning, match="re-initializes the model and trains for"):
        reopened.fit()
    metrics = reopened._store.models()[-1]["metrics"]
    assert metrics["warm_start_from"] is None and metrics["epochs"] == 2


# ---------------------------------------------------------------- settings
def test_settings_are_stored_validated_and_old_folders_read(make_campaign, tmp_path):
    from sklearn.dummy import DummyClassifier

    c = make_campaign(n_seeds=6, warm_start_epochs=3, subsample=12)
    meta = dict(sql(c.path, "SELECT key, value FROM meta"))
    assert json.loads(meta["warm_start_epochs"]) == 3 and json.loads(meta["subsample"]) == 12
    again = Campaign.open(c.path)
    assert (again.warm_start_epochs, again.subsample) == (3, 12)
    for bad in (0, -1, True, 1.5, "3"):
        with pytest.raises(ValueError, match="warm_start_epochs must be None"):
            make_campaign(name="bad", warm_start_epochs=bad)
        with pytest.raises(ValueError, match="subsample must be None"):
            make_campaign(name="bad", subsample=bad)
    with pytest.raises(ValueError, match="needs a skorch estimator"):
        make_campaign(name="bad", estimator=DummyClassifier(), warm_start_epochs=2)
    with pytest.raises(ValueError, match="conflict"):
        make_campaign(name="bad", strategy="ema:subsample=5", subsample=10)
    with pytest.raises(ValueError, match="conflict"):
        make_campaign(name="bad", strategy=Recorder(tmp_path / "log", subsample=4), subsample=10)
    assert not (tmp_path / "bad" / "campaign.sqlite").exists()  # nothing written
    # a folder written before these settings existed: cold fits, every particle scored
    sql(c.path, "DELETE FROM meta WHERE key IN ('warm_start_epochs', 'subsample')")
    old = Campaign.open(c.path)
    assert (old.warm_start_epochs, old.subsample) == (None, None)
    old.query(2)
    assert old._store.models()[0]["metrics"]["epochs"] == 2
    assert old.rounds()["n_scored"].tolist() == [24]


# ---------------------------------------------------------------- subsample
class Recorder:
    """A picklable strategy that logs the pool rows it is offered and picks its last ones."""

    requires_fit = False

    def __init__(self, log, subsample=None):
        self.log = str(log)
        self.subsample = subsample

    def __call__(self, learner, X_pool, n_instances=1):
        with open(self.log, "a") as fh:
            fh.write(json.dumps(np.asarray(X_pool.indices).tolist()) + "\n")
        return np.arange(len(X_pool) - n_instances, len(X_pool))


def offered(log):
    return [np.asarray(json.loads(line)) for line in log.read_text().splitlines()]


def run_rounds(c, y, n_rounds=3, n=3):
    """Query and label ``n_rounds`` rounds; return the queued ids and the free rows of each."""
    queued, free = [], []
    for k in range(n_rounds):
        taken = set(c.labels()["particle_id"]) | set(c.queued().tolist())
        free.append(np.setdiff1d(np.arange(c.n_particles), sorted(taken)))
        ids = c.query(n)
        queued.append(ids)
        if k % 2 == 0:  # label some rounds, leave others queued
            c.label(ids, [int(y[i]) for i in ids])
    return queued, free


def test_each_round_scores_a_fresh_subset_of_the_free_particles(make_campaign, pool, tmp_path):
    _, y = pool
    log = tmp_path / "rows.jsonl"
    c = make_campaign(n_seeds=6, strategy=Recorder(log), subsample=8, random_state=5)
    queued, free = run_rounds(c, y)
    rows = offered(log)
    assert len(rows) == 3
    for ids, seen, allowed in zip(queued, rows, free):
        assert len(seen) == 8 and len(np.unique(seen)) == 8
        assert np.isin(seen, allowed).all()  # never labeled, skipped or queued ones
        np.testing.assert_array_equal(ids, seen[-3:])  # view rows map back to pool rows
    assert len({tuple(r) for r in rows}) == 3  # a different subset each round
    rounds = c.rounds()
    assert rounds["n_scored"].tolist() == [8, 8, 8]
    assert all(r["strategy"]["subsample"] == 8 for r in c._store.rounds())
    assert [r["strategy"]["n_candidates"] for r in c._store.rounds()] == [len(f) for f in free]

    # the same seed draws the same subsets; another seed others
    log2 = tmp_path / "rows2.jsonl"
    same_seed = make_campaign(name="same", n_seeds=6, strategy=Recorder(log2), subsample=8,
                              random_state=5)  # fmt: skip
    run_rounds(same_seed, y)
    assert all(np.array_equal(a, b) for a, b in zip(rows, offered(log2)))
    log3 = tmp_path / "rows3.jsonl"
    other = make_campaign(name="other", n_seeds=6, strategy=Recorder(log3), subsample=8,
                          random_state=6)  # fmt: skip
    run_rounds(other, y)
    assert not np.array_equal(rows[0], offered(log3)[0])


def test_a_subsample_as_large_as_the_free_pool_scores_it_all(make_campaign, pool, tmp_path):
    _, y = pool
    log = tmp_path / "rows.jsonl"
    c = make_campaign(n_seeds=6, strategy=Recorder(log), subsample=24)
    queued, free = run_rounds(c, y, n_rounds=2)
    rows = offered(log)
    np.testing.assert_array_equal(rows[0], free[0])  # 24 free: all of them, in pool order
    np.testing.assert_array_equal(rows[1], free[1])  # fewer left: all of them
    assert c.rounds()["n_scored"].tolist() == [24, 21]
    with pytest.raises(ValueError, match="scores subsample=24 per round; query\\(24\\)"):
        c.query(25)


def test_a_model_based_strategy_ranks_the_subset(make_campaign):
    c = make_campaign(n_seeds=6, subsample=7)
    ids = c.query(3)
    (round_,) = c._store.rounds()
    assert not round_["cold_start"] and round_["strategy"]["n_scored"] == 7
    assert not np.isin(ids, np.arange(6)).any() and len(np.unique(ids)) == 3
    scores = sql(c.path, "SELECT score FROM queue ORDER BY rank")
    assert all(s[0] is not None for s in scores)
    # a cold start (no model yet) draws from every free particle, recorded as such
    cold = make_campaign(name="cold", n_seeds=1, subsample=7)
    cold.query(3)
    assert cold.rounds()["n_scored"].isna().all()
