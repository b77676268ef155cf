"""Paired statistics of a campaign: intervals over trials, learning-curve AUC, win/tie/loss.

Trials are paired: in one trial every strategy starts from the same initial
labeled set and trains with the same seed, so strategy ``a`` and strategy
``b`` are compared through their difference trial by trial, which cancels
what the trial itself adds (a lucky initial set, an easy seed). Differences
are summarized by their mean and a Student-t interval over trials, as
recommended by Lüth et al. (NeurIPS 2023, "Navigating the pitfalls of active
learning evaluation") and Munjal et al. (CVPR 2022, "Towards robust and
reproducible active learning using neural networks").
"""

import math

import numpy as np
import pandas as pd
from scipy import stats

from ._inference import holm_adjust, sign_flip_test
from ._results import CEILING

_METRICS = ("accuracy", "macro_f1")
_DIFFERENCE = ("mean", "low", "high", "n_trials", "excludes_zero", "p_value", "p_sign_flip")
_BY = ("n_labeled", "auc", "auc_after_first")
_MAX_EXACT_FLIPS = 20  # beyond 2**20 sign patterns, a seeded Monte Carlo p-value
_WTL_VALUES = ("w/t/l", "wins", "ties", "losses", "net")


def mean_interval(values, confidence=0.95):
    """Return the mean of values over trials and its Student-t interval.

    Parameters
    ----------
    values : array-like of float
        One value per trial; NaN values are left out.
    confidence : float, default=0.95
        The coverage of the interval, in (0, 1).

    Returns
    -------
    mean : float
        NaN when no value is left.
    low, high : float
        ``mean -+ t * s / sqrt(n)``, with ``s`` the standard deviation of the
        values (``ddof=1``) and ``t`` the ``(1 + confidence) / 2`` quantile of
        Student's t with ``n - 1`` degrees of freedom. NaN with fewer than two
        values: a single trial gives no interval. Values that are all equal
        give ``low == high == mean``.

    Examples
    --------
    >>> from skcryoal.benchmark import mean_interval
    >>> [round(v, 3) for v in mean_interval([0.80, 0.82, 0.84])]
    [0.82, 0.77, 0.87]
    >>> mean_interval([0.8])
    (0.8, nan, nan)
    """
    _check_confidence(confidence)
    values = np.asarray(values, dtype=float).ravel()
    values = values[~np.isnan(values)]
    n = len(values)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(values.mean())
    if n < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * values.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


def learning_curve_auc(results, metric="accuracy", after_first=False):
    """Return the normalized area under the learning curve per strategy and trial.

    The area is the trapezoid rule over ``n_labeled`` divided by the span of
    the budgets, so it is the mean of the metric over the campaign, in
    [0, 1]. Within a trial only the budgets every strategy of that trial
    reached are used, so that the areas of one trial cover the same budgets
    (an unfinished run is compared over its common part). Full-pool
    supervision rows (``strategy == CEILING``) are left out.

    Parameters
    ----------
    results : pandas.DataFrame
        As returned by :func:`run_campaign` or :func:`read_results`; the rows
        of one campaign.
    metric : {"accuracy", "macro_f1"}, default="accuracy"
    after_first : bool, default=False
        Leave out the first common budget of each trial: the initial labeled
        set, which every strategy of a trial shares, so that the area
        measures only what the strategies' queries changed. This is the
        default primary endpoint of ``skcryoal benchmark``
        (``"auc_after_first"``). A trial with a single common budget then has
        no area.

    Returns
    -------
    auc : pandas.DataFrame
        One row per (strategy, trial), strategies in the order of first
        appearance, trials ascending: ``strategy``, ``trial``, ``auc``,
        ``n_budgets``, ``n_labeled_min``, ``n_labeled_max`` (the budgets
        used). With a single common budget the area is the value there.

    Examples
    --------
    >>> import pandas as pd
    >>> from skcryoal.benchmark import learning_curve_auc
    >>> df = pd.DataFrame(dict(strategy=["ema"] * 3, trial=0, n_labeled=[10, 20, 40],
    ...     accuracy=[0.5, 0.7, 0.8]))
    >>> float(learning_curve_auc(df)["auc"].iloc[0])  # (10 * 0.6 + 20 * 0.75) / 30
    0.7
    >>> float(learning_curve_auc(df, after_first=True)["auc"].iloc[0])  # over 20..40
    0.75
    """
    rows = _curve_rows(results, metric)
    order = _strategies(rows)
    records = []
    for trial, group in rows.groupby("trial", sort=True):
        curves = {s: g.set_index("n_labeled")[metric] for s, g in group.groupby("strategy")}
        common = sorted(set.intersection(*(set(c.index) for c in curves.values())))
        if after_first:
            common = common[1:]
        if not common:
            continue
        x = np.asarray(common, dtype=float)
        for strategy, curve in curves.items():
            y = curve.loc[common].to_numpy(dtype=float)
            records.append(
                dict(
                    strategy=strategy,
                    trial=trial,
                    auc=_normalized_area(x, y),
                    n_budgets=len(common),
                    n_labeled_min=common[0],
                    n_labeled_max=common[-1],
                )
            )
    columns = ["strategy", "trial", "auc", "n_budgets", "n_labeled_min", "n_labeled_max"]
    auc = pd.DataFrame(records, columns=columns)
    auc["_order"] = auc["strategy"].map({s: i for i, s in enumerate(order)})
    auc = auc.sort_values(["_order", "trial"], kind="stable").drop(columns="_order")
    return auc.reset_index(drop=True)


