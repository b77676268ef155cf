"""Transformers for subtomograms, to use in front of a classifier in a Pipeline.

Input is an array of shape ``(n_samples, 1, D, H, W)`` or ``(n_samples, D, H, W)``,
axis order (z, y, x); the layout is kept.

- :class:`SubtomogramStandardizer` -- zero mean, unit standard deviation per volume.
"""

from ._standardize import SubtomogramStandardizer

__all__ = ["SubtomogramStandardizer"]
