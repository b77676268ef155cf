"""The model side of a campaign: fit, query, learner (the specs are in ``_specs``)."""

from __future__ import annotations

import contextlib
import numbers
import signal
import threading
import time
import warnings
from collections.abc import Callable

import numpy as np
from sklearn.base import clone

from ._checkpoint import CheckpointError, load_checkpoint, prune_checkpoints, write_checkpoint
from ._pretrain import (
    auto_pretrain,
    load_embedder,
    pretrain_campaign,
    pretrain_pending,
    with_embedder,
)
from ._specs import _takes, make_strategy, resolve_seed, round_seed, subsample_rows
from ._store import labels_digest
from ._warm import (
    check_warm_startable,
    resolve_warm_start,
    skorch_net,
    warm_start_callback,
)

_HOOK = "skcryoal_campaign_epochs"
_WARM = "skcryoal_campaign_warm_start"


# -------------------------------------------------------------------- fit
def _final_step(estimator):
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


def _EpochHook():  # noqa: N802 - a class factory, so that skorch is imported lazily
    from skorch.callbacks import Callback

    class EpochHook(Callback):
        def __init__(self, fn):
            self.fn = fn
            self.error = None

        def on_epoch_end(self, net, **kwargs):
            try:
                self.fn(len(net.history), int(net.max_epochs))
            except BaseException as exc:
                self.error = exc  # skorch swallows KeyboardInterrupt: re-raised after fit
                raise

    return EpochHook


def _check_callbacks(estimator, callbacks):
    """Return ``callbacks`` as a list of (name, callback) pairs, or raise."""
    if callbacks is None:
        return []
    pairs = list(callbacks)
    if not all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in pairs):
        raise TypeError(
            f"callbacks must be a list of (name, skorch callback) pairs; got {callbacks!r}."
        )
    clf = _final_step(estimator)
    if pairs and (
        getattr(clf, "callbacks", "disable") == "disable"
        or not hasattr(clf, "initialize_callbacks")
    ):
        raise ValueError(
            f"callbacks need a skorch estimator with callbacks enabled; {type(clf).__name__} "
            "takes none. Leave callbacks=None (on_epoch= reports progress of any estimator)."
        )
    return pairs


@contextlib.contextmanager
def _epoch_hook(estimator, on_epoch, extra=()):
    """Add ``on_epoch`` and ``extra`` callbacks for one fit; drop them before pickling."""
    clf = _final_step(estimator)
    original = getattr(clf, "callbacks", "disable")
    if original == "disable" or not hasattr(clf, "initialize_callbacks"):
        yield None
        return
    hook = None if on_epoch is None else _EpochHook()(on_epoch)
    added = [*extra, *([(_HOOK, hook)] if hook is not None else [])]
    if not added:
        yield None
        return
    clf.set_params(callbacks=[*(original or []), *added])
    try:
        yield hook
    finally:
        # drop them before pickling: a callable may be a closure, a bar holds a terminal
        clf.callbacks = original
        if hasattr(clf, "callbacks_"):
            names = {name for name, _ in added}
            clf.callbacks_ = [(n, c) for n, c in clf.callbacks_ if n not in names]


@contextlib.contextmanager
def _interrupt_guard():
    """Record Ctrl-C during a fit: skorch catches it and returns a half-trained net."""
    hit = []
    if threading.current_thread() is not threading.main_thread():
        yield hit
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous in (signal.SIG_IGN, None):  # interrupts are ignored (or not ours to handle)
        yield hit
        return

    def handler(signum, frame):
        hit.append(True)
        if callable(previous):
            previous(signum, frame)
        else:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield hit
    finally:
        signal.signal(signal.SIGINT, previous)


def labeled_arrays(campaign, labels):
    """Return (ids, X, y) of the given ``{particle_id: label_text}``, ids sorted.

    A labeled volume with NaN or infinite values is refused by particle id (the
    estimator would only see rows of this subset).
    """
    ids = np.array(sorted(labels), dtype=np.int64)
    X = np.asarray(campaign._volumes[ids], dtype=np.float32) if len(ids) else None
    if X is not None:
        bad = ids[~_finite_rows(X)]
        if len(bad):
            raise nonfinite_particles_error(bad, "the model cannot be trained on them")
    values = [campaign._classes.value(labels[i]) for i in ids]
    return ids, X, np.asarray(values)


_FINITE_CHUNK = 64


def _finite_rows(X):
    """Whether each row of ``X`` is finite in float32 (a bool array)."""
    finite = np.ones(len(X), dtype=bool)
    for start in range(0, len(X), _FINITE_CHUNK):
        with np.errstate(over="ignore", invalid="ignore"):
            batch = np.asarray(X[start : start + _FINITE_CHUNK], dtype=np.float32)
        finite[start : start + len(batch)] = np.isfinite(batch.reshape(len(batch), -1)).all(axis=1)
    return finite


def nonfinite_particles(volumes, ids):
    """The particle ids among ``ids`` whose volumes hold NaN or infinite values."""
    ids = np.asarray(ids, dtype=np.int64)
    chunks = [ids[start : start + _FINITE_CHUNK] for start in range(0, len(ids), _FINITE_CHUNK)]
    bad = [chunk[~_finite_rows(volumes[chunk])] for chunk in chunks]
    return np.concatenate(bad) if bad else ids[:0]


def nonfinite_particles_error(bad, why, skippable=True):
    """The error naming the campaign's particles whose volumes are not finite."""
    ids = ", ".join(str(int(i)) for i in bad[:10])
    fix = f", or skip the particles (campaign.skip([{ids}]))" if skippable else ""
    return ValueError(
        f"particle(s) {ids}{' ...' if len(bad) > 10 else ''} of the campaign ({len(bad)} in "
        "all) hold NaN or infinite values (|x| > 3.4e38 counts as infinite: the model "
        f"computes in float32); {why}. Repair those volumes in the pool{fix}."
    )


@contextlib.contextmanager
def with_particle_ids(campaign, ids, why, skippable=True):
    """Turn a failure over the rows of ``ids`` into an error naming the NaN particles.

    The estimator or strategy only sees rows of a subset, so its own message
    would name subset rows; on failure only, the particles are looked up.
    """
    try:
        yield
    except ValueError as exc:
        bad = nonfinite_particles(campaign._volumes, ids)
        if len(bad):
            raise nonfinite_particles_error(bad, why, skippable) from exc
        raise


def _seeded(template, random_state):
    """A clone of ``template`` whose random_state parameters are ``random_state`` (an int).

    Every parameter named ``random_state`` or ``*__random_state`` is set (a
    pipeline's steps too); None keeps the template's.
    """
    estimator = clone(template)
    if random_state is None:
        return estimator
    params = estimator.get_params() if hasattr(estimator, "get_params") else {}
    keys = [k for k in params if k == "random_state" or k.endswith("__random_state")]
    if not keys:
        raise ValueError(
            f"fit(random_state={random_state!r}): the estimator {type(estimator).__name__} has "
            "no random_state parameter to set; leave random_state=None."
        )
    estimator.set_params(**dict.fromkeys(keys, random_state))
    return estimator


def template_seed(template):
    """The template's own integer random_state, or None."""
    params = template.get_params() if hasattr(template, "get_params") else {}
    seed = params.get("random_state")
    return int(seed) if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) else None


def _unlabeled_view(campaign, estimator, labels):
    """The particles without a current label, as a lazy row view of the pool."""
    from ..utils._batches import RowSubset

    if _final_step(estimator) is not estimator or not _takes(estimator.fit, "X_unlabeled"):
        raise ValueError(
            f"semi_supervised=True needs an estimator whose fit takes X_unlabeled (e.g. "
            f"CryoNetClassifier, not in a Pipeline); got {type(estimator).__name__}."
        )
    ids = np.setdiff1d(np.arange(campaign.n_particles), np.fromiter(labels, np.int64, len(labels)))
    return RowSubset(campaign._volumes, ids) if len(ids) else None


def _use_pretrained(campaign, estimator, warm=False):
    """Start a fresh estimator from the campaign's pretrained encoder; return its key or None.

    Only an estimator with an ``encoder`` parameter that is not set already (a
    CryoNetClassifier; in a Pipeline, its final step) is changed. It fine-tunes
    gently, ``encoder_lr=PRETRAINED_ENCODER_LR``, unless it sets its own: at the
    classifier's usual rate a few dozen labels destroy the pretrained encoder
    (measured: docs/benchmarks.md, "Fewer labels"). A ``warm`` fit keeps its
    length (the warm start's epochs; its weights, the encoder's included, are the
    latest model's), so no ``min_steps`` is imposed on it.
    """
    from ._pretrain import encoder_path, pretrained_record

    record = pretrained_record(campaign)
    if record is None:
        return None
    if not use_encoder(estimator, encoder_path(campaign), min_steps=not warm):
        return None
    return record["key"]


def use_encoder(estimator, encoder, *, min_steps=True):
    """Start ``estimator`` from a pretrained ``encoder``, fine-tuned gently; True if it can.

    Only an estimator with an ``encoder`` parameter that is not set already (a
    CryoNetClassifier; in a Pipeline, its final step) is changed; ``encoder_lr``
    becomes ``PRETRAINED_ENCODER_LR`` and (with ``min_steps``) ``min_steps``
    ``PRETRAINED_MIN_STEPS`` unless it sets its own (the measured recipe).
    """
    from ._pretrain import PRETRAINED_ENCODER_LR, PRETRAINED_MIN_STEPS

    final = _final_step(estimator)
    params = final.get_params() if hasattr(final, "get_params") else {}
    if "encoder" not in params or params["encoder"] is not None:
        return False
    final.set_params(encoder=encoder)
    if "encoder_lr" in params and params["encoder_lr"] is None:
        final.set_params(encoder_lr=PRETRAINED_ENCODER_LR)
    if min_steps and "min_steps" in params and params["min_steps"] is None:
        final.set_params(min_steps=PRETRAINED_MIN_STEPS)
    return True


def _drop_optimizer_state(estimator):
    """Empty the optimizers' moment buffers before checkpointing.

    Every campaign fit starts with a fresh optimizer, cold (the paper's
    protocol) or warm (previous weights, fresh optimizer and schedule: see
    ``_warm``), so a model's optimizer state is never used again; AdamW's two
    moment buffers are the size of the weights twice over (a width-16
    checkpoint: 58 MB with them, 25 MB without). Prediction and scoring are
    unaffected.
    """
    for name, value in vars(estimator).items():
        if name.endswith("optimizer_") and hasattr(value, "state"):
            value.state.clear()


