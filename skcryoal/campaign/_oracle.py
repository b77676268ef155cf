"""An annotator that knows the labels, and the query -> label -> fit loop on a campaign."""

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
        labels = self(ids)
        known = [(i, lab) for i, lab in zip(ids, labels) if lab is not None]
        unknown = [i for i, lab in zip(ids, labels) if lab is None]
        if known:
            campaign.label([i for i, _ in known], [lab for _, lab in known], annotator=self.name)
        if unknown:
            campaign.skip(unknown, annotator=self.name)
        return len(known)

    def __repr__(self):
        return f"OracleAnnotator(n_labels={len(self.y)}, name={self.name!r})"


def run_rounds(
    campaign, annotator, n_rounds, batch_size, *, X_test=None, y_test=None, on_round=None
):
    """Run active-learning rounds ``query -> annotate -> fit`` through a campaign.

    The loop of the paper's protocol, on the same :class:`Campaign` API that
    people use: every query, label and model is recorded in the campaign, so
    a run can be inspected (or resumed by calling this again) afterwards.
    Round 0 is the model on the labels present at the start (fitted if
    needed, when there are at least 2).

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
    from sklearn.metrics import accuracy_score, f1_score

    for name, value in (("n_rounds", n_rounds), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer; got {value!r}.")
    if (X_test is None) != (y_test is None):
        raise ValueError("pass both X_test and y_test, or neither.")
    if X_test is not None:
        X_test = check_volumes(X_test, name="X_test", volume_shape=campaign.volume_shape)
        y_test = np.asarray(y_test)
    annotate = getattr(annotator, "annotate", None)
    name = getattr(annotator, "name", "oracle")
    rows = []

    def record(round_number, queried, query_seconds, fit_seconds):
        model, info = campaign._latest_model()
        row = {
            "round": round_number,
            "n_labeled": campaign.status().n_labeled,
            "queried": [int(i) for i in queried],
            "model_id": None if info is None else info["model_id"],
            "train_accuracy": np.nan if info is None else info["metrics"].get("train_accuracy"),
            "accuracy": np.nan,
            "macro_f1": np.nan,
            "query_seconds": query_seconds,
            "fit_seconds": fit_seconds,
        }
        if model is not None and X_test is not None:
            y_pred = np.asarray(model.predict(X_test))
            row["accuracy"] = float(accuracy_score(y_test, y_pred))
            row["macro_f1"] = float(
                f1_score(y_test, y_pred, labels=np.unique(y_test), average="macro", zero_division=0)
            )
        rows.append(row)
        if on_round is not None:
            on_round(dict(row))

    if campaign.status().n_labeled >= 2:
        start = time.perf_counter()
        if not campaign.status().model_up_to_date:
            campaign.fit()
        record(0, [], 0.0, time.perf_counter() - start)
    for k in range(1, n_rounds + 1):
        start = time.perf_counter()
        ids = campaign.query(batch_size)
        query_seconds = time.perf_counter() - start
        if annotate is not None:
            annotate(campaign, ids)
        else:
            labels = annotator(ids)
            known = [(i, lab) for i, lab in zip(ids, labels) if lab is not None]
            if known:
                campaign.label([i for i, _ in known], [lab for _, lab in known], annotator=name)
            unknown = [i for i, lab in zip(ids, labels) if lab is None]
            if unknown:
                campaign.skip(unknown, annotator=name)
        start = time.perf_counter()
        campaign.fit()
        record(k, ids, query_seconds, time.perf_counter() - start)
    return pd.DataFrame(rows)
