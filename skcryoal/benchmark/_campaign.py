"""The active-learning protocol of the paper, run for several strategies and trials.

Each (strategy, trial) is a labelling campaign (:mod:`skcryoal.campaign`) with
an oracle for annotator; :mod:`._runner` runs its cycles.
"""

import contextlib
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..utils._validation import check_volumes
from ._factory import ClassifierFactory
from ._progress import progress_display
from ._results import CEILING, COLUMNS, ResultsWriter
from ._runner import Runner, campaign_strategy, run_ceiling, run_strategy_trial
from ._schedule import budget_schedule, trial_seeds
from ._specs import as_strategy_spec, split_strategy_list


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


def _check_configuration(run):
    """Fail now, not after hours of training, on what no campaign can take."""
    from ..campaign._classes import ClassList
    from ..campaign._specs import check_subsample, estimator_template, strategy_spec
    from ..campaign._warm import check_warm_start_epochs, check_warm_startable

    try:
        classes = ClassList(list(run.classes))
    except ValueError as exc:
        raise ValueError(f"The labels are the classes of a labelling campaign: {exc}") from exc
    check_warm_start_epochs(run.warm_start_epochs)
    for spec in run.specs:
        strategy = campaign_strategy(spec)
        try:
            stored, _ = strategy_spec(strategy)
        except TypeError as exc:
            raise ValueError(f"strategy {spec.label!r}: {exc}") from exc
        try:
            check_subsample(run.subsample, strategy, stored)
            estimator = run.estimator(spec.name, spec.classifier_params, 0)
            check_warm_startable(estimator, run.warm_start_epochs)
            estimator_template(estimator, classes, 0)  # what Campaign.create refuses
        except (ValueError, TypeError) as exc:
            raise ValueError(f"strategy {spec.label!r}: {exc}") from exc


def check_campaign(
    n_pool,
    classes,
    strategies=("ema", "random"),
    *,
    classifier_factory=None,
    initial=0.10,
    step=0.05,
    final=0.40,
    n_trials=3,
    random_state=0,
    warm_start_epochs=None,
    subsample=None,
):
    """Check a :func:`run_campaign` configuration without data and without training.

    Runs the checks :func:`run_campaign` makes before its first cycle (a dry
    run refuses what the real run would).

    Parameters
    ----------
    n_pool : int or None
        Number of pool volumes; None skips the budget checks.
    classes : sequence
        The classes of the pool and test labels.
    strategies, classifier_factory, initial, step, final, n_trials, random_state, \
warm_start_epochs, subsample
        As for :func:`run_campaign`.

    Raises
    ------
    ValueError, TypeError
        What :func:`run_campaign` would raise before training.
    """
    specs = _as_specs(strategies)
    schedule = [0] if n_pool is None else budget_schedule(n_pool, initial, step, final)
    trial_seeds(n_trials, random_state)
    factory = ClassifierFactory() if classifier_factory is None else classifier_factory
    if not callable(factory):
        raise TypeError(
            f"classifier_factory must be callable as factory(strategy_name, seed); got {factory!r}."
        )
    classes = np.asarray(list(classes))
    # stand-ins of the data: the checks read only the labels and the sizes; the
    # test labels hold every class
    blank = np.zeros((1, 1, 1, 1, 1), np.float32)
    n = max(n_pool or 1, 1)
    data = (
        np.broadcast_to(blank, (n, 1, 1, 1, 1)),
        np.resize(classes, n),
        np.broadcast_to(blank, (len(classes), 1, 1, 1, 1)),
        classes,
    )
    run = Runner(
        data,
        specs,
        factory,
        schedule,
        False,
        "",
        progress_display(False),
        None,
        Path(tempfile.gettempdir()),
        False,
        warm_start_epochs=warm_start_epochs,
        subsample=subsample,
    )
    _check_configuration(run)


def _read_done(writer):
    """The rows already in the results file, by (strategy, trial, cycle)."""
    done = {}
    if writer is None:
        return done
    for record in writer.existing().to_dict("records"):
        key = (str(record["strategy"]), int(record["trial"]), int(record["cycle"]))
        if key in done:
            raise ValueError(
                f"The results file {str(writer.path)!r} holds strategy {key[0]!r}, trial "
                f"{key[1]}, cycle {key[2]} twice; it was not written by run_campaign "
                "alone. Use another results file."
            )
        done[key] = record
    return done


