"""Campaign results: a CSV appended row by row (resumable) and summary tables."""

import csv
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..utils._atomic import atomic_write_bytes

#: columns of a results table, in order
COLUMNS = (
    "dataset",
    "strategy",
    "strategy_name",
    "trial",
    "trial_seed",
    "cycle",
    "n_labeled",
    "fraction",
    "accuracy",
    "macro_f1",
    "train_seconds",
    "query_seconds",
    "n_pool",
    "n_test",
    "semi_supervised",
    "added",
    "queried",
    "recall",
)
#: columns that a results file written by an older release may lack: read as empty, and
#: such a file is resumed without them
OPTIONAL_COLUMNS = ("recall",)

#: the strategy label of full-pool supervision rows (``ceiling=True``)
CEILING = "full-pool"

_TIMING = ("train_seconds", "query_seconds")
_TEXT = ("dataset", "strategy", "strategy_name", "added", "queried", "recall")


def encode_indices(indices):
    """Return pool indices as a space-separated string (a CSV cell)."""
    return " ".join(str(int(i)) for i in np.asarray(indices).ravel())


def decode_indices(text):
    """Return the pool indices of a cell written by :func:`encode_indices`.

    Parameters
    ----------
    text : str or float
        An empty cell (read as ``""`` or NaN) gives no index.

    Returns
    -------
    indices : ndarray of int64

    Examples
    --------
    >>> from skcryoal.benchmark import decode_indices
    >>> decode_indices("3 1 4").tolist()
    [3, 1, 4]
    """
    if not isinstance(text, str) or not text.strip():
        return np.empty(0, dtype=np.int64)
    return np.array(text.split(), dtype=np.int64)


def encode_recall(labels, recall):
    """Return each class's recall as a CSV cell: ``"label:recall"`` pairs, space-separated.

    Examples
    --------
    >>> from skcryoal.benchmark import encode_recall
    >>> encode_recall([0, 1, 4], [0.9, 0.75, 1.0])
    '0:0.9 1:0.75 4:1'
    """
    return " ".join(f"{label}:{float(r):.6g}" for label, r in zip(labels, recall))


def decode_recall(text):
    """Return the ``{label: recall}`` of a cell written by :func:`encode_recall`.

    Labels are returned as written (strings); an empty cell gives an empty dict.

    Examples
    --------
    >>> from skcryoal.benchmark import decode_recall
    >>> decode_recall("0:0.9 1:0.75")
    {'0': 0.9, '1': 0.75}
    """
    if not isinstance(text, str) or not text.strip():
        return {}
    pairs = (item.rsplit(":", 1) for item in text.split())
    return {label: float(value) for label, value in pairs}


def whole_lines(path):
    """Return the text of a file up to its last newline (a cut last line is dropped).

    Parameters
    ----------
    path : Path

    Returns
    -------
    text : str
    """
    data = path.read_bytes()
    # cut bytes, not text: the cut may fall inside a multi-byte character
    data = data[: data.rfind(b"\n") + 1]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{str(path)!r} is not a skcryoal results file: it is not UTF-8 text ({exc}). "
            "Choose another output file or folder."
        ) from None


def read_results(path):
    """Read a results CSV written by :func:`run_campaign`.

    Every line of the file is written whole and ends with a newline, so
    whatever follows the last newline is a row (or the header) cut short by
    an interruption: it is ignored. An empty file, or one cut inside its
    header, holds no row.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    results : pandas.DataFrame
        Columns as in ``COLUMNS``; ``added``, ``queried`` and ``recall`` as
        strings (``recall`` empty in a file written before it existed).
    """
    path = Path(path)
    text = whole_lines(path)
    if not text.strip():
        return pd.DataFrame({c: [] for c in COLUMNS})
    df = pd.read_csv(
        io.StringIO(text),
        dtype={c: str for c in _TEXT},
        keep_default_na=False,
        na_values={c: ["", "nan", "NaN"] for c in COLUMNS if c not in _TEXT},
    )
    for column in OPTIONAL_COLUMNS:
        if column not in df.columns:
            df[column] = ""
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(
            f"{str(path)!r} is not a skcryoal results file: it lacks the column(s) {missing}. "
            "Choose another output file or folder."
        )
    return df[list(COLUMNS)]


class ResultsWriter:
    """Append result rows to a CSV file, one complete line per write.

    The file is created with its header in one step (a new file renamed into
    place), and each row is appended as one line, flushed and synced to disk
    as soon as it is written. A last line cut short by an interruption (a
    kill or a power cut during a write) is removed before the next row is
    appended, and a file cut inside its header is created anew, so that an
    interrupted campaign leaves a valid file holding every finished cycle.

    Parameters
    ----------
    path : str or path-like
    columns : sequence of str, default=COLUMNS
        The header; every row gives a value for each. A file that exists with
        a header lacking some of ``OPTIONAL_COLUMNS`` (written by an older
        release) keeps its header: its new rows leave those columns out.
    """

    def __init__(self, path, columns=COLUMNS):
        self.path = Path(path)
        self.columns = tuple(columns)
        self._header_checked = False

    def existing(self):
        """Return the rows already in the file (empty if there is no file).

        Returns
        -------
        results : pandas.DataFrame
            As returned by :func:`read_results`.
        """
        if not self.path.exists():
            return pd.DataFrame({c: [] for c in COLUMNS})
        return read_results(self.path)

    def append(self, row):
        """Append one row, synced to disk.

        Parameters
        ----------
        row : dict
            A value for each name of ``COLUMNS``.
        """
        self._repair()
        if not self._header_checked:
            self._follow_header()
        with open(self.path, "ab") as f:
            f.write(_csv_line(_cell(row.get(c, "")) for c in self.columns))
            f.flush()
            os.fsync(f.fileno())

    def _follow_header(self):
        """Write the columns of the file's own header when it lacks optional ones."""
        with open(self.path, encoding="utf-8") as f:
            header = next(csv.reader([f.readline()]), [])
        absent = [c for c in OPTIONAL_COLUMNS if c in self.columns and c not in header]
        if absent and set(header) == set(self.columns) - set(absent):
            self.columns = tuple(header)
        self._header_checked = True

    def _repair(self):
        """Make the file exist, start with the header and end with a whole line."""
        if self.path.exists():
            with open(self.path, "rb+") as f:
                size = f.seek(0, os.SEEK_END)
                if size:
                    f.seek(size - 1)
                    if f.read(1) == b"\n":
                        return
                f.seek(0)
                end = f.read().rfind(b"\n") + 1
                if end:  # the header is whole: drop the cut row
                    f.truncate(end)
                    f.flush()
                    os.fsync(f.fileno())
                    return
        # no file, an empty one, or one cut inside its header (killed during its
        # first write): a reader sees no file or a whole header, never a part
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.path, _csv_line(self.columns))


def _csv_line(cells):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue().encode("utf-8")


def _cell(value):
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    return value


