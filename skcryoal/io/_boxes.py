"""Cutting cubic boxes out of one tomogram: geometry, edge policies, resampling.

Shared by :func:`extract_subtomograms` (one tomogram) and :func:`extract_particles`
(many). Centres are in voxels of the level read, (z, y, x), voxel centres at integers.

- ``scale == 1`` (same voxel size): box ``i`` spans ``round(c) - size // 2`` to
  ``round(c) - size // 2 + size`` along each axis (rounding half up), voxel values
  copied unchanged.
- ``scale != 1`` (``scale`` = output voxel size / tomogram voxel size): output voxel
  ``k`` samples the tomogram at ``c + (k - size // 2) * scale``, so the centre lands
  exactly on voxel ``size // 2``; values come from band-limited (Fourier)
  interpolation of a source box cut with a margin (see :mod:`._resample`). The box
  "fits" when its footprint, ``size * scale`` tomogram voxels, does; the margin
  beyond the tomogram repeats the edge voxels (or the tomogram mean with ``"pad"``).
"""

import math
import numbers

import numpy as np

from ._resample import margin_voxels, resample_box

EDGE_POLICIES = ("raise", "skip", "pad")
#: Relative difference of voxel sizes below which no resampling is done.
SAME_VOXEL_RTOL = 1e-3
#: Resident bytes of memory-mapped pages allowed before they are dropped.
_RELEASE_BYTES = 16 << 20


def check_size(size):
    if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 1:
        raise ValueError(f"size must be a positive integer number of voxels; got {size!r}.")
    return int(size)


def check_edge(edge):
    if edge not in EDGE_POLICIES:
        raise ValueError(f"edge must be one of {EDGE_POLICIES}; got {edge!r}.")
    return edge


def _rows_text(rows, xyz, mask):
    bad = np.flatnonzero(mask)
    shown = "; ".join(
        f"row {rows[i]} at (x, y, z) = ({', '.join(f'{v:g}' for v in xyz[i])})" for i in bad[:5]
    )
    return f"{len(bad)} particle(s): {shown}{' ...' if len(bad) > 5 else ''}"


def _extent(zyx, size, scale):
    """First and last voxel (inclusive, in tomogram voxels) covered by each box."""
    if scale == 1.0:
        starts = np.floor(zyx + 0.5) - size // 2
        return starts, starts + size - 1
    # Output voxel k covers [p_k - scale/2, p_k + scale/2]; tomogram voxel i, [i-0.5, i+0.5].
    first = zyx - (size // 2) * scale - 0.5 * scale + 0.5
    last = zyx + (size - 1 - size // 2) * scale + 0.5 * scale - 0.5
    return first, last


def plan(zyx, shape, size, edge, name, *, scale=1.0, rows=None, xyz=None):
    """Check the boxes of one tomogram against ``edge``; return the ones to cut.

    Parameters
    ----------
    zyx : ndarray of shape (n, 3)
        Centres in voxels of the level read, (z, y, x).
    shape : tuple of int
        Shape (D, H, W) of the level read.
    size : int
        Box edge in output voxels.
    edge : {"raise", "skip", "pad"}
        Policy for boxes that do not fit.
    name : str
        The tomogram, for messages.
    scale : float, default=1.0
        Output voxel size / tomogram voxel size.
    rows : ndarray of shape (n,), optional
        Row numbers shown in messages (default ``0 .. n - 1``).
    xyz : ndarray of shape (n, 3), optional
        Coordinates shown in messages, (x, y, z) (default ``zyx`` reversed).

    Returns
    -------
    kept : ndarray of shape (n_kept,), int64
        Positions in ``zyx`` of the boxes to cut (all unless ``edge="skip"``).
    """
    n = len(zyx)
    rows = np.arange(n) if rows is None else np.asarray(rows)
    xyz = zyx[:, ::-1] if xyz is None else xyz
    dims = np.asarray(shape, dtype=np.float64)
    first, last = _extent(zyx, size, scale)
    tol = 0.0 if scale == 1.0 else 1e-6
    inside = ((first >= -tol) & (last <= dims - 1 + tol)).all(axis=1)
    centers = np.floor(zyx + 0.5)
    center_inside = ((centers >= 0) & (centers < dims)).all(axis=1)
    if edge == "raise" and not inside.all():
        what = (
            f"the {size}^3 box"
            if scale == 1.0
            else (f"the {size}^3 box ({size * scale:g} voxels of the tomogram on a side)")
        )
        raise ValueError(
            f"{name}: {what} does not fit inside the tomogram (z, y, x) = "
            f"{tuple(int(d) for d in shape)} for {_rows_text(rows, xyz, ~inside)}. Use "
            "edge='skip' to drop them or edge='pad' to pad with the tomogram mean."
        )
    if edge == "pad" and not center_inside.all():
        raise ValueError(
            f"{name}: the center lies outside the tomogram (z, y, x) = "
            f"{tuple(int(d) for d in shape)} for {_rows_text(rows, xyz, ~center_inside)}. "
            "Check the coordinate order (x, y, z) and binning."
        )
    kept = np.flatnonzero(inside) if edge == "skip" else np.arange(n)
    return kept.astype(np.int64)


def _read_clipped(tomo, start, stop, fill):
    """Read ``[start, stop)`` (z, y, x); outside the tomogram: ``fill`` or edge voxels."""
    dims = np.asarray(tomo.shape)
    lo, hi = np.maximum(start, 0), np.minimum(stop, dims)
    if np.all(lo == start) and np.all(hi == stop):
        return tomo[tuple(slice(int(a), int(b)) for a, b in zip(start, stop))]
    # Every box overlaps the tomogram (its centre is inside), so lo < hi.
    part = tomo[tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))]
    widths = [(int(a - s), int(t - b)) for s, t, a, b in zip(start, stop, lo, hi)]
    if fill is None:
        return np.pad(part, widths, mode="edge")
    return np.pad(part, widths, mode="constant", constant_values=fill)


