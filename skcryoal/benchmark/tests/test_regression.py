"""Regression: the benchmark on campaigns gives the results of the loop it replaced.

``run_campaign`` once ran its own loop (fit, evaluate, query, label); since
commit 8e92f20 it runs each (strategy, trial) as a
:class:`~skcryoal.campaign.Campaign`. These tests pin what must not change,
without pinning what a CPU decides:

* A model's outputs (``accuracy``, ``macro_f1``, and the ``queried`` volumes
  of every strategy but random, hence the ``added`` volumes of later cycles)
  depend on the summation order of the CPU's kernels: on another x86 CPU, or
  on this one with ``ATEN_CPU_CAPABILITY=default`` or
  ``DNNL_MAX_CPU_ISA=SSE41``, a prediction of these tiny models flips and the
  learning curves differ (the tables once stored here failed so). They are
  never stored. They are compared with references computed in the same
  run: a plain loop written here as the old implementation ran it
  (:func:`plain_loop`: supervised strategies and the full-pool ceiling)
  and, for every configuration, a second run of it (deterministic on one
  machine); and they must satisfy the protocol's invariants
  (:func:`test_protocol_invariants`).
* What only the seeds decide is stored and compared exactly (the tables
  below): the column layout, the trial seeds, the budget schedule and
  fractions, the sizes of the pool and test set, the semi-supervised flags,
  the initial labeled sets, the random strategy's picks and the empty
  ``queried`` of the last cycles and the ceiling. A ``?`` marks a cell that a
  model decides.

The configurations are those measured with the old loop: the docstring's
example, two trials with semi-supervised training, core-set (which gets the
labeled volumes) and the full-pool ceiling, and the other strategies (a
spec's ``semi=``, MC dropout, learning loss, a subsampled EMA of the lowest
scores), with the then-default ``ema_decay=0.999`` passed explicitly.
"""

import io

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score

from conftest import make_easy_volumes
from skcryoal.benchmark import (
    CEILING,
    ClassifierFactory,
    budget_schedule,
    decode_indices,
    initial_labeled_indices,
    run_campaign,
)
from skcryoal.benchmark._schedule import derive_seed, trial_seeds

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TIMING = ["train_seconds", "query_seconds"]
MODEL_DEPENDENT = ["accuracy", "macro_f1", "recall"]  # and "added"/"queried" cells marked "?"
LAYOUT = [
    "dataset", "strategy", "strategy_name", "trial", "trial_seed", "cycle", "n_labeled",
    "fraction", "accuracy", "macro_f1", "train_seconds", "query_seconds", "n_pool", "n_test",
    "semi_supervised", "added", "queried", "recall",
]  # fmt: skip


def docstring_example_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(48, 1, 16, 16, 16)).astype(np.float32)
    y = np.arange(48) % 2
    return X[:40], y[:40], X[40:], y[40:]


def easy_data(random_state):
    X, y = make_easy_volumes(56, 3, 16, random_state=random_state)
    return X[:40], y[:40], X[40:], y[40:]


