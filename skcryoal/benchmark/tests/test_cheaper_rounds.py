"""Benchmarks with warm-started cycles and a subsampled pool per query."""

import pandas as pd
import pytest

from skcryoal.benchmark import ClassifierFactory, decode_indices, read_results

from .test_campaign import campaign as _campaign

TIMING = ["train_seconds", "query_seconds"]


@pytest.fixture
def data(easy_data):
    X, y = easy_data(n_samples=56, n_classes=3, size=16)
    return X[:40], y[:40], X[40:], y[40:]


def campaign(data, **kwargs):
    """test_campaign's small run, with one trial of two-epoch fits (a warm fit is shorter)."""
    kwargs.setdefault("classifier_factory", ClassifierFactory(width=4, max_epochs=2, batch_size=16))
    return _campaign(data, **{"n_trials": 1, **kwargs})


def test_warm_cycles_continue_from_the_previous_model_and_pair_with_cold(data, tmp_path):
    from skcryoal.benchmark._schedule import derive_seed
    from skcryoal.campaign import Campaign

    cold = campaign(data)
    warm = campaign(data, warm_start_epochs=1, campaigns_dir=tmp_path / "c")
    # same trials, initial sets and cycle 0 (fit and query): the trials pair up
    first = ["strategy", "trial", "trial_seed", "cycle", "n_labeled", "added", "accuracy"]
    pd.testing.assert_frame_equal(warm[warm.cycle == 0][[*first, "queried"]],
                                  cold[cold.cycle == 0][[*first, "queried"]])  # fmt: skip
    for label in ("ema", "random"):
        rows = warm[warm.strategy == label]
        c = Campaign.open(tmp_path / "c" / f"{label}-trial0", pool=data[0])
        assert c.warm_start_epochs == 1
        models = c._store.models()
        metrics = [m["metrics"] for m in models]
        assert [m["warm_start_from"] for m in metrics] == [
            None,
            *[m["model_id"] for m in models[:-1]],
        ]
        assert [m["epochs"] for m in metrics] == [2, 1, 1]
        seed = int(rows["trial_seed"].iloc[0])
        assert [m["random_state"] for m in metrics] == [
            derive_seed(seed, "fit", k) for k in range(3)
        ]


def test_resume_replays_the_warm_fits_of_an_unfinished_pair(data, tmp_path, monkeypatch):
    from skcryoal import CryoNetClassifier
    from skcryoal.campaign import Campaign

    kwargs = dict(strategies=["random"], warm_start_epochs=1)
    full = campaign(data, **kwargs)
    path = tmp_path / "results.csv"
    real_fit = CryoNetClassifier.fit
    calls = {"n": 0}

    def failing_fit(self, *args, **kw):
        calls["n"] += 1
        if calls["n"] == 3:  # cycles 0 and 1 done
            raise KeyboardInterrupt
        return real_fit(self, *args, **kw)

    monkeypatch.setattr(CryoNetClassifier, "fit", failing_fit)
    with pytest.raises(KeyboardInterrupt):
        campaign(data, results_file=path, **kwargs)
    assert len(read_results(path)) == 2
    monkeypatch.setattr(CryoNetClassifier, "fit", real_fit)
    resumed = campaign(data, results_file=path, campaigns_dir=tmp_path / "c", **kwargs)
    # cycle 2 continued from a replayed cycle-1 model: the uninterrupted run's outcome
    pd.testing.assert_frame_equal(resumed.drop(columns=TIMING), full.drop(columns=TIMING))
    c = Campaign.open(tmp_path / "c" / "random-trial0", pool=data[0])
    metrics = [m["metrics"] for m in c._store.models()]
    assert [(m["n_labels"], m["warm_start_from"], m["epochs"]) for m in metrics] == [
        (8, None, 2),
        (12, 1, 1),
        (16, 2, 1),
    ]


def test_subsample_applies_to_every_strategy(data, tmp_path):
    from skcryoal.campaign import Campaign

    results = campaign(data, subsample=10, campaigns_dir=tmp_path / "c")
    for label in ("ema", "random"):
        c = Campaign.open(tmp_path / "c" / f"{label}-trial0", pool=data[0])
        assert c.subsample == 10 and c.rounds()["n_scored"].tolist() == [10, 10]
        queried = results[results.strategy == label]["queried"].iloc[:2]
        assert [decode_indices(q).tolist() for q in queried] == [
            g["particle_id"].tolist()
            for _, g in c.particles().dropna(subset=["round"]).sort_values(["round", "rank"])
            .groupby("round", sort=True)
        ]  # fmt: skip
    with pytest.raises(ValueError, match="strategy 'ema:subsample=5'.*conflict"):
        campaign(data, strategies=["ema:subsample=5"], subsample=10)
    with pytest.raises(ValueError, match="warm_start_epochs must be None"):
        campaign(data, warm_start_epochs=0)


def test_authors_offset_and_sgd_schedule_follow_the_warm_epochs():
    from skcryoal import CryoNetClassifier
    from skcryoal.benchmark._runner import authors_cycle_params

    template = CryoNetClassifier(ema_mode="authors", max_epochs=10, batch_size=4)
    schedule = [8, 12, 16]
    cold = authors_cycle_params(template, schedule, 2)
    warm = authors_cycle_params(template, schedule, 2, warm_start_epochs=3)
    assert cold["ema_step_offset"] == 10 * 2 + 10 * 3
    assert warm["ema_step_offset"] == 10 * 2 + 3 * 3
    assert ClassifierFactory().warm_params(5) == {}
    (scheduler,) = ClassifierFactory(recipe="sgd-paper").warm_params(5).values()
    assert scheduler.milestones == [4]
