import numpy as np
import pandas as pd
import pytest

from skcryoal.benchmark import (
    CEILING,
    ClassifierFactory,
    budget_schedule,
    decode_indices,
    initial_labeled_indices,
    parse_strategy_spec,
    read_results,
    run_campaign,
    summarize_results,
    summary_markdown,
)

TIMING = ["train_seconds", "query_seconds"]


@pytest.fixture
def data(easy_data):
    X, y = easy_data(n_samples=56, n_classes=3, size=16)
    return X[:40], y[:40], X[40:], y[40:]


def factory():
    return ClassifierFactory(width=4, max_epochs=1, batch_size=16)


def campaign(data, **kwargs):
    params = dict(
        strategies=["ema", "random"],
        classifier_factory=factory(),
        initial=8,
        step=4,
        final=16,
        n_trials=2,
        random_state=0,
    )
    params.update(kwargs)
    return run_campaign(*data, **params)


def test_campaign_table_and_labeled_sets(data):
    results = campaign(data, strategies=["ema", "random", "entropy"])
    assert list(results.columns[:3]) == ["dataset", "strategy", "strategy_name"]
    assert len(results) == 3 * 2 * 3  # strategies x trials x cycles
    assert results["n_labeled"].tolist()[:3] == [8, 12, 16]
    assert np.allclose(results["fraction"], results["n_labeled"] / 40)
    assert results["accuracy"].between(0, 1).all() and results["macro_f1"].between(0, 1).all()
    last = results["cycle"] == 2
    assert (results.loc[last, "queried"] == "").all()
    assert (results.loc[last, "query_seconds"] == 0).all()
    for trial in (0, 1):
        initial = results[(results.trial == trial) & (results.cycle == 0)]["added"]
        assert initial.nunique() == 1  # same initial set for every strategy
    for (_, _), group in results.groupby(["strategy", "trial"]):
        group = group.sort_values("cycle")
        labeled = decode_indices(group["added"].iloc[0])
        seed = group["trial_seed"].iloc[0]
        assert np.array_equal(labeled, initial_labeled_indices(40, 8, seed))
        for _, row in group.iterrows():
            assert len(labeled) == row["n_labeled"]
            added = decode_indices(row["added"])
            queried = decode_indices(row["queried"])
            if row["cycle"] < 2:
                assert len(queried) == 4
                assert not np.isin(queried, labeled).any()
                labeled = np.concatenate([labeled, queried])
            assert len(np.unique(labeled)) == len(labeled)
            assert added.size in (8, 4)
    # trials differ
    t0 = results[(results.trial == 0) & (results.cycle == 0)]["added"].iloc[0]
    t1 = results[(results.trial == 1) & (results.cycle == 0)]["added"].iloc[0]
    assert t0 != t1


def test_rerun_is_deterministic(data):
    a = campaign(data, n_trials=1).drop(columns=TIMING)
    b = campaign(data, n_trials=1).drop(columns=TIMING)
    pd.testing.assert_frame_equal(a, b)


def test_resume_after_interruption_gives_the_same_table(data, tmp_path, monkeypatch):
    from skcryoal import CryoNetClassifier

    full = campaign(data, results_file=tmp_path / "full.csv")
    path = tmp_path / "results.csv"
    real_fit = CryoNetClassifier.fit
    calls = {"n": 0}

    def failing_fit(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:  # trial 0: ema cycles 0-2, random cycles 0-1 done
            raise KeyboardInterrupt
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(CryoNetClassifier, "fit", failing_fit)
    with pytest.raises(KeyboardInterrupt):
        campaign(data, results_file=path)
    assert len(read_results(path)) == 4
    monkeypatch.setattr(CryoNetClassifier, "fit", real_fit)

    fits = {"n": 0}

    def counting_fit(self, *args, **kwargs):
        fits["n"] += 1
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(CryoNetClassifier, "fit", counting_fit)
    resumed = campaign(data, results_file=path)
    assert fits["n"] == 12 - 4  # finished cycles are not run again
    pd.testing.assert_frame_equal(resumed.drop(columns=TIMING), full.drop(columns=TIMING))
    on_disk = read_results(path)
    assert len(on_disk) == 12
    # each test class's recall, with every row (secondary, for summary.md)
    from skcryoal.benchmark import decode_recall

    recall = [decode_recall(text) for text in on_disk["recall"]]
    test_labels = {str(label) for label in np.unique(data[3])}
    assert all(set(r) == test_labels and all(0 <= v <= 1 for v in r.values()) for r in recall)
    # a third run trains nothing
    fits["n"] = 0
    again = campaign(data, results_file=path)
    assert fits["n"] == 0
    pd.testing.assert_frame_equal(again, resumed)


def test_ctrl_c_swallowed_by_skorch_still_stops(data, tmp_path, monkeypatch):
    from skcryoal.benchmark._progress import InterruptGuard

    real_check = InterruptGuard.check
    state = {"n": 0}

    def check(self):
        state["n"] += 1
        if state["n"] == 2:  # as if SIGINT had arrived during the second fit
            self.interrupted = True
        return real_check(self)

    monkeypatch.setattr(InterruptGuard, "check", check)
    path = tmp_path / "r.csv"
    with pytest.raises(KeyboardInterrupt):
        campaign(data, results_file=path)
    assert len(read_results(path)) == 1


def test_partial_last_line_is_ignored(data, tmp_path):
    path = tmp_path / "r.csv"
    full = campaign(data, n_trials=1, results_file=path)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:3]) + lines[3][:10])  # header, 2 rows, a cut row
    assert len(read_results(path)) == 2
    resumed = campaign(data, n_trials=1, results_file=path)
    pd.testing.assert_frame_equal(resumed.drop(columns=TIMING), full.drop(columns=TIMING))


