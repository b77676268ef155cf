"""Cutting the subtomograms of a particle set spread over many tomograms."""

import copy
import mmap
import numbers
import os

import numpy as np
import pandas as pd

from ..preprocessing._standardize import standardize_in_place
from ._boxes import SAME_VOXEL_RTOL, check_edge, check_size, cut, plan
from ._particles import STANDARD_COLUMNS, groups_of, read_particle_set
from ._tomogram import open_tomogram
from ._tomogram_set import VOXEL_RTOL


def extract_particles(
    particle_set,
    size: int = 32,
    *,
    voxel_size: float | None = None,
    edge: str = "raise",
    out=None,
    dtype=np.float32,
    standardize: bool = True,
):
    """Cut the subtomograms of a particle set, tomogram by tomogram, lazily.

    Rows are grouped by tomogram file; each tomogram is opened once (memory-mapped
    MRC, or OME-Zarr read chunk by chunk) and only its boxes are read. Memory stays
    bounded by the output plus the boxes of one tomogram (pages of a memory-mapped
    file are dropped as boxes are cut); with ``out`` a ``numpy.memmap``, even the
    output stays on disk. Every box is checked before any voxel is read, so a
    ``"raise"`` error comes at once.

    Parameters
    ----------
    particle_set : DataFrame, str or path-like
        A particle set with the standard columns of :func:`read_particle_set`
        (``skcryoal_tomogram``, ``skcryoal_tomogram_path``, ``skcryoal_voxel_size``,
        ``skcryoal_x``, ``skcryoal_y``, ``skcryoal_z``), e.g. from
        :func:`read_particle_set` or a copick project; or a particle table, read with
        :func:`read_particle_set` and its defaults. ``skcryoal_tomogram_path`` may be
        an MRC file or an OME-Zarr group (coordinates in voxels of its finest level).
    size : int, default=32
        Box edge in voxels of the output.
    voxel_size : float, optional
        Voxel size of the output in Angstrom (the one the classifier was trained at).
        Tomograms at another voxel size are resampled (see Notes); an OME-Zarr
        tomogram is read at the level of this voxel size when it has one. None keeps
        the tomograms' voxel size, which must then be the same for all of them.
    edge : {"raise", "skip", "pad"}, default="raise"
        Boxes that do not fit inside their tomogram:

        - ``"raise"``: ValueError naming the tomogram, the rows and coordinates;
        - ``"skip"``: leave them out; the returned table says which rows remain;
        - ``"pad"``: fill the part outside the tomogram with that tomogram's mean. A
          centre outside its tomogram is still an error.
    out : array of shape (n, 1, size, size, size), optional
        Where to write the subtomograms (ndarray or ``numpy.memmap``), ``n`` at
        least the number of boxes cut (the number of rows, to be safe with
        ``"skip"``); they fill ``out[:n_kept]``. Its dtype is used.
    dtype : data-type, default=np.float32
        Floating dtype of the output when ``out`` is not given. The output is
        then allocated in memory, after checking that the memory available can
        hold it (``n_kept * size**3 * itemsize`` bytes); for a larger output,
        pass a memory-mapped ``out``.

    standardize : bool, default=True
        Standardize each subtomogram to zero mean and unit standard deviation (its
        own statistics, as :class:`~skcryoal.preprocessing.SubtomogramStandardizer`
        does), as the classifier expects: tomograms' grey values have arbitrary
        offsets and scales. False keeps the tomograms' values (to standardize
        later, e.g. in a ``Pipeline``, or to inspect the raw densities).

    Returns
    -------
    X : ndarray of shape (n_kept, 1, size, size, size)
        The subtomograms in table order, axis order (z, y, x), at ``voxel_size``
        (a view of ``out`` if given); standardized per subtomogram unless
        ``standardize=False``.
    table : pandas.DataFrame
        The rows of ``particle_set`` that were cut, in order, with every column kept
        (provenance) plus ``skcryoal_row`` (the row's 0-based position in
        ``particle_set``) and ``skcryoal_standardized`` (1 if the box was
        standardized, 0 if it holds the tomogram's values); index
        ``0 .. n_kept - 1``, row ``i`` describing ``X[i]``.
        Its ``attrs`` are those of ``particle_set`` (the STAR file's other blocks,
        see :func:`read_particle_set`). ``Campaign.create(path, X, classes,
        particles=table)`` keeps all of it as the particles' provenance.

    Raises
    ------
    ValueError
        Missing standard columns, non-finite coordinates, boxes off the edge (with
        ``"raise"``), centres outside (with ``"pad"``), tomograms of different voxel
        sizes without ``voxel_size``, unknown voxel sizes with ``voxel_size``, a table
        voxel size that contradicts the file's, boxes holding NaN, a bad ``out``.
    MemoryError
        Without ``out``, the output is larger than the memory available (checked
        before any voxel is read; the message says what it needs and what is
        available).
    FileNotFoundError, InvalidMRCError
        A tomogram that cannot be read (named in the message).

    See Also
    --------
    read_particle_set : Build a particle set from RELION, Warp or pytom tables.
    extract_subtomograms : One tomogram and a list of coordinates.

    Notes
    -----
    Without resampling, box ``i`` spans ``round(c) - size // 2`` to
    ``round(c) - size // 2 + size`` voxels along each axis (as in
    :func:`extract_subtomograms`), so the centre is within half a voxel of voxel
    ``size // 2``. With resampling (``scale = voxel_size / tomogram voxel size``
    further than 0.1% from 1), a source box of ``ceil(size * scale)`` voxels plus a
    margin is cut and evaluated, by band-limited Fourier interpolation, at
    ``c + (k - size // 2) * scale``: Fourier cropping when downsampling (no aliasing)
    and Fourier padding when upsampling (no blur), exact for band-limited data such
    as reconstructed, missing-wedge filtered tomograms, with the particle centre
    exactly on voxel ``size // 2``. ``scipy.ndimage.zoom`` was not used: its splines
    blur, and alias when downsampling unless the data are low-pass filtered first.

    Examples
    --------
    >>> import os, tempfile, mrcfile
    >>> from skcryoal.datasets import make_tomogram
    >>> from skcryoal.io import extract_particles, read_particle_set
    >>> tomogram, truth = make_tomogram((32, 64, 64), 3, voxel_size=20.0, random_state=0)
    >>> folder = tempfile.mkdtemp()
    >>> with mrcfile.new(os.path.join(folder, "TS_01.mrc")) as mrc:
    ...     mrc.set_data(tomogram)
    ...     mrc.voxel_size = 20.0
    >>> picks = truth.rename(columns={"x": "rlnCoordinateX", "y": "rlnCoordinateY",
    ...                               "z": "rlnCoordinateZ"})
    >>> particle_set = read_particle_set(picks, tomograms=os.path.join(folder, "TS_01.mrc"))
    >>> X, table = extract_particles(particle_set, size=16, voxel_size=40.0, edge="pad")
    >>> X.shape, table["skcryoal_row"].tolist()
    ((3, 1, 16, 16, 16), [0, 1, 2])
    """
    if isinstance(particle_set, (str, os.PathLike)):
        particle_set = read_particle_set(particle_set)
    if not isinstance(particle_set, pd.DataFrame):
        raise TypeError(
            "particle_set must be a DataFrame from read_particle_set (or a particle table "
            f"path); got {type(particle_set).__name__}."
        )
    missing = [c for c in STANDARD_COLUMNS[:-1] if c not in particle_set.columns]
    if missing:
        raise ValueError(
            f"particle_set lacks the columns {', '.join(missing)}; build it with "
            "skcryoal.io.read_particle_set (or the copick reader), which adds them."
        )
    size = check_size(size)
    check_edge(edge)
    if not isinstance(standardize, (bool, np.bool_)):
        raise ValueError(f"standardize must be True or False; got {standardize!r}.")
    voxel_size = _check_voxel_size(voxel_size)
    table = particle_set.reset_index(drop=True)
    xyz = (
        table[["skcryoal_x", "skcryoal_y", "skcryoal_z"]]
        .apply(pd.to_numeric, errors="coerce")
        .to_numpy(np.float64)
    )
    bad = np.flatnonzero(~np.isfinite(xyz).all(axis=1))
    if bad.size:
        raise ValueError(
            f"particle_set: rows {bad[:10].tolist()} have missing or non-finite coordinates "
            "(skcryoal_x/y/z)."
        )
    voxels = pd.to_numeric(table["skcryoal_voxel_size"], errors="coerce").to_numpy(np.float64)
    negative = np.flatnonzero(voxels < 0)
    if negative.size:
        raise ValueError(
            f"particle_set: rows {negative[:10].tolist()} have a negative voxel size "
            f"(skcryoal_voxel_size {voxels[negative[0]]:g}); it must be a positive number of "
            "Angstrom, or 0 if unknown."
        )
    paths = table["skcryoal_tomogram_path"].astype(str).to_numpy()
    names = table["skcryoal_tomogram"].astype(str).to_numpy()
    groups = groups_of(paths)
    target = _target_voxel_size(voxel_size, voxels, names, paths)

    plans = []
    for path, rows in groups.items():
        name = f"tomogram {names[rows[0]]!r} ({path})"
        reference = _group_voxel_size(voxels[rows], name)
        with open_tomogram(path, voxel_size=target or None) as tomo:
            scale = _scale(tomo, reference, target, name)
            zyx = tomo.to_level(xyz[rows][:, ::-1])
            kept = plan(zyx, tomo.shape, size, edge, name, scale=scale, rows=rows, xyz=xyz[rows])
        plans.append((path, name, rows, zyx, kept, scale))

    kept_rows = np.sort(
        np.concatenate([np.zeros(0, np.int64)] + [rows[kept] for _, _, rows, _, kept, _ in plans])
    )
    position = np.full(len(table), -1, dtype=np.int64)
    position[kept_rows] = np.arange(len(kept_rows))
    out = _output(out, len(kept_rows), size, dtype)
    for path, name, rows, zyx, kept, scale in plans:
        if kept.size == 0:
            continue
        targets = position[rows[kept]]
        with open_tomogram(path, voxel_size=target or None) as tomo:
            cut(tomo, zyx, kept, size, edge, out, targets, scale=scale, name=name, rows=rows)
        if standardize:
            standardize_in_place(out, targets)
        _release_output(out)
    result = table.iloc[kept_rows].reset_index(drop=True)
    result = result.assign(
        skcryoal_row=kept_rows.astype(np.int64),
        skcryoal_standardized=np.full(len(kept_rows), int(standardize), dtype=np.int64),
    )
    result.attrs = copy.deepcopy(particle_set.attrs)  # the STAR file's other blocks
    return out[: len(kept_rows)], result


