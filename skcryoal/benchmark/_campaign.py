"""The active-learning protocol of the paper, run for several strategies and trials."""

import copy
import inspect
import time

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

from ..utils._batches import RowSubset
from ..utils._validation import check_volumes
from ._factory import ClassifierFactory
from ._progress import InterruptGuard, progress_display
from ._results import (
    CEILING,
    COLUMNS,
    ResultsWriter,
    decode_indices,
    encode_indices,
)
from ._schedule import budget_schedule, derive_seed, initial_labeled_indices, trial_seeds
from ._specs import as_strategy_spec, split_strategy_list

_CHECKED = ("trial_seed", "n_labeled", "n_pool", "n_test", "strategy_name", "added")


def _check_data(X_pool, y_pool, X_test, y_test):
    if X_test is None or len(X_test) == 0:
        raise ValueError(
            "The test set is empty; a campaign evaluates every cycle on held-out volumes. "
            "Pass X_test and y_test with at least one volume (e.g. a test fraction > 0)."
        )
    X_pool = check_volumes(X_pool, name="X_pool", check_finite=False)
    X_test = check_volumes(X_test, name="X_test", volume_shape=X_pool.shape[2:], check_finite=False)
    y_pool, y_test = np.asarray(y_pool), np.asarray(y_test)
    for X, y, name in ((X_pool, y_pool, "pool"), (X_test, y_test, "test")):
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(
                f"The {name} labels must be one per volume: got {len(X)} volumes and labels "
                f"of shape {y.shape}."
            )
    return X_pool, y_pool, X_test, y_test


def _as_specs(strategies):
    if isinstance(strategies, str):
        strategies = split_strategy_list(strategies)
    elif callable(strategies) or not hasattr(strategies, "__iter__"):
        strategies = [strategies]
    specs = [as_strategy_spec(s) for s in strategies]
    if not specs:
        raise ValueError("No strategy given; pass at least one, e.g. strategies=['ema', 'random'].")
    labels = [s.label for s in specs]
    repeated = sorted({lab for lab in labels if labels.count(lab) > 1})
    if repeated:
        raise ValueError(
            f"Strategy labels must be unique; {repeated} appear more than once. Name the "
            "variants, e.g. 'noema=ema:clf.reg_lambda=0'."
        )
    if CEILING in labels:
        raise ValueError(f"{CEILING!r} is reserved for full-pool supervision (ceiling=True).")
    return specs


def _make_strategy(spec, seed):
    from ..query import get_strategy

    if spec.strategy is not None:
        strategy = copy.deepcopy(spec.strategy)
        if hasattr(strategy, "random_state"):
            strategy.random_state = seed
        return strategy
    try:
        return get_strategy(spec.name, random_state=seed, **spec.params)
    except TypeError as exc:
        raise ValueError(f"strategy {spec.label!r}: {exc}") from exc


def _takes_labeled(strategy):
    try:
        return "X_labeled" in inspect.signature(strategy).parameters
    except (TypeError, ValueError):
        return False


