"""Does the mean model carry uncertainty? The EMA horizon against the deviation score's AUROC.

For each seed: draw ``--n-labeled`` random labels from the pool, train the
default recipe once with plain cross-entropy (``reg_lambda=0``: the task model
does not depend on the mean model), and keep one mean model per horizon
(several EMA callbacks on the same fit, so every horizon sees the very same
task-model trajectory). On the test set, report per horizon:

- the mean model's accuracy (and the task model's);
- the AUROC with which the KL deviation ``KL(p_M || p_T)`` ranks the task
  model's errors above its correct predictions (0.5: no information);
- for reference, the AUROC of the task model's predictive entropy and margin.

Horizons are fractions of the fit's optimizer steps (``ema_decay="auto"``) plus
the paper's fixed ``0.999``. One torch thread (stated in the output); raw rows
are appended to ``--out`` (CSV) seed by seed, so a rerun resumes.

Usage::

    nice python benchmarks/ema_horizon.py --seeds 6 \\
        --out benchmarks/results/ema_horizon/rows.csv
"""

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from skcryoal import CryoNetClassifier
from skcryoal.callbacks import ExponentialMovingAverage
from skcryoal.datasets import fetch_simulated
from skcryoal.query import kl_deviation

HORIZONS = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
FIELDS = (
    "seed",
    "n_labeled",
    "epochs",
    "steps",
    "ema",
    "decay",
    "task_accuracy",
    "mean_accuracy",
    "auroc_kl",
    "auroc_entropy",
    "auroc_margin",
    "seconds",
)


def _entropy(p):
    return -(p * np.log(np.clip(p, 1e-12, None))).sum(axis=1)


def _margin(p):
    s = np.sort(p, axis=1)
    return -(s[:, -1] - s[:, -2])  # small margin = uncertain: higher score


def run_seed(data, seed, n_labeled, epochs, width, horizons):
    X_pool, y_pool, X_test, y_test = data
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(X_pool), n_labeled, replace=False))
    callbacks = [
        (f"ema_h{h}", ExponentialMovingAverage(decay="auto", horizon=h, target="none"))
        for h in horizons
    ] + [("ema_0.999", ExponentialMovingAverage(decay=0.999, target="none"))]
    clf = CryoNetClassifier(
        module__width=width,
        max_epochs=epochs,
        reg_lambda=0.0,
        classes=np.unique(y_pool),
        random_state=seed,
        callbacks=callbacks,
    )
    start = time.perf_counter()
    clf.fit(np.asarray(X_pool[idx]), y_pool[idx])
    seconds = time.perf_counter() - start
    (task_logits,) = clf.forward_logits(X_test, models=("task",))
    p_task = torch.softmax(torch.from_numpy(task_logits), 1).numpy()
    wrong = clf.classes_[p_task.argmax(1)] != y_test
    rows = []
    steps = None
    for name, cb in callbacks:
        clf.ema_module_.load_state_dict(cb.averaged_module_.state_dict())
        (mean_logits,) = clf.forward_logits(X_test, models=("mean",))
        kl = kl_deviation(task_logits, mean_logits)
        steps = cb.n_updates_
        rows.append(
            dict(
                seed=seed,
                n_labeled=n_labeled,
                epochs=epochs,
                steps=steps,
                ema=name.removeprefix("ema_"),
                decay=round(cb.decay_, 6),
                task_accuracy=float(np.mean(~wrong)),
                mean_accuracy=float(np.mean(clf.classes_[mean_logits.argmax(1)] == y_test)),
                auroc_kl=float(roc_auc_score(wrong, kl)),
                auroc_entropy=float(roc_auc_score(wrong, _entropy(p_task))),
                auroc_margin=float(roc_auc_score(wrong, _margin(p_task))),
                seconds=round(seconds, 1),
            )
        )
    return rows


def report(*paths):
    """Print a Markdown table per rows file: means and 95% intervals over seeds."""
    import pandas as pd
    from scipy import stats

    for path in paths:
        d = pd.read_csv(path)
        n = d["seed"].nunique()
        half = stats.t.ppf(0.975, n - 1) / np.sqrt(n) if n > 1 else np.nan
        steps = int(d["steps"].iloc[0])
        print(f"\n{path}: {n} seeds, {d['n_labeled'].iloc[0]} labels, {steps} steps per fit\n")
        print(
            "| mean model | decay | time constant (steps) | mean-model accuracy | "
            "AUROC of KL for task errors |"
        )
        print("|---|---|---|---|---|")
        for ema, g in d.groupby("ema", sort=False):
            constant = 1 / (1 - g["decay"].iloc[0]) if g["decay"].iloc[0] < 1 else np.inf
            label = f"horizon {ema[1:]}" if ema.startswith("h") else f"decay {ema}"
            print(
                f"| {label} | {g['decay'].iloc[0]:.4f} | {constant:.0f} | "
                f"{g['mean_accuracy'].mean():.3f} ± {half * g['mean_accuracy'].std():.3f} | "
                f"{g['auroc_kl'].mean():.3f} ± {half * g['auroc_kl'].std():.3f} |"
            )
        first = d.groupby("seed").first()
        for col, label in (
            ("task_accuracy", "task-model accuracy"),
            ("auroc_entropy", "AUROC of entropy"),
            ("auroc_margin", "AUROC of margin"),
        ):
            print(f"\n{label}: {first[col].mean():.3f} ± {half * first[col].std():.3f}", end="")
        print("\n(± : half-width of the 95% t interval over seeds)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--report", nargs="+", type=Path, help="print tables of rows files")
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--n-labeled", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--snr", type=float, default=0.1)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.report:
        return report(*args.report)
    if args.out is None:
        parser.error("--out is required (or --report FILES)")
    torch.set_num_threads(args.threads)
    ds = fetch_simulated(
        "quick", n_train_per_class=200, n_test_per_class=100, snr=args.snr, size=args.size
    )
    data = (ds["X_train"], ds["y_train"], np.asarray(ds["X_test"]), ds["y_test"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if args.out.exists():
        with open(args.out) as f:
            done = {int(r["seed"]) for r in csv.DictReader(f)}
    new = not args.out.exists()
    for seed in range(args.seeds):
        if seed in done:
            continue
        rows = run_seed(data, seed, args.n_labeled, args.epochs, args.width, HORIZONS)
        with open(args.out, "a", newline="") as f:
            writer = csv.DictWriter(f, FIELDS)
            if new:
                writer.writeheader()
                new = False
            writer.writerows(rows)
        print(f"seed {seed}: {rows[0]['seconds']} s, threads={args.threads}", flush=True)


if __name__ == "__main__":
    main()
