"""benchmarks/spot_check.py: ranking agreement between a reference and a cheaper run."""

import numpy as np
import pandas as pd
import pytest


def _results(gains, n_trials=4, noise=0.005, seed=0):
    """A results table: random's curve plus a per-strategy gain and paired noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for trial in range(n_trials):
        base = rng.normal(0, 0.02)  # shared by the trial's strategies: cancels when paired
        for strategy, gain in gains.items():
            for n, acc in ((200, 0.80), (300, 0.88), (400, 0.92)):
                rows.append(
                    dict(
                        strategy=strategy,
                        trial=trial,
                        n_labeled=n,
                        accuracy=acc + base + gain + rng.normal(0, noise),
                        train_seconds=10.0 if strategy != "slow" else 30.0,
                        query_seconds=1.0,
                    )
                )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def spot_check(benchmark_script):
    return benchmark_script("spot_check")


def test_same_ranking_and_verdicts(spot_check):
    ref = _results({"random": 0.0, "a": 0.03, "b": -0.03, "c": 0.0})
    cand = _results({"random": 0.0, "a": 0.02, "b": -0.04, "c": 0.001}, seed=1)
    result = spot_check.compare(ref, cand)
    assert result["rank_reference"][0] == "a" and result["rank_reference"][-1] == "b"
    assert result["reference"]["a"]["verdict"] == "ahead"
    assert result["candidate"]["b"]["verdict"] == "behind"
    assert result["verdicts_agree"]
    text = "\n".join(spot_check.report(result, ("32^3", "24^3")))
    assert "| a |" in text and "area, 24^3" in text and "Every verdict" in text


def test_swapped_leader_is_reported(spot_check):
    ref = _results({"random": 0.0, "a": 0.03, "b": 0.0})
    cand = _results({"random": 0.0, "a": -0.03, "b": 0.0}, seed=1)
    result = spot_check.compare(ref, cand)
    assert not result["same_ranking"] and not result["verdicts_agree"]
    assert result["tau"] < 1
    assert "The rankings differ." in spot_check.report(result)[-1]


def test_seconds_per_trial_sum_strategies(spot_check):
    ref = _results({"random": 0.0, "slow": 0.0}, n_trials=3)
    result = spot_check.compare(ref, ref)
    # random: 3 cycles x 11 s; slow: 3 x 31 s
    assert result["seconds"] == (pytest.approx(126.0), pytest.approx(126.0))


def test_different_strategies_are_refused(spot_check):
    ref = _results({"random": 0.0, "a": 0.0})
    cand = _results({"random": 0.0, "b": 0.0})
    with pytest.raises(ValueError, match=r"same strategies.*\['a', 'b'\]"):
        spot_check.compare(ref, cand)
