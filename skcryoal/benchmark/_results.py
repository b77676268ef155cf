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
)

#: the strategy label of full-pool supervision rows (``ceiling=True``)
CEILING = "full-pool"

_TIMING = ("train_seconds", "query_seconds")
_TEXT = ("dataset", "strategy", "strategy_name", "added", "queried")


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
        Columns as in ``COLUMNS``; ``added`` and ``queried`` as strings.
    """
    path = Path(path)
    data = path.read_bytes()
    # cut bytes, not text: the cut may fall inside a multi-byte character
    data = data[: data.rfind(b"\n") + 1]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{str(path)!r} is not a skcryoal results file: it is not UTF-8 text ({exc}). "
            "Choose another output file or folder."
        ) from None
    if not text.strip():
        return pd.DataFrame({c: [] for c in COLUMNS})
    df = pd.read_csv(
        io.StringIO(text),
        dtype={c: str for c in _TEXT},
        keep_default_na=False,
        na_values={c: ["", "nan", "NaN"] for c in COLUMNS if c not in _TEXT},
    )
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
    """

    def __init__(self, path):
        self.path = Path(path)

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
        with open(self.path, "ab") as f:
            f.write(_csv_line(_cell(row[c]) for c in COLUMNS))
            f.flush()
            os.fsync(f.fileno())

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
        atomic_write_bytes(self.path, _csv_line(COLUMNS))


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


def summarize_results(results):
    """Return mean and standard deviation over trials per strategy and budget.

    Parameters
    ----------
    results : pandas.DataFrame
        As returned by :func:`run_campaign` or :func:`read_results`.

    Returns
    -------
    summary : pandas.DataFrame
        One row per (strategy, n_labeled), in the order of first appearance:
        ``fraction``, ``n_trials``, ``accuracy_mean``, ``accuracy_std``,
        ``macro_f1_mean``, ``macro_f1_std``, ``train_seconds_mean``,
        ``query_seconds_mean``. The standard deviation is over trials
        (``ddof=0``; 0 with a single trial).

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
    ).reset_index()
    summary["_order"] = summary["strategy"].map(order)
    summary = summary.sort_values(["_order", "n_labeled"], kind="stable")
    return summary.drop(columns="_order").reset_index(drop=True)


def _markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def summary_markdown(results, title=None, metric="accuracy"):
    """Return Markdown tables of a campaign: the metric per budget, and timings.

    Parameters
    ----------
    results : pandas.DataFrame
        As returned by :func:`run_campaign`.
    title : str or None, default=None
        A first-level heading.
    metric : {"accuracy", "macro_f1"}, default="accuracy"
        The metric of the first table; the second table is the other one.

    Returns
    -------
    text : str
        Mean +- standard deviation over trials, one row per strategy and one
        column per budget; full-pool supervision (if present) as its own row;
        then the mean training and query seconds per cycle and in total per
        trial.
    """
    summary = summarize_results(results)
    curves = summary[summary["strategy"] != CEILING]
    budgets = sorted(curves["n_labeled"].unique())
    fractions = curves.groupby("n_labeled")["fraction"].first()
    strategies = list(dict.fromkeys(curves["strategy"]))
    n_trials = int(results["trial"].nunique()) if len(results) else 0
    parts = [f"# {title}\n"] if title else []
    for name in (metric, "macro_f1" if metric == "accuracy" else "accuracy"):
        header = ["strategy"] + [f"{n} ({fractions[n]:.0%})" for n in budgets]
        rows = []
        for s in strategies:
            cells = curves[curves["strategy"] == s].set_index("n_labeled")
            rows.append(
                [s]
                + [
                    f"{cells.at[n, name + '_mean']:.3f} ± {cells.at[n, name + '_std']:.3f}"
                    if n in cells.index
                    else "–"
                    for n in budgets
                ]
            )
        label = "Test accuracy" if name == "accuracy" else "Test macro-F1"
        parts.append(
            f"## {label} by number of labeled volumes\n\nMean ± std over {n_trials} "
            "trial(s); the final model of each cycle, no test-set model selection.\n"
        )
        parts.append(_markdown_table(header, rows) + "\n")
        ceiling = summary[summary["strategy"] == CEILING]
        if len(ceiling):
            row = ceiling.iloc[0]
            parts.append(
                f"Full-pool supervision ({int(row['n_labeled'])} labels, ceiling): "
                f"{row[name + '_mean']:.3f} ± {row[name + '_std']:.3f}\n"
            )
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
    parts.append("## Time\n\nWall-clock seconds (query: the cycles that queried).\n")
    parts.append(_markdown_table(header, rows) + "\n")
    return "\n".join(parts)