def fit_campaign(
    campaign,
    on_epoch=None,
    *,
    random_state=None,
    semi_supervised=False,
    callbacks=None,
    params=None,
    warm_start=None,
):
    """Fit on all current labels (cold, or warm), checkpoint, record; see Campaign.fit."""
    labels = campaign._current_labels()
    if len(labels) < 2:
        raise ValueError(
            f"fit needs at least 2 labeled particles; the campaign has {len(labels)}. "
            "Label more first (campaign.label(ids, labels))."
        )
    if pretrain_pending(campaign):
        # the campaign's recipe: an encoder learnt from the pool, once, before the first fit
        auto_pretrain(campaign, progress=True)
    seed = None if random_state is None else resolve_seed(random_state)
    estimator = _seeded(campaign._template, seed)
    if params:
        try:
            estimator.set_params(**params)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"fit(params={params!r}): cannot set these on {type(estimator).__name__}: {exc}"
            ) from exc
    warm = _warm_plan(campaign, params, warm_start)
    extra = _check_callbacks(estimator, callbacks)
    if warm is not None:
        skorch_net(estimator).set_params(max_epochs=warm[2])
        # first, so that the other callbacks see the loaded weights
        extra = [(_WARM, warm_start_callback(warm[1])), *extra]
    pretrained = _use_pretrained(campaign, estimator, warm=warm is not None)
    kwargs = {}
    if semi_supervised:
        kwargs["X_unlabeled"] = _unlabeled_view(campaign, estimator, labels)
    digest = labels_digest(labels)
    ids, X, y = labeled_arrays(campaign, labels)
    start = time.perf_counter()
    with _interrupt_guard() as interrupted, _epoch_hook(estimator, on_epoch, extra) as hook:
        estimator.fit(X, y, **kwargs)
    if hook is not None and hook.error is not None:
        raise hook.error
    if interrupted:
        raise KeyboardInterrupt("fit interrupted; no model was recorded.")
    seconds = time.perf_counter() - start
    if on_epoch is not None and hook is None:
        on_epoch(1, 1)
    metrics = _metrics(estimator, X, y, campaign._classes, seconds)
    metrics["random_state"] = template_seed(campaign._template) if seed is None else seed
    metrics["semi_supervised"] = bool(semi_supervised)
    metrics["pretrained"] = pretrained
    metrics["warm_start_from"] = None if warm is None else warm[0]
    _drop_optimizer_state(estimator)
    record = write_checkpoint(campaign.path, estimator)
    record.update(n_labels=len(ids), labels_digest=digest, metrics=metrics)
    model_id = campaign._store.add_model(record)
    campaign._model_cache = (model_id, estimator)
    keep = campaign._meta.get("keep_checkpoints")
    if keep is not None:
        prune_checkpoints(campaign.path, campaign._store.models(), keep)
    return estimator


def _warm_plan(campaign, params, warm_start):
    """What this fit continues from, if it is warm.

    Returns
    -------
    warm : tuple or None
        ``(model_id, model, epochs)`` of a warm fit; None for a cold one (no
        warm start asked, or no model to continue from).
    """
    epochs = resolve_warm_start(campaign._meta.get("warm_start_epochs"), warm_start)
    if epochs is None:
        return None
    check_warm_startable(campaign._template, epochs)
    if params and "max_epochs" in params:
        raise ValueError(
            f"fit(params={{'max_epochs': {params['max_epochs']}}}) conflicts with a warm "
            f"start of {epochs} epochs; pass warm_start=False for a cold fit of that "
            "length, or warm_start=<epochs>."
        )
    previous, record = campaign._latest_model()
    recorded = campaign._store.models()
    if previous is None:
        if recorded:
            warnings.warn(
                f"no checkpoint of the campaign's {len(recorded)} recorded model(s) can be "
                "loaded (deleted, or incomplete); this fit re-initializes the model and "
                "trains for the estimator's full max_epochs instead of warm-starting.",
                stacklevel=4,
            )
        return None  # the first fit of a warm campaign: cold, full length
    if record["model_id"] != recorded[-1]["model_id"]:
        warnings.warn(
            f"the checkpoint of the latest model #{recorded[-1]['model_id']} cannot be "
            f"loaded; warm-starting from model #{record['model_id']} instead.",
            stacklevel=4,
        )
    return record["model_id"], previous, epochs


def _unloadable(campaign):
    """Say which newer checkpoints the last ``_latest_model()`` could not load, or ''."""
    failures = getattr(campaign, "_checkpoint_failures", [])
    if not failures:
        return ""
    record, error = failures[0]
    more = f" (and {len(failures) - 1} older one(s))" if len(failures) > 1 else ""
    return (
        f"the checkpoint of the latest model #{record['model_id']} cannot be loaded{more}: "
        f"{str(error).rstrip('.')}"
    )


def no_model_error(campaign):
    """The error for a step that needs a model when none can be loaded."""
    why = _unloadable(campaign)
    if not why:
        return ValueError(
            "no model is fitted yet; label at least 2 particles and call campaign.fit() first."
        )
    return ValueError(
        f"no model can be loaded: {why}. Fit a new model on the current labels "
        "(campaign.fit(), or predict with fit=True); the unreadable file can then be deleted."
    )


