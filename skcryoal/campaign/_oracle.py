"""An annotator that knows the labels, and the steps of the active-learning loop on a campaign.

A cycle is what a person's campaign does: fit a model (cold) on every label
(:func:`fit_step`, which also scores it on a test set), then queue a batch and
label it (:func:`query_step`). :func:`run_rounds` and the benchmark's
``run_campaign`` are both loops over these two steps.
"""

import time

import numpy as np
import pandas as pd

from ..utils._validation import check_volumes


def _missing(value):
    return value is None or (isinstance(value, float) and np.isnan(value))


class OracleAnnotator:
    """Label particles from known labels, as a person would through a campaign.

    Benchmarks and simulations run the very loop people run: the oracle is
    just an annotator whose answers are ``y[particle_id]``.

    Parameters
    ----------
    y : array-like of shape (n_particles,)
        The true label of each particle (pool row); None (or NaN) for a
        particle the oracle cannot label, which it skips instead.
    name : str, default="oracle"
        The annotator name recorded with the labels.

    Examples
    --------
    >>> from skcryoal.campaign import OracleAnnotator
    >>> oracle = OracleAnnotator(["a", "b", None])
    >>> oracle([1, 0, 2])
    ['b', 'a', None]
    """

    def __init__(self, y, name="oracle"):
        self.y = y
        self.name = name

    def __call__(self, ids):
        """Return the labels of ``ids`` (None where unknown).

        Parameters
        ----------
        ids : sequence of int

        Returns
        -------
        labels : list
        """
        y = np.asarray(self.y, dtype=object)
        out = []
        for i in np.asarray(ids, dtype=np.int64).ravel():
            if not 0 <= i < len(y):
                raise ValueError(
                    f"particle {i} is beyond the oracle's {len(y)} labels; give it one label "
                    "per particle of the campaign."
                )
            value = y[i]
            out.append(
                None if _missing(value) else (value.item() if hasattr(value, "item") else value)
            )
        return out

    def annotate(self, campaign, ids):
        """Label ``ids`` in ``campaign`` (one call), skipping the unknown ones.

        Parameters
        ----------
        campaign : Campaign
        ids : sequence of int

        Returns
        -------
        n_labeled : int
        """
        ids = [int(i) for i in np.asarray(ids).ravel()]
        return _label_or_skip(campaign, ids, self(ids), self.name)

    def __repr__(self):
        return f"OracleAnnotator(n_labels={len(self.y)}, name={self.name!r})"


def evaluate(model, X_test, y_test, *, return_recall=False):
    """Return the accuracy and macro-F1 of ``model`` on a test set.

    The macro-F1 averages over the test set's classes, a class never
    predicted counting as 0.

    Parameters
    ----------
    model : fitted estimator
    X_test : array-like of shape (n_test, 1, D, H, W)
    y_test : ndarray of shape (n_test,)
    return_recall : bool, default=False
        Also return each test class's recall (the share of its particles
        predicted as it), as ``(labels, recall)`` arrays.

    Returns
    -------
    accuracy, macro_f1 : float
    recall : tuple of 2 ndarrays
        Only with ``return_recall``: the test set's sorted labels and their recall.
    """
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    y_pred = np.asarray(model.predict(X_test))
    labels = np.unique(y_test)
    accuracy = accuracy_score(y_test, y_pred)
    macro_f1 = f1_score(y_test, y_pred, labels=labels, average="macro", zero_division=0)
    if return_recall:
        recall = recall_score(y_test, y_pred, labels=labels, average=None, zero_division=0)
        return float(accuracy), float(macro_f1), (labels, recall)
    return float(accuracy), float(macro_f1)


def fit_step(campaign, *, X_test=None, y_test=None, refit=True, **fit_params):
    """The first half of a cycle: fit a model (cold) on every label, evaluate it.

    Shared by :func:`run_rounds` and the benchmark (``run_campaign``), so that
    both run the very steps a person's campaign runs.

    Parameters
    ----------
    campaign : Campaign
    X_test, y_test : array-like or None, default=None
        Held-out volumes (validated) and labels; NaN metrics without them.
    refit : bool, default=True
        False keeps the latest model if it was fitted on the current labels.
    **fit_params
        Passed to :meth:`Campaign.fit` (``random_state``, ``semi_supervised``,
        ``callbacks``, ``on_epoch``).

    Returns
    -------
    result : dict
        ``model`` (the fitted estimator), ``model_id``, ``n_labeled``,
        ``train_accuracy``, ``accuracy``, ``macro_f1``, ``recall`` (each test
        class's, encoded by :func:`~skcryoal.benchmark.encode_recall`; empty
        without a test set), ``fit_seconds`` (this
        call's fit, checkpoint included, without the evaluation) and
        ``train_seconds`` (the estimator's ``fit`` alone, as recorded with
        the model).
    """
    start = time.perf_counter()
    if refit or not campaign.status().model_up_to_date:
        campaign.fit(**fit_params)
    fit_seconds = time.perf_counter() - start
    model, info = campaign._latest_model()
    metrics = {} if info is None else info["metrics"]
    result = {
        "model": model,
        "model_id": None if info is None else info["model_id"],
        "n_labeled": len(campaign._current_labels()),
        "train_accuracy": metrics.get("train_accuracy", np.nan),
        "accuracy": np.nan,
        "macro_f1": np.nan,
        "recall": "",
        "fit_seconds": fit_seconds,
        "train_seconds": metrics.get("fit_seconds", np.nan),
    }
    if model is not None and X_test is not None:
        from ..benchmark._results import encode_recall

        result["accuracy"], result["macro_f1"], recall = evaluate(
            model, X_test, y_test, return_recall=True
        )
        result["recall"] = encode_recall(*recall)
    return result


