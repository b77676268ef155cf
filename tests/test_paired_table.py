"""benchmarks/paired_table.py: paired differences in accuracy or macro-F1."""

import pandas as pd
import pytest


def test_paired_lines_by_metric(benchmark_script):
    paired_table = benchmark_script("paired_table")
    rows = []
    for trial, shift in enumerate((0.0, 0.02, -0.01)):
        for n, base in ((100, 0.70), (200, 0.80)):
            for strategy, gain in (("a", 0.05), ("random", 0.0)):
                acc = base + shift + gain + 0.001 * trial
                rows.append(
                    dict(
                        strategy=strategy,
                        trial=trial,
                        n_labeled=n,
                        accuracy=acc,
                        macro_f1=acc - 2 * gain,
                    )
                )
    results = pd.DataFrame(rows)
    accuracy = paired_table.paired_lines(results, [("a", "random")])
    f1 = paired_table.paired_lines(results, [("a", "random")], metric="macro_f1")
    assert accuracy[0].startswith("| a - b | trials | learning-curve area | 100 labels")
    assert "| a - random | 3 | +5.0 [+5.0, +5.0] * | +5.0" in accuracy[2]
    assert "| a - random | 3 | -5.0 [-5.0, -5.0] * | -5.0" in f1[2]


def test_paired_lines_name_the_family_and_adjust_over_it(benchmark_script):
    import numpy as np

    from skcryoal.benchmark import holm_adjust, paired_difference

    paired_table = benchmark_script("paired_table")
    rng = np.random.default_rng(0)
    rows = []
    for trial in range(5):
        shift = rng.normal(0, 0.02)
        for n, base in ((100, 0.70), (200, 0.80), (300, 0.85)):
            for strategy, gain in (("a", 0.02), ("b", 0.004), ("random", 0.0)):
                acc = base + shift + (gain + rng.normal(0, 0.005)) * (n > 100)
                rows.append(dict(strategy=strategy, trial=trial, n_labeled=n, accuracy=acc))
    results = pd.DataFrame(rows)
    pairs = [("a", "random"), ("b", "random")]
    lines = paired_table.paired_lines(results, pairs)
    assert lines[0].endswith(
        "| primary: area after the first budget | p (t) | p Holm | p sign-flip | nominal | Holm |"
    )
    p = [
        paired_difference(results, a, b, by="auc_after_first").iloc[0]["p_value"] for a, b in pairs
    ]
    holm = holm_adjust(p)
    for line, p_t, p_h in zip(lines[2:], p, holm):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert float(cells[-5]) == pytest.approx(p_t, rel=0.01)
        assert float(cells[-4]) == pytest.approx(p_h, rel=0.01)
        assert cells[-3] == "0.0625"  # 5 trials: the sign-flip floor
    assert "Family: the 2 pair(s) of this table" in paired_table.family_note(pairs)