def summarize_results(results, confidence=0.95):
    """Return mean, standard deviation and interval over trials per strategy and budget.

    Parameters
    ----------
    results : pandas.DataFrame
        As returned by :func:`run_campaign` or :func:`read_results`.
    confidence : float, default=0.95
        The coverage of the ``*_low`` and ``*_high`` interval.

    Returns
    -------
    summary : pandas.DataFrame
        One row per (strategy, n_labeled), in the order of first appearance:
        ``fraction``, ``n_trials``, ``accuracy_mean``, ``accuracy_std``,
        ``macro_f1_mean``, ``macro_f1_std``, ``train_seconds_mean``,
        ``query_seconds_mean``, ``accuracy_low``, ``accuracy_high``,
        ``macro_f1_low``, ``macro_f1_high``. The standard deviation is over
        trials (``ddof=0``; 0 with a single trial); the interval is the
        Student-t interval of the mean over trials (:func:`mean_interval`;
        NaN with a single trial).

    Examples
    --------
    >>> import pandas as pd
    >>> from skcryoal.benchmark import summarize_results
    >>> df = pd.DataFrame(dict(strategy=["ema", "ema"], n_labeled=[10, 10],
    ...     fraction=[0.1, 0.1], trial=[0, 1], accuracy=[0.5, 0.7], macro_f1=[0.4, 0.6],
    ...     train_seconds=[1.0, 1.0], query_seconds=[0.1, 0.3]))
    >>> summarize_results(df)[["accuracy_mean", "accuracy_std"]].round(3).values.tolist()
    [[0.6, 0.1]]
    """
    from ._stats import _check_confidence, mean_interval  # _stats reads CEILING from here

    _check_confidence(confidence)
    order = {s: i for i, s in enumerate(dict.fromkeys(results["strategy"]))}
    grouped = results.groupby(["strategy", "n_labeled"], sort=False)
    summary = grouped.agg(
        fraction=("fraction", "first"),
        n_trials=("trial", "nunique"),
        accuracy_mean=("accuracy", "mean"),
        accuracy_std=("accuracy", lambda s: float(np.std(s))),
        macro_f1_mean=("macro_f1", "mean"),
        macro_f1_std=("macro_f1", lambda s: float(np.std(s))),
        train_seconds_mean=("train_seconds", "mean"),
        query_seconds_mean=("query_seconds", "mean"),
        accuracy_low=("accuracy", lambda s: mean_interval(s, confidence)[1]),
        accuracy_high=("accuracy", lambda s: mean_interval(s, confidence)[2]),
        macro_f1_low=("macro_f1", lambda s: mean_interval(s, confidence)[1]),
        macro_f1_high=("macro_f1", lambda s: mean_interval(s, confidence)[2]),
    ).reset_index()
    summary["_order"] = summary["strategy"].map(order)
    summary = summary.sort_values(["_order", "n_labeled"], kind="stable")
    return summary.drop(columns="_order").reset_index(drop=True)


def _markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _estimate(mean, low, high, signed=False):
    """``0.812 [0.790, 0.834]``, or the mean alone when there is no interval."""
    f = "{:+.3f}" if signed else "{:.3f}"
    if np.isnan(low) or np.isnan(high):
        return f.format(mean)
    return f"{f.format(mean)} [{f.format(low)}, {f.format(high)}]"


def _over_trials(n_trials):
    if n_trials >= 2:
        return f"Mean and 95% t interval over {n_trials} trials"
    return f"{n_trials} trial: no interval" if n_trials == 1 else "No trial"


