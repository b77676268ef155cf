"""Figures of a campaign: learning curves (the paper's Fig. 1), AUC and win/tie/loss."""

import textwrap
from pathlib import Path

import numpy as np

from ._results import CEILING, summarize_results
from ._stats import auc_summary, win_tie_loss, win_tie_loss_matrix

_LABELS = {"accuracy": "test accuracy", "macro_f1": "test macro-F1"}


def plot_learning_curves(results, ax=None, metric="accuracy", title=None):
    """Plot test performance against labeled volumes, one line per strategy.

    Lines are the mean over trials with a band for the 95% Student-t interval
    of the mean (:func:`mean_interval`; no band with a single trial);
    full-pool supervision (``ceiling=True``), if present, is a dashed
    horizontal line with its interval.

    Parameters
    ----------
    results : pandas.DataFrame
        As returned by :func:`run_campaign`.
    ax : matplotlib Axes or None, default=None
        Where to draw; a new figure when None.
    metric : {"accuracy", "macro_f1"}, default="accuracy"
    title : str or None, default=None

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from skcryoal.benchmark import plot_learning_curves
    >>> df = pd.DataFrame(dict(strategy=["ema"] * 2, n_labeled=[10, 20], fraction=[0.1, 0.2],
    ...     trial=[0, 0], accuracy=[0.5, 0.7], macro_f1=[0.4, 0.6],
    ...     train_seconds=[1.0, 1.0], query_seconds=[0.1, 0.0]))
    >>> ax = plot_learning_curves(df)
    >>> ax.get_ylabel()
    'test accuracy'
    """
    _check_metric(metric)
    ax = _axes(ax, (6, 4.2))
    summary = summarize_results(results)
    curves = summary[summary["strategy"] != CEILING]
    for strategy, group in curves.groupby("strategy", sort=False):
        x = group["n_labeled"].to_numpy()
        mean = group[f"{metric}_mean"].to_numpy()
        low = group[f"{metric}_low"].to_numpy(dtype=float)
        high = group[f"{metric}_high"].to_numpy(dtype=float)
        (line,) = ax.plot(x, mean, marker="o", ms=3.5, label=strategy)
        if np.isfinite(low).any():
            ax.fill_between(x, low, high, color=line.get_color(), alpha=0.18, lw=0)
    ceiling = summary[summary["strategy"] == CEILING]
    if len(ceiling):
        row = ceiling.iloc[0]
        mean, low, high = (row[f"{metric}_{k}"] for k in ("mean", "low", "high"))
        ax.axhline(mean, color="0.3", ls="--", lw=1, label=f"full pool ({int(row['n_labeled'])})")
        if np.isfinite(low):
            ax.axhspan(low, high, color="0.3", alpha=0.1, lw=0)
    if len(curves):
        n_pool = curves["n_labeled"].iloc[0] / curves["fraction"].iloc[0]
        secondary = ax.secondary_xaxis(
            "top", functions=(lambda n: 100 * n / n_pool, lambda p: p * n_pool / 100)
        )
        secondary.set_xlabel("% of the pool labeled")
    ax.set_xlabel("labeled volumes")
    ax.set_ylabel(_LABELS[metric])
    ax.grid(alpha=0.3)
    if len(summary):
        ax.legend(fontsize="small", title=_trials_note(results), title_fontsize="small")
    if title:
        ax.set_title(title, fontsize="medium")
    return ax


def save_learning_curves(results, path, title=None):
    """Write accuracy and macro-F1 learning curves side by side to an image file.

    :func:`save_evaluation_plots` writes the paired comparisons.

    Parameters
    ----------
    results : pandas.DataFrame
    path : str or path-like
        E.g. ``learning_curve.png``; replaced whole (written to a temporary
        file, then renamed), so a crash never leaves half an image.
    title : str or None, default=None
    """
    import matplotlib.pyplot as plt

    from ..utils._atomic import atomic_output

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.3), layout="constrained")
    plot_learning_curves(results, ax=axes[0], metric="accuracy")
    plot_learning_curves(results, ax=axes[1], metric="macro_f1")
    if title:
        _suptitle(fig, title)
    try:
        with atomic_output(path) as tmp:
            fig.savefig(tmp, dpi=120)
    finally:
        plt.close(fig)


