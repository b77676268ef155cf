"""Paired differences between chosen strategies of runs that share their trials.

Joins the ``results.csv`` of runs made with the same data, schedule and
``--seed`` (so their trials pair up: same initial sets and seeds), and writes a
markdown table of ``a - b`` for each requested pair: the learning-curve area
and the test accuracy (or ``--metric macro_f1``) at each budget, mean and 95%
Student-t interval over the trials both have (``*``: the interval excludes 0).
Used for the ablations of the EMA method (score vs regularizer) and the
imbalanced set.

Usage::

    python benchmarks/paired_table.py benchmarks/results/campaign-snr01/part-a \\
        benchmarks/results/campaign-snr01/part-c \\
        --pairs ema:ema-noreg ema-noreg:random random-reg:random ema:random-reg \\
        --out benchmarks/results/campaign-snr01/ablation.md
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from skcryoal.benchmark import paired_difference, read_results


def _fmt(row):
    if np.isnan(row["low"]):
        return f"{row['mean'] * 100:+.1f} (no interval)"
    star = " *" if row["excludes_zero"] else ""
    return f"{row['mean'] * 100:+.1f} [{row['low'] * 100:+.1f}, {row['high'] * 100:+.1f}]{star}"


def paired_lines(results, pairs, metric="accuracy"):
    """Markdown rows of ``a - b`` in ``metric`` for each ``(a, b)`` of ``pairs``, with a header."""
    budgets = sorted(results["n_labeled"].unique())
    lines = [
        "| a - b | trials | learning-curve area | "
        + " | ".join(f"{n} labels" for n in budgets)
        + " |",
        "|---|---|---|" + "---|" * len(budgets),
    ]
    for a, b in pairs:
        auc = paired_difference(results, a, b, metric=metric, by="auc").iloc[0]
        per_budget = paired_difference(results, a, b, metric=metric).set_index("n_labeled")
        cells = [_fmt(per_budget.loc[n]) if n in per_budget.index else "" for n in budgets]
        lines.append(
            f"| {a} - {b} | {int(auc['n_trials'])} | {_fmt(auc)} | " + " | ".join(cells) + " |"
        )
    return lines


def emit(lines, out=None):
    """Print the report and write it to ``out`` (a path, or None)."""
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        Path(out).write_text(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders (results.csv inside)")
    parser.add_argument("--pairs", nargs="+", required=True, help="a:b, reported as a - b")
    parser.add_argument("--title", default="Paired differences")
    parser.add_argument(
        "--metric",
        choices=("accuracy", "macro_f1"),
        default="accuracy",
        help="macro_f1 for imbalanced test sets",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    results = pd.concat([read_results(run / "results.csv") for run in args.runs], ignore_index=True)
    if (results.groupby("trial")["trial_seed"].nunique() > 1).any():
        raise SystemExit("the runs' trials do not pair up (other --seed or schedule).")
    lines = [
        f"# {args.title}",
        "",
        f"Points of test {args.metric.replace('_', '-')}, a - b: mean and 95% Student-t "
        "interval over the paired trials; `*`: the interval excludes 0. Runs: "
        + ", ".join(f"`{run}`" for run in args.runs)
        + ".",
        "",
        *paired_lines(results, [pair.split(":") for pair in args.pairs], args.metric),
    ]
    emit(lines, args.out)


if __name__ == "__main__":
    main()