def test_results_file_cut_inside_its_header_is_resumed(data, tmp_path):
    from skcryoal.benchmark import COLUMNS

    path = tmp_path / "r.csv"
    path.write_text(",".join(COLUMNS)[:25])  # killed during the very first write
    kwargs = dict(strategies=["random"], n_trials=1, final=12, results_file=path)
    first = campaign(data, **kwargs)
    assert read_results(path)["cycle"].tolist() == [0, 1]
    again = campaign(data, **kwargs)
    pd.testing.assert_frame_equal(again, first)


def test_results_file_of_another_campaign_is_refused(data, tmp_path):
    path = tmp_path / "r.csv"
    campaign(data, n_trials=1, results_file=path)
    with pytest.raises(ValueError, match="different campaign"):
        campaign(data, n_trials=1, results_file=path, random_state=1)


def test_variants_semi_supervised_and_ceiling(data, tmp_path):
    results = campaign(
        data,
        strategies=["ema", "mse=ema:distance=mse", "noema=ema:clf.reg_lambda=0", "ema:semi=true"],
        n_trials=1,
        final=12,
        ceiling=True,
    )
    assert list(dict.fromkeys(results["strategy"])) == [
        "ema",
        "mse",
        "noema",
        "ema:semi=true",
        CEILING,
    ]
    assert results.loc[results.strategy == "ema:semi=true", "semi_supervised"].all()
    ceiling = results[results.strategy == CEILING]
    assert ceiling["n_labeled"].tolist() == [40] and ceiling["fraction"].tolist() == [1.0]
    text = summary_markdown(results, title="t")
    assert "Full-pool supervision (40 labels" in text and "| noema |" in text
    summary = summarize_results(results)
    assert set(summary["strategy"]) == set(results["strategy"])


def test_strategy_instance_and_other_baselines(data):
    from skcryoal.query import RandomQuery

    results = campaign(
        data, strategies=[RandomQuery(), "coreset", "mc_dropout", "ll4al"], n_trials=1, final=12
    )
    assert list(dict.fromkeys(results["strategy"])) == [
        "RandomQuery",
        "coreset",
        "mc_dropout",
        "ll4al",
    ]


def test_spec_parsing():
    spec = parse_strategy_spec("lam=ema:clf.reg_lambda=0.1:order=lowest:subsample=none")
    assert spec.label == "lam" and spec.name == "ema"
    assert spec.params == {"order": "lowest", "subsample": None}
    assert spec.classifier_params == {"reg_lambda": 0.1}
    with pytest.raises(ValueError, match="did you mean 'entropy'"):
        parse_strategy_spec("entropi")
    with pytest.raises(ValueError, match="key=value"):
        parse_strategy_spec("ema:distance")
    with pytest.raises(ValueError, match="twice"):
        parse_strategy_spec("ema:order=lowest:order=highest")


