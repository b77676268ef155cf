"""Fourier power plots that show the missing wedge."""

import numpy as np
from scipy import fft as sp_fft

from ._utils import as_volumes


def plot_fourier_power(
    X,
    *,
    tilt_range=None,
    ax=None,
    cmap: str = "viridis",
):
    """Central kx-kz slice of the log power spectrum, averaged over volumes.

    The slice contains the beam direction, so a single-axis tilt series shows its
    missing wedge as two empty sectors around the kz axis.

    Parameters
    ----------
    X : array-like of shape (n_samples, 1, D, H, W), (n_samples, D, H, W) or (D, H, W)
        Volumes, axis order (z, y, x). The power is averaged over them, which makes the
        wedge stand out of the noise.
    tilt_range : tuple of 2 floats, default=None
        If given, draw the edges of the measured region, e.g. ``(-60, 60)``.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw into; a new figure by default.
    cmap : str, default="viridis"
        Matplotlib colormap.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure holding the plot (one axes plus a colorbar when created here).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skcryoal.datasets import make_subtomograms
    >>> from skcryoal.plotting import plot_fourier_power
    >>> X, _ = make_subtomograms(4, 2, size=16, voxel_size=20.0, random_state=0)
    >>> fig = plot_fourier_power(X, tilt_range=(-60, 60))
    """
    import matplotlib.pyplot as plt

    volumes = as_volumes(X).astype(np.float64)
    spectrum = sp_fft.fftn(volumes, axes=(1, 2, 3))
    power = np.mean(np.abs(spectrum[:, :, 0, :]) ** 2, axis=0)  # ky = 0: (kz, kx)
    power = sp_fft.fftshift(power)
    floor = power[power > 0].min() if np.any(power > 0) else 1.0
    log_power = np.log10(np.maximum(power, floor))
    if ax is None:
        fig, ax = plt.subplots(figsize=(4, 3.6), layout="constrained")
    else:
        fig = ax.figure
    kz = sp_fft.fftshift(sp_fft.fftfreq(volumes.shape[1]))
    kx = sp_fft.fftshift(sp_fft.fftfreq(volumes.shape[3]))
    image = ax.imshow(
        log_power,
        origin="lower",
        cmap=cmap,
        extent=(kx[0], kx[-1], kz[0], kz[-1]),
        aspect="equal",
    )
    if tilt_range is not None:
        radius = 0.5
        for angle in tilt_range:
            t = np.radians(angle)
            ax.plot(
                [-radius * np.cos(t), radius * np.cos(t)],
                [-radius * np.sin(t), radius * np.sin(t)],
                color="white",
                linestyle="--",
                linewidth=0.8,
            )
        ax.set_xlim(kx[0], kx[-1])
        ax.set_ylim(kz[0], kz[-1])
    ax.set_xlabel("kx (cycles / voxel)")
    ax.set_ylabel("kz (cycles / voxel)")
    ax.set_title("log10 power, ky = 0")
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig
