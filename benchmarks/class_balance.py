"""Class balance of the labeled sets that each strategy of a benchmark run built.

Reads a ``results.csv`` written by ``skcryoal benchmark`` on simulated data,
replays the ``added`` column cycle by cycle, and prints, per strategy and
labeled-set size, the smallest and largest number of labeled volumes of one
class (mean over trials). Uncertainty-style strategies tend to concentrate
their queries on a few classes; this shows by how much.

Usage::

    python benchmarks/class_balance.py benchmarks/results/medium
    python benchmarks/class_balance.py benchmarks/results/ablations

The pool labels are re-created from the run's ``config.json`` with
``fetch_simulated`` (cached), so only simulated-data runs are supported.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from skcryoal.benchmark import decode_indices, read_results
from skcryoal.datasets import fetch_simulated


def class_balance(results, y_pool):
    """Return one row per (strategy, n_labeled): mean min and max class counts over trials."""
    n_classes = len(np.unique(y_pool))
    rows = []
    for (strategy, trial), cycles in results.groupby(["strategy", "trial"], sort=False):
        if strategy == "full-pool":
            continue
        labeled = []
        for _, row in cycles.sort_values("cycle").iterrows():
            labeled.extend(decode_indices(row["added"]))
            counts = np.bincount(y_pool[labeled], minlength=n_classes)
            rows.append((strategy, trial, row["n_labeled"], counts.min(), counts.max()))
    table = pd.DataFrame(rows, columns=["strategy", "trial", "n_labeled", "min", "max"])
    return table.groupby(["strategy", "n_labeled"], sort=False)[["min", "max"]].mean()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path, help="a skcryoal benchmark --out folder")
    args = parser.parse_args()
    config = json.loads((args.run / "config.json").read_text())
    data = config["data"]
    if "dataset" not in data:
        raise SystemExit(f"{args.run} is not a simulated-data run; its pool labels are not known.")
    y_pool = fetch_simulated(data["dataset"], **data["overrides"])["y_train"]
    balance = class_balance(read_results(args.run / "results.csv"), y_pool)
    wide = balance.apply(lambda r: f"{r['min']:.0f}-{r['max']:.0f}", axis=1)
    wide = wide.unstack("n_labeled").fillna("not run")
    print(f"Labeled volumes per class, smallest-largest (mean over trials), {args.run}:\n")
    print("| strategy | " + " | ".join(str(n) for n in wide.columns) + " |")
    print("|---" * (len(wide.columns) + 1) + "|")
    for strategy, row in wide.iterrows():
        print(f"| {strategy} | " + " | ".join(row.astype(str)) + " |")


if __name__ == "__main__":
    main()
