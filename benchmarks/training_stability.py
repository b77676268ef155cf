"""How much does a model trained on the same labels swing with the seed?

For ``--sets`` fixed random labeled sets of ``--n-labeled`` volumes, train the
default recipe (plain cross-entropy) with ``--seeds`` seeds, with and without
wedge-preserving augmentation (axis flips, shifts of up to 2 voxels), and
evaluate on the test set the task model and mean models (EMA, ``decay="auto"``)
of several horizons, all from the same fits. The seed-to-seed spread (standard
deviation over seeds within a labeled set, pooled over sets) and the worst
drop below the set's median are the numbers of interest. Raw rows are appended
to ``--out`` fit by fit (resumable). One torch thread unless ``--threads``.

Usage::

    OMP_NUM_THREADS=1 nice python benchmarks/training_stability.py \\
        --out benchmarks/results/stability/rows.csv
"""

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import torch

from skcryoal import CryoNetClassifier
from skcryoal.callbacks import ExponentialMovingAverage
from skcryoal.datasets import fetch_simulated

HORIZONS = (0.1, 0.3)
FIELDS = ("set", "seed", "recipe", "n_labeled", "model", "accuracy", "seconds")
RECIPES = {
    "plain": dict(augment=False),
    "augment": dict(augment=True),
    # the EMA method's training: the consistency regularizer with the default horizon
    "augment-reg": dict(augment=True, reg_lambda=0.03),
}


def run_one(data, labeled_set, seed, recipe, n_labeled, epochs, width):
    X_pool, y_pool, X_test, y_test = data
    idx = np.sort(np.random.default_rng(1000 + labeled_set).choice(len(X_pool), n_labeled, False))
    callbacks = [
        (f"ema_h{h}", ExponentialMovingAverage(decay="auto", horizon=h, target="none"))
        for h in HORIZONS
    ]
    clf = CryoNetClassifier(
        module__width=width,
        max_epochs=epochs,
        classes=np.unique(y_pool),
        random_state=seed,
        callbacks=callbacks,
        **{"reg_lambda": 0.0, **RECIPES[recipe]},
    )
    start = time.perf_counter()
    clf.fit(np.asarray(X_pool[idx]), y_pool[idx])
    seconds = round(time.perf_counter() - start, 1)
    base = dict(set=labeled_set, seed=seed, recipe=recipe, n_labeled=n_labeled, seconds=seconds)
    rows = [dict(base, model="task", accuracy=float(np.mean(clf.predict(X_test) == y_test)))]
    for name, cb in callbacks:
        clf.ema_module_.load_state_dict(cb.averaged_module_.state_dict())
        acc = float(np.mean(clf.predict(X_test, model="mean") == y_test))
        rows.append(dict(base, model="mean_" + name.removeprefix("ema_"), accuracy=acc))
    return rows


def report(path):
    """Print the spread and accuracy of each recipe and model, and paired differences."""
    import pandas as pd
    from scipy import stats

    d = pd.read_csv(path)
    d["variant"] = d["recipe"] + " / " + d["model"]
    print(f"{path}: {d['set'].nunique()} labeled sets x {d['seed'].nunique()} seeds\n")
    print(
        "| recipe / predicting model | accuracy | seed-to-seed sd (pooled over sets) | "
        "worst drop below the set's median | fits |"
    )
    print("|---|---|---|---|---|")
    for variant, g in d.groupby("variant", sort=False):
        sd = np.sqrt(g.groupby("set")["accuracy"].var(ddof=1).mean())
        drop = (g.groupby("set")["accuracy"].transform("median") - g["accuracy"]).max()
        print(f"| {variant} | {g['accuracy'].mean():.3f} | {sd:.3f} | {drop:.3f} | {len(g)} |")
    wide = d.pivot_table(index=["set", "seed"], columns="variant", values="accuracy")
    base = "plain / task"
    print("\n| against plain / task (paired by set and seed) | difference | 95% interval | n |")
    print("|---|---|---|---|")
    for variant in wide.columns:
        if variant == base:
            continue
        diff = (wide[variant] - wide[base]).dropna()
        if len(diff) < 2:
            continue
        half = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff))
        print(
            f"| {variant} | {diff.mean():+.3f} | [{diff.mean() - half:+.3f}, "
            f"{diff.mean() + half:+.3f}] | {len(diff)} |"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--report", type=Path, help="print the tables of a rows file")
    parser.add_argument("--sets", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--n-labeled", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--snr", type=float, default=0.1)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--recipes", default="plain,augment")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.report:
        return report(args.report)
    if args.out is None:
        parser.error("--out is required (or --report FILE)")
    torch.set_num_threads(args.threads)
    ds = fetch_simulated(
        "quick", n_train_per_class=200, n_test_per_class=100, snr=args.snr, size=args.size
    )
    data = (ds["X_train"], ds["y_train"], np.asarray(ds["X_test"]), ds["y_test"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if args.out.exists():
        with open(args.out) as f:
            done = {(int(r["set"]), int(r["seed"]), r["recipe"]) for r in csv.DictReader(f)}
    new = not args.out.exists()
    for labeled_set in range(args.sets):
        for seed in range(args.seeds):
            for recipe in args.recipes.split(","):
                if (labeled_set, seed, recipe) in done:
                    continue
                rows = run_one(
                    data, labeled_set, seed, recipe, args.n_labeled, args.epochs, args.width
                )
                with open(args.out, "a", newline="") as f:
                    writer = csv.DictWriter(f, FIELDS)
                    if new:
                        writer.writeheader()
                        new = False
                    writer.writerows(rows)
                print(
                    f"set {labeled_set} seed {seed} {recipe}: "
                    + ", ".join(f"{r['model']} {r['accuracy']:.3f}" for r in rows)
                    + f" ({rows[0]['seconds']} s, threads={args.threads})",
                    flush=True,
                )


if __name__ == "__main__":
    main()