def warn_older_model(campaign, record, doing, stacklevel=3):
    """Warn that ``doing`` uses an older model because newer checkpoints cannot be loaded."""
    why = _unloadable(campaign)
    if why and record is not None:
        warnings.warn(
            f"{why}; {doing} with the older model #{record['model_id']} instead. Fit a new "
            "model (campaign.fit()) to use the current labels.",
            UserWarning,
            stacklevel=stacklevel + 1,
        )


def _metrics(estimator, X, y, classes, seconds):
    accuracy = float(np.mean(np.asarray(estimator.predict(X)) == y))
    counts = {t: 0 for t in classes.texts}
    for value in y:
        counts[str(value)] += 1
    metrics = {
        "train_accuracy": accuracy,
        "n_labels": int(len(y)),
        "per_class": counts,
        "fit_seconds": round(seconds, 3),
    }
    history = getattr(_final_step(estimator), "history", None)
    if history:
        loss = history[-1].get("train_loss")
        if loss is not None:
            metrics["train_loss"] = float(loss)
        metrics["epochs"] = len(history)
    return metrics


# ------------------------------------------------------------------ query
def _eligible(campaign):
    current = campaign._store.current()
    taken = set(current) | {r[1] for r in campaign._store.queue()}
    eligible = np.setdiff1d(np.arange(campaign.n_particles), np.fromiter(taken, np.int64))
    labels = {pid: s[1] for pid, s in current.items() if s[0] in ("label", "relabel")}
    return eligible, labels


