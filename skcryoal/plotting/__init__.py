"""Plots for people who label subtomograms: orthoslice sheets, Fourier power, templates.

All functions return a :class:`matplotlib.figure.Figure` and never call ``plt.show``.
Volumes have axis order (z, y, x).
"""

from ._fourier import plot_fourier_power
from ._orthoslices import plot_orthoslices
from ._templates import plot_templates

__all__ = ["plot_fourier_power", "plot_orthoslices", "plot_templates"]