def auc_summary(results, metric="accuracy", confidence=0.95, after_first=False):
    """Return the mean normalized learning-curve AUC per strategy, with its interval.

    Parameters
    ----------
    results : pandas.DataFrame
        As returned by :func:`run_campaign` or :func:`read_results`.
    metric : {"accuracy", "macro_f1"}, default="accuracy"
    confidence : float, default=0.95
    after_first : bool, default=False
        The area over the budgets after the shared first one
        (:func:`learning_curve_auc`).

    Returns
    -------
    summary : pandas.DataFrame
        One row per strategy, in the order of first appearance: ``strategy``,
        ``auc_mean``, ``auc_low``, ``auc_high`` (the Student-t interval over
        trials of :func:`mean_interval`; NaN with a single trial) and
        ``n_trials``. The AUC is that of :func:`learning_curve_auc`.

    Examples
    --------
    >>> import pandas as pd
    >>> from skcryoal.benchmark import auc_summary
    >>> df = pd.DataFrame(dict(strategy="ema", trial=[0, 0, 1, 1], n_labeled=[10, 20] * 2,
    ...     accuracy=[0.5, 0.7, 0.6, 0.8]))
    >>> summary = auc_summary(df)
    >>> round(float(summary.at[0, "auc_mean"]), 3), int(summary.at[0, "n_trials"])
    (0.65, 2)
    """
    _check_confidence(confidence)
    auc = learning_curve_auc(results, metric, after_first=after_first)
    records = []
    for strategy, group in auc.groupby("strategy", sort=False):
        mean, low, high = mean_interval(group["auc"], confidence)
        records.append(
            dict(strategy=strategy, auc_mean=mean, auc_low=low, auc_high=high, n_trials=len(group))
        )
    columns = ["strategy", "auc_mean", "auc_low", "auc_high", "n_trials"]
    return pd.DataFrame(records, columns=columns)


