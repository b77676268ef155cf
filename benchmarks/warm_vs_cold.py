"""Warm-started rounds against cold ones: paired accuracy, learning-curve area and fit cost.

A warm run (``skcryoal benchmark ... --warm-start N``) and a cold run of the
same configuration and ``--seed`` pair up trial by trial: the same initial
labeled sets, trial seeds and cycle-0 model. This script joins them (the warm
strategies renamed ``<name>-warm<N>``), checks the pairing, and writes a
markdown report: per strategy, the paired difference warm - cold of test
accuracy at each budget and of the normalized area under the learning curve
(95% Student-t intervals over trials), and the fit cost of cycles 1 and later
in volume-epochs (labels x epochs, what the fit's time is proportional to) and
in the seconds the runs recorded.

Usage::

    python benchmarks/warm_vs_cold.py --cold benchmarks/results/campaign-snr01/part-a \\
        --warm benchmarks/results/campaign-snr01/part-warm \\
        --out benchmarks/results/campaign-snr01/warm_vs_cold.md
"""

import argparse
import json
from pathlib import Path

import pandas as pd
from paired_table import emit, family_note, paired_lines

from skcryoal.benchmark import read_results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cold", type=Path, required=True, help="folder of the cold run")
    parser.add_argument("--warm", type=Path, required=True, help="folder of the warm run")
    parser.add_argument("--out", type=Path, default=None, help="markdown report to write")
    args = parser.parse_args()

    config = json.loads((args.warm / "config.json").read_text())
    cold_config = json.loads((args.cold / "config.json").read_text())
    epochs = config.get("warm_start_epochs")
    if not epochs:
        raise SystemExit(f"{args.warm} is not a warm-started run (no warm_start_epochs).")
    cold_epochs = int(cold_config["classifier"]["max_epochs"])
    warm = read_results(args.warm / "results.csv")
    cold = read_results(args.cold / "results.csv")
    cold = cold[cold["strategy"].isin(set(warm["strategy"]))]
    trials = sorted(set(warm["trial"]) & set(cold["trial"]))
    warm, cold = warm[warm["trial"].isin(trials)], cold[cold["trial"].isin(trials)]
    seeds = pd.concat([warm, cold]).groupby("trial")["trial_seed"].nunique()
    first = pd.concat([warm, cold])
    first = first[first["cycle"] == 0].groupby("trial")["added"].nunique()
    if (seeds > 1).any() or (first > 1).any():
        raise SystemExit("the runs' trials do not pair up (other --seed or schedule).")
    names = {s: f"{s}-warm{epochs}" for s in warm["strategy"].unique()}
    warm = warm.assign(strategy=warm["strategy"].map(names))
    both = pd.concat([cold, warm], ignore_index=True)

    lines = [
        f"# Warm-started rounds ({epochs} epochs) against cold ones ({cold_epochs} epochs)",
        "",
        f"Cold: `{args.cold}`; warm: `{args.warm}`. Points of test accuracy, warm - cold: mean "
        "and 95% Student-t interval over the paired trials; `*`: the interval excludes 0.",
        "",
        family_note(list(names.items())),
        "",
        *paired_lines(both, [(w, c) for c, w in names.items()]),
    ]
    lines += [
        "",
        "Accuracy of each run (mean over trials):",
        "",
        "| strategy | " + " | ".join(f"{n}" for n in sorted(both["n_labeled"].unique())) + " |",
        "|---|" + "---|" * both["n_labeled"].nunique(),
    ]
    means = both.groupby(["strategy", "n_labeled"])["accuracy"].mean().unstack()
    for name in [*names.keys(), *names.values()]:
        lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in means.loc[name]) + " |")

    later = both[both["cycle"] > 0]
    lines += [
        "",
        "Fit cost of cycles 1 and later, per trial (a fit's time is proportional to its "
        "labels x epochs; the seconds were recorded with other jobs sharing the cores, "
        "differently in the two runs):",
        "",
        "| strategy | volume-epochs | seconds (mean over trials) |",
        "|---|---|---|",
    ]
    for name in [*names.keys(), *names.values()]:
        rows = later[later["strategy"] == name]
        ep = epochs if name in names.values() else cold_epochs
        volume_epochs = rows.groupby("trial")["n_labeled"].sum().mean() * ep
        seconds = rows.groupby("trial")["train_seconds"].sum().mean()
        lines.append(f"| {name} | {volume_epochs:,.0f} | {seconds:.0f} |")
    emit(lines, args.out)


if __name__ == "__main__":
    main()