def plot_auc(results, ax=None, metric="accuracy", confidence=0.95, title=None):
    """Plot the normalized learning-curve AUC of each strategy with its interval.

    Points are the mean over trials of :func:`learning_curve_auc`, error
    bars its Student-t interval (:func:`auc_summary`; none with a single
    trial); full-pool supervision, if present, is a dashed horizontal line.
    Colors follow :func:`plot_learning_curves`.

    Parameters
    ----------
    results : pandas.DataFrame
        As returned by :func:`run_campaign`.
    ax : matplotlib Axes or None, default=None
        Where to draw; a new figure when None.
    metric : {"accuracy", "macro_f1"}, default="accuracy"
    confidence : float, default=0.95
    title : str or None, default=None

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from skcryoal.benchmark import plot_auc
    >>> df = pd.DataFrame(dict(strategy=["ema"] * 2, trial=0, n_labeled=[10, 20],
    ...     accuracy=[0.5, 0.7]))
    >>> plot_auc(df).get_ylabel()
    'normalized AUC (test accuracy)'
    """
    _check_metric(metric)
    ax = _axes(ax, _auc_size(results))
    summary = auc_summary(results, metric, confidence)
    for i, row in enumerate(summary.itertuples()):
        low, high = row.auc_low, row.auc_high
        yerr = [[row.auc_mean - low], [high - row.auc_mean]] if np.isfinite(low) else None
        ax.errorbar([i], [row.auc_mean], yerr=yerr, fmt="o", color=f"C{i}", capsize=5, ms=6)
    ceiling = results[results["strategy"] == CEILING][metric]
    if len(ceiling):
        ax.axhline(ceiling.mean(), color="0.3", ls="--", lw=1, label="full pool")
        ax.legend(fontsize="small")
    ax.set_xticks(range(len(summary)))
    ax.set_xticklabels(summary["strategy"], rotation=30, ha="right")
    ax.set_xlim(-0.6, max(len(summary), 1) - 0.4)
    ax.set_ylabel(f"normalized AUC ({_LABELS[metric]})")
    ax.grid(alpha=0.3, axis="y")
    ax.set_title(_title(title, _trials_note(results, confidence)), fontsize="medium")
    return ax


def plot_win_tie_loss(results, ax=None, metric="accuracy", confidence=0.95, title=None):
    """Plot the win/tie/loss matrix of the strategies as a heatmap.

    Each cell is a row strategy against a column strategy over the budgets
    both reached (:func:`win_tie_loss`): its color is wins minus losses
    (green: the row strategy is better), its text ``wins/ties/losses``.

    Parameters
    ----------
    results : pandas.DataFrame
        As returned by :func:`run_campaign`.
    ax : matplotlib Axes or None, default=None
        Where to draw; a new figure when None.
    metric : {"accuracy", "macro_f1"}, default="accuracy"
    confidence : float, default=0.95
    title : str or None, default=None

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from skcryoal.benchmark import plot_win_tie_loss
    >>> df = pd.DataFrame(dict(strategy=["ema"] * 2 + ["random"] * 2, trial=[0, 1] * 2,
    ...     n_labeled=10, accuracy=[0.6, 0.7, 0.5, 0.6]))
    >>> [t.get_text() for t in plot_win_tie_loss(df).texts]
    ['1/0/0', '0/0/1']
    """
    _check_metric(metric)
    table = win_tie_loss(results, metric, confidence)
    ax = _axes(ax, _win_tie_loss_size(results))
    note = _trials_note(results, confidence)
    if results["trial"].nunique() < 2:
        note += ": all ties"
    ax.set_title(_title(title, f"{_LABELS[metric]}, {note}"), fontsize="medium")
    if not len(table):
        ax.text(0.5, 0.5, "fewer than 2 strategies:\nnothing to compare", ha="center",
                va="center", transform=ax.transAxes)  # fmt: skip
        ax.set_xticks([])
        ax.set_yticks([])
        return ax
    net = win_tie_loss_matrix(table, "net")
    text = win_tie_loss_matrix(table, "w/t/l")
    scale = max(1, int(table["n_budgets"].max()))
    image = ax.imshow(
        net.to_numpy(dtype=float),
        cmap="RdYlGn",
        vmin=-scale,
        vmax=scale,
    )
    for i, a in enumerate(text.index):
        for j, b in enumerate(text.columns):
            if a != b:
                ax.text(j, i, text.at[a, b], ha="center", va="center", fontsize="small")
    ax.set_xticks(range(len(text.columns)))
    ax.set_xticklabels(text.columns, rotation=30, ha="right")
    ax.set_yticks(range(len(text.index)))
    ax.set_yticklabels(text.index)
    ax.set_xlabel("against")
    ax.set_ylabel("strategy (wins/ties/losses)")
    ax.figure.colorbar(image, ax=ax, label="wins - losses (budgets)", shrink=0.8)
    return ax