def summary_markdown(results, title=None, metric="accuracy", primary=None, class_names=None):
    """Return Markdown tables of a campaign: the metrics per budget, paired comparisons, timings.

    Parameters
    ----------
    results : pandas.DataFrame
        As returned by :func:`run_campaign`.
    title : str or None, default=None
        A first-level heading.
    metric : {"accuracy", "macro_f1"}, default="accuracy"
        The metric of the first table and of the comparisons; the second
        table is the other metric.
    primary : dict or None, default=None
        The declaration of the primary endpoint, as recorded in
        ``config.json`` (:func:`declare_primary_endpoint`); None: the default
        declaration for ``metric`` and the results' strategies (the area
        after the shared first budget, each strategy against ``"random"``),
        which the text then calls the default rather than a declaration.
    class_names : dict or None, default=None
        A name for each label in the per-class recall table (e.g. from
        :func:`~skcryoal.datasets.describe_classes`); None shows the labels.

    Returns
    -------
    text : str
        The mean over trials and its 95% Student-t interval, as
        ``0.812 [0.790, 0.834]`` (a single trial: the value, and the text says
        "1 trial: no interval"), one row per strategy and one column per
        budget; full-pool supervision (if present) on its own line. Then the
        normalized area under the learning curve per strategy
        (:func:`auc_summary`, over every budget and after the first); the
        primary endpoint's family of comparisons (:func:`paired_comparisons`:
        the paired difference, nominal and Holm-adjusted t p-values, the
        exact sign-flip p-value, the nominal and the Holm verdict); the
        win/tie/loss matrix of the paired comparisons over budgets
        (:func:`win_tie_loss`), nominal and after Holm's correction over
        every pair and budget; the paired difference of each strategy to
        ``"random"`` per budget and for the area (if a strategy is labeled
        ``"random"``; ``*`` marks intervals that exclude 0; a last column
        names the budgets whose difference survives Holm's correction over
        the table's cells), secondary; each test class's recall per strategy
        at the first and last budget (when the results hold it), secondary;
        and the mean training and query seconds per cycle and in total per
        trial.
    """
    from ._inference import holm_adjust
    from ._stats import auc_summary, paired_difference, win_tie_loss, win_tie_loss_matrix

    if metric not in ("accuracy", "macro_f1"):
        raise ValueError(f"metric must be 'accuracy' or 'macro_f1'; got {metric!r}.")
    summary = summarize_results(results)
    curves = summary[summary["strategy"] != CEILING]
    budgets = sorted(curves["n_labeled"].unique())
    fractions = curves.groupby("n_labeled")["fraction"].first()
    strategies = list(dict.fromkeys(curves["strategy"]))
    n_trials = int(results["trial"].nunique()) if len(results) else 0
    over = _over_trials(n_trials)
    if len(curves) and (curves["n_trials"] < n_trials).any():
        over += " (a cell with fewer trials, from an unfinished run: over those it has)"
    budget_header = [f"{n} ({fractions[n]:.0%})" for n in budgets]
    labels = {"accuracy": "Test accuracy", "macro_f1": "Test macro-F1"}
    parts = [f"# {title}\n"] if title else []
    for name in (metric, "macro_f1" if metric == "accuracy" else "accuracy"):
        rows = []
        for s in strategies:
            cells = curves[curves["strategy"] == s].set_index("n_labeled")
            rows.append(
                [s]
                + [
                    _estimate(*(cells.at[n, f"{name}_{k}"] for k in ("mean", "low", "high")))
                    if n in cells.index
                    else "–"
                    for n in budgets
                ]
            )
        parts.append(
            f"## {labels[name]} by number of labeled volumes\n\n{over}; the final model of "
            "each cycle, no test-set model selection.\n"
        )
        parts.append(_markdown_table(["strategy", *budget_header], rows) + "\n")
        ceiling = summary[summary["strategy"] == CEILING]
        if len(ceiling):
            row = ceiling.iloc[0]
            parts.append(
                f"Full-pool supervision ({int(row['n_labeled'])} labels, ceiling): "
                f"{_estimate(row[name + '_mean'], row[name + '_low'], row[name + '_high'])}\n"
            )
    what = labels[metric].removeprefix("Test ")
    if strategies:
        auc = auc_summary(results, metric)
        parts.append(
            "## Normalized area under the learning curve\n\n"
            f"Test {what} averaged over the budgets (trapezoid rule, divided by the budget "
            "span: a mean in [0, 1]) that every strategy reached in a trial; "
            f"{over[0].lower() + over[1:]}.\n"
        )
        after = auc_summary(results, metric, after_first=True).set_index("strategy")
        rows = [
            [
                r.strategy,
                _estimate(r.auc_mean, r.auc_low, r.auc_high),
                r.n_trials,
                _estimate(*after.loc[r.strategy, ["auc_mean", "auc_low", "auc_high"]])
                if r.strategy in after.index
                else "–",
            ]
            for r in auc.itertuples()
        ]
        header = ["strategy", f"AUC ({what})", "trials", "AUC after the first budget"]
        parts.append(_markdown_table(header, rows) + "\n")
        parts.append(_primary_section(results, strategies, metric, primary, n_trials))
    if len(strategies) > 1:
        matrix = win_tie_loss_matrix(win_tie_loss(results, metric), "w/t/l")
        note = (
            "Every comparison is a tie: with fewer than 2 trials there is no interval."
            if n_trials < 2
            else f"Over {n_trials} trials."
        )
        parts.append(
            f"## Win/tie/loss ({what})\n\nEach row strategy against each column strategy, "
            "counted over the budgets both reached: a win when the 95% t interval of the "
            "paired difference (row - column, over the trials that share their initial "
            "labeled set and seed) lies above 0, a loss when it lies below 0, else a tie. "
            f"{note}\n"
        )
        rows = [[s, *matrix.loc[s]] for s in matrix.index]
        parts.append(_markdown_table(["wins/ties/losses", *matrix.columns], rows) + "\n")
        table = win_tie_loss(results, metric)
        k = int(table["family_size"].iloc[0]) if len(table) else 0
        adjusted = win_tie_loss_matrix(table, "w/t/l", adjusted=True)
        parts.append(
            f"The same after Holm's correction (family: every pair of strategies at every "
            f"budget both reached, {k} comparison(s); a budget where two strategies share the "
            "model is none): a win when the Holm-adjusted paired t p-value is at most 0.05.\n"
        )
        rows = [[s, *adjusted.loc[s]] for s in adjusted.index]
        parts.append(_markdown_table(["wins/ties/losses, Holm", *adjusted.columns], rows) + "\n")
    if "random" in strategies and len(strategies) > 1:
        rows, cells = [], []
        for s in strategies:
            if s == "random":
                continue
            per_budget = paired_difference(results, s, "random", metric).set_index("n_labeled")
            area = paired_difference(results, s, "random", metric, by="auc").iloc[0]
            rows.append(
                [s]
                + [_flagged(per_budget.loc[n]) if n in per_budget.index else "–" for n in budgets]
                + [_flagged(area)]
            )
            cells.append(per_budget["p_value"])
        p_values = np.concatenate([c.to_numpy(dtype=float) for c in cells])
        adjusted = iter(holm_adjust(p_values) if len(p_values) else [])
        k = int(np.count_nonzero(~np.isnan(p_values)))
        for row, c in zip(rows, cells):
            survive = [str(n) for n, q in zip(c.index, [next(adjusted) for _ in c]) if q <= 0.05]
            row.append(", ".join(survive) or "none")
        how = (
            f"then the mean and 95% t interval over {n_trials} trials; `*`: the interval "
            "excludes 0 (nominal)."
            if n_trials >= 2
            else "in a single trial: no interval, so none is flagged."
        )
        parts.append(
            f"## Paired difference to random ({what})\n\nSecondary comparisons. Strategy - "
            f"random, trial by trial (the same initial labeled set and seed), {how} Last "
            f"column: the budgets whose difference survives Holm's correction at 0.05 over "
            f"the {k} per-budget cells of this table (a budget where a strategy shares "
            "random's model is none).\n"
        )
        header = ["strategy", *budget_header, "AUC", f"Holm over {k} cells"]
        parts.append(_markdown_table(header, rows) + "\n")
    header = ["strategy", "cycles", "train s / cycle", "query s / cycle", "total s / trial"]
    rows = []
    for s in list(dict.fromkeys(results["strategy"])):
        r = results[results["strategy"] == s]
        per_trial = r.groupby("trial")[list(_TIMING)].sum().sum(axis=1).mean()
        queried = r[r["queried"].astype(str).str.len() > 0]
        query_mean = queried["query_seconds"].mean() if len(queried) else 0.0
        rows.append(
            [
                s,
                int(r.groupby("trial")["cycle"].nunique().max()),
                f"{r['train_seconds'].mean():.1f}",
                f"{query_mean:.1f}",
                f"{per_trial:.0f}",
            ]
        )
    parts += _recall_section(results, class_names)
    parts.append("## Time\n\nWall-clock seconds (query: the cycles that queried).\n")
    parts.append(_markdown_table(header, rows) + "\n")
    return "\n".join(parts)


