"""Regression: the benchmark on campaigns gives the results of the loop it replaced.

The expected tables below were measured with ``run_campaign``'s own loop, before
it ran each (strategy, trial) as a :class:`~skcryoal.campaign.Campaign` (commit
8e92f20), on one torch thread; the campaign-based loop reproduces them exactly
(every column but the timings). They cover the docstring's example, two
trials with semi-supervised training, core-set (which gets the labeled
volumes) and the full-pool ceiling, and the other strategies (a spec's
``semi=``, MC dropout, learning loss, a subsampled EMA of the lowest scores).
They were measured with the then-default ``ema_decay=0.999``, which the tests
now pass explicitly (the default became ``"auto"`` later). The MC-dropout rows
were remeasured when its dropout masks became seeded per batch (from the seed
and the batch's first pool row, so a pool scored in dask partitions gets the
same masks): the first two picks of cycle 0 are unchanged, the rest differ.
"""

# the expected tables are CSV text, one row a line
# ruff: noqa: E501

import io

import numpy as np
import pandas as pd
import pytest

from conftest import make_easy_volumes
from skcryoal.benchmark import ClassifierFactory, run_campaign

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TIMING = ["train_seconds", "query_seconds"]

DOCSTRING_EXAMPLE = """\
dataset,strategy,strategy_name,trial,trial_seed,cycle,n_labeled,fraction,accuracy,macro_f1,n_pool,n_test,semi_supervised,added,queried
,ema,ema,0,1065982354,0,8,0.2,0.5,0.3333333333333333,40,8,False,6 9 13 19 20 23 24 37,0 1 2 3
,ema,ema,0,1065982354,1,12,0.3,0.5,0.3333333333333333,40,8,False,0 1 2 3,
,random,random,0,1065982354,0,8,0.2,0.5,0.3333333333333333,40,8,False,6 9 13 19 20 23 24 37,26 35 4 38
,random,random,0,1065982354,1,12,0.3,0.5,0.3333333333333333,40,8,False,26 35 4 38,
"""

TWO_TRIALS_SEMI_SUPERVISED_CEILING = """\
dataset,strategy,strategy_name,trial,trial_seed,cycle,n_labeled,fraction,accuracy,macro_f1,n_pool,n_test,semi_supervised,added,queried
,ema,ema,0,1065982354,0,8,0.2,0.3125,0.2235294117647059,40,16,True,6 9 13 19 20 23 24 37,2 31 1 35
,ema,ema,0,1065982354,1,12,0.3,0.375,0.1818181818181818,40,16,True,2 31 1 35,16 38 30 29
,ema,ema,0,1065982354,2,16,0.4,0.5625,0.5413165266106442,40,16,True,16 38 30 29,
,ema,ema,1,1859316418,0,8,0.2,0.625,0.5113636363636364,40,16,True,2 10 12 20 21 36 38 39,35 32 16 6
,ema,ema,1,1859316418,1,12,0.3,0.4375,0.3568627450980392,40,16,True,35 32 16 6,29 9 11 31
,ema,ema,1,1859316418,2,16,0.4,0.375,0.1818181818181818,40,16,True,29 9 11 31,
,coreset,coreset,0,1065982354,0,8,0.2,0.25,0.1851851851851852,40,16,True,6 9 13 19 20 23 24 37,1 33 38 2
,coreset,coreset,0,1065982354,1,12,0.3,0.375,0.1818181818181818,40,16,True,1 33 38 2,36 30 25 17
,coreset,coreset,0,1065982354,2,16,0.4,0.5,0.46296296296296297,40,16,True,36 30 25 17,
,coreset,coreset,1,1859316418,0,8,0.2,0.625,0.5113636363636364,40,16,True,2 10 12 20 21 36 38 39,13 19 37 31
,coreset,coreset,1,1859316418,1,12,0.3,0.3125,0.15873015873015872,40,16,True,13 19 37 31,3 29 22 8
,coreset,coreset,1,1859316418,2,16,0.4,0.6875,0.5686274509803922,40,16,True,3 29 22 8,
,full-pool,full-pool,0,1065982354,0,40,1.0,0.4375,0.3659147869674186,40,16,False,,
,full-pool,full-pool,1,1859316418,0,40,1.0,0.375,0.2619047619047619,40,16,False,,
"""

