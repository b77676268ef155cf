"""One (strategy, trial) of a benchmark, run as a labelling campaign with an oracle.

Every (strategy, trial) pair is a :class:`~skcryoal.campaign.Campaign` over the
pool (referenced, not copied) whose annotator is an
:class:`~skcryoal.campaign.OracleAnnotator`: each cycle is what a person's
campaign does, through the same steps as :func:`~skcryoal.campaign.run_rounds`
(fit on every label, cold or warm-started from the previous cycle's model,
and evaluate, then query a batch and label it). The
benchmark adds its seeds, its test set, the results file and the progress
display around them.
"""

import re
import shutil
import time

import numpy as np

from ..campaign import Campaign, OracleAnnotator
from ..campaign._oracle import evaluate, fit_step, query_step
from ._progress import InterruptGuard
from ._results import CEILING, decode_indices, encode_indices, encode_recall
from ._schedule import derive_seed, initial_labeled_indices

#: the result fields that must match when a finished cycle is read back
_CHECKED = ("trial_seed", "n_labeled", "n_pool", "n_test", "strategy_name", "added")


def campaign_strategy(spec):
    """The strategy a campaign stores for ``spec``: its instance, or ``(name, params)``."""
    return spec.strategy if spec.strategy is not None else (spec.name, dict(spec.params))


def _param_names(estimator, deep):
    return set(estimator.get_params(deep=deep)) if hasattr(estimator, "get_params") else set()


def _folder_names(specs):
    """A distinct, file-system-safe folder stem per strategy label."""
    names = {}
    for i, spec in enumerate(specs):
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", spec.label).strip("._") or "strategy"
        names[spec.label] = stem if stem not in names.values() else f"{stem}-{i}"
    return names