@contextlib.contextmanager
def _campaign_root(campaigns_dir):
    """Yield (folder of the campaigns, whether they are kept)."""
    if campaigns_dir is not None:
        yield Path(campaigns_dir), True  # made with the first campaign
        return
    with tempfile.TemporaryDirectory(prefix="skcryoal-benchmark-") as temp:
        yield Path(temp), False


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
    campaigns_dir=None,
    warm_start_epochs=None,
    subsample=None,
    pretrain=None,
) -> pd.DataFrame:
    """Run the active-learning protocol of Wang et al. (2022) and return learning curves.

    For each trial a random initial labeled set, drawn from the trial's seed
    only, is shared by every strategy. Each cycle then re-initializes and
    trains a classifier on the labeled volumes (a cold ``fit``; or, with
    ``warm_start_epochs``, fine-tunes the previous cycle's model), evaluates
    the final model of the cycle on the test set (no test-set model
    selection), and asks the strategy for the next ``step`` volumes of the
    unlabeled pool, until the ``final`` budget has been trained on.

    Each (strategy, trial) runs as a :class:`~skcryoal.campaign.Campaign`, the
    very loop people label with, whose annotator is an
    :class:`~skcryoal.campaign.OracleAnnotator` that knows ``y_pool``: the
    initial set is its seed labels, and each cycle is ``campaign.fit`` (cold,
    seeded), an evaluation on the test set, ``campaign.query`` (seeded) and
    the oracle's ``campaign.label``. The campaign references the pool (it is
    not copied) and records every query, label and model.

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
        their ``random_state`` set per cycle; they must be picklable, as
        campaigns store their strategy). A string is split at commas.
    classifier_factory : callable or None, default=None
        ``factory(strategy_name, seed) -> estimator``, called for each
        (strategy, trial) with the registry name of the strategy (``None``
        for an instance; ``"random"`` for the ceiling) and the seed of its
        first cycle. Each cycle trains a fresh clone of it whose
        ``random_state`` (every ``*random_state`` parameter) is a seed
        derived from the trial seed and the cycle, identical for all
        strategies; an estimator without one is cloned as it is. The
        estimator needs ``fit(X, y)`` and ``predict(X)`` (and ``fit(...,
        X_unlabeled=...)`` for the semi-supervised variant) and must be
        picklable (campaigns checkpoint their models); a ``classes``
        parameter left at None is set to every label of the data, which
        must be integers or strings. ``None`` uses ``ClassifierFactory()``.
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
    campaigns_dir : str, path-like or None, default=None
        Keep the campaign of each (strategy, trial) in a folder here, named
        ``<strategy>-trial<k>``, to inspect with
        :meth:`Campaign.open(folder, pool=X_pool) <skcryoal.campaign.Campaign.open>`
        (its queries with ranks and scores, labels, the record and metrics
        of each cycle's model, and the final model's checkpoint: earlier
        checkpoints are deleted as the next is written, as each holds the
        whole network). None runs them in a temporary folder, each removed
        as soon as its pair is finished. On resume, a pair with cycles left
        gets a new campaign, rebuilt from the results file: the initial set
        and the volumes queried at each finished cycle, labeled by the
        oracle without fitting or querying (the file holds their outcome);
        a folder kept by the interrupted run is replaced. Folders of
        finished pairs are left as they are.
    warm_start_epochs : int or None, default=None
        None trains every cycle from scratch (the paper's protocol). An int
        trains cycle 0 from scratch for the classifier's ``max_epochs`` and
        every later cycle from the previous cycle's model for this many
        epochs, with a fresh optimizer and learning-rate schedule (the
        campaigns' setting of that name). Trial seeds, initial sets and the
        per-cycle seeds do not depend on it, so cycle 0 (and its query) is
        the cold run's and the trials pair up with a cold run of the same
        ``random_state``. On resume, a pair with cycles left replays the
        warm fits of its finished cycles to rebuild the model the next cycle
        continues from (the same seeds and labels, so the same model on a
        deterministic device). ``results_file`` does not record it: resume
        only with the same value (``skcryoal benchmark`` checks it).
    subsample : int or None, default=None
        Score a fresh random subset of this many unlabeled pool volumes in
        each query (the campaigns' setting of that name; the authors scored
        12,000 of a 24,000-volume pool), for every strategy, drawn from the
        query's seed. None scores the whole unlabeled pool. A strategy spec
        with its own ``subsample`` is refused then.
    pretrain : SubtomogramEmbedder or None, default=None
        Learn from the unlabeled pool first: an unfitted
        :class:`~skcryoal.pretraining.SubtomogramEmbedder` is fitted once on
        ``X_pool`` (no labels; checkpointed after every epoch beside
        ``results_file``, so a killed run resumes it), a fitted one is used as
        it is. It is recorded in every (strategy, trial) campaign
        (:meth:`Campaign.pretrain <skcryoal.campaign.Campaign.pretrain>`): each
        cycle's classifier starts from its encoder and fine-tunes it gently
        (``encoder_lr=1e-4`` unless the factory sets one; give the factory
        ``min_steps`` for enough steps on a few dozen labels), the ceiling
        too, and ``typiclust`` and ``probcover`` select on its embedding.
        Every strategy and trial shares the one encoder.

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
    seeds = trial_seeds(n_trials, random_state)
    factory = ClassifierFactory() if classifier_factory is None else classifier_factory
    if not callable(factory):
        raise TypeError(
            f"classifier_factory must be callable as factory(strategy_name, seed); got {factory!r}."
        )
    writer = None if results_file is None else ResultsWriter(results_file)
    done = _read_done(writer)
    embedder = _pretrained(pretrain, X_pool, results_file, progress)
    with _campaign_root(campaigns_dir) as (root, keep):
        run = Runner(
            (X_pool, y_pool, X_test, y_test),
            specs,
            factory,
            schedule,
            bool(semi_supervised),
            str(dataset),
            progress_display(progress),
            writer,
            root,
            keep,
            warm_start_epochs=warm_start_epochs,
            subsample=subsample,
            embedder=embedder,
        )
        _check_configuration(run)
        rows = _run_all(run, seeds, ceiling, done)
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    order = {s.label: i for i, s in enumerate(specs)}
    order[CEILING] = len(specs)
    table["_order"] = table["strategy"].map(order)
    table = table.sort_values(["_order", "trial", "cycle"], kind="stable")
    table = table.drop(columns="_order").reset_index(drop=True)
    return _normalize_dtypes(table)


def pretrain_checkpoint(results_file, embedder, X_pool):
    """The per-epoch checkpoint of a benchmark's pretraining, beside its results file."""
    if results_file is None:
        return None
    key = embedder._training_key(pool=[len(X_pool), list(X_pool.shape[1:])])
    return Path(results_file).parent / f"pretrain-{key}.pt"