def _recall_section(results, class_names=None):
    """Markdown: each class's mean test recall per strategy, at the first and last budget."""
    if "recall" not in results or not results["recall"].astype(str).str.strip().any():
        return []
    decoded = [decode_recall(text) for text in results["recall"].astype(str)]
    labels = list(dict.fromkeys(label for d in decoded for label in d))
    try:
        labels.sort(key=float)
    except ValueError:
        labels.sort()
    names = {str(k): v for k, v in (class_names or {}).items()}
    frame = pd.DataFrame(decoded, index=results.index)
    curves = results["strategy"] != CEILING
    budgets = sorted(results.loc[curves, "n_labeled"].unique())
    shown = list(dict.fromkeys([budgets[0], budgets[-1]])) if budgets else []
    header = ["strategy", "labels", *[names.get(label, label) for label in labels]]
    rows = []
    for strategy in dict.fromkeys(results["strategy"]):
        mine = results["strategy"] == strategy
        for budget in shown if strategy != CEILING else [None]:
            rows_here = mine if budget is None else mine & (results["n_labeled"] == budget)
            cells = frame.loc[rows_here, labels]
            if not len(cells) or cells.isna().all().all():
                continue
            n_labeled = int(results.loc[rows_here, "n_labeled"].iloc[0])
            rows.append([strategy, n_labeled, *[f"{m:.3f}" for m in cells.mean()]])
    if not rows:
        return []
    return [
        "## Per-class recall (secondary)\n\nThe share of each test class's particles "
        "predicted as that class, mean over trials, at the first and the last budget (and "
        "with every pool label, if run). A class that a good macro-F1 hides (junk called a "
        "particle, a rare class never predicted) shows here.\n",
        _markdown_table(header, rows) + "\n",
    ]