class Runner:
    """State shared by the cycles of :func:`run_campaign`.

    Parameters
    ----------
    data : tuple
        ``(X_pool, y_pool, X_test, y_test)``, validated.
    specs : list of StrategySpec
    factory : callable
        ``factory(strategy_name, seed) -> estimator``.
    schedule : list of int
        Labels at each cycle.
    semi : bool
        The campaign-wide ``semi_supervised``.
    dataset : str
    progress : ProgressDisplay
    writer : ResultsWriter or None
    root : Path
        Where the campaign folders are made.
    keep : bool
        Keep each (strategy, trial) folder; otherwise it is removed once the
        pair is finished.
    warm_start_epochs, subsample : int or None, default=None
        The campaigns' round settings (see
        :meth:`~skcryoal.campaign.Campaign.create`).
    embedder : SubtomogramEmbedder or None, default=None
        A fitted embedder recorded in every campaign
        (:meth:`~skcryoal.campaign.Campaign.pretrain`): their fits start from
        its encoder and the embedding strategies select on it.
    """

    def __init__(
        self,
        data,
        specs,
        factory,
        schedule,
        semi,
        dataset,
        progress,
        writer,
        root,
        keep,
        warm_start_epochs=None,
        subsample=None,
        embedder=None,
    ):
        self.X_pool, self.y_pool, self.X_test, self.y_test = data
        self.embedder = embedder
        self.specs, self.factory, self.schedule = specs, factory, schedule
        self.semi, self.dataset, self.progress, self.writer = semi, dataset, progress, writer
        self.root, self.keep = root, keep
        self.warm_start_epochs, self.subsample = warm_start_epochs, subsample
        self.classes = np.unique(np.concatenate([self.y_pool, self.y_test]))
        self.n_pool, self.n_test = len(self.X_pool), len(self.X_test)
        self.n_step = schedule[1] - schedule[0] if len(schedule) > 1 else 0
        self.guard = InterruptGuard()
        self.oracle = OracleAnnotator(self.y_pool)
        self.folder_names = _folder_names(specs)

    # ----------------------------------------------------------- estimator
    def estimator(self, spec_name, classifier_params, seed):
        """A new classifier from the factory, with the spec's parameters and every class."""
        est = self.factory(spec_name, seed)
        if classifier_params:
            try:
                est.set_params(**classifier_params)
            except (ValueError, TypeError, AttributeError) as exc:
                raise ValueError(
                    f"Cannot set the classifier parameters {classifier_params} on "
                    f"{type(est).__name__}: {exc}"
                ) from exc
        if "classes" in _param_names(est, False) and est.get_params(deep=False)["classes"] is None:
            # a labeled set may miss classes: the output layer needs them all
            est.set_params(classes=self.classes)
        return est

    # ------------------------------------------------------------ campaign
    def folder(self, spec, trial):
        """The campaign folder of a (strategy, trial) pair."""
        return self.root / f"{self.folder_names[spec.label]}-trial{trial}"

    def open_campaign(self, spec, trial, trial_seed, batches, semi=False):
        """Create the pair's campaign and label ``batches`` into it.

        ``batches[0]`` is the initial set (seed labels); the others were
        queried by the cycles already in the results file, so the campaign
        picks up where the file stops. A folder left by an earlier run is
        replaced. Nothing is fitted, except with warm starts: the next cycle
        continues from the previous cycle's model, so the finished cycles'
        fits are replayed (same seeds and labels; their outcome is in the
        file already) to rebuild it.
        """
        template = self.estimator(
            spec.name, spec.classifier_params, derive_seed(trial_seed, "fit", 0)
        )
        seeds = np.full(self.n_pool, None, dtype=object)
        seeds[batches[0]] = self.y_pool[batches[0]]
        campaign = Campaign.create(
            self.folder(spec, trial),
            self.X_pool,
            list(self.classes),
            y=seeds,
            estimator=template,
            strategy=campaign_strategy(spec),
            random_state=trial_seed,
            annotator="benchmark",
            overwrite=True,
            copy_pool=False,
            keep_checkpoints=1,  # every model's record, the final model's weights
            warm_start_epochs=self.warm_start_epochs,
            subsample=self.subsample,
        )
        if self.embedder is not None:
            campaign.pretrain(self.embedder, progress=False)
        for cycle, batch in enumerate(batches[1:], start=1):
            if self.warm_start_epochs is not None:
                params = self.fit_params(
                    campaign._template, spec, trial_seed, cycle - 1, None, semi, progress=False
                )
                campaign.fit(**params)
                self.guard.check()
            self.oracle.annotate(campaign, batch)
        return campaign

    def close_campaign(self, campaign):
        """Close a finished pair's campaign; remove its folder unless kept."""
        campaign.close()
        if not self.keep:
            shutil.rmtree(campaign.path, ignore_errors=True)

    def fit_params(self, template, spec, trial_seed, cycle, n_labeled, semi, progress=True):
        """The ``campaign.fit`` parameters of a cycle: its seed, semi-supervision, epoch bar."""
        params = {"semi_supervised": semi}
        if any(
            k == "random_state" or k.endswith("__random_state")
            for k in _param_names(template, True)
        ):
            params["random_state"] = derive_seed(trial_seed, "fit", cycle)
        epochs = self.progress.epoch_callback(f"{spec.label} n={n_labeled}") if progress else None
        if epochs is not None and "callbacks" in _param_names(template, False):
            params["callbacks"] = [("benchmark_epochs", epochs)]
        warm = self.warm_start_epochs if cycle > 0 else None
        extra = authors_cycle_params(template, self.schedule, cycle, self.warm_start_epochs)
        if warm is not None and hasattr(self.factory, "warm_params"):
            extra.update(self.factory.warm_params(warm))  # its schedule, fitted to the warm fit
        if extra:
            params["params"] = extra
        return params

    def cycle(self, campaign, spec, trial_seed, cycle, n_labeled, semi, n_query):
        """Fit (cold, or warm after cycle 0) and evaluate, then query and label ``n_query``.

        Returns
        -------
        fields : dict
            ``accuracy``, ``macro_f1``, ``recall``, ``train_seconds``,
            ``query_seconds`` and ``queried`` (encoded) of the cycle's row.
        queried : ndarray of int64
        """
        fit_params = self.fit_params(campaign._template, spec, trial_seed, cycle, n_labeled, semi)
        step = fit_step(campaign, X_test=self.X_test, y_test=self.y_test, **fit_params)
        self.guard.check()  # skorch's fit returns normally after Ctrl-C
        fields = {k: step[k] for k in ("accuracy", "macro_f1", "recall", "train_seconds")}
        queried = np.empty(0, dtype=np.int64)
        if n_query:
            seed = derive_seed(trial_seed, "query", cycle, spec.label)
            queried, fields["query_seconds"] = query_step(
                campaign, self.oracle, n_query, random_state=seed
            )
            fields["queried"] = encode_indices(queried)
        return fields, queried

    # -------------------------------------------------------------- rows
    def row(self, spec_label, spec_name, trial, seed, cycle, n_labeled, semi, added):
        """A result row with its configuration filled in and no outcome yet."""
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
            queried="",
            recall="",
        )

    def record(self, row):
        """Append a finished cycle's row to the results file."""
        if self.writer is not None:
            self.writer.append(row)
        return row


