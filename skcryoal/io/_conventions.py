"""Particle coordinate conventions of RELION 3/4/5, Warp/M and pytom-match-pick.

Each convention is recognised by its columns and turned into the particle centre in
voxels of the tomogram file (0-based, voxel centres at integers, ``x`` along the last
array axis). The formulas and their sources are listed in
:func:`skcryoal.io.read_particle_set`.
"""

import numpy as np
import pandas as pd

CONVENTIONS = ("relion5", "relion4", "relion3", "warp", "pytom", "pixels")

CENTERED = (
    "rlnCenteredCoordinateXAngst",
    "rlnCenteredCoordinateYAngst",
    "rlnCenteredCoordinateZAngst",
)
RELION = ("rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ")
WARP_M = ("wrpCoordinateX1", "wrpCoordinateY1", "wrpCoordinateZ1")
PLAIN = ("x", "y", "z")
ORIGIN = ("rlnOriginXAngst", "rlnOriginYAngst", "rlnOriginZAngst")
SUBTOMO_ANGLES = ("rlnTomoSubtomogramRot", "rlnTomoSubtomogramTilt", "rlnTomoSubtomogramPsi")
#: Columns with which pytom-match-pick marks its picks (older versions: ptm prefix).
PYTOM_MARKERS = ("ptmLCCmax", "ptmCutOff", "ptmSearchStd", "rlnLCCmax", "rlnCutOff", "rlnSearchStd")
TS_PIXEL_SIZE = "rlnTomoTiltSeriesPixelSize"
OPTICS_GROUP = "rlnOpticsGroup"

#: Where each convention finds the tomogram name, in order.
NAME_COLUMNS = {
    "relion5": ("rlnTomoName",),
    "relion4": ("rlnTomoName",),
    "relion3": ("rlnMicrographName", "rlnTomoName"),
    "warp": ("wrpSourceName", "rlnMicrographName", "rlnTomoName"),
    "pytom": ("rlnMicrographName", "ptmMicrographName", "rlnTomoName"),
    "pixels": ("tomogram", "rlnTomoName", "rlnMicrographName"),
}
ALL_NAME_COLUMNS = tuple(dict.fromkeys(c for cs in NAME_COLUMNS.values() for c in cs))


def _has(columns, names):
    return set(names) <= set(columns)


def coordinate_columns(convention, columns):
    """The (x, y, z) columns that ``convention`` reads, given the table's columns."""
    if convention == "relion5":
        return CENTERED
    if convention in ("relion4", "relion3"):
        return RELION
    if convention == "warp":
        return WARP_M
    if convention == "pixels":
        return PLAIN
    # pytom: voxel indices, or centred Angstrom with --relion5-compat
    return CENTERED if _has(columns, CENTERED) else RELION


def detect(columns):
    """The convention of a table with these columns, or None."""
    columns = set(columns)
    if columns & set(PYTOM_MARKERS) and (_has(columns, CENTERED) or _has(columns, RELION)):
        return "pytom"
    if _has(columns, CENTERED):
        return "relion5"
    if _has(columns, RELION):
        return "relion4" if "rlnTomoName" in columns else "relion3"
    if _has(columns, WARP_M):
        return "warp"
    if _has(columns, PLAIN):
        return "pixels"
    return None


def relion_matrices(rot, tilt, psi):
    """RELION's rotation matrices (``Euler::anglesToMatrix3``) for angles in degrees."""
    a, b, g = (np.radians(np.asarray(v, dtype=np.float64)) for v in (rot, tilt, psi))
    ca, sa, cb, sb, cg, sg = np.cos(a), np.sin(a), np.cos(b), np.sin(b), np.cos(g), np.sin(g)
    return np.stack(
        [
            np.stack([cg * cb * ca - sg * sa, cg * cb * sa + sg * ca, -cg * sb], axis=-1),
            np.stack([-sg * cb * ca - cg * sa, -sg * cb * sa + cg * ca, sg * sb], axis=-1),
            np.stack([sb * ca, sb * sa, cb], axis=-1),
        ],
        axis=-2,
    )


def origin_shift(df):
    """``A_subtomogram @ origin`` in Angstrom per row, (x, y, z); zeros without origins.

    RELION's ``ParticleSet::getPosition`` places the particle at
    ``coordinate - A_subtomogram @ origin / pixel_size``, the origin (a refined shift)
    being expressed in the frame of the pseudo-subtomogram.
    """
    n = len(df)
    if not set(ORIGIN) & set(df.columns):
        return np.zeros((n, 3))
    origin = np.stack([numeric(df, c, default=0.0) for c in ORIGIN], axis=1)
    if _has(df.columns, SUBTOMO_ANGLES):
        matrices = relion_matrices(*(numeric(df, c, default=0.0) for c in SUBTOMO_ANGLES))
        return np.einsum("nij,nj->ni", matrices, origin)
    return origin


def numeric(df, column, default=np.nan):
    """Column ``column`` as float64 (NaN where not a number; ``default`` if absent)."""
    if column not in df.columns:
        return np.full(len(df), default)
    values = pd.to_numeric(df[column], errors="coerce")
    return np.asarray(values, dtype=np.float64)
