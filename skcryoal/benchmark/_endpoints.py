"""The primary endpoint of a campaign, its family of comparisons, and their verdicts.

A campaign measures many things: a metric at each budget for each strategy,
areas, pairwise differences. Read one interval at a time, about one in
twenty excludes zero by chance. So before a run, one measure is declared
*primary* (by default the normalized learning-curve area over the budgets
after the shared first one, where every strategy of a trial starts from the
same labels) together with its *family*: the comparisons it is tested on
(each strategy against random). The verdicts on the family are corrected
with Holm's procedure (:func:`holm_adjust`); everything else, such as the
per-budget cells, is secondary. ``skcryoal benchmark`` records the
declaration in ``config.json`` and ``summary.md`` reports the family.
"""

import math

import numpy as np
import pandas as pd

from ._inference import holm_adjust

#: the primary endpoints a campaign can declare, with their definitions
PRIMARY_ENDPOINTS = {
    "auc_after_first": (
        "normalized learning-curve area over the budgets after the shared first one "
        "(the initial labeled set, which every strategy of a trial shares)"
    ),
    "auc": "normalized learning-curve area over every budget",
}
_METRIC_NAMES = {"accuracy": "test accuracy", "macro_f1": "test macro-F1"}
_SECONDARY = (
    "the metrics at each budget and their paired differences, the area over every budget, "
    "the win/tie/loss counts"
)


def comparison_family(strategies, reference="random"):
    """Return the comparisons a campaign's primary endpoint is tested on.

    Parameters
    ----------
    strategies : sequence of str
        Strategy labels, in the campaign's order; the full-pool ceiling, if
        listed, is left out.
    reference : str, default="random"
        With a strategy of this label, the family is every other strategy
        against it; without, every pair of strategies.

    Returns
    -------
    pairs : list of tuple of str
        ``(a, b)`` pairs, each compared as ``a - b``.

    Examples
    --------
    >>> from skcryoal.benchmark import comparison_family
    >>> comparison_family(["random", "ema", "badge"])
    [('ema', 'random'), ('badge', 'random')]
    >>> comparison_family(["ema", "badge", "entropy"])
    [('ema', 'badge'), ('ema', 'entropy'), ('badge', 'entropy')]
    """
    from ._results import CEILING

    names = [s for s in dict.fromkeys(strategies) if s != CEILING]
    if reference in names:
        return [(s, reference) for s in names if s != reference]
    return [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]


def declare_primary_endpoint(
    strategies, metric="accuracy", endpoint="auc_after_first", reference="random", alpha=0.05
):
    """Return the declaration of a campaign's primary endpoint, as ``config.json`` records it.

    Parameters
    ----------
    strategies : sequence of str
        The campaign's strategy labels.
    metric : {"accuracy", "macro_f1"}, default="accuracy"
    endpoint : {"auc_after_first", "auc"}, default="auc_after_first"
        See ``PRIMARY_ENDPOINTS`` and :func:`learning_curve_auc`.
    reference : str, default="random"
        See :func:`comparison_family`.
    alpha : float, default=0.05
        The family-wise error rate of the verdicts, in (0, 1).

    Returns
    -------
    declaration : dict
        ``metric``, ``endpoint``, ``definition``, ``reference``, ``family``
        (in words), ``comparisons`` (``"a - b"`` strings), ``n_comparisons``,
        ``correction`` (``"holm"``), ``alpha`` and ``secondary`` (what is
        reported besides, without correction). JSON-serializable.

    Examples
    --------
    >>> from skcryoal.benchmark import declare_primary_endpoint
    >>> d = declare_primary_endpoint(["random", "ema", "badge"])
    >>> d["family"], d["comparisons"]
    ('each strategy against random', ['ema - random', 'badge - random'])
    """
    if metric not in _METRIC_NAMES:
        raise ValueError(f"metric must be 'accuracy' or 'macro_f1'; got {metric!r}.")
    if endpoint not in PRIMARY_ENDPOINTS:
        raise ValueError(
            f"endpoint must be one of {', '.join(map(repr, PRIMARY_ENDPOINTS))}; got {endpoint!r}."
        )
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), e.g. 0.05; got {alpha!r}.")
    pairs = comparison_family(strategies, reference)
    family = (
        f"each strategy against {reference}"
        if any(b == reference for _, b in pairs)
        else "every pair of strategies"
    )
    return dict(
        metric=metric,
        endpoint=endpoint,
        definition=f"{PRIMARY_ENDPOINTS[endpoint]}, of {_METRIC_NAMES[metric]}",
        reference=reference,
        family=family,
        comparisons=[f"{a} - {b}" for a, b in pairs],
        n_comparisons=len(pairs),
        correction="holm",
        alpha=float(alpha),
        secondary=_SECONDARY,
    )