def paired_difference(results, a, b, metric="accuracy", by="n_labeled", confidence=0.95):
    """Return the mean paired difference ``a - b`` over trials, with its interval.

    Strategy ``a`` and strategy ``b`` are paired by trial (the same initial
    labeled set and seed); only the trials both have are used. The interval
    is the Student-t interval of the differences (:func:`mean_interval`): it
    can be much narrower than the two strategies' own intervals, since what a
    trial adds to both curves alike cancels.

    Parameters
    ----------
    results : pandas.DataFrame
        As returned by :func:`run_campaign` or :func:`read_results`.
    a, b : str
        Strategy labels (the ``strategy`` column).
    metric : {"accuracy", "macro_f1"}, default="accuracy"
    by : {"n_labeled", "auc", "auc_after_first"}, default="n_labeled"
        ``"n_labeled"``: one difference per budget that both strategies
        reached in at least one common trial; ``"auc"``: one difference of
        the normalized learning-curve area (:func:`learning_curve_auc`);
        ``"auc_after_first"``: of the area over the budgets after the shared
        first one (``after_first=True``).
    confidence : float, default=0.95

    Returns
    -------
    difference : pandas.DataFrame
        With ``by="n_labeled"`` one row per budget (ascending) and a first
        column ``n_labeled``; otherwise a single row. Columns ``mean``,
        ``low``, ``high`` (NaN with a single common trial), ``n_trials`` (the
        paired trials), ``excludes_zero`` (the interval lies wholly above or
        below 0), ``p_value`` (the two-sided paired t-test of mean zero, so
        that ``excludes_zero`` is ``p_value < 1 - confidence``) and
        ``p_sign_flip`` (the exact two-sided sign-flip p-value of
        :func:`sign_flip_test`, which does not assume normality but cannot go
        below ``2 / 2**n`` with ``n`` trials). Both p-values are NaN with
        fewer than two common trials or when every difference is 0 (the two
        strategies share the model there, e.g. at the initial budget: there
        is nothing to test); differences that are all equal and non-zero
        have a t p-value of 0. They are nominal: correct them over the
        comparisons of a family with :func:`holm_adjust`, or use
        :func:`paired_comparisons`.

    Examples
    --------
    >>> import pandas as pd
    >>> from skcryoal.benchmark import paired_difference
    >>> df = pd.DataFrame(dict(strategy=["ema"] * 3 + ["random"] * 3, trial=[0, 1, 2] * 2,
    ...     n_labeled=10, accuracy=[0.62, 0.73, 0.825, 0.60, 0.70, 0.80]))
    >>> d = paired_difference(df, "ema", "random")
    >>> round(float(d["mean"].iloc[0]), 3), bool(d["excludes_zero"].iloc[0])
    (0.025, True)
    >>> round(float(d["p_value"].iloc[0]), 4), float(d["p_sign_flip"].iloc[0])
    (0.0131, 0.25)
    """
    _check_confidence(confidence)
    if by not in _BY:
        raise ValueError(
            f"by must be 'n_labeled' or 'auc' (or 'auc_after_first', the area after the "
            f"shared first budget); got {by!r}."
        )
    rows = _curve_rows(results, metric)
    for name in (a, b):
        _check_strategy(rows, name)
    if by != "n_labeled":
        auc = learning_curve_auc(rows, metric, after_first=by == "auc_after_first")
        wide = auc.pivot(index="trial", columns="strategy", values="auc")
        diff = _paired_differences(wide, a, b)
        return pd.DataFrame([_difference(diff.to_numpy(), confidence)], columns=list(_DIFFERENCE))
    diff = _paired_differences(_wide(rows, metric), a, b)
    records = [
        dict(n_labeled=n, **_difference(d.to_numpy(), confidence))
        for n, d in diff.groupby(level="n_labeled", sort=True)
    ]
    return pd.DataFrame(records, columns=["n_labeled", *_DIFFERENCE])