def _primary_section(results, strategies, metric, primary, n_trials):
    """The primary endpoint: its declaration, its family and the verdicts on it."""
    from ._endpoints import declare_primary_endpoint, paired_comparisons

    declared = primary is not None
    if not declared:
        primary = declare_primary_endpoint(strategies, metric=metric)
    alpha = float(primary.get("alpha", 0.05))
    pairs = [tuple(c.split(" - ", 1)) for c in primary.get("comparisons", [])]
    pairs = [p for p in pairs if p[0] in strategies and p[1] in strategies]
    k = len(pairs)
    family = f"{primary['family']} on the primary endpoint, {k} comparison(s)"
    when = primary.get("declared", "before the run")
    source = (
        f"Declared in config.json ({when})"
        if declared
        else "The default primary endpoint (no declaration was given)"
    )
    text = (
        f"## Primary endpoint\n\n{source}: the {primary['definition']}. "
        f"Family: {family}; Holm's correction at {alpha:g} over the family. "
        "p (t): the two-sided paired t-test; p sign-flip: the exact sign-flip (paired "
        "permutation) test over all sign patterns of the paired differences, which does not "
        f"assume normality but cannot go below 2/2^n with n trials (0.0625 with 5), so that "
        "with few trials a verdict rests on the t test's normality. Verdicts: nominal (each "
        "comparison on its own) and Holm (the family). Everything below this table is "
        "secondary.\n"
    )
    if not pairs:
        return text + "\nNo comparison: the family is empty.\n"
    if n_trials < 2:
        return text + "\n1 trial: no test.\n"
    table = paired_comparisons(
        results, pairs, metric=primary["metric"], endpoint=primary["endpoint"], alpha=alpha
    )
    rows = []
    for r in table.itertuples():
        verdict = r.verdict
        if verdict == "established" and not r.sign_flip_confirms:
            verdict += " (t test only)"
        untested = verdict == "untested"
        rows.append(
            [
                f"{r.a} - {r.b}",
                "–" if r.n_trials == 0 else _estimate(r.mean, r.low, r.high, signed=True),
                r.n_trials,
                _p(r.p_value),
                _p(r.p_holm),
                _p(r.p_sign_flip, 4),
                "–" if untested else r.nominal,
                "–" if untested else r.holm,
                verdict,
            ]
        )
    header = ["a - b", "difference [95% t]", "trials", "p (t)", "p Holm", "p sign-flip",
              "nominal", "Holm", "verdict"]  # fmt: skip
    note = (
        "\nVerdict: *established* when the Holm-adjusted p is at most "
        f"{alpha:g} (*t test only* when the Holm-adjusted sign-flip p is not), *suggestive* "
        "when only the nominal p is.\n"
    )
    return text + "\n" + _markdown_table(header, rows) + "\n" + note


def _p(value, digits=3):
    """A p-value; ``–`` when there is none (exact sign-flip ones get 4 digits: 0.5625)."""
    if value != value:  # NaN
        return "–"
    return f"{value:.{digits}g}" if value >= 1e-4 else f"{value:.1e}"


def _flagged(difference):
    """A paired difference as ``+0.012 [+0.003, +0.021] *``; ``*`` when it excludes 0."""
    if not difference["n_trials"]:
        return "–"
    text = _estimate(difference["mean"], difference["low"], difference["high"], signed=True)
    return text + " *" if difference["excludes_zero"] else text
