"""Orthoslices of a volume as PNG images, for the labelling widget."""

import io

import numpy as np


def check_percentiles(percentiles):
    """Return ``(low, high)`` display percentiles, or raise naming the rule."""
    try:
        low, high = (float(p) for p in percentiles)
        valid = 0.0 <= low < high <= 100.0
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(
            f"percentiles must be two numbers 0 <= low < high <= 100, e.g. (1, 99); "
            f"got {percentiles!r}."
        )
    return low, high


def slab_orthoslices(volume, slab=1):
    """Central XY, XZ and YZ planes, each the mean of ``slab`` slices around the centre.

    Parameters
    ----------
    volume : ndarray of shape (D, H, W)
        One volume, axis order (z, y, x).
    slab : int, default=1
        Number of adjacent slices averaged (clipped to the volume's size along each axis);
        1 gives the central slices. Averaging a few slices lowers the noise of a tomogram,
        which makes a particle easier to recognise.

    Returns
    -------
    xy : ndarray of shape (H, W)
        Rows y, columns x.
    xz : ndarray of shape (D, W)
        Rows z, columns x; the missing wedge smears along z.
    yz : ndarray of shape (D, H)
        Rows z, columns y.

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal.campaign._slices import slab_orthoslices
    >>> v = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    >>> [p.shape for p in slab_orthoslices(v, slab=3)]
    [(5, 6), (4, 6), (4, 5)]
    """
    volume = np.asarray(volume)
    if volume.ndim != 3:
        raise ValueError(f"volume must have shape (D, H, W); got {volume.shape}.")
    planes = []
    for axis in range(3):
        n = volume.shape[axis]
        k = min(int(slab), n)
        start = n // 2 - k // 2
        index = [slice(None)] * 3
        index[axis] = slice(start, start + k)
        planes.append(volume[tuple(index)].mean(axis=axis, dtype=np.float32))
    return tuple(planes)


def render_orthoslices(volume, *, slab=1, cmap="gray", percentiles=(1.0, 99.0), size=192):
    """PNG images of a volume's three (slab-averaged) orthoslices.

    Parameters
    ----------
    volume : ndarray of shape (D, H, W)
        One volume, axis order (z, y, x).
    slab : int, default=1
        Slices averaged around the centre, see :func:`slab_orthoslices`.
    cmap : str, default="gray"
        Matplotlib colormap.
    percentiles : tuple of 2 floats, default=(1.0, 99.0)
        Grey-level range, computed over the three displayed planes together.
    size : int, default=192
        Approximate size in pixels of the longest side; voxels are magnified by a whole
        factor (nearest neighbour) so that they stay sharp.

    Returns
    -------
    pngs : tuple of 3 bytes
        PNG files of the XY, XZ and YZ planes, drawn with ``origin="lower"`` like
        :func:`skcryoal.plotting.plot_orthoslices`.

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal.campaign._slices import render_orthoslices
    >>> pngs = render_orthoslices(np.random.default_rng(0).normal(size=(16, 16, 16)))
    >>> [p[1:4] for p in pngs]
    [b'PNG', b'PNG', b'PNG']
    """
    import matplotlib.image

    planes = slab_orthoslices(volume, slab)
    values = np.concatenate([p.ravel() for p in planes])
    vmin, vmax = np.nanpercentile(values, percentiles)
    if not (np.isfinite(vmin) and np.isfinite(vmax)):
        vmin = vmax = 0.0  # an all-NaN volume draws as one flat colour, not a crash
    scale = max(1, int(size) // max(np.asarray(volume).shape))
    pngs = []
    for plane in planes:
        image = np.repeat(np.repeat(plane, scale, axis=0), scale, axis=1)
        buffer = io.BytesIO()
        matplotlib.image.imsave(
            buffer, image, vmin=vmin, vmax=vmax, cmap=cmap, format="png", origin="lower"
        )
        pngs.append(buffer.getvalue())
    return tuple(pngs)


# -- the widget -----------------------------------------------------------------------------