def authors_cycle_params(template, schedule, cycle, warm_start_epochs=None):
    """The per-cycle parameters of the authors' mean model (``ema_mode="authors"``).

    The released code never resets the EMA step counter across cycles (so
    the warm-up continues where the previous cycle stopped) and trains the
    first cycle without the regularizer. Returns ``{}`` for other estimators.

    Parameters
    ----------
    template : estimator
    schedule : list of int
        Labeled volumes per cycle.
    cycle : int
    warm_start_epochs : int or None, default=None
        The epochs of the cycles after the first when they are warm-started
        (the first trains ``max_epochs``), for counting the earlier steps.

    Returns
    -------
    params : dict
        ``ema_step_offset`` (the optimizer steps of the earlier cycles) and,
        in the first cycle, ``reg_lambda=0``.
    """
    from ..callbacks._ema import steps_per_epoch

    get = getattr(template, "get_params", None)
    values = get(deep=False) if get is not None else {}
    if values.get("ema_mode") != "authors":
        return {}
    epochs, batch = int(values["max_epochs"]), values["batch_size"]
    offset = sum(
        (epochs if k == 0 or warm_start_epochs is None else int(warm_start_epochs))
        * steps_per_epoch(n, batch, drop_last=batch not in (None, -1) and n % batch == 1)
        for k, n in enumerate(schedule[:cycle])
    )
    params = {"ema_step_offset": int(offset)}
    if cycle == 0:
        params["reg_lambda"] = 0.0
    return params


def _shorten(value):
    return value if len(str(value)) < 60 else str(value)[:57] + "..."


def check_done(done, expected, path):
    """Raise unless a row read back from the results file matches this configuration."""
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


def run_strategy_trial(run, spec, trial, trial_seed, done, bar):
    """Run the cycles of one (strategy, trial) not in ``done``; return every cycle's row.

    The pair's campaign is created at its first cycle not in ``done``, with
    the labels of the cycles before it (see :meth:`Runner.open_campaign`).
    """
    semi = run.semi if spec.semi_supervised is None else spec.semi_supervised
    spec_name = spec.name or type(spec.strategy).__name__
    batches = [initial_labeled_indices(run.n_pool, run.schedule[0], trial_seed)]
    in_labeled = np.zeros(run.n_pool, dtype=bool)
    in_labeled[batches[0]] = True
    rows, campaign = [], None
    try:
        for cycle, n_labeled in enumerate(run.schedule):
            last = cycle == len(run.schedule) - 1
            row = run.row(
                spec.label, spec_name, trial, trial_seed, cycle, n_labeled, semi, batches[-1]
            )
            key = (spec.label, trial, cycle)
            if key in done:
                check_done(done[key], row, run.writer.path)
                row = done[key]
                queried = decode_indices(row["queried"])
            else:
                if campaign is None:
                    campaign = run.open_campaign(spec, trial, trial_seed, batches, semi)
                bar.set_postfix_str(f"{spec.label} trial {trial} n={n_labeled}")
                n_query = 0 if last else run.n_step
                fields, queried = run.cycle(
                    campaign, spec, trial_seed, cycle, n_labeled, semi, n_query
                )
                row.update(fields)
                run.record(row)
                bar.update(1)
            rows.append(row)
            if last:
                break
            if len(queried) != run.n_step or in_labeled[queried].any():
                raise ValueError(
                    f"Cycle {cycle} of strategy {spec.label!r}, trial {trial} queried "
                    f"{len(queried)} volumes, some already labeled or repeated; expected "
                    f"{run.n_step} new ones. The results file is inconsistent: delete it and rerun."
                )
            in_labeled[queried] = True
            batches.append(queried)
    finally:
        if campaign is not None:
            run.close_campaign(campaign)
    return rows


def run_ceiling(run, trial, trial_seed, done, bar):
    """Train once on the whole labeled pool (full-pool supervision); return its row.

    Not a campaign: nothing is queried, and the pool is passed as it is (no
    copy of a memory map).
    """
    row = run.row(CEILING, CEILING, trial, trial_seed, 0, run.n_pool, False, [])
    key = (CEILING, trial, 0)
    if key in done:
        check_done(done[key], row, run.writer.path)
        return done[key]
    bar.set_postfix_str(f"{CEILING} trial {trial}")
    est = run.estimator("random", {}, derive_seed(trial_seed, "fit", "ceiling"))
    if run.embedder is not None:
        from ..campaign._model import use_encoder

        use_encoder(est, run.embedder.encoder_)
    epochs = run.progress.epoch_callback(CEILING)
    if epochs is not None and "callbacks" in _param_names(est, False):
        est.set_params(callbacks=[*(est.callbacks or []), ("benchmark_epochs", epochs)])
    start = time.perf_counter()
    est.fit(run.X_pool, run.y_pool)
    row["train_seconds"] = time.perf_counter() - start
    run.guard.check()
    row["accuracy"], row["macro_f1"], recall = evaluate(
        est, run.X_test, run.y_test, return_recall=True
    )
    row["recall"] = encode_recall(*recall)
    run.record(row)
    bar.update(1)
    return row
