"""Paired differences between chosen strategies of runs that share their trials.

Joins the ``results.csv`` of runs made with the same data, schedule and
``--seed`` (so their trials pair up: same initial sets and seeds), and writes a
markdown table of ``a - b`` for each requested pair: the learning-curve area
and the test accuracy (or ``--metric macro_f1``) at each budget, mean and 95%
Student-t interval over the trials both have (``*``: the interval excludes 0,
nominal). The requested pairs are one family on the primary endpoint
(``--endpoint``, by default the area over the budgets after the shared first
one): the last columns give that endpoint's difference, its paired t p-value,
the Holm-adjusted one over the family, the exact sign-flip p-value and the
nominal and Holm verdicts; the per-budget cells are secondary. Used for the
ablations of the EMA method (score vs regularizer) and the imbalanced set.

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

from skcryoal.benchmark import (
    PRIMARY_ENDPOINTS,
    paired_comparisons,
    paired_difference,
    read_results,
)


def _fmt(row):
    if np.isnan(row["low"]):
        return f"{row['mean'] * 100:+.1f} (no interval)"
    star = " *" if row["excludes_zero"] else ""
    return f"{row['mean'] * 100:+.1f} [{row['low'] * 100:+.1f}, {row['high'] * 100:+.1f}]{star}"


def _p(value, digits=3):
    """A p-value; exact sign-flip ones (multiples of 2**-n) get 4 digits: 0.5625."""
    return "–" if value != value else f"{value:.{digits}g}" if value >= 1e-4 else f"{value:.1e}"


def family_note(pairs, endpoint="auc_after_first"):
    """One sentence naming the family of ``pairs`` on ``endpoint`` and its correction."""
    return (
        f"Family: the {len(pairs)} pair(s) of this table on the primary endpoint, the "
        f"{PRIMARY_ENDPOINTS[endpoint]}; Holm's correction at 0.05 over the family. p sign-flip: "
        "the exact paired sign-flip test (no normality assumed; its floor is 2/2^n with n "
        "trials, 0.0625 with 5). The per-budget cells are secondary (nominal)."
    )


def paired_lines(results, pairs, metric="accuracy", endpoint="auc_after_first"):
    """Markdown rows of ``a - b`` in ``metric`` for each ``(a, b)`` of ``pairs``, with a header.

    The per-budget and whole-area columns come first, as before; then the
    family's columns: ``endpoint``'s difference, p (t), p Holm (over
    ``pairs``), p sign-flip, and the nominal and Holm verdicts.
    """
    budgets = sorted(results["n_labeled"].unique())
    family = paired_comparisons(results, pairs, metric=metric, endpoint=endpoint)
    name = "area after the first budget" if endpoint == "auc_after_first" else "area"
    lines = [
        "| a - b | trials | learning-curve area | "
        + " | ".join(f"{n} labels" for n in budgets)
        + f" | primary: {name} | p (t) | p Holm | p sign-flip | nominal | Holm |",
        "|---|---|---|" + "---|" * len(budgets) + "---|---|---|---|---|---|",
    ]
    for (a, b), row in zip(pairs, family.itertuples()):
        auc = paired_difference(results, a, b, metric=metric, by="auc").iloc[0]
        per_budget = paired_difference(results, a, b, metric=metric).set_index("n_labeled")
        cells = [_fmt(per_budget.loc[n]) if n in per_budget.index else "" for n in budgets]
        primary = dict(mean=row.mean, low=row.low, high=row.high, excludes_zero=False)
        holm = row.holm + (" (suggestive)" if row.verdict == "suggestive" else "")
        lines.append(
            f"| {a} - {b} | {int(auc['n_trials'])} | {_fmt(auc)} | "
            + " | ".join(cells)
            + f" | {_fmt(primary)} | {_p(row.p_value)} | {_p(row.p_holm)} | "
            f"{_p(row.p_sign_flip, 4)} | {row.nominal} | {holm} |"
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
    parser.add_argument(
        "--endpoint",
        choices=tuple(PRIMARY_ENDPOINTS),
        default="auc_after_first",
        help="the primary endpoint the pairs are tested on as one family (Holm)",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    results = pd.concat([read_results(run / "results.csv") for run in args.runs], ignore_index=True)
    if (results.groupby("trial")["trial_seed"].nunique() > 1).any():
        raise SystemExit("the runs' trials do not pair up (other --seed or schedule).")
    pairs = [tuple(pair.split(":")) for pair in args.pairs]
    lines = [
        f"# {args.title}",
        "",
        f"Points of test {args.metric.replace('_', '-')}, a - b: mean and 95% Student-t "
        "interval over the paired trials; `*`: the interval excludes 0. Runs: "
        + ", ".join(f"`{run}`" for run in args.runs)
        + ".",
        "",
        family_note(pairs, args.endpoint),
        "",
        *paired_lines(results, pairs, args.metric, args.endpoint),
    ]
    emit(lines, args.out)


if __name__ == "__main__":
    main()
