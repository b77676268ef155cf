"""benchmarks/paired_table.py: paired differences in accuracy or macro-F1."""

import pandas as pd


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