def cut(tomo, zyx, kept, size, edge, out, targets, *, scale=1.0, name="tomogram", rows=None):
    """Cut the boxes ``kept`` of one tomogram into ``out[targets, 0]``.

    Parameters
    ----------
    tomo : tomogram object
        From :func:`~skcryoal.io.open_tomogram` (or an array tomogram).
    zyx : ndarray of shape (n, 3)
        Centres in voxels of the level read, (z, y, x).
    kept : ndarray of int
        Positions in ``zyx`` to cut, as returned by :func:`plan`.
    size : int
        Box edge in output voxels.
    edge : {"raise", "skip", "pad"}
        As given to :func:`plan` (``"pad"`` fills with the tomogram mean).
    out : array of shape (m, 1, size, size, size)
        Written in place (ndarray or memmap).
    targets : ndarray of int
        ``out`` rows receiving the boxes, one per entry of ``kept``.
    scale : float, default=1.0
        Output voxel size / tomogram voxel size.
    name : str, default="tomogram"
        The tomogram, for messages.
    rows : ndarray of shape (n,), optional
        Row numbers shown in messages.

    Raises
    ------
    ValueError
        A box holding NaN or infinite values (naming the tomogram and the row).
    """
    rows = np.arange(len(zyx)) if rows is None else np.asarray(rows)
    dims = np.asarray(tomo.shape)
    if scale == 1.0:
        src = size
        starts = np.floor(zyx + 0.5).astype(np.int64) - size // 2
    else:
        footprint = size * scale
        src = int(math.ceil(footprint)) + 2 * margin_voxels(footprint)
        starts = np.floor(zyx + 0.5).astype(np.int64) - src // 2
        offsets = (np.arange(size) - size // 2) * scale
    fill = None
    if edge == "pad":
        outside = ((starts[kept] < 0) | (starts[kept] + src > dims)).any(axis=1)
        if outside.any():
            fill = np.float32(tomo.mean())
    release_every = max(1, _RELEASE_BYTES // (src * src * 2 * 4096))
    for k, (i, target) in enumerate(zip(kept, targets)):
        box = _read_clipped(tomo, starts[i], starts[i] + src, fill)
        n_bad = box.size - np.count_nonzero(np.isfinite(box))
        if n_bad:
            raise ValueError(
                f"{name}: the box of row {rows[i]} holds {n_bad} NaN or infinite values; "
                "a subtomogram must be finite. Check the tomogram, or remove the row."
            )
        if scale != 1.0:
            local = zyx[i] - starts[i]
            box = resample_box(box, tuple(local[a] + offsets for a in range(3)), scale)
        out[target, 0] = box
        if (k + 1) % release_every == 0:
            tomo.release()
    tomo.release()