def win_tie_loss(results, metric="accuracy", confidence=0.95):
    """Count, for each ordered pair of strategies, the budgets won, tied and lost.

    For strategies ``a`` and ``b`` and each budget both reached, the paired
    difference ``a - b`` over trials is summarized by its Student-t interval
    (:func:`paired_difference`): ``a`` wins when the interval lies above 0,
    loses when it lies below 0, and ties otherwise (the pairwise evaluation of
    Lüth et al., 2023). With fewer than two common trials there is no
    interval, so every comparison is a tie.

    The same counts are also given after Holm's correction
    (:func:`holm_adjust`) over the family of every pair of strategies at
    every budget both reached: ``m`` comparisons, each unordered pair and
    budget counted once (a budget where the two strategies share the model,
    every difference 0, is not a comparison). With ``alpha = 1 -
    confidence``, a win needs a Holm-adjusted paired t p-value of at most
    ``alpha``; the nominal counts are each comparison on its own.

    Parameters
    ----------
    results : pandas.DataFrame
        As returned by :func:`run_campaign` or :func:`read_results`; full-pool
        supervision rows are left out.
    metric : {"accuracy", "macro_f1"}, default="accuracy"
    confidence : float, default=0.95

    Returns
    -------
    table : pandas.DataFrame
        One row per ordered pair of distinct strategies, in the order of
        first appearance of the strategy, then of the opponent:
        ``strategy``, ``opponent``, ``wins``, ``ties``, ``losses`` (of
        ``strategy`` against ``opponent``, nominal), ``n_budgets``,
        ``wins_holm``, ``ties_holm``, ``losses_holm`` (after Holm's
        correction) and ``family_size`` (``m``, the same on every row). The
        row of (b, a) mirrors that of (a, b). :func:`win_tie_loss_matrix`
        pivots it.

    Examples
    --------
    >>> import pandas as pd
    >>> from skcryoal.benchmark import win_tie_loss
    >>> df = pd.DataFrame(dict(strategy=["ema"] * 4 + ["random"] * 4,
    ...     trial=[0, 0, 1, 1] * 2, n_labeled=[10, 20] * 4,
    ...     accuracy=[0.6, 0.8, 0.7, 0.9, 0.5, 0.7, 0.6, 0.8]))
    >>> win_tie_loss(df)[["strategy", "opponent", "wins", "ties", "losses"]].values.tolist()
    [['ema', 'random', 2, 0, 0], ['random', 'ema', 0, 0, 2]]
    """
    _check_confidence(confidence)
    alpha = 1.0 - confidence
    rows = _curve_rows(results, metric)
    order = _strategies(rows)
    wide = _wide(rows, metric)
    tests = {}  # (a, b) of an unordered pair, in order -> [(mean, low, high, p), ...]
    for i, a in enumerate(order):
        for b in order[i + 1 :]:
            diff = _paired_differences(wide, a, b)
            tests[a, b] = [
                _difference(d.to_numpy(), confidence, sign_flip=False)
                for _, d in diff.groupby(level="n_labeled", sort=True)
            ]
    p_values = [t["p_value"] for cells in tests.values() for t in cells]
    adjusted = iter(holm_adjust(np.asarray(p_values, dtype=float)) if p_values else [])
    for cells in tests.values():
        for t in cells:
            t["p_holm"] = next(adjusted)
    family_size = int(np.count_nonzero(~np.isnan(np.asarray(p_values, dtype=float))))
    records = []
    for a in order:
        for b in order:
            if a == b:
                continue
            sign = 1 if (a, b) in tests else -1
            counts = dict(wins=0, ties=0, losses=0, wins_holm=0, ties_holm=0, losses_holm=0)
            for t in tests[(a, b) if sign == 1 else (b, a)]:
                low, high = (t["low"], t["high"]) if sign == 1 else (-t["high"], -t["low"])
                counts["wins" if low > 0 else "losses" if high < 0 else "ties"] += 1
                significant = t["p_holm"] <= alpha  # False for NaN: no comparison
                ahead = sign * t["mean"] > 0
                key = ("wins" if ahead else "losses") if significant else "ties"
                counts[key + "_holm"] += 1
            n_budgets = counts["wins"] + counts["ties"] + counts["losses"]
            records.append(
                dict(strategy=a, opponent=b, **counts, n_budgets=n_budgets, family_size=family_size)
            )
    columns = ["strategy", "opponent", "wins", "ties", "losses", "n_budgets"]
    columns += ["wins_holm", "ties_holm", "losses_holm", "family_size"]
    return pd.DataFrame(records, columns=columns)


def win_tie_loss_matrix(table, value="w/t/l", adjusted=False):
    """Pivot a :func:`win_tie_loss` table into a strategy-by-opponent matrix.

    Parameters
    ----------
    table : pandas.DataFrame
        As returned by :func:`win_tie_loss`.
    value : {"w/t/l", "wins", "ties", "losses", "net"}, default="w/t/l"
        ``"w/t/l"``: strings such as ``"3/2/0"``; ``"net"``: wins minus
        losses; otherwise that count.
    adjusted : bool, default=False
        Count after Holm's correction over the table's family (the
        ``*_holm`` columns) instead of each comparison on its own.

    Returns
    -------
    matrix : pandas.DataFrame
        Rows are the strategy, columns the opponent, both in the order of
        first appearance. The diagonal is ``"–"`` for strings, NaN for counts.

    Examples
    --------
    >>> import pandas as pd
    >>> from skcryoal.benchmark import win_tie_loss, win_tie_loss_matrix
    >>> df = pd.DataFrame(dict(strategy=["ema"] * 2 + ["random"] * 2, trial=[0, 1] * 2,
    ...     n_labeled=10, accuracy=[0.6, 0.7, 0.5, 0.6]))
    >>> win_tie_loss_matrix(win_tie_loss(df)).values.tolist()
    [['–', '1/0/0'], ['0/0/1', '–']]
    """
    if value not in _WTL_VALUES:
        raise ValueError(
            f"value must be one of {', '.join(map(repr, _WTL_VALUES))}; got {value!r}."
        )
    counts = ("wins", "ties", "losses")
    needed = ("strategy", "opponent", *(c + "_holm" if adjusted else c for c in counts))
    missing = [c for c in needed if c not in table]
    if missing:
        raise ValueError(
            f"table lacks the column(s) {missing}; pass the table returned by win_tie_loss."
        )
    if adjusted:
        table = table.drop(columns=list(counts)).rename(columns={c + "_holm": c for c in counts})
    order = list(dict.fromkeys([*table["strategy"], *table["opponent"]]))
    if value == "w/t/l":
        cells = [f"{w}/{t}/{lo}" for w, t, lo in zip(table["wins"], table["ties"], table["losses"])]
        fill = "–"
    elif value == "net":
        cells = (table["wins"] - table["losses"]).to_numpy(dtype=float)
        fill = math.nan
    else:
        cells = table[value].to_numpy(dtype=float)
        fill = math.nan
    matrix = pd.DataFrame(fill, index=order, columns=order, dtype=object if fill == "–" else float)
    for a, b, cell in zip(table["strategy"], table["opponent"], cells):
        matrix.at[a, b] = cell
    matrix.index.name, matrix.columns.name = "strategy", "opponent"
    return matrix