class _Campaign:
    """State shared by the cycles of :func:`run_campaign`."""

    def __init__(self, data, specs, factory, schedule, semi, dataset, progress, writer, classes):
        self.X_pool, self.y_pool, self.X_test, self.y_test = data
        self.specs, self.factory, self.schedule = specs, factory, schedule
        self.semi, self.dataset, self.progress, self.writer = semi, dataset, progress, writer
        self.classes = classes
        self.n_pool, self.n_test = len(self.X_pool), len(self.X_test)
        self.guard = InterruptGuard()
        self.test_labels = np.unique(self.y_test)

    # ----------------------------------------------------------- estimator
    def estimator(self, spec_name, classifier_params, seed, desc):
        est = self.factory(spec_name, seed)
        params = est.get_params(deep=False) if hasattr(est, "get_params") else {}
        if classifier_params:
            try:
                est.set_params(**classifier_params)
            except (ValueError, TypeError, AttributeError) as exc:
                raise ValueError(
                    f"Cannot set the classifier parameters {classifier_params} on "
                    f"{type(est).__name__}: {exc}"
                ) from exc
        if "classes" in params and params["classes"] is None:
            # a labeled set may miss classes: the output layer needs them all
            est.set_params(classes=self.classes)
        epochs = self.progress.epoch_callback(desc) if "callbacks" in params else None
        if epochs is not None:
            callbacks = list(est.callbacks or [])
            est.set_params(callbacks=callbacks + [("benchmark_epochs", epochs)])
        return est

    def fit(self, est, labeled, semi):
        order = np.sort(labeled)  # sequential reads on a memory map
        if len(order) == self.n_pool:  # full-pool supervision: no copy of the pool
            X_lab, y_lab = self.X_pool, self.y_pool
        else:
            X_lab, y_lab = np.asarray(self.X_pool[order]), self.y_pool[order]
        kwargs = {}
        if semi:
            unlabeled = np.setdiff1d(np.arange(self.n_pool), order, assume_unique=True)
            kwargs["X_unlabeled"] = RowSubset(self.X_pool, unlabeled)
        start = time.perf_counter()
        est.fit(X_lab, y_lab, **kwargs)
        seconds = time.perf_counter() - start
        self.guard.check()  # skorch's fit returns normally after Ctrl-C
        return X_lab, seconds

    def evaluate(self, est):
        y_pred = np.asarray(est.predict(self.X_test))
        accuracy = accuracy_score(self.y_test, y_pred)
        # over the test set's classes: a class never predicted counts as F1 = 0
        macro_f1 = f1_score(
            self.y_test, y_pred, labels=self.test_labels, average="macro", zero_division=0
        )
        return float(accuracy), float(macro_f1)

    def query(self, spec, est, labeled, in_labeled, X_lab, n_step, seed):
        strategy = _make_strategy(spec, seed)
        unlabeled = np.flatnonzero(~in_labeled)
        kwargs = {"X_labeled": X_lab} if _takes_labeled(strategy) else {}
        start = time.perf_counter()
        idx = np.asarray(
            strategy(est, RowSubset(self.X_pool, unlabeled), n_instances=n_step, **kwargs)
        ).ravel()
        seconds = time.perf_counter() - start
        if (
            len(idx) != n_step
            or len(np.unique(idx)) != n_step
            or idx.min(initial=0) < 0
            or idx.max(initial=0) >= len(unlabeled)
        ):
            raise RuntimeError(
                f"Strategy {spec.label!r} returned {len(idx)} indices ({len(np.unique(idx))} "
                f"unique) for n_instances={n_step} over {len(unlabeled)} unlabeled volumes; a "
                "strategy must return n_instances distinct row indices of X_pool."
            )
        return unlabeled[idx], seconds

    # -------------------------------------------------------------- rows
    def row(self, spec_label, spec_name, trial, seed, cycle, n_labeled, semi, added, queried):
        return dict(
            dataset=self.dataset,
            strategy=spec_label,
            strategy_name=spec_name,
            trial=trial,
            trial_seed=seed,
            cycle=cycle,
            n_labeled=n_labeled,
            fraction=n_labeled / self.n_pool,
            accuracy=np.nan,
            macro_f1=np.nan,
            train_seconds=np.nan,
            query_seconds=0.0,
            n_pool=self.n_pool,
            n_test=self.n_test,
            semi_supervised=bool(semi),
            added=encode_indices(added),
            queried=encode_indices(queried),
        )

    def record(self, row):
        if self.writer is not None:
            self.writer.append(row)
        return row


def _shorten(value):
    return value if len(str(value)) < 60 else str(value)[:57] + "..."


def _check_done(done, expected, path):
    for name in _CHECKED:
        have, want = done[name], expected[name]
        same = (
            str(have) == str(want)
            if name in ("added", "strategy_name")
            else float(have) == float(want)
        )
        if not same:
            raise ValueError(
                f"The results file {str(path)!r} was written by a different campaign: for "
                f"strategy {expected['strategy']!r}, trial {expected['trial']}, cycle "
                f"{expected['cycle']} it has {name}={_shorten(have)!r} where this campaign has "
                f"{_shorten(want)!r}. Use another results file (or --out folder) or delete it."
            )


