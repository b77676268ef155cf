"""benchmarks/power.py: trial counts, alone and under Holm's correction over a family."""

import numpy as np
import pandas as pd
import pytest

from skcryoal.benchmark import COLUMNS, trials_needed_holm


def write_run(folder, gains, n_trials=5, noise=0.004, seed=0):
    """A results.csv of a campaign: 200 -> 400 labels, paired trials."""
    rng = np.random.default_rng(seed)
    rows = []
    for trial in range(n_trials):
        base = rng.normal(0, 0.02)
        for strategy, gain in gains.items():
            for cycle, n in enumerate((200, 300, 400)):
                acc = 0.8 + 0.05 * cycle + base + (gain + rng.normal(0, noise)) * (cycle > 0)
                rows.append(
                    dict.fromkeys(COLUMNS, "")
                    | dict(dataset="d", strategy=strategy, strategy_name=strategy, trial=trial,
                           trial_seed=trial, cycle=cycle, n_labeled=n, fraction=n / 2000,
                           accuracy=acc, macro_f1=acc, train_seconds=10.0, query_seconds=1.0,
                           n_pool=2000, n_test=1000, semi_supervised=False)
                )  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=list(COLUMNS)).to_csv(folder / "results.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def power(benchmark_script):
    return benchmark_script("power")


def test_holm_needs_more_trials_than_one_comparison(power):
    one = power.trials_for_power(1.0, 2.0)
    assert power.trials_for_power_holm(1.0, 2.0, 1) == trials_needed_holm(2.0, 1.0, 1) == one
    four = power.trials_for_power_holm(1.0, 2.0, 4)
    assert four == trials_needed_holm(2.0, 1.0, 4) and four > one
    assert power.trials_for_power_holm(0.0, 2.0, 4) == np.inf  # no spread to plan with


def test_sign_flip_floor(power):
    # 2 / 2**n must reach 0.05 / k
    assert [power.trials_for_sign_flip(k) for k in (1, 2, 4, 8)] == [6, 7, 8, 9]
    for k in (1, 3, 10):
        n = power.trials_for_sign_flip(k)
        assert 2 / 2**n <= 0.05 / k < 2 / 2 ** (n - 1)


def test_report_has_the_holm_column(power, tmp_path, capsys):
    run = write_run(tmp_path / "run", {"random": 0.0, "a": 0.01, "b": 0.0, "c": -0.01})
    power.main([str(run)])
    text = capsys.readouterr().out
    assert "trials to detect +2 under Holm over 3 (80% power)" in text
    assert "Holm over 3 comparison(s) tests the first at 0.05 / 3" in text
    assert "fewer than 7 trials" in text and "Areas: over every budget." in text
    power.main([str(run), "--comparisons", "8", "--endpoint", "auc_after_first"])
    text = capsys.readouterr().out
    assert "under Holm over 8" in text and "after the shared first budget" in text
    row = next(line for line in text.splitlines() if line.startswith("| a |") and "+" in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    sd = float(cells[2])
    assert int(cells[-1]) == trials_needed_holm(2.0, sd, 8)
    with pytest.raises(SystemExit):
        power.main([str(run), "--comparisons", "0"])
