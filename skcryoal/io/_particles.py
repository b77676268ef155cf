"""Particle sets: particle tables of any convention, with their tomograms resolved."""

import os
from pathlib import Path

import numpy as np
import pandas as pd

from . import _conventions as conv
from ._tables import BLOCKS_ATTR, particle_block, read_blocks, side_blocks
from ._tomogram_set import VOXEL_RTOL, TomogramSource, short_name

#: The columns every particle set has (also produced by the copick reader).
STANDARD_COLUMNS = (
    "skcryoal_tomogram",
    "skcryoal_tomogram_path",
    "skcryoal_voxel_size",
    "skcryoal_x",
    "skcryoal_y",
    "skcryoal_z",
    "skcryoal_convention",
)
_TEXT_COLUMNS = (*conv.ALL_NAME_COLUMNS, "ptmMicrographName")


def read_particle_set(
    table,
    *,
    tomograms=None,
    tomogram_dir=None,
    convention: str = "auto",
    tomogram_column: str | None = None,
) -> pd.DataFrame:
    """Read a particle table and find, for every particle, its tomogram and voxel.

    The result keeps every column of the table (provenance: angles, scores such as
    pytom-match-pick's ``ptmLCCmax``, ``ptmCutOff``, ``ptmSearchStd``, class numbers,
    names...) and adds the standard columns that :func:`extract_particles` reads:

    ==========================  ====================================================
    ``skcryoal_tomogram``       str, the tomogram's name (``TS_01``)
    ``skcryoal_tomogram_path``  str, absolute path of its MRC file or OME-Zarr group
    ``skcryoal_voxel_size``     float, Angstrom per voxel of that file (0.0: unknown)
    ``skcryoal_x/_y/_z``        float, the particle centre in voxels of that file,
                                0-based, ``x`` along the last array axis (z, y, x)
    ``skcryoal_convention``     str, the convention the coordinates were read in
    ==========================  ====================================================

    Coordinate conventions (``v``: voxel size of the tomogram file, from its header,
    or else ``p * rlnTomoTomogramBinning`` from the tomograms STAR; ``p``: tilt-series
    pixel size ``rlnTomoTiltSeriesPixelSize``, from the particle's optics group, else
    the particle column, else the tomograms STAR; ``w``: unbinned tomogram size
    ``rlnTomoSizeX`` (likewise Y, Z); ``A o``: the origin ``rlnOriginX/Y/ZAngst``
    rotated by the subtomogram angles ``rlnTomoSubtomogramRot/Tilt/Psi``, zero when
    absent; only ``x`` is shown, ``y`` and ``z`` alike):

    ===========  ======================================  ==================================
    convention   recognised by                           voxel ``x`` in the tomogram file
    ===========  ======================================  ==================================
    ``relion5``  ``rlnCenteredCoordinateX/Y/ZAngst``     ``(X/p + w/2 - (A o)_x/p) p/v``
                 (Angstrom from the tomogram centre),    (``w/2`` in float); without a
                 ``rlnTomoName``                         tomograms STAR: ``X/v + W/2``,
                                                         ``W`` the file's size in voxels
    ``relion4``  ``rlnCoordinateX/Y/Z`` (unbinned        ``(X - (A o)_x/p) p/v``
                 tilt-series pixels), ``rlnTomoName``
    ``relion3``  ``rlnCoordinateX/Y/Z`` (voxels of the   ``X``
                 tomogram), no ``rlnTomoName``;
                 ``rlnMicrographName`` names the file
    ``warp``     M's ``wrpCoordinateX1/Y1/Z1``           ``X/v``
                 (Angstrom from the first voxel),
                 ``wrpSourceName``
    ``pytom``    RELION names plus ``rlnLCCmax`` or      ``rlnCoordinateX``: ``X``;
                 ``ptmLCCmax`` (and ``CutOff``,          ``--relion5-compat``
                 ``SearchStd``); ``rlnMicrographName``   (``rlnCenteredCoordinateXAngst``,
                 or ``rlnTomoName``                      ``rlnTomoName``): ``X/v + W/2``
    ``pixels``   ``x, y, z`` (voxels of the tomogram)    ``X``
    ===========  ======================================  ==================================

    Sources: RELION 5 ``src/jaz/tomography/particle_set.cpp``
    (``getParticleCoordDecenteredPixel``: centred Angstrom / tilt-series pixel size +
    tomogram centre; ``getPosition``: minus the rotated origin), ``tomogram_set.cpp``
    (``loadTomogram``: centre = ``(rlnTomoSizeX/2.0, .../2.0, .../2.0)``, unbinned
    pixels) and ``programs/reconstruct_tomogram.cpp`` (binned voxel ``i`` sits at
    unbinned pixel ``i * binning``, origin 0 since RELION 4.1; voxel size
    ``p * binning``); pytom-match-pick ``src/pytom_tm/extract.py`` (0-based voxel
    indices; ``--relion5-compat``: ``(index - shape / 2) * voxel size``, voxel size
    written as ``rlnTomoTiltSeriesPixelSize``); Warp/M: M stores positions in
    Angstrom (Warp's M-to-RELION conversion writes ``wrpCoordinate*`` unchanged as
    ``rlnCoordinate*`` with a 1 A pixel size).

    Parameters
    ----------
    table : str, path-like or DataFrame
        A particle table, ``.star`` or ``.csv`` (the ``particles`` block, or the
        first loop block), or a DataFrame. Relative tomogram paths are relative to
        the table's folder (the working directory for a DataFrame).
    tomograms : str, path-like or dict, optional
        Where the tomograms are: a RELION tomograms STAR (``.star``; the file of each
        tomogram from ``tomogram_column``, and its unbinned size, tilt-series pixel
        size and binning), a dict ``{name: path}``, or the path of the one tomogram
        of a single-tomogram table (MRC file or OME-Zarr group).
    tomogram_dir : str or path-like, optional
        A folder holding the tomograms: ``TS_01`` (or ``TS_01.tomostar``...) is
        looked up as ``TS_01.mrc``, ``.rec``, ``.zarr``, ``.map``, then
        ``rec_TS_01.mrc``... (RELION 5), when ``tomograms`` does not give its file.
    convention : {"auto", "relion5", "relion4", "relion3", "warp", "pytom", \
"pixels"}, default="auto"
        How to read the coordinates; "auto" recognises the columns as in the table
        above (pytom first, then relion5, relion4/relion3, warp, pixels).
    tomogram_column : str, optional
        Column of the tomograms STAR holding the tomogram files. Default:
        ``rlnTomoReconstructedTomogram``, else ``rlnTomoReconstructedTomogramDenoised``.

    Returns
    -------
    particles : pandas.DataFrame
        One row per table row, in order (index ``0 .. n - 1``): every column of the
        table, then the standard columns above (replacing columns of those names).
        ``particles.attrs["skcryoal_blocks"]`` holds the STAR file's blocks as
        given, in order (``data_general``, ``data_optics``...: a loop block as
        ``{column: [values]}``, a simple block as ``{key: value}``, the particle
        block's name and place as None). :func:`extract_particles`, ``skcryoal
        extract`` and campaigns carry them along, so that the class files of
        :meth:`Campaign.predict <skcryoal.campaign.Campaign.predict>` are the set
        itself.

    Raises
    ------
    FileNotFoundError
        The table, or the file of a tomogram (the message names the tomogram, the
        rows and the places tried).
    ValueError
        A table whose convention cannot be recognised, missing coordinate or
        tomogram-name columns, rows with missing or non-numeric coordinates or names,
        a pixel size or tomogram size that the convention needs and nothing gives,
        voxel sizes that contradict each other (header vs tables).
    InvalidMRCError
        A tomogram file that is not a single complete MRC volume.

    See Also
    --------
    extract_particles : Cut the subtomograms of a particle set.

    Notes
    -----
    RELION 5 builds its tilt-series projections around ``int(size / 2)`` but places
    particles around ``size / 2.0`` (``tomogram_set.cpp``): for an odd unbinned size
    its own extraction is half an unbinned pixel off. The formula above follows the
    particle convention, which is what its pickers write.

    Examples
    --------
    >>> import tempfile, os, mrcfile, numpy as np, pandas as pd
    >>> from skcryoal.io import read_particle_set
    >>> folder = tempfile.mkdtemp()
    >>> with mrcfile.new(os.path.join(folder, "TS_01.mrc")) as mrc:
    ...     mrc.set_data(np.zeros((20, 40, 40), dtype=np.float32))
    ...     mrc.voxel_size = 10.0
    >>> picks = pd.DataFrame({"rlnTomoName": ["TS_01"], "rlnCenteredCoordinateXAngst": [50.0],
    ...                       "rlnCenteredCoordinateYAngst": [0.0],
    ...                       "rlnCenteredCoordinateZAngst": [-20.0]})
    >>> particles = read_particle_set(picks, tomogram_dir=folder)
    >>> row = particles.iloc[0]  # the file is 40 x 40 x 20 voxels (x, y, z) of 10 A
    >>> [float(row[c]) for c in ("skcryoal_x", "skcryoal_y", "skcryoal_z")], row.skcryoal_convention
    ([25.0, 20.0, 8.0], 'relion5')
    """
    if isinstance(table, pd.DataFrame):
        particles, optics = table.reset_index(drop=True).copy(), None
        where, base_dir = "particle table", Path.cwd()
    elif isinstance(table, (str, os.PathLike)):
        path = Path(table)
        blocks = read_blocks(path, _TEXT_COLUMNS)
        particles = particle_block(path, blocks).copy()
        optics = blocks.get("optics") if isinstance(blocks.get("optics"), pd.DataFrame) else None
        where, base_dir = str(path), path.parent
        if path.suffix.lower() == ".star":
            particles.attrs[BLOCKS_ATTR] = side_blocks(path, blocks)
    else:
        raise TypeError(
            "table must be a particle table (.star or .csv path) or a DataFrame; got "
            f"{type(table).__name__}."
        )
    convention = _convention(particles, convention, where)
    source = TomogramSource(
        tomograms, tomogram_dir, base_dir=base_dir, tomogram_column=tomogram_column
    )
    keys = _tomogram_keys(particles, convention, where)
    columns = conv.coordinate_columns(convention, particles.columns)
    coords = np.stack([conv.numeric(particles, c) for c in columns], axis=1)
    bad = np.flatnonzero(~np.isfinite(coords).all(axis=1))
    if bad.size:
        raise ValueError(
            f"{where}: rows {bad[:10].tolist()}{' ...' if bad.size > 10 else ''} have "
            f"missing or non-numeric coordinates ({', '.join(columns)}). Fix or drop them."
        )
    ts_pixel = _tilt_series_pixel_size(particles, optics)
    bad = np.flatnonzero(np.isfinite(ts_pixel) & (ts_pixel <= 0))
    if bad.size:
        values = ", ".join(f"{v:g}" for v in np.unique(ts_pixel[bad])[:5])
        raise ValueError(
            f"{where}: rows {bad[:10].tolist()}{' ...' if bad.size > 10 else ''} have "
            f"{conv.TS_PIXEL_SIZE} {values} (optics block or particle column); a pixel size "
            "must be a positive number of Angstrom. Fix the table, or leave the value out "
            "to take it from the tomograms STAR."
        )
    shift = conv.origin_shift(particles) if convention in ("relion5", "relion4") else None

    n = len(particles)
    out = {
        "skcryoal_tomogram": np.empty(n, dtype=object),
        "skcryoal_tomogram_path": np.empty(n, dtype=object),
        "skcryoal_voxel_size": np.zeros(n),
        "xyz": np.zeros((n, 3)),
    }
    groups = _groups(keys)
    for key, rows in groups.items():
        info = source.resolve(key, len(groups), f"{where} (rows {_rows(rows)})")
        context = _Context(where, info, rows, particles.iloc[rows])
        xyz, voxel = _convert(
            convention,
            coords[rows],
            context,
            ts_pixel[rows],
            None if shift is None else shift[rows],
        )
        out["skcryoal_tomogram"][rows] = short_name(info.name)
        out["skcryoal_tomogram_path"][rows] = info.path
        out["skcryoal_voxel_size"][rows] = voxel
        out["xyz"][rows] = xyz
    particles = particles.drop(columns=[c for c in STANDARD_COLUMNS if c in particles.columns])
    return particles.assign(
        skcryoal_tomogram=out["skcryoal_tomogram"].astype(str),
        skcryoal_tomogram_path=out["skcryoal_tomogram_path"].astype(str),
        skcryoal_voxel_size=out["skcryoal_voxel_size"],
        skcryoal_x=out["xyz"][:, 0],
        skcryoal_y=out["xyz"][:, 1],
        skcryoal_z=out["xyz"][:, 2],
        skcryoal_convention=convention,
    )