def run_campaign(
    X_pool,
    y_pool,
    X_test,
    y_test,
    strategies=("ema", "random"),
    *,
    classifier_factory=None,
    initial=0.10,
    step=0.05,
    final=0.40,
    n_trials=1,
    random_state=0,
    semi_supervised=False,
    ceiling=False,
    results_file=None,
    dataset="",
    progress=False,
) -> pd.DataFrame:
    """Run the active-learning protocol of Wang et al. (2022) and return learning curves.

    For each trial a random initial labeled set, drawn from the trial's seed
    only, is shared by every strategy. Each cycle then re-initializes and
    trains a classifier on the labeled volumes (a cold ``fit``), evaluates
    the final model of the cycle on the test set (no test-set model
    selection), and asks the strategy for the next ``step`` volumes of the
    unlabeled pool, until the ``final`` budget has been trained on.

    Parameters
    ----------
    X_pool : array-like of shape (n_pool, 1, D, H, W) or (n_pool, D, H, W)
        The pool whose labels are revealed when queried. Memory maps and
        lazy arrays are indexed, never copied whole: each cycle reads its
        labeled rows, and strategies score the unlabeled rows through a
        lazy row view.
    y_pool : array-like of shape (n_pool,)
    X_test : array-like of shape (n_test, 1, D, H, W) or (n_test, D, H, W)
        Held-out volumes, never queried.
    y_test : array-like of shape (n_test,)
    strategies : str, StrategySpec, strategy instance or list of them, default=("ema", "random")
        Specs such as ``"ema"``, ``"ema:distance=mse"``, ``"ema:order=lowest"``,
        ``"noema=ema:clf.reg_lambda=0"`` or ``"ema:semi=true"`` (see
        :func:`parse_strategy_spec`), or ready strategy instances (copied,
        their ``random_state`` set per cycle). A string is split at commas.
    classifier_factory : callable or None, default=None
        ``factory(strategy_name, seed) -> estimator``, called for every
        cycle with the registry name of the strategy (``None`` for an
        instance; ``"random"`` for the ceiling) and a seed derived from the
        trial seed and the cycle, identical for all strategies. The
        estimator needs ``fit(X, y)`` and ``predict(X)`` (and ``fit(...,
        X_unlabeled=...)`` for the semi-supervised variant); a ``classes``
        parameter left at None is set to every label of the data.
        ``None`` uses ``ClassifierFactory()``.
    initial, step, final : float or int, default=0.10, 0.05, 0.40
        Budget schedule, fractions of the pool (float) or counts (int); see
        :func:`budget_schedule`.
    n_trials : int, default=1
        Independent repetitions with different seeds.
    random_state : int, RandomState instance or None, default=0
        Seeds the trials. Every random choice (initial set, classifier seeds,
        strategy seeds) derives from the trial seed, the cycle and the
        strategy label, so that a resumed campaign reproduces an
        uninterrupted one; this needs an int.
    semi_supervised : bool, default=False
        Train with the unlabeled pool as ``X_unlabeled`` (Fig. 3 left); a
        spec's ``semi=`` overrides it.
    ceiling : bool, default=False
        Also train once per trial on the whole labeled pool: full-pool
        supervision, the strategy ``"full-pool"`` in the results.
    results_file : str, path-like or None, default=None
        CSV file to which each cycle's row is appended (synced to disk) as
        soon as it finishes. Cycles already in the file are not run again:
        an interrupted campaign resumes where it stopped. The file must come
        from the same configuration (checked against seeds, budgets and
        selected indices).
    dataset : str, default=""
        Name of the data, copied into the ``dataset`` column.
    progress : bool, default=False
        Show progress bars over cycles and epochs (tqdm).

    Returns
    -------
    results : pandas.DataFrame
        One row per (strategy, trial, cycle): ``dataset``, ``strategy`` (the
        label), ``strategy_name``, ``trial``, ``trial_seed``, ``cycle``,
        ``n_labeled``, ``fraction``, ``accuracy``, ``macro_f1`` (over the test
        classes), ``train_seconds``, ``query_seconds``, ``n_pool``,
        ``n_test``, ``semi_supervised``, ``added`` (the pool indices that
        joined the labeled set for this cycle, space-separated; the initial
        set at cycle 0) and ``queried`` (the indices selected at the end of
        the cycle; empty at the last one).

    Raises
    ------
    ValueError
        For an unknown strategy (with a suggestion), a budget larger than the
        pool, a step that does not fit, an empty test set, mismatched labels,
        or a results file from another configuration.
    KeyboardInterrupt
        On Ctrl-C, also during training (which skorch would otherwise
        swallow); the results file keeps every finished cycle.

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal.benchmark import ClassifierFactory, run_campaign
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(48, 1, 16, 16, 16)).astype(np.float32)
    >>> y = np.arange(48) % 2
    >>> results = run_campaign(X[:40], y[:40], X[40:], y[40:], ["ema", "random"],
    ...     classifier_factory=ClassifierFactory(width=4, max_epochs=1),
    ...     initial=8, step=4, final=12)
    >>> results[["strategy", "cycle", "n_labeled"]].values.tolist()
    [['ema', 0, 8], ['ema', 1, 12], ['random', 0, 8], ['random', 1, 12]]
    """
    X_pool, y_pool, X_test, y_test = _check_data(X_pool, y_pool, X_test, y_test)
    specs = _as_specs(strategies)
    schedule = budget_schedule(len(X_pool), initial, step, final)
    n_step = schedule[1] - schedule[0] if len(schedule) > 1 else 0
    seeds = trial_seeds(n_trials, random_state)
    factory = ClassifierFactory() if classifier_factory is None else classifier_factory
    if not callable(factory):
        raise TypeError(
            f"classifier_factory must be callable as factory(strategy_name, seed); got {factory!r}."
        )
    classes = np.unique(np.concatenate([y_pool, y_test]))
    writer = None if results_file is None else ResultsWriter(results_file)
    camp = _Campaign(
        (X_pool, y_pool, X_test, y_test),
        specs,
        factory,
        schedule,
        bool(semi_supervised),
        str(dataset),
        progress_display(progress),
        writer,
        classes,
    )
    for spec in specs:  # fail on a bad configuration now, not after hours of training
        if spec.strategy is None:
            _make_strategy(spec, 0)
        camp.estimator(spec.name, spec.classifier_params, 0, "check")

    done = {}
    if writer is not None:
        for record in writer.existing().to_dict("records"):
            key = (str(record["strategy"]), int(record["trial"]), int(record["cycle"]))
            if key in done:
                raise ValueError(
                    f"The results file {str(results_file)!r} holds strategy {key[0]!r}, trial "
                    f"{key[1]}, cycle {key[2]} twice; it was not written by run_campaign "
                    "alone. Use another results file."
                )
            done[key] = record

    plan = [(t, spec) for t in range(len(seeds)) for spec in specs]
    total = len(plan) * len(schedule) + (len(seeds) if ceiling else 0)
    keys = [(s.label, t, c) for t, s in plan for c in range(len(schedule))]
    keys += [(CEILING, t, 0) for t in range(len(seeds))] if ceiling else []
    rows = []
    with (
        camp.guard.active(),
        camp.progress.bar(
            total=total, initial=sum(k in done for k in keys), desc="cycles", unit="cycle"
        ) as bar,
    ):
        for trial, spec in plan:
            rows += _run_strategy_trial(camp, spec, trial, seeds[trial], n_step, done, bar)
            if ceiling and spec is specs[-1]:
                rows.append(_run_ceiling(camp, trial, seeds[trial], done, bar))
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    order = {s.label: i for i, s in enumerate(specs)}
    order[CEILING] = len(specs)
    table["_order"] = table["strategy"].map(order)
    table = table.sort_values(["_order", "trial", "cycle"], kind="stable")
    table = table.drop(columns="_order").reset_index(drop=True)
    return _normalize_dtypes(table)


