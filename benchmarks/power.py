"""How many trials does a comparison need? Power sizing from a measured benchmark run.

Reads a ``results.csv`` of ``skcryoal benchmark`` (several trials) and, per
strategy, reports the trial-to-trial standard deviation of the normalized area
under the learning curve (AUC), the width of its 95% interval now, and the
number of trials at which that width falls below ``--width`` (default 2
points); for each strategy against random, the same for the paired AUC
difference, and the trials needed to detect a true gain of ``--gain`` points
with 80% power (paired t-test, two-sided 5%), alone and under Holm's
correction over the family of ``--comparisons`` (default: the run's
strategies against random), which tests the first comparison at
``0.05 / k`` (:func:`skcryoal.benchmark.trials_needed_holm`). Costs come from
the run's own training and query seconds per trial, on the machine and thread
count that made it. ``--endpoint auc_after_first`` plans for the default
primary endpoint of ``skcryoal benchmark`` (the area after the shared first
budget); the default, ``auc``, is the area over every budget.

Usage::

    python benchmarks/power.py benchmarks/results/campaign-snr01
    python benchmarks/power.py benchmarks/results/campaign-snr01 --endpoint auc_after_first \
        --comparisons 8
"""

import argparse
from pathlib import Path

import numpy as np
from scipy import stats

from skcryoal.benchmark import learning_curve_auc, read_results, trials_needed_holm


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


def trials_for_power_holm(sd, gain, n_comparisons, power=0.8, alpha=0.05):
    """Smallest n at which a paired t-test detects ``gain`` under Holm over ``n_comparisons``.

    Holm's first step tests at ``alpha / n_comparisons``; ``n`` trials are
    enough whatever the family's other comparisons do. ``inf`` where there is
    no spread to plan with.
    """
    if not sd > 0:
        return np.inf
    return trials_needed_holm(gain, sd, n_comparisons, alpha=alpha, power=power)


def trials_for_sign_flip(n_comparisons, alpha=0.05):
    """Fewest trials at which the exact sign-flip test can reject under Holm's first step.

    With ``n`` trials its two-sided p-value is at least ``2 / 2**n``, which must
    not exceed ``alpha / n_comparisons``: 6 trials for one comparison, 8 for 4.
    """
    n = 1
    while 2.0 / 2**n > alpha / n_comparisons:
        n += 1
    return n


def seconds_per_trial(results):
    """Training plus query seconds of one trial, per strategy (mean over trials)."""
    seconds = results.groupby(["strategy", "trial"])[["train_seconds", "query_seconds"]].sum()
    return seconds.sum(axis=1).groupby("strategy").mean()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--width", type=float, default=2.0, help="interval width, points")
    parser.add_argument("--gain", type=float, default=2.0, help="gain to detect, points")
    parser.add_argument(
        "--comparisons",
        type=int,
        default=None,
        help="family size for Holm's correction (default: the run's strategies against random)",
    )
    parser.add_argument(
        "--endpoint",
        choices=("auc", "auc_after_first"),
        default="auc",
        help="area over every budget (default) or after the shared first one (the primary "
        "endpoint of skcryoal benchmark)",
    )
    args = parser.parse_args(argv)
    if args.comparisons is not None and args.comparisons < 1:
        parser.error(f"--comparisons must be at least 1; got {args.comparisons}")
    results = read_results(args.run / "results.csv")
    auc = learning_curve_auc(results, after_first=args.endpoint == "auc_after_first")
    auc = auc.pivot(index="trial", columns="strategy", values="auc")
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
        k = args.comparisons or len(auc.columns) - 1
        print(
            f"\n| strategy - random | paired AUC difference | sd | 95% width now | trials for "
            f"width <= {args.width:g} | trials to detect +{args.gain:g} (80% power) | "
            f"trials to detect +{args.gain:g} under Holm over {k} (80% power) |"
        )
        print("|---|---|---|---|---|---|---|")
        for s in auc.columns:
            if s == "random":
                continue
            d = (auc[s] - auc["random"]).dropna() * 100
            sd = d.std(ddof=1)
            width = 2 * stats.t.ppf(0.975, len(d) - 1) * sd / np.sqrt(len(d))
            print(
                f"| {s} | {d.mean():+.2f} | {sd:.2f} | {width:.2f} | "
                f"{trials_for_width(sd, args.width)} | {trials_for_power(sd, args.gain)} | "
                f"{trials_for_power_holm(sd, args.gain, k)} |"
            )
        print(
            f"\nHolm over {k} comparison(s) tests the first at 0.05 / {k}; the trials in the "
            "last column suffice whatever the family's other comparisons do (paired t test). "
            f"The exact sign-flip test cannot reject at 0.05 / {k} with fewer than "
            f"{trials_for_sign_flip(k)} trials, whatever the effect. Areas: "
            + (
                "after the shared first budget."
                if args.endpoint == "auc_after_first"
                else "over every budget."
            )
        )
    total = per_trial.sum()
    print(f"\nOne trial of every strategy: {total / 60:.1f} min of training and querying.")


if __name__ == "__main__":
    main()
