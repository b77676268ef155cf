"""Learning curves of a campaign (the paper's Fig. 1)."""

from ._results import CEILING, summarize_results


def plot_learning_curves(results, ax=None, metric="accuracy", title=None):
    """Plot test performance against labeled volumes, one line per strategy.

    Lines are the mean over trials with a band of +- one standard deviation;
    full-pool supervision (``ceiling=True``), if present, is a dashed
    horizontal line.

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
    import matplotlib.pyplot as plt

    if metric not in ("accuracy", "macro_f1"):
        raise ValueError(f"metric must be 'accuracy' or 'macro_f1'; got {metric!r}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4.2))
    summary = summarize_results(results)
    curves = summary[summary["strategy"] != CEILING]
    for strategy, group in curves.groupby("strategy", sort=False):
        x = group["n_labeled"].to_numpy()
        mean = group[f"{metric}_mean"].to_numpy()
        std = group[f"{metric}_std"].to_numpy()
        (line,) = ax.plot(x, mean, marker="o", ms=3.5, label=strategy)
        ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.18, lw=0)
    ceiling = summary[summary["strategy"] == CEILING]
    if len(ceiling):
        row = ceiling.iloc[0]
        mean, std = row[f"{metric}_mean"], row[f"{metric}_std"]
        ax.axhline(mean, color="0.3", ls="--", lw=1, label=f"full pool ({int(row['n_labeled'])})")
        ax.axhspan(mean - std, mean + std, color="0.3", alpha=0.1, lw=0)
    if len(curves):
        n_pool = curves["n_labeled"].iloc[0] / curves["fraction"].iloc[0]
        secondary = ax.secondary_xaxis(
            "top", functions=(lambda n: 100 * n / n_pool, lambda p: p * n_pool / 100)
        )
        secondary.set_xlabel("% of the pool labeled")
    n_trials = results["trial"].nunique() if len(results) else 0
    ax.set_xlabel("labeled volumes")
    ax.set_ylabel("test accuracy" if metric == "accuracy" else "test macro-F1")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", title=f"mean ± std, {n_trials} trial(s)", title_fontsize="small")
    if title:
        ax.set_title(title, fontsize="medium")
    return ax


def save_learning_curves(results, path, title=None):
    """Write accuracy and macro-F1 learning curves side by side to an image file.

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
        fig.suptitle(title, fontsize="medium")
    try:
        with atomic_output(path) as tmp:
            fig.savefig(tmp, dpi=120)
    finally:
        plt.close(fig)