def _normalize_dtypes(table):
    # rows read back from the CSV and rows built here must give the same table
    ints = ("trial", "trial_seed", "cycle", "n_labeled", "n_pool", "n_test")
    floats = ("fraction", "accuracy", "macro_f1", "train_seconds", "query_seconds")
    for c in ints:
        table[c] = table[c].astype(np.int64)
    for c in floats:
        table[c] = table[c].astype(np.float64)
    for c in ("dataset", "strategy", "strategy_name", "added", "queried"):
        table[c] = table[c].map(lambda v: "" if isinstance(v, float) and np.isnan(v) else str(v))
    table["semi_supervised"] = (
        table["semi_supervised"]
        .map(lambda v: v if isinstance(v, (bool, np.bool_)) else str(v) == "True")
        .astype(bool)
    )
    return table


def _run_strategy_trial(camp, spec, trial, trial_seed, n_step, done, bar):
    semi = camp.semi if spec.semi_supervised is None else spec.semi_supervised
    labeled = initial_labeled_indices(camp.n_pool, camp.schedule[0], trial_seed)
    in_labeled = np.zeros(camp.n_pool, dtype=bool)
    in_labeled[labeled] = True
    added = labeled
    spec_name = spec.name or type(spec.strategy).__name__
    rows = []
    for cycle, n_labeled in enumerate(camp.schedule):
        last = cycle == len(camp.schedule) - 1
        row = camp.row(spec.label, spec_name, trial, trial_seed, cycle, n_labeled, semi, added, [])
        key = (spec.label, trial, cycle)
        if key in done:
            _check_done(done[key], row, camp.writer.path)
            row = done[key]
            queried = decode_indices(row["queried"])
        else:
            bar.set_postfix_str(f"{spec.label} trial {trial} n={n_labeled}")
            fit_seed = derive_seed(trial_seed, "fit", cycle)
            est = camp.estimator(
                spec.name, spec.classifier_params, fit_seed, f"{spec.label} n={n_labeled}"
            )
            X_lab, row["train_seconds"] = camp.fit(est, labeled, semi)
            row["accuracy"], row["macro_f1"] = camp.evaluate(est)
            queried = np.empty(0, dtype=np.int64)
            if not last:
                seed = derive_seed(trial_seed, "query", cycle, spec.label)
                queried, row["query_seconds"] = camp.query(
                    spec, est, labeled, in_labeled, X_lab, n_step, seed
                )
                row["queried"] = encode_indices(queried)
            del est, X_lab
            camp.record(row)
            bar.update(1)
        rows.append(row)
        if last:
            break
        if len(queried) != n_step or in_labeled[queried].any():
            raise ValueError(
                f"Cycle {cycle} of strategy {spec.label!r}, trial {trial} queried "
                f"{len(queried)} volumes, some already labeled or repeated; expected {n_step} "
                "new ones. The results file is inconsistent: delete it and rerun."
            )
        labeled = np.concatenate([labeled, queried])
        in_labeled[queried] = True
        added = queried
    return rows


def _run_ceiling(camp, trial, trial_seed, done, bar):
    row = camp.row(CEILING, CEILING, trial, trial_seed, 0, camp.n_pool, False, [], [])
    key = (CEILING, trial, 0)
    if key in done:
        _check_done(done[key], row, camp.writer.path)
        return done[key]
    bar.set_postfix_str(f"{CEILING} trial {trial}")
    est = camp.estimator("random", {}, derive_seed(trial_seed, "fit", "ceiling"), CEILING)
    _, row["train_seconds"] = camp.fit(est, np.arange(camp.n_pool), False)
    row["accuracy"], row["macro_f1"] = camp.evaluate(est)
    camp.record(row)
    bar.update(1)
    return row
