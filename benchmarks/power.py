"""How many trials does a comparison need? Power sizing from a measured benchmark run.

Reads a ``results.csv`` of ``skcryoal benchmark`` (several trials) and, per
strategy, reports the trial-to-trial standard deviation of the normalized area
under the learning curve (AUC), the width of its 95% interval now, and the
number of trials at which that width falls below ``--width`` (default 2
points); for each strategy against random, the same for the paired AUC
difference, and the trials needed to detect a true gain of ``--gain`` points
with 80% power (paired t-test, two-sided 5%). Costs come from the run's own
training and query seconds per trial, on the machine and thread count that
made it.

Usage::

    python benchmarks/power.py benchmarks/results/campaign-snr01
"""

import argparse
from pathlib import Path

import numpy as np
from scipy import stats

from skcryoal.benchmark import learning_curve_auc, read_results


def trials_for_width(sd, width, confidence=0.95, max_trials=1000):
    """Smallest n with 2 * t_{n-1} * sd / sqrt(n) <= width."""
    for n in range(2, max_trials):
        if 2 * stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / np.sqrt(n) <= width:
            return n
    return np.inf


def trials_for_power(sd, gain, power=0.8, alpha=0.05, max_trials=1000):
    """Smallest n at which a paired t-test detects ``gain`` with the given power."""
    for n in range(2, max_trials):
        df = n - 1
        crit = stats.t.ppf(1 - alpha / 2, df)
        nc = gain / (sd / np.sqrt(n))
        if stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc) >= power:
            return n
    return np.inf


def seconds_per_trial(results):
    """Training plus query seconds of one trial, per strategy (mean over trials)."""
    seconds = results.groupby(["strategy", "trial"])[["train_seconds", "query_seconds"]].sum()
    return seconds.sum(axis=1).groupby("strategy").mean()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--width", type=float, default=2.0, help="interval width, points")
    parser.add_argument("--gain", type=float, default=2.0, help="gain to detect, points")
    args = parser.parse_args()
    results = read_results(args.run / "results.csv")
    auc = learning_curve_auc(results).pivot(index="trial", columns="strategy", values="auc")
    per_trial = seconds_per_trial(results)
    n = len(auc)
    print(f"{args.run}: {n} trials, strategies {list(auc.columns)}\n")
    print(
        "| strategy | AUC mean | sd over trials | 95% width now | trials for width "
        f"<= {args.width:g} | s per trial |"
    )
    print("|---|---|---|---|---|---|")
    for s in auc.columns:
        v = auc[s].dropna() * 100
        sd = v.std(ddof=1)
        width = 2 * stats.t.ppf(0.975, len(v) - 1) * sd / np.sqrt(len(v))
        print(
            f"| {s} | {v.mean():.1f} | {sd:.2f} | {width:.2f} | "
            f"{trials_for_width(sd, args.width)} | {per_trial[s]:.0f} |"
        )
    if "random" in auc.columns:
        print(
            f"\n| strategy - random | paired AUC difference | sd | 95% width now | trials for "
            f"width <= {args.width:g} | trials to detect +{args.gain:g} (80% power) |"
        )
        print("|---|---|---|---|---|---|")
        for s in auc.columns:
            if s == "random":
                continue
            d = (auc[s] - auc["random"]).dropna() * 100
            sd = d.std(ddof=1)
            width = 2 * stats.t.ppf(0.975, len(d) - 1) * sd / np.sqrt(len(d))
            print(
                f"| {s} | {d.mean():+.2f} | {sd:.2f} | {width:.2f} | "
                f"{trials_for_width(sd, args.width)} | {trials_for_power(sd, args.gain)} |"
            )
    total = per_trial.sum()
    print(f"\nOne trial of every strategy: {total / 60:.1f} min of training and querying.")


if __name__ == "__main__":
    main()