def _rows(rows):
    return f"{rows[:5].tolist()}{' ...' if len(rows) > 5 else ''}"


def groups_of(values):
    """``{value: rows}`` in order of first appearance (one pass, not one per value)."""
    indices = pd.Series(np.arange(len(values))).groupby(values, sort=False).indices
    return {key: np.asarray(indices[key]) for key in dict.fromkeys(values)}


def _groups(keys):
    if len(keys) and keys[0] is None:  # the table names no tomogram: one group
        return {None: np.arange(len(keys))}
    return groups_of(keys)


def _convention(particles, convention, where):
    if convention == "auto":
        found = conv.detect(particles.columns)
        if found is None:
            raise ValueError(
                f"{where}: cannot tell the coordinate convention; expected "
                "rlnCenteredCoordinateX/Y/ZAngst (RELION 5), rlnCoordinateX/Y/Z (RELION "
                "3/4, pytom-match-pick), wrpCoordinateX1/Y1/Z1 (Warp/M) or x/y/z. Columns "
                f"found: {', '.join(map(str, particles.columns))}."
            )
        return found
    if convention not in conv.CONVENTIONS:
        raise ValueError(
            f"convention must be 'auto' or one of {conv.CONVENTIONS}; got {convention!r}."
        )
    needed = conv.coordinate_columns(convention, particles.columns)
    missing = [c for c in needed if c not in particles.columns]
    if missing:
        raise ValueError(
            f"{where}: convention {convention!r} reads the columns {', '.join(needed)}; "
            f"missing {', '.join(missing)}. Columns found: "
            f"{', '.join(map(str, particles.columns))}."
        )
    return convention


def _tomogram_keys(particles, convention, where):
    """The tomogram name of every row (an object array), or all None if none is named."""
    column = next((c for c in conv.NAME_COLUMNS[convention] if c in particles.columns), None)
    if column is None:
        if convention in ("relion5", "relion4"):
            raise ValueError(
                f"{where}: a {convention} particle table needs the column rlnTomoName (the "
                "tomogram of each particle). Add it, or pass convention='relion3' if the "
                "coordinates are voxels of one tomogram."
            )
        return np.full(len(particles), None, dtype=object)
    values = particles[column]
    missing = values.isna() | (values.astype(str).str.strip() == "")
    if missing.any():
        rows = np.flatnonzero(missing.to_numpy())
        raise ValueError(
            f"{where}: column {column} has no tomogram name in rows {_rows(rows)}. Fill it "
            "in or drop those rows."
        )
    return values.astype(str).str.strip().to_numpy(dtype=object)


def _tilt_series_pixel_size(particles, optics):
    """``rlnTomoTiltSeriesPixelSize`` per row: optics group, else particle column."""
    pixel = conv.numeric(particles, conv.TS_PIXEL_SIZE)
    if optics is not None and conv.TS_PIXEL_SIZE in optics.columns:
        by_group = dict(
            zip(
                conv.numeric(optics, conv.OPTICS_GROUP, default=1.0),
                conv.numeric(optics, conv.TS_PIXEL_SIZE),
            )
        )
        groups = conv.numeric(particles, conv.OPTICS_GROUP, default=1.0)
        from_optics = np.array([by_group.get(g, np.nan) for g in groups])
        pixel = np.where(np.isfinite(from_optics), from_optics, pixel)
    return pixel


