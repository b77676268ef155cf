"""Run the selection-only protocol on the built-in simulator and write its summary.

From each of ``--states`` states (a random initial set and a model trained on
it), every strategy selects a batch; each resulting labeled set is retrained
with ``--retrain`` seeds (paired across strategies); ``summary.md`` reports each
strategy's gain over random with a 95% interval over states
(:func:`skcryoal.benchmark.run_selection_study`). Resumable: rerun the same
command to continue. Raw tables: ``batches.csv`` and ``retrain.csv``.

Usage::

    OMP_NUM_THREADS=1 nice python benchmarks/selection_study.py \\
        --strategies ema,entropy,margin,coreset,random --states 8 --retrain 3 \\
        --out benchmarks/results/selection/snr01
"""

import argparse
import json
import platform
import sys
from pathlib import Path

import numpy as np
import torch

from skcryoal.benchmark import ClassifierFactory, run_selection_study, write_selection_summary
from skcryoal.datasets import fetch_simulated


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--strategies", default="ema,entropy,margin,coreset,random")
    parser.add_argument("--dataset", default="quick")
    parser.add_argument("--n-train-per-class", type=int, default=200)
    parser.add_argument("--n-test-per-class", type=int, default=100)
    parser.add_argument("--snr", type=float, default=0.1)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--n-initial", type=int, default=200)
    parser.add_argument("--n-query", type=int, default=100)
    parser.add_argument("--states", type=int, default=8)
    parser.add_argument("--retrain", type=int, default=3)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--clf", default="{}", help="JSON of extra classifier parameters")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--only-states", default=None, help="e.g. 0-3: run these states only (parallel parts)"
    )
    parser.add_argument(
        "--summary-of", nargs="*", type=Path, default=(), help="folders to join in summary.md"
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    overrides = dict(
        n_train_per_class=args.n_train_per_class,
        n_test_per_class=args.n_test_per_class,
        snr=args.snr,
        size=args.size,
    )
    ds = fetch_simulated(args.dataset, **overrides)
    factory = ClassifierFactory(width=args.width, max_epochs=args.epochs, **json.loads(args.clf))
    args.out.mkdir(parents=True, exist_ok=True)
    config = dict(
        command=" ".join(sys.argv),
        dataset=args.dataset,
        overrides=overrides,
        factory=repr(factory),
        threads=args.threads,
        torch=torch.__version__,
        processor=platform.processor() or platform.machine(),
    )
    (args.out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    run_selection_study(
        ds["X_train"],
        ds["y_train"],
        np.asarray(ds["X_test"]),
        ds["y_test"],
        args.strategies,
        n_initial=args.n_initial,
        n_query=args.n_query,
        n_states=args.states,
        n_retrain=args.retrain,
        classifier_factory=factory,
        random_state=args.seed,
        out=args.out,
        states=_states(args.only_states),
        verbose=True,
    )
    title = f"Selection-only study: {args.out.name}"
    print(write_selection_summary(args.out, title=title, parts=args.summary_of))


def _states(text):
    if not text:
        return None
    first, _, last = text.partition("-")
    return range(int(first), int(last or first) + 1)


if __name__ == "__main__":
    main()
