"""Orthoslice sheets: what a person labelling a queried batch looks at."""

import numpy as np

from ._utils import as_volumes, check_labels, panel_grid

_VIEWS = ("XY", "XZ", "YZ")


def _central_slices(volume):
    d, h, w = volume.shape
    return (
        volume[d // 2],  # XY: rows y, columns x
        volume[:, h // 2, :],  # XZ: rows z, columns x; the missing wedge smears along z
        volume[:, :, w // 2],  # YZ: rows z, columns y
    )


def plot_orthoslices(
    X,
    labels=None,
    *,
    n_cols: int = 4,
    cmap: str = "gray",
    percentiles=(1.0, 99.0),
    fig=None,
):
    """Central XY, XZ and YZ slices of each volume, three panels per volume.

    Parameters
    ----------
    X : array-like of shape (n_samples, 1, D, H, W), (n_samples, D, H, W) or (D, H, W)
        Volumes, axis order (z, y, x).
    labels : sequence of length n_samples, default=None
        Titles, e.g. pool indices or predicted classes.
    n_cols : int, default=4
        Volumes per row of the sheet.
    cmap : str, default="gray"
        Matplotlib colormap.
    percentiles : tuple of 2 floats, default=(1.0, 99.0)
        Grey-level range of each volume (its three slices share it).
    fig : matplotlib.figure.Figure, default=None
        Figure to draw into (it should be empty); a new one by default.

    Returns
    -------
    fig : matplotlib.figure.Figure
        With ``3 * n_samples`` axes, in volume order, each triple XY, XZ, YZ.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skcryoal.datasets import make_subtomograms
    >>> from skcryoal.plotting import plot_orthoslices
    >>> X, y = make_subtomograms(4, 2, size=16, voxel_size=20.0, random_state=0)
    >>> fig = plot_orthoslices(X, labels=y)
    >>> len(fig.axes)
    12
    """
    volumes = as_volumes(X)
    titles = check_labels(labels, len(volumes))
    fig, axes = panel_grid(fig, len(volumes), 3, n_cols)
    for volume, title, group in zip(volumes, titles, axes):
        vmin, vmax = np.percentile(volume, percentiles)
        for ax, view, image in zip(group, _VIEWS, _central_slices(volume)):
            ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax, origin="lower")
            ax.set_xlabel(view, fontsize="small", labelpad=1)
        if title:
            group[1].set_title(title, fontsize="medium")
    return fig
