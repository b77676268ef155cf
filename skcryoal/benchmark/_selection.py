"""The selection-only protocol: what each strategy selects, separated from training noise.

A campaign's learning curve mixes two sources of variation: which volumes a
strategy selects, and how a network trained on them happens to turn out (on
small labeled sets, retraining the same set with another seed moves test
accuracy by several points). The selection-only protocol isolates the first:

1. a *state* is a random initial labeled set and a model trained on it;
2. from that one state, every strategy selects a batch of ``n_query`` volumes;
3. each resulting labeled set (initial set plus batch) is retrained from
   scratch with the same ``n_retrain`` seeds (paired across strategies), with
   one recipe for all;
4. the gain of a strategy over the reference (random) is the paired
   difference of test accuracy, averaged over the retraining seeds of a
   state; its interval is a Student-t interval over states.

It is cheap (one fit per state and recipe, then retrainings) and parallel
over seeds, so many states can be afforded; see :func:`run_selection_study`.
"""

import io
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import clone
from sklearn.metrics import f1_score

from ..utils._atomic import atomic_write_text
from ..utils._batches import RowSubset
from ._factory import ClassifierFactory
from ._results import ResultsWriter, decode_indices, encode_indices, whole_lines
from ._schedule import derive_seed, initial_labeled_indices, trial_seeds
from ._specs import as_strategy_spec, split_strategy_list

#: columns of the retraining table (one row per state, strategy and seed)
SELECTION_COLUMNS = (
    "state",
    "state_seed",
    "strategy",
    "retrain",
    "retrain_seed",
    "n_labeled",
    "accuracy",
    "macro_f1",
    "seconds",
)
#: columns of the batch table (one row per state and strategy)
BATCH_COLUMNS = (
    "state",
    "state_seed",
    "strategy",
    "state_accuracy",
    "batch_error_rate",
    "batch_class_min",
    "batch_class_max",
    "query_seconds",
    "selected",
)


class _Table(ResultsWriter):
    """A CSV appended one synced line at a time; a cut last line is ignored on read."""

    def read(self):
        if not self.path.exists():
            return pd.DataFrame({c: [] for c in self.columns})
        text = whole_lines(self.path)
        if not text.strip():
            return pd.DataFrame({c: [] for c in self.columns})
        df = pd.read_csv(io.StringIO(text), dtype={"selected": str})
        if list(df.columns) != list(self.columns):
            raise ValueError(
                f"{str(self.path)!r} is not a selection-study table: its columns are "
                f"{list(df.columns)}, expected {list(self.columns)}. Choose another folder."
            )
        return df.fillna({"selected": ""}) if "selected" in df else df


def _fit(estimator, X, y):
    start = time.perf_counter()
    estimator.fit(np.asarray(X, dtype=np.float32), y)
    return time.perf_counter() - start


def _scores(estimator, X_test, y_test):
    y_pred = np.asarray(estimator.predict(X_test))
    return (
        float(np.mean(y_pred == y_test)),
        float(f1_score(y_test, y_pred, average="macro", zero_division=0)),
    )


def _state_model(factory, spec, seed, classes):
    est = factory(spec.name, seed)
    params = dict(spec.classifier_params)
    if "classes" in est.get_params(deep=False) and est.get_params(deep=False)["classes"] is None:
        params["classes"] = classes
    if params:
        est.set_params(**params)
    return est


def _config_key(estimator):
    params = estimator.get_params(deep=False)
    return type(estimator).__name__ + repr(sorted((k, repr(v)) for k, v in params.items()))