def _check_voxel_size(voxel_size):
    if voxel_size is None:
        return None
    if (
        isinstance(voxel_size, bool)
        or not isinstance(voxel_size, numbers.Real)
        or not np.isfinite(voxel_size)
        or voxel_size <= 0
    ):
        raise ValueError(
            f"voxel_size must be a positive number of Angstrom or None; got {voxel_size!r}."
        )
    return float(voxel_size)


def _target_voxel_size(voxel_size, voxels, names, paths):
    """The output voxel size (0.0: unknown, no resampling), or an error."""
    unknown = ~(np.isfinite(voxels) & (voxels > 0))
    if voxel_size is not None:
        if unknown.any():
            rows = np.flatnonzero(unknown)
            tomos = ", ".join(dict.fromkeys(f"{names[r]!r} ({paths[r]})" for r in rows[:20]))
            raise ValueError(
                f"the voxel size of tomograms {tomos} is unknown (skcryoal_voxel_size is "
                f"0 or missing, rows {rows[:10].tolist()}), so they cannot be resampled to "
                f"{voxel_size:g} A. Set it in the files' headers, or in the particle set: "
                "particle_set.loc[rows, 'skcryoal_voxel_size'] = ..."
            )
        return voxel_size
    known = voxels[~unknown]
    if known.size == 0:
        return 0.0
    if unknown.any():
        rows = np.flatnonzero(unknown)
        raise ValueError(
            f"some tomograms have an unknown voxel size (rows {rows[:10].tolist()}) and "
            f"others {known[0]:g} A; the subtomograms would not share a voxel size. Set "
            "skcryoal_voxel_size for those rows."
        )
    if not np.allclose(known, known[0], rtol=SAME_VOXEL_RTOL):
        shown = {}
        for value, name in zip(voxels, names):
            shown.setdefault(round(float(value), 4), name)
        text = ", ".join(f"{name!r}: {value:g} A" for value, name in list(shown.items())[:5])
        raise ValueError(
            f"the tomograms have different voxel sizes ({text}); pass voxel_size= (the "
            "classifier's, in Angstrom) to resample every subtomogram to it."
        )
    return float(known[0])