class _Context:
    """One tomogram's rows, for the conversions and their messages."""

    def __init__(self, where, info, rows, frame):
        self.info, self.frame = info, frame
        self.label = f"{where}: tomogram {info.name!r} ({info.path}), rows {_rows(rows)}"


def _pixel_size(context, ts_pixel, why):
    """Tilt-series pixel size of each of these rows (table, else tomograms STAR)."""
    values = np.where(np.isfinite(ts_pixel), ts_pixel, context.info.star.pixel_size)
    if not np.all(np.isfinite(values) & (values > 0)):
        raise ValueError(
            f"{context.label}: no tilt-series pixel size ({conv.TS_PIXEL_SIZE}), which "
            f"{why}. Pass tomograms= the tomograms STAR, or add {conv.TS_PIXEL_SIZE} to the "
            "optics block of the particle table (or pass convention='relion3' if the "
            "coordinates are voxels of the tomogram files)."
        )
    return values


def _voxel_size(context, *, table_value=np.nan, what="the table", need=True):
    """Voxel size of the tomogram file: header, checked against the tables."""
    info = context.info
    sources = {
        "the tomograms STAR (pixel size x binning)": info.star.pixel_size * info.star.binning,
        what: table_value,
    }
    if np.isfinite(table_value) and table_value <= 0:
        raise ValueError(
            f"{context.label}: {what} is {table_value:g} A; a pixel size must be a positive "
            "number of Angstrom. Fix the table, or leave the value out."
        )
    candidates = [(v, source) for source, v in sources.items() if np.isfinite(v) and v > 0]
    header = info.header_voxel_size
    if header > 0:
        for value, source in candidates:
            if abs(value - header) > VOXEL_RTOL * header:
                raise ValueError(
                    f"{context.label}: the file's header says {header:g} A per voxel but "
                    f"{source} says {value:g} A. Fix the header (mrcfile: mrc.voxel_size = ...) "
                    "or the table, or pass the tomogram that the coordinates refer to."
                )
        return header
    if candidates:
        return float(candidates[0][0])
    if need:
        raise ValueError(
            f"{context.label}: the voxel size of the tomogram is unknown (0 in its header, "
            "and no pixel size and binning in the tables), and this convention needs it. "
            "Set it in the header (with mrcfile: mrc.voxel_size = ...) or pass tomograms= "
            "the tomograms STAR with rlnTomoTomogramBinning."
        )
    return 0.0


