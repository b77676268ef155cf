"""``skcryoal demo``: one active-learning campaign on built-in simulated data."""

import time

import numpy as np

from ._common import positive_int, snr_value

NAME = "demo"
HELP = (
    "Run a short active-learning campaign on simulated subtomograms: the EMA deviation "
    "strategy against random selection, from the same initial labels."
)


# strategies that work with a plain CryoNetClassifier (no dropout, no extra head)
_SUPPORTED = ("ema", "random", "entropy", "margin", "least_confident", "coreset")


def add_arguments(parser):
    """Add the options of ``skcryoal demo`` to ``parser``."""
    add = parser.add_argument
    add("--n-classes", type=positive_int, default=10, help="classes (default: 10)")
    add("--size", type=positive_int, default=32, help="box edge in voxels (default: 32)")
    add("--snr", type=snr_value, default=0.5, help="signal-to-noise ratio (default: 0.5)")
    add("--pool", type=positive_int, default=1000, help="unlabeled pool size (default: 1000)")
    add("--test", type=positive_int, default=400, help="test set size (default: 400)")
    add("--initial", type=positive_int, default=100, help="initial labels (default: 100)")
    add("--step", type=positive_int, default=50, help="labels per cycle (default: 50)")
    add("--cycles", type=positive_int, default=4, help="query cycles (default: 4)")
    add("--epochs", type=positive_int, default=20, help="epochs per fit (default: 20)")
    add("--width", type=positive_int, default=16, help="ResNet3D width (default: 16)")
    add(
        "--strategies",
        default="ema,random",
        help=f"comma-separated strategies among {', '.join(_SUPPORTED)} (default: ema,random)",
    )
    add("--device", default="cpu", help="torch device, e.g. cuda (default: cpu)")
    add("--seed", type=int, default=0, help="random seed (default: 0)")


def _strategy(name, seed):
    from ..query import get_strategy

    if name not in _SUPPORTED:
        from ._common import CLIError

        raise CLIError(
            f"skcryoal demo: unknown strategy {name!r}; choose among {', '.join(_SUPPORTED)}"
        )
    return get_strategy(name, random_state=np.random.RandomState(seed))


def run(args):
    """Simulate data, run the campaign for each strategy and print accuracies."""
    from ..classifier import CryoNetClassifier
    from ..datasets import make_subtomograms
    from ..learner import ActiveLearner

    names = [s.strip() for s in args.strategies.split(",") if s.strip()]
    if not names:
        from ._common import CLIError

        raise CLIError(
            f"skcryoal demo: --strategies lists no strategy (got {args.strategies!r}); name "
            f"one or more, comma-separated, among {', '.join(_SUPPORTED)} (e.g. ema,random)"
        )
    strategies = {name: _strategy(name, args.seed) for name in names}
    final = args.initial + args.cycles * args.step
    if final > args.pool:
        from ._common import CLIError

        raise CLIError(
            f"skcryoal demo: the campaign needs {final} labels (--initial + --cycles x --step) "
            f"but the pool has only {args.pool}; enlarge --pool or reduce the budget"
        )
    print(
        f"Simulating {args.pool + args.test} subtomograms: {args.n_classes} classes, "
        f"{args.size}^3 voxels, SNR {args.snr:g} ...",
        flush=True,
    )
    X, y = make_subtomograms(
        args.pool + args.test, args.n_classes, args.size, args.snr, random_state=args.seed
    )
    X_pool_all, y_pool_all = X[: args.pool], y[: args.pool]
    X_test, y_test = X[args.pool :], y[args.pool :]
    initial = np.random.default_rng(args.seed).choice(args.pool, args.initial, replace=False)

    results = {}
    for name, strategy in strategies.items():
        start = time.perf_counter()
        clf = CryoNetClassifier(
            module__width=args.width,
            max_epochs=args.epochs,
            classes=np.arange(args.n_classes),
            device=args.device,
            random_state=args.seed,
        )
        learner = ActiveLearner(
            clf,
            query_strategy=strategy,
            X_training=X_pool_all[initial],
            y_training=y_pool_all[initial],
        )
        unlabeled = np.setdiff1d(np.arange(args.pool), initial)
        accuracies = [learner.score(X_test, y_test)]
        print(f"[{name}] {args.initial} labels: accuracy {accuracies[-1]:.3f}", flush=True)
        for _ in range(args.cycles):
            idx, X_query = learner.query(X_pool_all[unlabeled], n_instances=args.step)
            learner.teach(X_query, y_pool_all[unlabeled[idx]])
            unlabeled = np.delete(unlabeled, idx)
            accuracies.append(learner.score(X_test, y_test))
            print(
                f"[{name}] {len(learner.y_training)} labels: accuracy {accuracies[-1]:.3f}",
                flush=True,
            )
        results[name] = (accuracies, time.perf_counter() - start)

    labels = [args.initial + i * args.step for i in range(args.cycles + 1)]
    print("\nTest accuracy by number of labeled volumes")
    header = f"{'strategy':<10}" + "".join(f"{n:>8}" for n in labels) + f"{'time':>9}"
    print(header)
    print("-" * len(header))
    for name, (accuracies, seconds) in results.items():
        print(f"{name:<10}" + "".join(f"{a:>8.3f}" for a in accuracies) + f"{seconds:>8.0f}s")
    return 0