def save_evaluation_plots(results, folder, title=None, metric="accuracy", confidence=0.95):
    """Write the AUC and win/tie/loss figures of a campaign to a folder.

    Parameters
    ----------
    results : pandas.DataFrame
        As returned by :func:`run_campaign`.
    folder : str or path-like
        Created if missing. Each file is replaced whole (written to a
        temporary file, then renamed).
    title : str or None, default=None
        A title above each figure.
    metric : {"accuracy", "macro_f1"}, default="accuracy"
    confidence : float, default=0.95

    Returns
    -------
    paths : list of pathlib.Path
        ``folder/auc.png`` (:func:`plot_auc`) and ``folder/win_tie_loss.png``
        (:func:`plot_win_tie_loss`).
    """
    import matplotlib.pyplot as plt

    from ..utils._atomic import atomic_output

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, plot, size in (
        ("auc.png", plot_auc, _auc_size(results)),
        ("win_tie_loss.png", plot_win_tie_loss, _win_tie_loss_size(results)),
    ):
        fig, ax = plt.subplots(figsize=size, layout="constrained")
        try:
            plot(results, ax=ax, metric=metric, confidence=confidence)
            if title:
                _suptitle(fig, title)
            with atomic_output(folder / name) as tmp:
                fig.savefig(tmp, dpi=120)
        finally:
            plt.close(fig)
        paths.append(folder / name)
    return paths


def _check_metric(metric):
    if metric not in _LABELS:
        raise ValueError(f"metric must be 'accuracy' or 'macro_f1'; got {metric!r}.")


def _axes(ax, size):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def _n_strategies(results):
    return results.loc[results["strategy"] != CEILING, "strategy"].nunique()


def _auc_size(results):
    return max(4.0, 1.5 + 0.9 * _n_strategies(results)), 4.2


def _win_tie_loss_size(results):
    n = _n_strategies(results)
    return 3.0 + 1.0 * n, 2.0 + 0.8 * n


def _trials_note(results, confidence=0.95):
    n_trials = results["trial"].nunique() if len(results) else 0
    if n_trials >= 2:
        return f"mean and {confidence:.0%} CI over {n_trials} trials"
    return "1 trial (no interval)" if n_trials == 1 else "no trial"


def _suptitle(fig, title):
    # a data set's name can carry long per-class lists: wrap it to the figure's
    # width (about 13 characters per inch at the medium font) instead of cutting it
    width = max(20, int(fig.get_figwidth() * 13))
    fig.suptitle(textwrap.fill(title, width=width), fontsize="medium")


def _title(title, note):
    return f"{title}\n{note}" if title else note