def _convert(convention, coords, context, ts_pixel, shift):
    """(x, y, z) voxels of the tomogram file and its voxel size, for one tomogram."""
    info = context.info
    file_xyz = np.asarray(info.shape[::-1], dtype=np.float64)  # (W, H, D)
    if convention in ("relion3", "pixels"):
        return coords, _voxel_size(context, need=False)
    if convention == "warp":
        voxel = _voxel_size(context)
        return coords / voxel, voxel
    if convention == "pytom":
        if conv.CENTERED[0] in context.frame.columns:
            written = _one_value(context, conv.numeric(context.frame, conv.TS_PIXEL_SIZE))
            voxel = _voxel_size(context, table_value=written, what=conv.TS_PIXEL_SIZE)
            return coords / voxel + file_xyz / 2.0, voxel
        written = _one_value(context, conv.numeric(context.frame, "rlnDetectorPixelSize"))
        if not np.isfinite(written):
            written = _one_value(context, conv.numeric(context.frame, "ptmDetectorPixelSize"))
        return coords, _voxel_size(
            context, table_value=written, what="rlnDetectorPixelSize", need=False
        )
    voxel = _voxel_size(context)
    if convention == "relion5" and info.star.size is None:
        # No tomograms STAR: the file's own centre, in its voxels (exact when the
        # unbinned size is a multiple of the binning, as pytom-match-pick assumes too).
        return (coords - shift) / voxel + file_xyz / 2.0, voxel
    # RELION 4 and 5: unbinned tilt-series pixels, then the file's voxels.
    why = f"{convention} coordinates need to reach the tomogram's voxels"
    pixel = _pixel_size(context, ts_pixel, why)[:, None]
    if convention == "relion5":
        unbinned = coords / pixel + info.star.size / 2.0 - shift / pixel
    else:
        unbinned = coords - shift / pixel
    return unbinned * pixel / voxel, voxel


def _one_value(context, values):
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.nan
    if not np.allclose(finite, finite[0], rtol=1e-4):
        raise ValueError(
            f"{context.label}: the rows give different voxel sizes "
            f"({', '.join(f'{v:g}' for v in np.unique(finite)[:5])} A) for one tomogram."
        )
    return float(finite[0])
