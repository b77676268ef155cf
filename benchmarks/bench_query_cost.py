"""Query cost of every registered strategy against one plain inference pass.

Fits a ``CryoNetClassifier`` briefly (with ``module__dropout`` so MC-dropout
works), then times, in the same process and on the same pool:

* one plain inference pass, ``clf.predict_proba(pool)`` (the unit of the table);
* one query of ``--n-instances`` volumes by each strategy of
  :func:`skcryoal.query._registry.available_strategies`, through an
  ``ActiveLearner`` whose labeled set is the training set.

The table (strategy, seconds, volumes/s, ratio to inference) is the analogue of
the paper's appendix timing table (there: hours for a whole run on a GPU).
LL4AL queries its own ``LearningLossClassifier`` (fitted the same way; its
training is not timed); VAAL's time includes training its VAE and
discriminator, which is part of every VAAL query. Strategies whose module is
not installed are listed as "not available".

Usage::

    python benchmarks/bench_query_cost.py                 # 2000 volumes of 32^3, width 16
    python benchmarks/bench_query_cost.py --pool 64 --size 16 --width 4 --train 32
"""

import argparse
import inspect
import os
import time

import numpy as np
import torch

from skcryoal import ActiveLearner, CryoNetClassifier
from skcryoal.query._registry import _strategy_class, available_strategies, get_strategy

N_CLASSES = 10


def _volumes(n, size, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 1, size, size, size)).astype(np.float32)
    return X, rng.integers(0, N_CLASSES, n)


def _fit(cls, args, X, y):
    return cls(
        module__width=args.width,
        module__dropout=args.dropout,
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        classes=list(range(N_CLASSES)),
        random_state=0,
    ).fit(X, y)


def _timed(fn, repeat=1):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _classifier_for(name, clf, args, X, y, cache):
    if name != "ll4al":
        return clf
    if "ll4al" not in cache:
        from skcryoal.classifier._learning_loss import LearningLossClassifier

        cache["ll4al"] = _fit(LearningLossClassifier, args, X, y)
    return cache["ll4al"]


def _init_params(name):
    return inspect.signature(_strategy_class(name)).parameters


def main():
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--pool", type=int, default=2000)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--train", type=int, default=200, help="labeled volumes (fit + core-set)")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--n-instances", type=int, default=None, help="default: 5%% of the pool")
    p.add_argument("--mc-passes", type=int, default=20)
    p.add_argument("--repeat", type=int, default=1, help="best of this many runs each")
    p.add_argument("--strategies", nargs="*", default=None, help="default: all registered")
    args = p.parse_args()
    n_instances = args.n_instances or max(1, args.pool // 20)
    names = args.strategies or available_strategies()
    unknown = sorted(set(names) - set(available_strategies()))
    if unknown:
        p.error(f"unknown strategies {unknown}; choose from {available_strategies()}")

    X, y = _volumes(args.train, args.size, 0)
    pool, _ = _volumes(args.pool, args.size, 1)
    clf = _fit(CryoNetClassifier, args, X, y)
    clf.predict_proba(pool[: args.batch_size])  # warm-up
    t_infer = _timed(lambda: clf.predict_proba(pool), args.repeat)

    params = {
        "mc_dropout": dict(n_passes=args.mc_passes),
        "vaal": dict(batch_size=args.batch_size),
    }
    rows, cache = [], {}
    for name in names:
        try:
            _strategy_class(name)
            model = _classifier_for(name, clf, args, X, y, cache)
        except ImportError as exc:
            rows.append((name, None, f"not available ({exc.__class__.__name__})"))
            continue
        kwargs = dict(params.get(name, {}))
        if "batch_size" in _init_params(name):
            kwargs.setdefault("batch_size", args.batch_size)
        strategy = get_strategy(name, random_state=0, **kwargs)
        learner = ActiveLearner(model, query_strategy=strategy)
        learner.X_training, learner.y_training = X, y  # fitted on them already
        seconds = _timed(lambda: learner.query(pool, n_instances=n_instances), args.repeat)
        rows.append((name, seconds, ""))

    print(
        f"machine: {os.cpu_count()} CPU cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, device {clf.device}"
    )
    print(
        f"model: ResNet3D width={args.width}, dropout={args.dropout}, volumes {args.size}^3, "
        f"batch {args.batch_size}; pool {args.pool}, labeled {args.train}, "
        f"query {n_instances} volumes"
    )
    header = f"{'strategy':<18}{'seconds':>10}{'volumes/s':>12}{'x inference':>13}"
    print(header)
    print("-" * len(header))
    print(f"{'inference pass':<18}{t_infer:>10.2f}{args.pool / t_infer:>12.1f}{1.0:>13.2f}")
    for name, seconds, note in rows:
        if seconds is None:
            print(f"{name:<18}{note:>35}")
        else:
            print(
                f"{name:<18}{seconds:>10.2f}{args.pool / seconds:>12.1f}{seconds / t_infer:>13.2f}"
            )


if __name__ == "__main__":
    main()