def test_schedule():
    assert budget_schedule(24000) == [2400, 3600, 4800, 6000, 7200, 8400, 9600]
    assert budget_schedule(100, 10, 10, 10) == [10]
    with pytest.raises(ValueError, match="larger than the pool"):
        budget_schedule(100, 10, 10, 200)
    with pytest.raises(ValueError, match="does not fit"):
        budget_schedule(100, 10, 7, 30)
    with pytest.raises(ValueError, match="at least 2"):
        budget_schedule(100, 1, 1, 5)
    with pytest.raises(ValueError, match="fraction"):
        budget_schedule(100, 1.5, 1, 5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(strategies=["entropi"]), "did you mean 'entropy'"),
        (dict(strategies=["ema:distanse=kl"]), "unexpected parameter"),
        (dict(strategies=["ema", "ema"]), "unique"),
        (dict(final=100), "larger than the pool"),
        (dict(step=5), "does not fit"),
        (dict(strategies=["ema:clf.not_a_param=1"]), "classifier parameters"),
    ],
)
def test_bad_configuration(data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        campaign(data, **kwargs)


def test_empty_test_set(data):
    X_pool, y_pool, X_test, y_test = data
    with pytest.raises(ValueError, match="test set is empty"):
        run_campaign(X_pool, y_pool, X_test[:0], y_test[:0], initial=8, step=4, final=12)
    with pytest.raises(ValueError, match="one per volume"):
        run_campaign(X_pool, y_pool[:-1], X_test, y_test, initial=8, step=4, final=12)


def test_memmap_pool_is_indexed(data, tmp_path):
    X_pool, y_pool, X_test, y_test = data
    path = tmp_path / "pool.npy"
    np.save(path, X_pool)
    pool = np.load(path, mmap_mode="r")
    settings = dict(strategies=["ema"], final=12, n_trials=1)
    a = campaign((pool, y_pool, X_test, y_test), **settings)
    b = campaign(data, **settings)
    pd.testing.assert_frame_equal(a.drop(columns=TIMING), b.drop(columns=TIMING))


def test_baselines_train_without_the_regularizer_unless_asked():
    plain = ClassifierFactory(width=4, max_epochs=1)
    assert plain("ema", 0).reg_lambda == 0.03
    assert plain(None, 0).reg_lambda == 0.03  # a strategy instance: the classifier's default
    for name in ("random", "entropy", "coreset", "mc_dropout", "ll4al"):
        assert plain(name, 0).reg_lambda == 0.0
    both = ClassifierFactory(width=4, max_epochs=1, regularize_baselines=True, reg_lambda=0.1)
    assert {both(name, 0).reg_lambda for name in ("ema", "random", "ll4al")} == {0.1}
    assert "regularize_baselines=True" in repr(both)


def test_spec_classifier_parameters_override_the_factory(data):
    built = []

    def recording_factory(name, seed):
        built.append(factory()(name, seed))
        return built[-1]

    campaign(
        data,
        strategies="reg=random:clf.reg_lambda=0.03,random",
        classifier_factory=recording_factory,
        final=8,
        n_trials=1,
    )
    lambdas = [clf.reg_lambda for clf in built]  # cycle by cycle: "reg", then "random"
    assert len(lambdas) >= 2 and lambdas == [0.03, 0.0] * (len(lambdas) // 2)


def rounds_queue(campaign_):
    """The queried particles of each round, in rank order."""
    frame = campaign_.particles().dropna(subset=["round"]).sort_values(["round", "rank"])
    return [g["particle_id"].tolist() for _, g in frame.groupby("round", sort=True)]


def test_each_strategy_and_trial_is_a_campaign_kept_for_inspection(data, tmp_path):
    from skcryoal.benchmark._schedule import derive_seed
    from skcryoal.campaign import Campaign

    X_pool, y_pool = data[0], data[1]
    folders = tmp_path / "campaigns"
    results = campaign(data, n_trials=1, semi_supervised=True, campaigns_dir=folders)
    assert sorted(p.name for p in folders.iterdir()) == ["ema-trial0", "random-trial0"]
    for label in ("ema", "random"):
        rows = results[results.strategy == label].sort_values("cycle")
        seed = int(rows["trial_seed"].iloc[0])
        c = Campaign.open(folders / f"{label}-trial0", pool=X_pool)
        models = [m["metrics"] for m in c._store.models()]
        # one cold fit per cycle, seeded as the protocol says, semi-supervised as asked
        assert [m["random_state"] for m in models] == [
            derive_seed(seed, "fit", k) for k in range(3)
        ]
        assert [m["n_labels"] for m in models] == rows["n_labeled"].tolist()
        assert all(m["semi_supervised"] for m in models)
        rounds = c._store.rounds()
        assert [r["seed"] for r in rounds] == [derive_seed(seed, "query", k, label) for k in (0, 1)]
        # the model of the cycle ranks its query (random needs none)
        assert [r["model_id"] for r in rounds] == ([1, 2] if label == "ema" else [None, None])
        queried = [decode_indices(q).tolist() for q in rows["queried"].iloc[:2]]
        assert rounds_queue(c) == queried
        labels = c.labels()
        initial = decode_indices(rows["added"].iloc[0])
        assert sorted(labels["particle_id"]) == sorted([*initial, *queried[0], *queried[1]])
        assert (labels["label"].to_numpy() == y_pool[labels["particle_id"]]).all()
        by = dict(zip(labels["particle_id"], labels["annotator"]))
        assert {by[i] for i in initial} == {"seed"} and {by[i] for i in queried[0]} == {"oracle"}
        assert c.status().model_up_to_date and len(c.queued()) == 0
        # only the final model's checkpoint is kept on disk
        assert len(list((c.path / "models").iterdir())) == 1
        assert c.model.random_state == derive_seed(seed, "fit", 2)


def test_campaign_folders_are_temporary_by_default(data, tmp_path, monkeypatch):
    import tempfile

    from skcryoal.benchmark import _runner

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    closed = []
    real_close = _runner.Runner.close_campaign

    def close(self, campaign_):
        assert (campaign_.path / "campaign.sqlite").is_file()
        real_close(self, campaign_)
        closed.append(campaign_.path)
        assert not campaign_.path.exists()  # removed as soon as the pair is done

    monkeypatch.setattr(_runner.Runner, "close_campaign", close)
    campaign(data, n_trials=1, final=12)
    assert [p.name for p in closed] == ["ema-trial0", "random-trial0"]
    assert closed[0].parent.parent == tmp_path and list(tmp_path.iterdir()) == []


def test_resume_rebuilds_an_unfinished_campaign_from_the_results_file(data, tmp_path, monkeypatch):
    from skcryoal import CryoNetClassifier
    from skcryoal.benchmark._schedule import derive_seed
    from skcryoal.campaign import Campaign

    full = campaign(data, n_trials=1)
    path, folders = tmp_path / "results.csv", tmp_path / "campaigns"
    real_fit = CryoNetClassifier.fit
    calls = {"n": 0}

    def failing_fit(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:  # ema cycles 0-2 and random cycle 0 done
            raise KeyboardInterrupt
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(CryoNetClassifier, "fit", failing_fit)
    with pytest.raises(KeyboardInterrupt):
        campaign(data, n_trials=1, results_file=path, campaigns_dir=folders)
    monkeypatch.setattr(CryoNetClassifier, "fit", real_fit)
    assert len(Campaign.open(folders / "random-trial0", pool=data[0])._store.models()) == 1

    resumed = campaign(data, n_trials=1, results_file=path, campaigns_dir=folders)
    pd.testing.assert_frame_equal(resumed.drop(columns=TIMING), full.drop(columns=TIMING))
    rows = resumed[resumed.strategy == "random"]
    seed = int(rows["trial_seed"].iloc[0])
    c = Campaign.open(folders / "random-trial0", pool=data[0])
    # rebuilt: cycle 0's labels replayed (no model, no round), then cycles 1 and 2 run
    models = [m["metrics"]["random_state"] for m in c._store.models()]
    assert models == [derive_seed(seed, "fit", 1), derive_seed(seed, "fit", 2)]
    assert [r["seed"] for r in c._store.rounds()] == [derive_seed(seed, "query", 1, "random")]
    assert rounds_queue(c) == [decode_indices(rows["queried"].iloc[1]).tolist()]
    replayed = decode_indices(rows["queried"].iloc[0])
    history = c.history()
    assert history[history.particle_id.isin(replayed)]["annotator"].tolist() == ["oracle"] * 4
    assert len(c.labels()) == 16
    # the finished pair's folder was left as it was
    assert len(Campaign.open(folders / "ema-trial0", pool=data[0])._store.models()) == 3


def test_labels_must_be_campaign_classes_and_nothing_is_made_before(data, tmp_path):
    X_pool, y_pool, X_test, y_test = data
    folders = tmp_path / "campaigns"
    with pytest.raises(ValueError, match="classes of a labelling campaign.*all integers"):
        run_campaign(
            X_pool, y_pool + 0.5, X_test, y_test + 0.5, initial=8, step=4, final=12,
            campaigns_dir=folders,
        )  # fmt: skip
    with pytest.raises(ValueError, match="did you mean 'entropy'"):
        campaign(data, strategies=["entropi"], campaigns_dir=folders)
    assert not folders.exists()