def _select(estimator, spec, X_pool, y_pool, labeled, n_query, seed):
    """Indices of the pool that ``spec``'s strategy selects from a fitted model."""
    from ..learner import ActiveLearner
    from ..query import get_strategy

    strategy = get_strategy(spec.name, random_state=seed, **spec.params)
    learner = ActiveLearner(estimator, query_strategy=strategy)
    X_lab = np.asarray(X_pool[labeled], dtype=np.float32)
    learner.X_training = X_lab
    learner.y_training = np.asarray(y_pool)[labeled]
    unlabeled = np.setdiff1d(np.arange(len(X_pool)), labeled)
    result = learner.query(RowSubset(X_pool, unlabeled), n_instances=n_query)
    chosen = np.asarray(result[0] if isinstance(result, tuple) else result, dtype=np.int64)
    if len(np.unique(chosen)) != n_query:
        raise RuntimeError(
            f"strategy {spec.label!r} returned {len(np.unique(chosen))} distinct indices; "
            f"{n_query} were asked."
        )
    return unlabeled[chosen]


def run_selection_study(
    X_pool,
    y_pool,
    X_test,
    y_test,
    strategies=("ema", "entropy", "random"),
    *,
    n_initial=200,
    n_query=100,
    n_states=6,
    n_retrain=4,
    classifier_factory=None,
    retrain_strategy="random",
    random_state=0,
    out=None,
    states=None,
    verbose=False,
):
    """Run the selection-only protocol and return its two tables.

    Parameters
    ----------
    X_pool, y_pool : array-like
        The pool (memory maps are read lazily) and its true labels (the oracle).
    X_test, y_test : array-like
        The held-out test set.
    strategies : sequence of str or StrategySpec, or str
        Strategy specs (``"ema:clf.ema_decay=auto"``...); one must be labeled
        ``"random"`` (the reference of :func:`selection_gains`).
    n_initial : int, default=200
        Random labels of each state.
    n_query : int, default=100
        The batch every strategy selects.
    n_states : int, default=6
        Independent states (initial set and state model); the unit of the
        intervals.
    n_retrain : int, default=4
        Seeds with which each labeled set is retrained, the same for every
        strategy of a state.
    classifier_factory : callable or None, default=None
        ``factory(strategy_name, seed)``; ``None`` is :class:`ClassifierFactory`
        with its defaults. A state model is fitted per distinct classifier
        configuration (the EMA method's, with its regularizer, and the
        baselines' plain cross-entropy one, by default); strategies with the
        same configuration select from the very same model.
    retrain_strategy : str, default="random"
        Whose classifier configuration retrains every labeled set (one recipe
        for all, so that only the selection differs).
    random_state : int, default=0
        Seeds everything: states, fits, selections, retrainings.
    out : str or path-like or None, default=None
        A folder for ``batches.csv`` and ``retrain.csv``, appended row by row;
        a rerun with the same folder skips what is done (resumable).
    states : iterable of int or None, default=None
        Run only these states (indices below ``n_states``), e.g. to share the
        states among processes writing to different folders; a state's seed
        depends only on its index and ``random_state``. None runs them all.
    verbose : bool, default=False
        Print one line per state and strategy.

    Returns
    -------
    batches : pandas.DataFrame
        One row per state and strategy (``BATCH_COLUMNS``): the state model's
        test accuracy, the fraction of the batch the state model gets wrong,
        the smallest and largest class count in the batch, the selection.
    retrain : pandas.DataFrame
        One row per state, strategy and retraining seed (``SELECTION_COLUMNS``).
    """
    specs = [as_strategy_spec(s) for s in split_strategy_list(strategies)]
    labels = [s.label for s in specs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"strategy labels must be unique; got {labels}.")
    if "random" not in labels:
        raise ValueError(
            f"the selection-only protocol measures gains over random; add 'random' to the "
            f"strategies (got {labels})."
        )
    for name, value in (("n_initial", n_initial), ("n_query", n_query)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    if n_initial + n_query > len(X_pool):
        raise ValueError(
            f"n_initial + n_query = {n_initial + n_query} exceeds the pool of {len(X_pool)}."
        )
    y_pool, y_test = np.asarray(y_pool), np.asarray(y_test)
    X_test = np.asarray(X_test, dtype=np.float32)
    factory = classifier_factory if classifier_factory is not None else ClassifierFactory()
    classes = np.unique(np.concatenate([y_pool, y_test]))
    folder = Path(out) if out is not None else None
    batch_table = _Table(folder / "batches.csv", BATCH_COLUMNS) if folder else None
    retrain_table = _Table(folder / "retrain.csv", SELECTION_COLUMNS) if folder else None
    batch_rows = [] if batch_table is None else batch_table.read().to_dict("records")
    retrain_rows = [] if retrain_table is None else retrain_table.read().to_dict("records")
    done_batches = {(int(r["state"]), r["strategy"]): r for r in batch_rows}
    done_retrain = {(int(r["state"]), r["strategy"], int(r["retrain"])) for r in retrain_rows}
    retrain_template = _state_model(factory, as_strategy_spec(retrain_strategy), 0, classes)

    all_seeds = trial_seeds(n_states, random_state)
    selected_states = range(n_states) if states is None else sorted(set(states))
    for state in selected_states:
        if not 0 <= state < n_states:
            raise ValueError(f"states must lie in [0, {n_states}); got {state}.")
        state_seed = int(all_seeds[state])
        labeled = initial_labeled_indices(len(X_pool), n_initial, state_seed)
        models = {}
        batches = {}
        for spec in specs:
            key = (state, spec.label)
            if key in done_batches:
                batches[spec.label] = decode_indices(done_batches[key]["selected"])
                continue
            est = _state_model(factory, spec, derive_seed(state_seed, "state-fit"), classes)
            cfg = _config_key(est)
            if cfg not in models:
                _fit(est, X_pool[labeled], y_pool[labeled])
                models[cfg] = (est, _scores(est, X_test, y_test)[0])
            est, state_acc = models[cfg]
            start = time.perf_counter()
            seed = derive_seed(state_seed, "select", spec.label)
            chosen = _select(est, spec, X_pool, y_pool, labeled, n_query, seed)
            seconds = time.perf_counter() - start
            pred = np.asarray(est.predict(np.asarray(X_pool[chosen], dtype=np.float32)))
            counts = np.array([np.sum(y_pool[chosen] == c) for c in classes])
            row = dict(
                state=state,
                state_seed=state_seed,
                strategy=spec.label,
                state_accuracy=state_acc,
                batch_error_rate=float(np.mean(pred != y_pool[chosen])),
                batch_class_min=int(counts.min()),
                batch_class_max=int(counts.max()),
                query_seconds=round(seconds, 3),
                selected=encode_indices(np.sort(chosen)),
            )
            batch_rows.append(row)
            if batch_table is not None:
                batch_table.append(row)
            batches[spec.label] = np.sort(chosen)
        for spec in specs:
            ids = np.concatenate([labeled, batches[spec.label]])
            for r in range(n_retrain):
                if (state, spec.label, r) in done_retrain:
                    continue
                seed = derive_seed(state_seed, "retrain", r)
                est = clone(retrain_template).set_params(random_state=seed)
                seconds = _fit(est, X_pool[np.sort(ids)], y_pool[np.sort(ids)])
                acc, f1 = _scores(est, X_test, y_test)
                row = dict(
                    state=state,
                    state_seed=state_seed,
                    strategy=spec.label,
                    retrain=r,
                    retrain_seed=seed,
                    n_labeled=len(ids),
                    accuracy=acc,
                    macro_f1=f1,
                    seconds=round(seconds, 2),
                )
                retrain_rows.append(row)
                if retrain_table is not None:
                    retrain_table.append(row)
                if verbose:
                    print(
                        f"state {state} {spec.label} seed {r}: accuracy {acc:.3f} "
                        f"({seconds:.0f} s)",
                        flush=True,
                    )
    batches_df = pd.DataFrame(batch_rows, columns=list(BATCH_COLUMNS))
    retrain_df = pd.DataFrame(retrain_rows, columns=list(SELECTION_COLUMNS))
    return batches_df, retrain_df


def _t_interval(values, confidence=0.95):
    values = np.asarray(values, dtype=float)
    n = len(values)
    mean = float(values.mean()) if n else np.nan
    if n < 2:
        return mean, np.nan, np.nan
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * values.std(ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half


def selection_gains(retrain, reference="random", metric="accuracy", confidence=0.95):
    """Return each strategy's gain over the reference, with its interval over states.

    Per state, the strategy's and the reference's accuracies are paired by
    retraining seed and the differences averaged; the mean over states and
    its Student-t interval (states are independent; the retrainings of one
    state share its initial set and batch, so they are not) are reported.

    Parameters
    ----------
    retrain : pandas.DataFrame
        The second table of :func:`run_selection_study`.
    reference : str, default="random"
    metric : {"accuracy", "macro_f1"}, default="accuracy"
    confidence : float, default=0.95

    Returns
    -------
    gains : pandas.DataFrame
        One row per strategy: ``mean`` (its own metric, mean over states),
        ``gain``, ``low``, ``high``, ``n_states``, ``n_pairs``,
        ``established`` (True when the interval excludes zero: the nominal
        verdict, each strategy on its own), ``p_value`` (the paired t-test
        over states), ``p_holm`` (Holm's adjustment over the family of every
        strategy against the reference), ``p_sign_flip`` (the exact
        sign-flip test over states, whose floor is ``2 / 2**n_states``) and
        ``verdict`` (``"established"``, ``"suggestive"`` when only the
        nominal p-value is below ``1 - confidence``, ``"not established"``;
        empty for the reference).
    """
    from ._endpoints import _verdict
    from ._inference import holm_adjust
    from ._stats import _p_values

    per_state = retrain.groupby(["strategy", "state", "retrain"])[metric].mean().unstack("strategy")
    if reference not in per_state.columns:
        raise ValueError(
            f"no strategy labeled {reference!r} in the table; strategies are "
            f"{sorted(per_state.columns)}."
        )
    rows = []
    for strategy in dict.fromkeys(retrain["strategy"]):
        columns = [strategy] if strategy == reference else [strategy, reference]
        paired = per_state[columns].dropna()
        diff = (paired[strategy] - paired[reference]).groupby(level="state").mean()
        own = paired[strategy].groupby(level="state").mean()
        gain, low, high = _t_interval(diff.values, confidence)
        p_value, p_sign_flip = (
            _p_values(diff.to_numpy()) if strategy != reference else (np.nan, np.nan)
        )
        rows.append(
            dict(
                strategy=strategy,
                mean=float(own.mean()),
                gain=gain,
                low=low,
                high=high,
                n_states=len(diff),
                n_pairs=len(paired),
                established=bool(
                    strategy != reference and np.isfinite(low) and (low > 0 or high < 0)
                ),
                p_value=p_value,
                p_sign_flip=p_sign_flip,
            )
        )
    gains = pd.DataFrame(rows)
    gains["p_holm"] = holm_adjust(gains["p_value"].to_numpy(dtype=float))
    alpha = 1 - confidence
    gains["verdict"] = [
        "" if s == reference else _verdict(p, q, alpha)
        for s, p, q in zip(gains["strategy"], gains["p_value"], gains["p_holm"])
    ]
    return gains


def selection_markdown(batches, retrain, title=None, reference="random"):
    """Return Markdown tables of a selection-only study.

    Parameters
    ----------
    batches, retrain : pandas.DataFrame
        As returned by :func:`run_selection_study`.
    title : str or None, default=None
    reference : str, default="random"

    Returns
    -------
    text : str
    """
    gains = selection_gains(retrain, reference=reference)
    n_states = int(retrain["state"].nunique())
    n_retrain = int(retrain["retrain"].nunique())
    parts = [f"# {title}\n"] if title else []
    k = int(gains["p_value"].notna().sum())
    parts.append(
        f"Selection-only protocol: {n_states} state(s) x {n_retrain} retraining seed(s); "
        f"gain over {reference} = paired difference of test accuracy, averaged per state; "
        "95% Student-t interval over states. Family: each strategy against "
        f"{reference}, {k} comparison(s); p (t): paired t-test over states, p Holm: adjusted "
        "over the family, p sign-flip: exact (its floor is 2/2^n with n states). Verdict: "
        "established when p Holm <= 0.05, suggestive when only p (t) is (the nominal "
        "column: the interval alone).\n"
    )
    lines = [
        "| strategy | accuracy | gain over random | 95% interval | nominal | p (t) | p Holm "
        "| p sign-flip | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for _, g in gains.iterrows():
        if g["strategy"] == reference:
            lines.append(f"| {reference} | {g['mean']:.3f} | (reference) | | | | | | |")
            continue
        interval = f"[{g['low']:+.3f}, {g['high']:+.3f}]" if np.isfinite(g["low"]) else "(1 state)"
        nominal = "yes" if g["established"] else "not established"
        lines.append(
            f"| {g['strategy']} | {g['mean']:.3f} | {g['gain']:+.3f} | {interval} | {nominal} | "
            f"{_p(g['p_value'])} | {_p(g['p_holm'])} | {_p(g['p_sign_flip'], 4)} | "
            f"{g['verdict']} |"
        )
    parts.append("\n".join(lines) + "\n")
    b = batches.groupby("strategy", sort=False).agg(
        state_accuracy=("state_accuracy", "mean"),
        batch_error_rate=("batch_error_rate", "mean"),
        class_min=("batch_class_min", "mean"),
        class_max=("batch_class_max", "mean"),
        query_seconds=("query_seconds", "mean"),
    )
    lines = [
        "| strategy | state model accuracy | batch misclassified by state model | "
        "class count in batch (min-max) | query s |",
        "|---|---|---|---|---|",
    ]
    for strategy, r in b.iterrows():
        lines.append(
            f"| {strategy} | {r['state_accuracy']:.3f} | {r['batch_error_rate']:.2f} | "
            f"{r['class_min']:.1f}-{r['class_max']:.1f} | {r['query_seconds']:.1f} |"
        )
    parts.append("## What the batches hold\n\nMeans over states.\n")
    parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def _p(value, digits=3):
    if value != value:  # NaN
        return "–"
    return f"{value:.{digits}g}" if value >= 1e-4 else f"{value:.1e}"


def read_selection_study(*folders):
    """Read and join the tables of one or more selection-study folders.

    Parameters
    ----------
    *folders : str or path-like
        Folders written by :func:`run_selection_study` with the same settings
        (e.g. different ``states`` run by different processes).

    Returns
    -------
    batches, retrain : pandas.DataFrame
    """
    batches = [_Table(Path(f) / "batches.csv", BATCH_COLUMNS).read() for f in folders]
    retrain = [_Table(Path(f) / "retrain.csv", SELECTION_COLUMNS).read() for f in folders]
    batches, retrain = pd.concat(batches, ignore_index=True), pd.concat(retrain, ignore_index=True)
    for table, keys in (
        (batches, ["state", "strategy"]),
        (retrain, ["state", "strategy", "retrain"]),
    ):
        if table.duplicated(keys).any():
            raise ValueError(
                f"the folders {[str(f) for f in folders]} hold the same state twice; join "
                "folders that ran different states."
            )
    return batches, retrain


def write_selection_summary(folder, title=None, parts=()):
    """Write ``summary.md`` of a selection study (atomically) and return its text.

    Parameters
    ----------
    folder : str or path-like
        Where ``summary.md`` goes; its own tables are read unless ``parts``
        names the folders to join.
    title : str or None, default=None
    parts : sequence of path-like, default=()
        Folders of one study run in parts (see ``states``).
    """
    folder = Path(folder)
    batches, retrain = read_selection_study(*(parts or [folder]))
    text = selection_markdown(batches, retrain, title=title)
    atomic_write_text(folder / "summary.md", text)
    return text