def paired_comparisons(
    results,
    pairs=None,
    metric="accuracy",
    endpoint="auc_after_first",
    alpha=0.05,
    reference="random",
):
    """Test a family of paired comparisons on one endpoint, with nominal and Holm verdicts.

    Each pair ``(a, b)`` is compared on ``endpoint`` through its paired
    differences over trials (:func:`paired_difference`): the mean, its
    Student-t interval, the two-sided paired t p-value and the exact
    sign-flip p-value (:func:`sign_flip_test`). The p-values of the family
    (the pairs given) are then corrected with Holm's procedure
    (:func:`holm_adjust`), which keeps the chance of any false verdict in
    the family at most ``alpha``.

    Parameters
    ----------
    results : pandas.DataFrame
        As returned by :func:`run_campaign` or :func:`read_results`.
    pairs : list of (str, str) or None, default=None
        The family, each pair compared as ``a - b``; None: the campaign's
        (:func:`comparison_family` of its strategies and ``reference``).
    metric : {"accuracy", "macro_f1"}, default="accuracy"
    endpoint : {"auc_after_first", "auc"} or int, default="auc_after_first"
        An area (``PRIMARY_ENDPOINTS``), or a budget (``n_labeled``): the
        metric there.
    alpha : float, default=0.05
        The level of the verdicts (nominal and family-wise); the interval
        is the ``1 - alpha`` t interval.
    reference : str, default="random"
        Used when ``pairs`` is None.

    Returns
    -------
    table : pandas.DataFrame
        One row per pair, in order: ``a``, ``b``, ``mean``, ``low``,
        ``high``, ``n_trials``, ``p_value`` (paired t, nominal),
        ``p_holm``, ``p_sign_flip`` (exact, nominal), ``p_sign_flip_holm``,
        ``min_p_sign_flip`` (``2 / 2**n_trials``: the smallest p-value the
        sign-flip test can give, with no difference 0), ``nominal`` and ``holm`` (``"ahead"``,
        ``"behind"`` or ``"not established"``, from ``p_value`` and
        ``p_holm`` at ``alpha``), ``verdict`` (``"established"`` when the
        Holm-adjusted p-value is at most ``alpha``, ``"suggestive"`` when
        only the nominal one is, ``"not established"`` otherwise, and
        ``"untested"`` without a p-value), ``sign_flip_confirms`` (the
        Holm-adjusted sign-flip p-value is at most ``alpha`` too; with 5
        trials it cannot be, 0.0625 being its floor, and an established
        verdict then rests on the normality behind the t test) and
        ``family_size`` (the tested comparisons).

    Examples
    --------
    >>> import pandas as pd
    >>> from skcryoal.benchmark import paired_comparisons
    >>> df = pd.DataFrame(dict(strategy=["badge"] * 6 + ["random"] * 6,
    ...     trial=[0, 0, 1, 1, 2, 2] * 2, n_labeled=[10, 20] * 6,
    ...     accuracy=[0.5, 0.72, 0.6, 0.81, 0.55, 0.78, 0.5, 0.70, 0.6, 0.80, 0.55, 0.75]))
    >>> table = paired_comparisons(df)
    >>> table[["a", "b", "n_trials", "verdict"]].values.tolist()
    [['badge', 'random', 3, 'not established']]
    """
    from ._stats import _curve_rows, _strategies

    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), e.g. 0.05; got {alpha!r}.")
    if pairs is None:
        pairs = comparison_family(_strategies(_curve_rows(results, metric)), reference)
    pairs = [tuple(p) for p in pairs]
    bad = [p for p in pairs if len(p) != 2]
    if bad:
        raise ValueError(f"pairs must be (a, b) tuples of strategy labels; got {bad[0]!r}.")
    records = []
    for a, b in pairs:
        row = _endpoint_difference(results, a, b, metric, endpoint, 1 - alpha)
        records.append(dict(a=a, b=b, **row))
    columns = ["a", "b", "mean", "low", "high", "n_trials", "p_value", "p_sign_flip"]
    table = pd.DataFrame(records, columns=columns)
    table["p_holm"] = holm_adjust(table["p_value"].to_numpy(dtype=float))
    table["p_sign_flip_holm"] = holm_adjust(table["p_sign_flip"].to_numpy(dtype=float))
    table["min_p_sign_flip"] = [
        min(1.0, 2.0 / 2**n) if n >= 2 else math.nan for n in table.n_trials
    ]
    table["nominal"] = [_direction(m, p, alpha) for m, p in zip(table["mean"], table["p_value"])]
    table["holm"] = [_direction(m, p, alpha) for m, p in zip(table["mean"], table["p_holm"])]
    table["verdict"] = [_verdict(p, q, alpha) for p, q in zip(table["p_value"], table["p_holm"])]
    table["sign_flip_confirms"] = (table["p_sign_flip_holm"] <= alpha).to_numpy(dtype=bool)
    table["family_size"] = int(np.count_nonzero(table["p_value"].notna()))
    order = [
        "a", "b", "mean", "low", "high", "n_trials", "p_value", "p_holm", "p_sign_flip",
        "p_sign_flip_holm", "min_p_sign_flip", "nominal", "holm", "verdict",
        "sign_flip_confirms", "family_size",
    ]  # fmt: skip
    return table[order]


def _endpoint_difference(results, a, b, metric, endpoint, confidence):
    from ._stats import paired_difference

    if isinstance(endpoint, str):
        if endpoint not in PRIMARY_ENDPOINTS:
            raise ValueError(
                f"endpoint must be one of {', '.join(map(repr, PRIMARY_ENDPOINTS))} or a "
                f"budget (an int); got {endpoint!r}."
            )
        row = paired_difference(results, a, b, metric, by=endpoint, confidence=confidence)
    else:
        per_budget = paired_difference(results, a, b, metric, confidence=confidence)
        row = per_budget[per_budget["n_labeled"] == endpoint]
        if row.empty:
            raise ValueError(
                f"strategies {a!r} and {b!r} share no trial at budget {endpoint!r}; their "
                f"common budgets are {per_budget['n_labeled'].tolist()}."
            )
    r = row.iloc[0]
    return dict(
        mean=float(r["mean"]),
        low=float(r["low"]),
        high=float(r["high"]),
        n_trials=int(r["n_trials"]),
        p_value=float(r["p_value"]),
        p_sign_flip=float(r["p_sign_flip"]),
    )


def _direction(mean, p, alpha):
    if not p <= alpha:  # NaN too
        return "not established"
    return "ahead" if mean > 0 else "behind"


def _verdict(p, p_holm, alpha):
    if math.isnan(p):
        return "untested"
    if p_holm <= alpha:
        return "established"
    return "suggestive" if p <= alpha else "not established"