def _group_voxel_size(values, name):
    if not np.allclose(values, values[0], rtol=SAME_VOXEL_RTOL, equal_nan=True):
        raise ValueError(
            f"{name}: the rows give different voxel sizes (skcryoal_voxel_size "
            f"{', '.join(f'{v:g}' for v in np.unique(values)[:5])}) for one file."
        )
    value = float(values[0])
    return value if np.isfinite(value) and value > 0 else 0.0


def _scale(tomo, reference, target, name):
    """Output voxel size / voxel size of the level read (1.0: no resampling)."""
    file_reference = tomo.reference_voxel_size
    if reference > 0 and file_reference > 0:
        if abs(reference - file_reference) > VOXEL_RTOL * file_reference:
            raise ValueError(
                f"{name}: the particle set says {reference:g} A per voxel but the file "
                f"says {file_reference:g} A. Fix the file's metadata or skcryoal_voxel_size."
            )
    if reference <= 0:
        reference = file_reference
    ratio = tomo.voxel_size / file_reference if file_reference > 0 and tomo.voxel_size > 0 else 1.0
    level_voxel = reference * ratio
    if target <= 0 or level_voxel <= 0:
        return 1.0
    scale = target / level_voxel
    return 1.0 if abs(scale - 1.0) <= SAME_VOXEL_RTOL else scale