def query_campaign(campaign, n, refit, *, random_state=None, on_epoch=None, attempts=3):
    """Queue a new round of ``n`` particles; see Campaign.query."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}.")
    subsample = campaign._meta.get("subsample")
    if subsample is not None and n > subsample:
        raise ValueError(
            f"asked for {n} particles but the campaign scores subsample={subsample} per "
            f"round; query({subsample}) or fewer."
        )
    seed = None if random_state is None else resolve_seed(random_state)
    eligible, labels = _eligible(campaign)
    if n > len(eligible):
        raise ValueError(
            f"asked for {n} particles but only {len(eligible)} are neither labeled, skipped "
            f"nor queued; query({len(eligible)}) or fewer."
            if len(eligible)
            else "every particle is labeled, skipped or queued already; nothing left to query."
        )
    spec = campaign._meta["strategy"]
    probe = with_embedder(campaign, make_strategy(campaign.path, spec, 0))
    if refit and getattr(probe, "requires_fit", True) and len(labels) >= 2:
        _, record = campaign._latest_model()
        if record is None or record["labels_digest"] != labels_digest(labels):
            fit_campaign(campaign, on_epoch=on_epoch)
    queued = []
    # Another process may queue some of the same particles between our read
    # and our write; those are left out and the missing ones selected again.
    for attempt in range(attempts):
        eligible, labels = _eligible(campaign)
        missing = min(n - len(queued), len(eligible))
        if missing <= 0:
            break
        attempt_seed = seed if seed is None or attempt == 0 else round_seed(seed, attempt)
        queued += _select_round(campaign, spec, eligible, labels, missing, attempt_seed)
    if len(queued) < n:
        warnings.warn(
            f"queued {len(queued)} of the {n} particles asked for: other processes took the "
            "rest meanwhile.",
            stacklevel=3,
        )
    return np.asarray(queued, dtype=np.int64)


def _select_round(campaign, spec, eligible, labels, n, seed=None):
    """Select ``n`` of ``eligible`` and record them as one round; return the queued ids.

    ``seed`` is the round's seed; None derives one from the campaign's seed and
    the round number.
    """
    from ..learner import ActiveLearner
    from ..query import RandomQuery
    from ..utils._batches import RowSubset

    given = seed is not None
    if not given:
        seed = round_seed(campaign._meta["seed"], len(campaign._store.rounds()) + 1)
    strategy = with_embedder(
        campaign, make_strategy(campaign.path, spec, seed, seed_callable=given)
    )
    requires_fit = getattr(strategy, "requires_fit", True)
    model, record = campaign._latest_model() if requires_fit else (None, None)
    cold = requires_fit and model is None
    if cold and _unloadable(campaign):
        warnings.warn(
            f"{_unloadable(campaign)}; with no model to rank them, this round is a random "
            "selection (recorded as a cold start). Fit a new model (campaign.fit(), or query "
            "with fit=True) to query with a model.",
            UserWarning,
            stacklevel=4,
        )
    elif requires_fit:
        warn_older_model(campaign, record, "this round ranks the particles", stacklevel=4)
    used = RandomQuery(random_state=seed) if cold else strategy
    kwargs = {}
    if not cold and _takes(used, "X_labeled") and labels:
        kwargs["X_labeled"] = labeled_arrays(campaign, labels)[1]
    learner = ActiveLearner(model, query_strategy=used) if model is not None else None
    # the campaign's subsample: the strategy sees a lazy view of these rows only
    offered = eligible if cold else subsample_rows(eligible, campaign._meta.get("subsample"), seed)
    with with_particle_ids(campaign, offered, "the strategy cannot score them"):
        idx = used(learner, RowSubset(campaign._volumes, offered), n_instances=n, **kwargs)
    if isinstance(idx, tuple):  # a modAL strategy of the (indices, X) kind
        idx = idx[0]
    idx = np.asarray(idx).ravel()
    if len(idx) != n or len(np.unique(idx)) != n or idx.min() < 0 or idx.max() >= len(offered):
        raise RuntimeError(
            f"the strategy {used!r} returned {len(idx)} indices for n_instances={n} over "
            f"{len(offered)} candidates; it must return n distinct row indices."
        )
    ranked = offered[idx]
    info = {
        "annotator": campaign.annotator,
        "strategy": {
            "used": repr(used)[:500],
            "configured": spec,
            "cold_start": cold,
            "n_candidates": int(len(eligible)),
            "n_scored": None if cold else int(len(offered)),
            "subsample": campaign._meta.get("subsample"),
        },
        "seed": seed,
        "model_id": None if record is None else record["model_id"],
        "cold_start": cold,
        "n_requested": n,
    }
    scores = None if cold else _scores(used, model, campaign._volumes, ranked, kwargs)
    return campaign._store.add_round(info, [int(i) for i in ranked], scores)[1]


def _scores(strategy, model, volumes, ranked, kwargs):
    """The strategy's score of each selected particle, or None where it has none."""
    score = getattr(strategy, "score_samples", None)
    if score is None or model is None:
        return None
    try:
        X = np.asarray(volumes[np.asarray(ranked)], dtype=np.float32)
        extra = {k: v for k, v in kwargs.items() if _takes(score, k)}
        values = np.asarray(score(model, X, **extra), dtype=np.float64).ravel()
    except Exception:  # a score is a record, not a requirement of the query
        return None
    return values if len(values) == len(ranked) else None


def make_learner(campaign):
    """An ActiveLearner over the latest model and all current labels."""
    from ..learner import ActiveLearner

    model, record = campaign._latest_model()
    if model is None and _unloadable(campaign):
        warnings.warn(
            f"{_unloadable(campaign)}; the learner wraps an unfitted estimator. Fit a new "
            "model (campaign.fit()) first.",
            UserWarning,
            stacklevel=4,
        )
    warn_older_model(campaign, record, "the learner is built", stacklevel=4)
    estimator = model if model is not None else clone(campaign._template)
    spec = campaign._meta["strategy"]
    seed = round_seed(campaign._meta["seed"], len(campaign._store.rounds()) + 1)
    result = ActiveLearner(estimator, query_strategy=make_strategy(campaign.path, spec, seed))
    labels = campaign._current_labels()
    if labels:
        _, X, y = labeled_arrays(campaign, labels)
        result.X_training, result.y_training = X, y
    return result