CONFIGURATIONS = {
    "docstring_example": (
        docstring_example_data,
        dict(
            strategies=["ema", "random"],
            classifier_factory=ClassifierFactory(width=4, max_epochs=1, ema_decay=0.999),
            initial=8,
            step=4,
            final=12,
        ),
        """\
dataset,strategy,strategy_name,trial,trial_seed,cycle,n_labeled,fraction,n_pool,n_test,semi_supervised,added,queried
,ema,ema,0,1065982354,0,8,0.2,40,8,False,6 9 13 19 20 23 24 37,?
,ema,ema,0,1065982354,1,12,0.3,40,8,False,?,
,random,random,0,1065982354,0,8,0.2,40,8,False,6 9 13 19 20 23 24 37,26 35 4 38
,random,random,0,1065982354,1,12,0.3,40,8,False,26 35 4 38,
""",
    ),
    "two_trials_semi_supervised_with_ceiling": (
        lambda: easy_data(0),
        dict(
            strategies=["ema", "coreset"],
            classifier_factory=ClassifierFactory(
                width=4, max_epochs=3, batch_size=8, ema_decay=0.999
            ),
            initial=8,
            step=4,
            final=16,
            n_trials=2,
            random_state=0,
            semi_supervised=True,
            ceiling=True,
        ),
        """\
dataset,strategy,strategy_name,trial,trial_seed,cycle,n_labeled,fraction,n_pool,n_test,semi_supervised,added,queried
,ema,ema,0,1065982354,0,8,0.2,40,16,True,6 9 13 19 20 23 24 37,?
,ema,ema,0,1065982354,1,12,0.3,40,16,True,?,?
,ema,ema,0,1065982354,2,16,0.4,40,16,True,?,
,ema,ema,1,1859316418,0,8,0.2,40,16,True,2 10 12 20 21 36 38 39,?
,ema,ema,1,1859316418,1,12,0.3,40,16,True,?,?
,ema,ema,1,1859316418,2,16,0.4,40,16,True,?,
,coreset,coreset,0,1065982354,0,8,0.2,40,16,True,6 9 13 19 20 23 24 37,?
,coreset,coreset,0,1065982354,1,12,0.3,40,16,True,?,?
,coreset,coreset,0,1065982354,2,16,0.4,40,16,True,?,
,coreset,coreset,1,1859316418,0,8,0.2,40,16,True,2 10 12 20 21 36 38 39,?
,coreset,coreset,1,1859316418,1,12,0.3,40,16,True,?,?
,coreset,coreset,1,1859316418,2,16,0.4,40,16,True,?,
,full-pool,full-pool,0,1065982354,0,40,1.0,40,16,False,,
,full-pool,full-pool,1,1859316418,0,40,1.0,40,16,False,,
""",
    ),
    "other_strategies": (
        lambda: easy_data(1),
        dict(
            strategies=[
                "entropy:semi=true",
                "mc_dropout",
                "ll4al",
                "ema:subsample=10:order=lowest",
            ],
            classifier_factory=ClassifierFactory(
                width=4, max_epochs=2, batch_size=8, ema_decay=0.999
            ),
            initial=6,
            step=3,
            final=12,
            n_trials=1,
            random_state=3,
        ),
        """\
dataset,strategy,strategy_name,trial,trial_seed,cycle,n_labeled,fraction,n_pool,n_test,semi_supervised,added,queried
,entropy:semi=true,entropy,0,1967866188,0,6,0.15,40,16,True,3 11 14 15 26 31,?
,entropy:semi=true,entropy,0,1967866188,1,9,0.225,40,16,True,?,?
,entropy:semi=true,entropy,0,1967866188,2,12,0.3,40,16,True,?,
,mc_dropout,mc_dropout,0,1967866188,0,6,0.15,40,16,False,3 11 14 15 26 31,?
,mc_dropout,mc_dropout,0,1967866188,1,9,0.225,40,16,False,?,?
,mc_dropout,mc_dropout,0,1967866188,2,12,0.3,40,16,False,?,
,ll4al,ll4al,0,1967866188,0,6,0.15,40,16,False,3 11 14 15 26 31,?
,ll4al,ll4al,0,1967866188,1,9,0.225,40,16,False,?,?
,ll4al,ll4al,0,1967866188,2,12,0.3,40,16,False,?,
,ema:subsample=10:order=lowest,ema,0,1967866188,0,6,0.15,40,16,False,3 11 14 15 26 31,?
,ema:subsample=10:order=lowest,ema,0,1967866188,1,9,0.225,40,16,False,?,?
,ema:subsample=10:order=lowest,ema,0,1967866188,2,12,0.3,40,16,False,?,
""",
    ),
}


@pytest.fixture(scope="module", params=list(CONFIGURATIONS))
def runs(request, one_torch_thread):
    """A configuration's data, settings, stored table, and two runs of it."""
    make_data, settings, text = CONFIGURATIONS[request.param]
    data = make_data()
    first = run_campaign(*data, **settings)
    second = run_campaign(*data, **settings)
    return data, settings, text, first, second


