"""Shared helpers: input checks and grid layout."""

import math

import numpy as np


def as_volumes(X, name="X"):
    """Return a float array of shape (n, D, H, W) from one or several volumes."""
    X = np.asarray(X)
    if X.ndim == 3:
        X = X[None]
    elif X.ndim == 5:
        if X.shape[1] != 1:
            raise ValueError(
                f"{name} must have one channel, shape (n_samples, 1, D, H, W); got {X.shape}."
            )
        X = X[:, 0]
    elif X.ndim != 4:
        raise ValueError(
            f"{name} must have shape (n_samples, 1, D, H, W), (n_samples, D, H, W) or "
            f"(D, H, W); got {X.shape}."
        )
    if X.shape[0] == 0:
        raise ValueError(f"{name} holds no volume; got shape {X.shape}.")
    return X


def check_labels(labels, n):
    """Return a list of ``n`` title strings (empty strings when ``labels`` is None)."""
    if labels is None:
        return [""] * n
    labels = [str(label) for label in np.asarray(labels, dtype=object).ravel()]
    if len(labels) != n:
        raise ValueError(f"labels must have one entry per volume ({n}); got {len(labels)}.")
    return labels


def panel_grid(fig, n_items, panels_per_item, n_cols, panel_size=1.6):
    """Axes for ``n_items`` groups of ``panels_per_item`` panels, ``n_cols`` groups a row.

    Creates only the axes that are used and returns them as a list of lists.
    """
    import matplotlib.pyplot as plt

    if isinstance(n_cols, bool) or not isinstance(n_cols, (int, np.integer)) or n_cols < 1:
        raise ValueError(f"n_cols must be a positive integer; got {n_cols!r}.")
    n_cols = min(int(n_cols), n_items)
    n_rows = math.ceil(n_items / n_cols)
    if fig is None:
        width = panel_size * panels_per_item * n_cols
        fig = plt.figure(figsize=(width, panel_size * 1.15 * n_rows), layout="constrained")
    grid = fig.add_gridspec(n_rows, n_cols * panels_per_item)
    axes = []
    for i in range(n_items):
        row, col = divmod(i, n_cols)
        group = []
        for j in range(panels_per_item):
            ax = fig.add_subplot(grid[row, col * panels_per_item + j])
            ax.set_xticks([])
            ax.set_yticks([])
            group.append(ax)
        axes.append(group)
    return fig, axes