def _check_confidence(confidence):
    if not isinstance(confidence, (int, float)) or not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), e.g. 0.95; got {confidence!r}.")


def _curve_rows(results, metric):
    """The learning-curve rows with a value of ``metric``, one per (strategy, trial, budget)."""
    if metric not in _METRICS:
        raise ValueError(f"metric must be 'accuracy' or 'macro_f1'; got {metric!r}.")
    missing = [c for c in ("strategy", "trial", "n_labeled", metric) if c not in results]
    if missing:
        raise ValueError(
            f"results lack the column(s) {missing}; pass a table returned by run_campaign "
            "or read_results."
        )
    rows = results[(results["strategy"] != CEILING) & results[metric].notna()]
    repeated = rows.duplicated(["strategy", "trial", "n_labeled"])
    if repeated.any():
        row = rows[repeated].iloc[0]
        raise ValueError(
            f"results hold several rows for strategy {row['strategy']!r}, trial {row['trial']}, "
            f"n_labeled {row['n_labeled']}; trials can only be paired within one campaign. "
            "Pass the rows of one campaign, e.g. results[results['dataset'] == name]."
        )
    return rows


def _check_strategy(rows, name):
    known = _strategies(rows)
    if name not in known:
        raise ValueError(
            f"strategy {name!r} is not in the results (full-pool rows aside); they hold "
            f"{', '.join(map(repr, known)) or 'no strategy'}."
        )


def _strategies(rows):
    return list(dict.fromkeys(rows["strategy"]))


def _wide(rows, metric):
    """The metric indexed by (n_labeled, trial), one column per strategy."""
    return rows.pivot(index=["n_labeled", "trial"], columns="strategy", values=metric)


def _paired_differences(wide, a, b):
    """``a - b`` per row of ``wide``, for the rows (trials) both strategies have."""
    if a not in wide or b not in wide:  # no budget in common with the other strategies
        return pd.Series([], dtype=float, index=wide.index[:0])
    return (wide[a] - wide[b]).dropna()


def _difference(diff, confidence, sign_flip=True):
    mean, low, high = mean_interval(diff, confidence)
    p_value, p_sign_flip = _p_values(diff, sign_flip)
    return dict(
        mean=mean,
        low=low,
        high=high,
        n_trials=len(diff),
        excludes_zero=bool(low > 0 or high < 0),
        p_value=p_value,
        p_sign_flip=p_sign_flip,
    )


def _p_values(diff, sign_flip=True):
    """Two-sided paired t and exact sign-flip p-values; NaN where there is nothing to test."""
    d = np.asarray(diff, dtype=float)
    d = d[~np.isnan(d)]
    if len(d) < 2 or not np.any(d):
        return math.nan, math.nan
    if d.std() <= 1e-12 * np.abs(d).max():  # no spread (but rounding), non-zero mean:
        p_value = 0.0  # the t statistic is infinite
    else:
        p_value = float(stats.ttest_1samp(d, 0.0).pvalue)
    if not sign_flip:
        return p_value, math.nan
    if np.count_nonzero(d) <= _MAX_EXACT_FLIPS:
        return p_value, sign_flip_test(d).p_value
    return p_value, sign_flip_test(d, n_resamples=99_999, random_state=0).p_value


def _normalized_area(x, y):
    if len(x) == 1:
        return float(y[0])
    return float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)) / (x[-1] - x[0]))