class ModelMixin:
    """The model methods of :class:`Campaign` (fit, query, learner, latest model)."""

    def _latest_model(self):
        """Return (estimator, record) of the latest loadable model, or (None, None).

        The checkpoints that could not be loaded on the way (newer than the
        model returned) are left in ``_checkpoint_failures`` as (record, error).
        """
        failures = []
        self._checkpoint_failures = failures
        for record in reversed(self._store.models()):
            if self._model_cache[0] == record["model_id"]:
                return self._model_cache[1], record
            try:
                model = load_checkpoint(self.path, record)
            except CheckpointError as exc:
                failures.append((record, exc))
                continue  # an incomplete file is never loaded; fall back to an older one
            self._model_cache = (record["model_id"], model)
            return model, record
        return None, None

    def pretrain(self, embedder=None, *, progress: bool = True):
        """Learn an encoder from every particle of the pool, without labels, and record it.

        Fits a :class:`~skcryoal.pretraining.SubtomogramEmbedder` (self-supervised:
        SimCLR by default, on views that respect the missing wedge) on the whole
        pool. Its state is written to ``pretrain/`` after every epoch, so the same
        call after a kill resumes where it stopped. The fitted embedder is then
        stored (atomically, with its checksum) and recorded in the campaign's
        metadata, and from then on:

        * every :meth:`fit` of a classifier with an ``encoder`` parameter
          (:class:`~skcryoal.CryoNetClassifier`, also as a Pipeline's last step)
          that has none set starts from the pretrained encoder and fine-tunes
          it with ``encoder_lr=1e-4`` and at least ``min_steps=400`` optimizer
          steps unless the estimator sets its own (its metrics say
          ``pretrained``);
        * the embedding strategies (``typiclust``, ``probcover``) select on the
          embedder, with or without a model, so they pick the first labels too.

        A fitted embedder is recorded as it is, without training: one
        pretrained on more particles than this pool (other tomograms, a
        larger set), or shared by several campaigns over the same particles.

        Parameters
        ----------
        embedder : SubtomogramEmbedder or None, default=None
            Unfitted: its parameters are used (it is cloned and fitted here on
            the pool). Fitted: recorded as it is; its volumes must have the
            pool's shape. None: the defaults, with the width and stem of the
            campaign's classifier and the campaign's ``random_state``.
        progress : bool, default=True
            Show a progress bar over the epochs.

        Returns
        -------
        embedder : SubtomogramEmbedder
            The fitted embedder (also :attr:`embedder`).
        """
        return pretrain_campaign(self, embedder, progress=progress)

    @property
    def embedder(self):
        """The recorded pretrained embedder (:meth:`pretrain`), or None."""
        return load_embedder(self)

    @property
    def model(self):
        """The latest fitted model whose checkpoint is complete (None before the first fit).

        Loaded from its checkpoint on first use and cached; a model fitted by
        another process since is picked up on the next access.
        """
        return self._latest_model()[0]

    def fit(
        self,
        *,
        on_epoch: Callable[[int, int], object] | None = None,
        random_state=None,
        semi_supervised: bool = False,
        callbacks=None,
        params: dict | None = None,
        warm_start: int | bool | None = None,
    ):
        """Fit a new model on all current labels and checkpoint it.

        The paper's protocol: every fit re-initializes the model (a clone of
        the campaign's estimator) and trains on every current label. A
        campaign created with ``warm_start_epochs=N`` instead continues from
        the latest recorded model's weights (its checkpoint, after a reopen)
        for ``N`` epochs, with a fresh optimizer, learning-rate schedule and
        mean-model warm-up; its first fit is cold. The checkpoint is written
        atomically and recorded with its metrics (training accuracy, labels
        count, fit time, ``random_state``, ``semi_supervised`` and
        ``warm_start_from``, the model a warm fit continued from; a campaign
        has no test set).

        Parameters
        ----------
        on_epoch : callable or None, default=None
            ``on_epoch(epoch, n_epochs)``, called after each epoch of a skorch
            estimator (once, ``(1, 1)``, for others), e.g. for a progress bar.
            An exception raised in it cancels the fit; nothing is recorded.
        random_state : int, RandomState or None, default=None
            Seed of this fit: every ``random_state`` parameter of the
            estimator (``*__random_state`` in a pipeline too) is set to it on
            the fresh clone, e.g. one seed per round of a reproducible
            simulation. None keeps the estimator's own (the same each fit).
        semi_supervised : bool, default=False
            Also pass every particle without a current label (queued and
            skipped ones included) as ``fit(..., X_unlabeled=...)``, a lazy
            row view of the pool (nothing is copied), for semi-supervised
            training. The estimator's ``fit`` must take ``X_unlabeled``
            (:class:`~skcryoal.CryoNetClassifier` does).
        callbacks : list of (str, Callback) or None, default=None
            Extra skorch callbacks for this fit only (e.g. a progress bar),
            appended to the estimator's own and removed before the model is
            checkpointed.
        params : dict or None, default=None
            Estimator parameters for this fit only, set on the fresh clone
            (``set_params``), e.g. ``{"max_epochs": 10}``; the campaign's
            estimator is unchanged. ``max_epochs`` does not go with a warm
            fit (its length is the warm start's).
        warm_start : int, False or None, default=None
            None follows the campaign's ``warm_start_epochs``; False fits
            cold (from scratch, full ``max_epochs``) whatever the setting; a
            positive int continues from the latest model for that many
            epochs. Without a model to continue from, the fit is cold; if
            models were recorded but no checkpoint of them can be loaded, a
            warning says so.

        Returns
        -------
        estimator : estimator
            The fitted model.

        Raises
        ------
        ValueError
            Fewer than 2 labels; a ``random_state`` for an estimator without
            one; ``semi_supervised`` for an estimator without
            ``X_unlabeled``; a bad ``warm_start``, or a warm fit with
            ``params`` that change ``max_epochs`` or the network.
        """
        return fit_campaign(
            self,
            on_epoch,
            random_state=random_state,
            semi_supervised=semi_supervised,
            callbacks=callbacks,
            params=params,
            warm_start=warm_start,
        )

    def query(self, n: int, *, fit: bool = True, random_state=None, on_epoch=None) -> np.ndarray:
        """Queue a new round of ``n`` particles and return their ids, best first.

        Candidates are the particles neither labeled, skipped nor queued
        already; with the campaign's ``subsample``, a fresh random subset of
        that many of them (drawn from the round's seed) is all the strategy
        scores (a cold start draws from them all). The round (strategy,
        seed, model, each particle's rank and score) is recorded before the
        ids are returned.

        Parameters
        ----------
        n : int
        fit : bool, default=True
            If the strategy needs a model and the latest one was not fitted on
            the current labels, fit one first (see :meth:`fit`), so every
            label counts. False queries with the latest model as it is.
            Without a model (fewer than 2 labels, or ``fit=False`` before the
            first fit) the query is a cold start: a random selection drawn
            from the campaign's ``random_state``, recorded as such.
        random_state : int, RandomState or None, default=None
            Seed of this round (the strategy's ``random_state``, or the
            random selection's at a cold start), recorded with the round. A
            stored callable strategy gets it as its ``random_state``
            attribute, if it has one. None derives the seed from the
            campaign's ``random_state`` and the round number.
        on_epoch : callable or None, default=None
            ``on_epoch(epoch, n_epochs)`` after each epoch of the fit that
            ``fit=True`` may run first (for a progress bar).

        Returns
        -------
        ids : ndarray of int64
            If another process queued or labeled some of the selected
            particles meanwhile, replacements are selected (recorded as a
            further round); fewer than ``n`` only if that keeps happening (a
            warning says so).
        """
        return query_campaign(self, n, fit, random_state=random_state, on_epoch=on_epoch)

    @property
    def learner(self):
        """A new :class:`~skcryoal.ActiveLearner` over the latest model and all labels.

        Its ``X_training`` / ``y_training`` are the labeled volumes and their
        labels; ``learner.query(X)`` works as in modAL. Before any fit it wraps
        an unfitted clone of the estimator. A snapshot: what is done with it
        is not recorded in the campaign.
        """
        return make_learner(self)