OTHER_STRATEGIES = """\
dataset,strategy,strategy_name,trial,trial_seed,cycle,n_labeled,fraction,accuracy,macro_f1,n_pool,n_test,semi_supervised,added,queried
,entropy:semi=true,entropy,0,1967866188,0,6,0.15,0.3125,0.20833333333333334,40,16,True,3 11 14 15 26 31,6 12 18
,entropy:semi=true,entropy,0,1967866188,1,9,0.225,0.3125,0.15873015873015872,40,16,True,6 12 18,2 33 9
,entropy:semi=true,entropy,0,1967866188,2,12,0.3,0.1875,0.14652014652014653,40,16,True,2 33 9,
,mc_dropout,mc_dropout,0,1967866188,0,6,0.15,0.3125,0.1851851851851852,40,16,False,3 11 14 15 26 31,16 10 0
,mc_dropout,mc_dropout,0,1967866188,1,9,0.225,0.3125,0.15873015873015872,40,16,False,16 10 0,38 6 28
,mc_dropout,mc_dropout,0,1967866188,2,12,0.3,0.125,0.0784313725490196,40,16,False,38 6 28,
,ll4al,ll4al,0,1967866188,0,6,0.15,0.3125,0.20833333333333334,40,16,False,3 11 14 15 26 31,32 34 16
,ll4al,ll4al,0,1967866188,1,9,0.225,0.3125,0.15873015873015872,40,16,False,32 34 16,24 10 38
,ll4al,ll4al,0,1967866188,2,12,0.3,0.375,0.19047619047619047,40,16,False,24 10 38,
,ema:subsample=10:order=lowest,ema,0,1967866188,0,6,0.15,0.3125,0.2222222222222222,40,16,False,3 11 14 15 26 31,21 1 24
,ema:subsample=10:order=lowest,ema,0,1967866188,1,9,0.225,0.3125,0.15873015873015872,40,16,False,21 1 24,29 37 32
,ema:subsample=10:order=lowest,ema,0,1967866188,2,12,0.3,0.1875,0.1111111111111111,40,16,False,29 37 32,
"""


def expected(text):
    text_columns = ("dataset", "strategy", "strategy_name", "added", "queried")
    return pd.read_csv(
        io.StringIO(text), dtype=dict.fromkeys(text_columns, str), keep_default_na=False
    )


def check(results, text):
    pd.testing.assert_frame_equal(results.drop(columns=TIMING), expected(text))


def test_docstring_example():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(48, 1, 16, 16, 16)).astype(np.float32)
    y = np.arange(48) % 2
    results = run_campaign(
        X[:40],
        y[:40],
        X[40:],
        y[40:],
        ["ema", "random"],
        classifier_factory=ClassifierFactory(width=4, max_epochs=1, ema_decay=0.999),
        initial=8,
        step=4,
        final=12,
    )
    check(results, DOCSTRING_EXAMPLE)


def test_two_trials_semi_supervised_with_ceiling():
    X, y = make_easy_volumes(56, 3, 16, random_state=0)
    results = run_campaign(
        X[:40],
        y[:40],
        X[40:],
        y[40:],
        ["ema", "coreset"],
        classifier_factory=ClassifierFactory(width=4, max_epochs=3, batch_size=8, ema_decay=0.999),
        initial=8,
        step=4,
        final=16,
        n_trials=2,
        random_state=0,
        semi_supervised=True,
        ceiling=True,
    )
    check(results, TWO_TRIALS_SEMI_SUPERVISED_CEILING)


def test_other_strategies():
    X, y = make_easy_volumes(56, 3, 16, random_state=1)
    results = run_campaign(
        X[:40],
        y[:40],
        X[40:],
        y[40:],
        ["entropy:semi=true", "mc_dropout", "ll4al", "ema:subsample=10:order=lowest"],
        classifier_factory=ClassifierFactory(width=4, max_epochs=2, batch_size=8, ema_decay=0.999),
        initial=6,
        step=3,
        final=12,
        n_trials=1,
        random_state=3,
    )
    check(results, OTHER_STRATEGIES)