def expected(text):
    text_columns = ("dataset", "strategy", "strategy_name", "added", "queried")
    return pd.read_csv(
        io.StringIO(text), dtype=dict.fromkeys(text_columns, str), keep_default_na=False
    )


def test_seed_derived_columns_are_as_measured(runs):
    """Layout, seeds, schedule, initial sets and random picks: exact, on any CPU."""
    _, _, text, results, _ = runs
    assert list(results.columns) == LAYOUT
    want = expected(text)
    assert set(want.columns) == set(LAYOUT) - set(TIMING) - set(MODEL_DEPENDENT)
    got = results[want.columns].reset_index(drop=True)
    known = want.columns.difference(["added", "queried"], sort=False)
    pd.testing.assert_frame_equal(got[known], want[known])
    for column in ("added", "queried"):
        stored = want[column] != "?"
        assert got.loc[stored, column].tolist() == want.loc[stored, column].tolist(), column


def test_rerun_is_identical(runs):
    """Determinism on one machine: the model-dependent columns too, bit for bit."""
    _, _, _, first, second = runs
    pd.testing.assert_frame_equal(first.drop(columns=TIMING), second.drop(columns=TIMING))


def test_protocol_invariants(runs):
    """Properties of a valid table that hold whatever a model decides."""
    data, settings, _, results, _ = runs
    n_pool, n_test = len(data[0]), len(data[2])
    schedule = budget_schedule(n_pool, settings["initial"], settings["step"], settings["final"])
    step = schedule[1] - schedule[0]
    seeds = trial_seeds(settings.get("n_trials", 1), settings.get("random_state", 0))
    assert (results["n_pool"] == n_pool).all() and (results["n_test"] == n_test).all()
    assert np.array_equal(results["fraction"], results["n_labeled"] / n_pool)

    # test metrics: of n_test predictions, in [0, 1]
    accuracy, macro_f1 = results["accuracy"].to_numpy(), results["macro_f1"].to_numpy()
    assert ((accuracy >= 0) & (accuracy <= 1) & (macro_f1 >= 0) & (macro_f1 <= 1)).all()
    correct = accuracy * n_test
    np.testing.assert_allclose(correct, np.round(correct), rtol=0, atol=1e-9)
    # a correct prediction gives its class a nonzero F1; all correct gives 1 everywhere
    assert np.array_equal(accuracy > 0, macro_f1 > 0)
    assert np.array_equal(accuracy == 1, np.isclose(macro_f1, 1.0))
    assert (results["train_seconds"] > 0).all() and (results["query_seconds"] >= 0).all()

    ceiling = results[results.strategy == CEILING]
    assert ceiling["trial_seed"].tolist() == (seeds if settings.get("ceiling") else [])
    assert (ceiling["n_labeled"] == n_pool).all() and (ceiling["queried"] == "").all()

    cycles = results[results.strategy != CEILING]
    for trial, seed in enumerate(seeds):
        initial = initial_labeled_indices(n_pool, schedule[0], seed)
        rows = cycles[(cycles.trial == trial) & (cycles.cycle == 0)]
        # one initial set per trial, shared by every strategy
        assert (rows["trial_seed"] == seed).all()
        assert (rows["added"] == " ".join(map(str, initial))).all()
    for (label, trial), group in cycles.groupby(["strategy", "trial"], sort=False):
        group = group.sort_values("cycle")
        assert group["cycle"].tolist() == list(range(len(schedule)))
        assert group["n_labeled"].tolist() == schedule
        labeled = decode_indices(group["added"].iloc[0])
        previous = None
        for _, row in group.iterrows():
            added = decode_indices(row["added"])
            if previous is not None:
                # each cycle's query is labeled and trained on in the next cycle
                assert np.array_equal(added, previous), (label, trial, row["cycle"])
                labeled = np.concatenate([labeled, added])
            assert len(labeled) == row["n_labeled"] == len(np.unique(labeled))
            queried = decode_indices(row["queried"])
            if row["cycle"] == len(schedule) - 1:
                assert queried.size == 0 and row["query_seconds"] == 0
                break
            # step new, distinct volumes of the pool, none labeled already
            assert len(queried) == step == len(np.unique(queried))
            assert ((queried >= 0) & (queried < n_pool)).all()
            assert not np.isin(queried, labeled).any()
            previous = queried