def _release_output(out):
    """Drop the written pages of a memory-mapped output from this process's memory.

    They are page-cache pages of the output file: the kernel writes them back whether
    or not they stay mapped, so unmapping them keeps an on-disk output out of the
    resident size.
    """
    memmap = getattr(out, "_mmap", None)
    if memmap is None or not hasattr(mmap, "MADV_DONTNEED"):
        return
    out.flush()
    try:
        memmap.madvise(mmap.MADV_DONTNEED)
    except (OSError, ValueError):
        pass


def available_memory():
    """Bytes of memory available to a new allocation, or None if unknown.

    Linux's ``MemAvailable`` (free memory plus what the page cache can give
    back), else the free physical pages.
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def bytes_text(n):
    """``n`` bytes in binary units, e.g. ``'29.8 GiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def _too_large(n_kept, size, dtype, available):
    need = n_kept * size**3 * dtype.itemsize
    shape = f"({n_kept}, 1, {size}, {size}, {size})"
    have = (
        "the allocation failed"
        if available is None
        else f"only {bytes_text(available)} is available"
    )
    return MemoryError(
        f"extract_particles: {n_kept} boxes of {size}x{size}x{size} voxels ({dtype}) need "
        f"{bytes_text(need)} of memory, but {have}. Cut a smaller box (size=), "
        "fewer particles (a subset of the particle set), or write the output to disk: "
        f"out=numpy.lib.format.open_memmap(path, mode='w+', dtype=numpy.{dtype}, "
        f"shape={shape}) (skcryoal extract writes to disk this way)."
    )


def _output(out, n_kept, size, dtype):
    box = (1, size, size, size)
    if out is None:
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise ValueError(f"dtype must be a floating-point type; got {dtype}.")
        available = available_memory()
        if available is not None and n_kept * size**3 * dtype.itemsize > available:
            raise _too_large(n_kept, size, dtype, available)
        try:
            return np.empty((n_kept, *box), dtype=dtype)
        except MemoryError:
            raise _too_large(n_kept, size, dtype, available) from None
    shape = getattr(out, "shape", None)
    if shape is None or len(shape) != 5 or tuple(shape[1:]) != box or shape[0] < n_kept:
        raise ValueError(
            f"out must be an array of shape (n, 1, {size}, {size}, {size}) with n >= "
            f"{n_kept} (the boxes to cut); got {shape}."
        )
    if np.dtype(out.dtype).kind != "f":
        raise ValueError(f"out must have a floating-point dtype; got {out.dtype}.")
    if not getattr(out, "flags", None) or not out.flags.writeable:
        raise ValueError("out must be writeable (open a memmap with mode 'w+' or 'r+').")
    return out
