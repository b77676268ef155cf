"""Projections of the clean class templates."""

from ._utils import check_labels, panel_grid

_AXES = {"z": 0, "y": 1, "x": 2}
_PLANES = {"z": "XY", "y": "XZ", "x": "YZ"}


def plot_templates(
    templates=range(10),
    *,
    size: int = 32,
    voxel_size: float = 10.0,
    views=("z", "y", "x"),
    labels=None,
    n_cols: int = 5,
    cmap: str = "magma",
    fig=None,
):
    """Sum projections of clean class templates, one panel per view.

    Parameters
    ----------
    templates : iterable of int, str, path-like or ndarray, default=range(10)
        Built-in class indices, or anything :func:`skcryoal.datasets.load_template`
        accepts.
    size : int, default=32
        Box edge in voxels.
    voxel_size : float, default=10.0
        Angstrom per voxel.
    views : sequence of {"z", "y", "x"}, default=("z", "y", "x")
        Projection directions: along z shows the XY plane, and so on.
    labels : sequence, default=None
        Titles; by default the class index and what the structure is, for built-in
        classes, or the template's name.
    n_cols : int, default=5
        Templates per row.
    cmap : str, default="magma"
        Matplotlib colormap.
    fig : matplotlib.figure.Figure, default=None
        Figure to draw into; a new one by default.

    Returns
    -------
    fig : matplotlib.figure.Figure
        With ``len(views) * len(templates)`` axes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skcryoal.plotting import plot_templates
    >>> fig = plot_templates([0, 1, 2], size=16, voxel_size=20.0)
    >>> len(fig.axes)
    9
    """
    from ..datasets import load_template, make_template

    templates = list(templates)
    if not templates:
        raise ValueError("templates must name at least one template; got an empty list.")
    views = tuple(views)
    bad = [v for v in views if v not in _AXES]
    if bad or not views:
        raise ValueError(f"views must be a non-empty sequence of 'z', 'y', 'x'; got {views!r}.")
    if labels is None:
        labels = [load_template(t, voxel_size).name for t in templates]
    titles = check_labels(labels, len(templates))
    fig, axes = panel_grid(fig, len(templates), len(views), n_cols, panel_size=1.8)
    for template, title, group in zip(templates, titles, axes):
        density = make_template(template, size=size, voxel_size=voxel_size)
        for ax, view in zip(group, views):
            ax.imshow(density.sum(axis=_AXES[view]), cmap=cmap, origin="lower")
            ax.set_xlabel(_PLANES[view], fontsize="small", labelpad=1)
        group[len(group) // 2].set_title(title, fontsize="small", wrap=True)
    return fig