def _pretrained(pretrain, X_pool, results_file, progress):
    """The fitted embedder of ``pretrain`` (fitted on the pool if it is not), or None."""
    if pretrain is None:
        return None
    from sklearn.base import clone

    from ..pretraining import SubtomogramEmbedder

    if not isinstance(pretrain, SubtomogramEmbedder):
        raise TypeError(
            f"pretrain must be a SubtomogramEmbedder (fitted, or to fit on the pool) or None; "
            f"got {type(pretrain).__name__}."
        )
    if hasattr(pretrain, "encoder_"):
        return pretrain
    if len(X_pool) < pretrain.batch_size:
        raise ValueError(
            f"Pretraining needs at least batch_size={pretrain.batch_size} pool volumes; the pool "
            f"has {len(X_pool)}. Pass pretrain=None (skcryoal benchmark --pretrain none) or an "
            "embedder with a smaller batch_size."
        )
    embedder = clone(pretrain).set_params(
        checkpoint=pretrain_checkpoint(results_file, pretrain, X_pool), progress=bool(progress)
    )
    return embedder.fit(X_pool)


def _run_all(run, seeds, ceiling, done):
    """Run every (trial, strategy) and the ceilings; return the rows, done ones included."""
    plan = [(t, spec) for t in range(len(seeds)) for spec in run.specs]
    keys = [(s.label, t, c) for t, s in plan for c in range(len(run.schedule))]
    keys += [(CEILING, t, 0) for t in range(len(seeds))] if ceiling else []
    rows = []
    with (
        run.guard.active(),
        run.progress.bar(
            total=len(keys), initial=sum(k in done for k in keys), desc="cycles", unit="cycle"
        ) as bar,
    ):
        for trial, spec in plan:
            rows += run_strategy_trial(run, spec, trial, seeds[trial], done, bar)
            if ceiling and spec is run.specs[-1]:
                rows.append(run_ceiling(run, trial, seeds[trial], done, bar))
    return rows


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