def query_step(campaign, annotator, n, **query_params):
    """The second half of a cycle: queue ``n`` particles, have the annotator label them.

    Parameters
    ----------
    campaign : Campaign
    annotator : OracleAnnotator or callable
        See :func:`run_rounds`.
    n : int
    **query_params
        Passed to :meth:`Campaign.query` (``random_state``); the query uses
        the latest model as it is (``fit=False``).

    Returns
    -------
    ids : ndarray of int64
        The queued particles, best first.
    query_seconds : float
        The query (selection and its record), without the labelling.
    """
    start = time.perf_counter()
    ids = campaign.query(n, fit=False, **query_params)
    seconds = time.perf_counter() - start
    annotate(campaign, annotator, ids)
    return ids, seconds


def annotate(campaign, annotator, ids):
    """Label ``ids`` in ``campaign`` with ``annotator`` (see :func:`run_rounds`).

    Returns
    -------
    n_labeled : int
        The particles labeled (the others were skipped).
    """
    if hasattr(annotator, "annotate"):
        return annotator.annotate(campaign, ids)
    ids = [int(i) for i in np.asarray(ids).ravel()]
    return _label_or_skip(campaign, ids, annotator(ids), getattr(annotator, "name", "oracle"))


def _label_or_skip(campaign, ids, labels, name):
    """Label the ids with a known label, skip the others: one call each."""
    known = [(i, lab) for i, lab in zip(ids, labels) if lab is not None]
    unknown = [i for i, lab in zip(ids, labels) if lab is None]
    if known:
        campaign.label([i for i, _ in known], [lab for _, lab in known], annotator=name)
    if unknown:
        campaign.skip(unknown, annotator=name)
    return len(known)


def run_rounds(
    campaign, annotator, n_rounds, batch_size, *, X_test=None, y_test=None, on_round=None
):
    """Run active-learning rounds ``query -> annotate -> fit`` through a campaign.

    The loop of the paper's protocol, on the same :class:`Campaign` API that
    people use: every query, label and model is recorded in the campaign, so
    a run can be inspected (or resumed by calling this again) afterwards.
    Round 0 is the model on the labels present at the start (fitted if
    needed, when there are at least 2). The benchmark
    (:func:`skcryoal.benchmark.run_campaign`) runs the same steps.

    Parameters
    ----------
    campaign : Campaign
    annotator : OracleAnnotator or callable
        ``annotator(ids) -> labels`` (None to skip a particle); an object with
        ``annotate(campaign, ids)`` labels through it.
    n_rounds : int
    batch_size : int
        Particles queried per round.
    X_test, y_test : array-like or None, default=None
        Held-out volumes and labels; each round's model is scored on them.
    on_round : callable or None, default=None
        ``on_round(row)`` after each round, with the row as a dict.

    Returns
    -------
    rounds : DataFrame
        One row per round: ``round``, ``n_labeled``, ``queried`` (ids),
        ``model_id``, ``train_accuracy``, ``accuracy`` and ``macro_f1`` (NaN
        without a test set), ``query_seconds``, ``fit_seconds``.
    """
    for name, value in (("n_rounds", n_rounds), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer; got {value!r}.")
    if (X_test is None) != (y_test is None):
        raise ValueError("pass both X_test and y_test, or neither.")
    if X_test is not None:
        X_test = check_volumes(X_test, name="X_test", volume_shape=campaign.volume_shape)
        y_test = np.asarray(y_test)
    rows = []

    def record(round_number, queried, query_seconds, step):
        row = {
            "round": round_number,
            "n_labeled": step["n_labeled"],
            "queried": [int(i) for i in queried],
            **{k: step[k] for k in ("model_id", "train_accuracy", "accuracy", "macro_f1")},
            "query_seconds": query_seconds,
            "fit_seconds": step["fit_seconds"],
        }
        rows.append(row)
        if on_round is not None:
            on_round(dict(row))

    if campaign.status().n_labeled >= 2:
        record(0, [], 0.0, fit_step(campaign, X_test=X_test, y_test=y_test, refit=False))
    for k in range(1, n_rounds + 1):
        ids, query_seconds = query_step(campaign, annotator, batch_size)
        record(k, ids, query_seconds, fit_step(campaign, X_test=X_test, y_test=y_test))
    return pd.DataFrame(rows)