def evaluate(model, X_test, y_test):
    """Accuracy and macro-F1 over the test set's classes, as the protocol defines them."""
    y_pred = model.predict(X_test)
    return (
        accuracy_score(y_test, y_pred),
        f1_score(y_test, y_pred, labels=np.unique(y_test), average="macro", zero_division=0),
    )


def plain_loop(X_pool, y_pool, X_test, y_test, strategies, factory, initial, step, final,
               n_trials, random_state, ceiling):  # fmt: skip
    """The protocol as the old loop ran it: plain fits and queries, no campaign.

    Supervised only (``fit(X, y)``), for registry names without parameters.
    Returns the ``(strategy, trial, cycle)``-indexed accuracy, macro-F1 and
    ``queried`` of every cycle, the ceiling's as ``(CEILING, trial, 0)``.
    """
    from skcryoal.learner import ActiveLearner
    from skcryoal.query import get_strategy

    classes = np.unique(np.concatenate([y_pool, y_test]))
    schedule = budget_schedule(len(X_pool), initial, step, final)
    rows = {}
    for trial, seed in enumerate(trial_seeds(n_trials, random_state)):
        for name in strategies:
            labeled = initial_labeled_indices(len(X_pool), schedule[0], seed)
            for cycle in range(len(schedule)):
                clf = factory(name, derive_seed(seed, "fit", 0))
                clf.set_params(classes=classes, random_state=derive_seed(seed, "fit", cycle))
                labeled = np.sort(labeled)
                clf.fit(X_pool[labeled], y_pool[labeled])
                queried = ""
                if cycle < len(schedule) - 1:
                    unlabeled = np.setdiff1d(np.arange(len(X_pool)), labeled)
                    strategy = get_strategy(
                        name, random_state=derive_seed(seed, "query", cycle, name)
                    )
                    kwargs = {"X_labeled": X_pool[labeled]} if name == "coreset" else {}
                    learner = ActiveLearner(clf, query_strategy=strategy)
                    picked = unlabeled[strategy(learner, X_pool[unlabeled], step, **kwargs)]
                    queried = " ".join(str(int(i)) for i in picked)
                    labeled = np.concatenate([labeled, picked])
                rows[name, trial, cycle] = (*evaluate(clf, X_test, y_test), queried)
        if ceiling:
            clf = factory("random", derive_seed(seed, "fit", "ceiling"))
            clf.set_params(classes=classes)
            clf.fit(X_pool, y_pool)
            rows[CEILING, trial, 0] = (*evaluate(clf, X_test, y_test), "")
    return rows


def test_campaign_loop_matches_a_plain_loop():
    """Every model-dependent value, against the old protocol computed in this run."""
    data = easy_data(0)
    settings = dict(
        strategies=["ema", "coreset", "entropy", "random"],
        factory=ClassifierFactory(width=4, max_epochs=3, batch_size=8, ema_decay=0.999),
        initial=8,
        step=4,
        final=16,
        n_trials=2,
        random_state=0,
        ceiling=True,
    )
    reference = plain_loop(*data, **settings)
    settings["classifier_factory"] = settings.pop("factory")
    results = run_campaign(*data, **settings)
    assert len(results) == len(reference) == 4 * 2 * 3 + 2
    got = {
        (row.strategy, row.trial, row.cycle): (row.accuracy, row.macro_f1, row.queried)
        for row in results.itertuples()
    }
    assert got == reference
    # not a degenerate comparison: the model-based strategies picked different volumes
    assert len({reference[name, 0, 0][2] for name in ("ema", "coreset", "entropy")}) > 1
