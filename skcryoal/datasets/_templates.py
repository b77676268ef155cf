"""Class templates as clouds of Gaussian pseudo-atoms, from any source.

Every template, built-in or the user's own, is a set of weighted Gaussian points in
Angstrom. Rotating a template rotates the points, and the density is drawn on the grid
afterwards: exact and fast, with no interpolation of a voxel map.

Sources:

- ``int``: a built-in procedural class (see :func:`describe_template`);
- the key of a bundled real structure, e.g. ``"4V5D"`` (see :func:`list_structures`);
- a PDB / mmCIF file (``.pdb``, ``.ent``, ``.cif``, ``.mmcif``, optionally ``.gz``),
  read with gemmi, each atom weighted by its atomic number;
- an MRC density map (``.mrc``, ``.map``, ``.rec``), read with mrcfile and resampled to
  the simulation's voxel size using the voxel size in its header;
- a 3D ndarray, a density sampled at the simulation's voxel size.

Atomic models and maps are coarse-grained into pseudo-atoms on a grid of half a voxel
(summed weight at the weighted centroid), which is far below the resolution kept by the
imaging model (band limit at half Nyquist). Bundled structures ship on a 5 A grid and
are merged again on half a voxel when the voxel is larger than 10 A.
"""

import math
import numbers
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from ._procedural import PSEUDO_ATOM_SIGMA, procedural_structure
from ._render import render
from ._structures import (
    looks_like_structure_name,
    structure_info,
    structure_key,
    structure_points,
    unknown_structure_message,
)
from ._validation import check_int, check_positive_float

_STRUCTURE_SUFFIXES = (".pdb", ".ent", ".cif", ".mmcif", ".pdb.gz", ".ent.gz", ".cif.gz")
_MAP_SUFFIXES = (".mrc", ".map", ".rec", ".mrc.gz", ".map.gz")


@dataclass(frozen=True, eq=False)
class Template:
    """A class template: weighted Gaussian pseudo-atoms, centred on the origin.

    Attributes
    ----------
    points : ndarray of shape (n_atoms, 3)
        Coordinates in Angstrom, (x, y, z) order.
    weights : ndarray of shape (n_atoms,)
        Integrated density of each pseudo-atom.
    sigma : float
        Gaussian width of a pseudo-atom in Angstrom.
    name : str
        Where the template came from, used in messages and plot titles.
    """

    points: np.ndarray
    weights: np.ndarray
    sigma: float
    name: str

    @property
    def radius(self):
        """Largest distance of a pseudo-atom from the origin, in Angstrom."""
        return float(np.linalg.norm(self.points, axis=1).max())


def _suffix(path):
    name = path.name.lower()
    for suffix in _STRUCTURE_SUFFIXES + _MAP_SUFFIXES:
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


def _coarse_grain(points, weights, cell, name):
    """Merge points into one pseudo-atom per occupied grid cell (weighted centroid)."""
    keep = weights != 0
    points, weights = points[keep], weights[keep]
    if len(points) == 0:
        raise ValueError(f"Template {name} has no density (no atoms or an all-zero map).")
    keys = np.floor(points / cell).astype(np.int64)
    _, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    mass = np.bincount(inverse, weights=weights)
    abs_mass = np.bincount(inverse, weights=np.abs(weights))
    centroid = (
        np.stack(
            [np.bincount(inverse, weights=np.abs(weights) * points[:, i]) for i in range(3)], axis=1
        )
        / abs_mass[:, None]
    )
    center = np.average(centroid, axis=0, weights=np.abs(mass))
    return centroid - center, mass


def _read_structure(path, voxel_size):
    try:
        import gemmi
    except ImportError:
        raise ImportError(
            f"Reading the atomic model {str(path)!r} needs the optional dependency gemmi; "
            "install it with `pip install skcryoal[structures]` (or `pip install gemmi`)."
        ) from None
    try:
        structure = gemmi.read_structure(str(path))
        structure.remove_hydrogens()
        structure.remove_waters()
    except Exception as exc:  # gemmi raises RuntimeError / ValueError on bad files
        raise ValueError(f"Could not read the atomic model {str(path)!r}: {exc}") from exc
    if len(structure) == 0:
        raise ValueError(f"The atomic model {str(path)!r} has no model (no atoms).")
    atoms = [
        (atom.pos.x, atom.pos.y, atom.pos.z, atom.element.atomic_number)
        for chain in structure[0]
        for residue in chain
        for atom in residue
    ]
    if not atoms:
        raise ValueError(f"The atomic model {str(path)!r} has no atoms.")
    atoms = np.asarray(atoms, dtype=float)
    return atoms[:, :3], np.maximum(atoms[:, 3], 1.0)


def _map_points(density, voxel_size, name):
    """Pseudo-atoms of a density map sampled at ``voxel_size`` (axis order z, y, x)."""
    density = np.asarray(density, dtype=float)
    if not np.all(np.isfinite(density)):
        raise ValueError(f"Template {name} contains NaN or infinite values.")
    density = density - np.median(density)  # the solvent background
    peak = density.max()
    if peak <= 0:
        raise ValueError(
            f"Template {name} has no density above its background (constant or empty map)."
        )
    index = np.argwhere(density > 0.02 * peak)
    weights = density[tuple(index.T)]
    points = index[:, ::-1] * voxel_size  # (z, y, x) indices -> (x, y, z) Angstrom
    return points, weights


def _read_map(path, voxel_size):
    import mrcfile

    try:
        with mrcfile.open(path, permissive=True) as mrc:
            if mrc.data is None:
                raise ValueError("no data block")
            data = np.asarray(mrc.data, dtype=float)
            header_voxel = float(mrc.voxel_size.x)
    except (OSError, ValueError) as exc:
        raise ValueError(f"Could not read the density map {str(path)!r}: {exc}") from exc
    if data.ndim != 3:
        raise ValueError(
            f"The density map {str(path)!r} must hold one 3D volume; got shape {data.shape}."
        )
    if header_voxel <= 0:
        warnings.warn(
            f"The density map {str(path)!r} has no voxel size in its header; assuming "
            f"the simulation's voxel size ({voxel_size} A).",
            UserWarning,
            stacklevel=4,
        )
        header_voxel = voxel_size
    if not np.isclose(header_voxel, voxel_size):
        data = ndimage.zoom(data, header_voxel / voxel_size, order=1)
    return _map_points(data, voxel_size, repr(str(path)))


def _bundled_template(key, voxel_size):
    points, weights, cell = structure_points(key)
    name = f"{key}: {structure_info(key)['name']}"
    if voxel_size < cell:
        # Imaged density vs the atomic model's: exact at 10 A, within 0.3% above it,
        # 4% at 5 A, 6% at 4 A (tools/build_structures.py, 3KPR and 4V5D).
        warnings.warn(
            f"Bundled structure {key} is coarse-grained on a {cell:g} A grid, too coarse "
            f"for voxel_size={voxel_size:g} A; use voxel_size >= {cell:g} A (exact from "
            f"{2 * cell:g} A), or its atomic model with load_template(path).",
            UserWarning,
            stacklevel=3,
        )
    if voxel_size / 2 > cell:
        cell = voxel_size / 2
        points, weights = _coarse_grain(points, weights, cell, name)
    return Template(points, weights, cell / 2, name)


def bundled_key(source):
    """Key of the bundled structure that ``source`` names, or None (files win)."""
    if not isinstance(source, str):
        return None
    key = structure_key(source)
    return key if key is not None and not Path(source).is_file() else None


def load_template(source, voxel_size=10.0) -> Template:
    """Build a :class:`Template` from a class index, a structure file, a map or an array.

    Parameters
    ----------
    source : int, str, path-like or ndarray of shape (D, H, W)
        A built-in class index; the key of a bundled real structure such as ``"4V5D"``
        (case-insensitive, see :func:`list_structures`); a PDB / mmCIF file (needs
        gemmi); an MRC density map; or a density array sampled at ``voxel_size``, axis
        order (z, y, x). A string is a bundled structure when it names one and no
        file of that name exists.
    voxel_size : float, default=10.0
        Voxel size of the simulation in Angstrom. Files are coarse-grained at half of it,
        bundled structures at half of it or 5 A, whichever is larger.

    Returns
    -------
    template : Template

    Raises
    ------
    FileNotFoundError
        If a path does not exist.
    ValueError
        If a file cannot be read, has an unknown suffix or holds no density, or if a
        string without a suffix is neither a bundled structure nor a file.
    ImportError
        If a PDB / mmCIF file is given and gemmi is not installed.
    """
    voxel_size = check_positive_float(voxel_size, "voxel_size")
    if isinstance(source, Template):
        return source
    if isinstance(source, numbers.Integral) and not isinstance(source, bool):
        index = check_int(source, "class index", minimum=0)
        points, description = procedural_structure(index)
        return Template(
            points, np.ones(len(points)), PSEUDO_ATOM_SIGMA, f"class {index}: {description}"
        )
    if isinstance(source, np.ndarray):
        if source.ndim != 3:
            raise ValueError(
                f"A template array must be a 3D density (D, H, W); got shape {source.shape}."
            )
        name = f"array of shape {source.shape}"
        points, weights = _map_points(source, voxel_size, name)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        key = bundled_key(source)
        if key is not None:
            return _bundled_template(key, voxel_size)
        if not path.is_file():
            if looks_like_structure_name(source):
                raise ValueError(unknown_structure_message(source))
            raise FileNotFoundError(f"Template file {str(path)!r} does not exist.")
        suffix = _suffix(path)
        name = path.name
        if suffix in _STRUCTURE_SUFFIXES:
            points, weights = _read_structure(path, voxel_size)
        elif suffix in _MAP_SUFFIXES:
            points, weights = _read_map(path, voxel_size)
        else:
            raise ValueError(
                f"Cannot tell the format of template file {str(path)!r} from its suffix "
                f"{suffix!r}; use one of {', '.join(_STRUCTURE_SUFFIXES + _MAP_SUFFIXES)}."
            )
    else:
        raise TypeError(
            "A template must be a class index (int), a bundled structure's key (str, see "
            "list_structures()), a PDB/mmCIF/MRC file path or a 3D ndarray; got "
            f"{type(source).__name__}."
        )
    cell = voxel_size / 2
    points, weights = _coarse_grain(points, weights, cell, name)
    return Template(points, weights, cell / 2, name)


def describe_template(class_index: int) -> str:
    """Say in words what built-in class ``class_index`` looks like.

    Parameters
    ----------
    class_index : int
        Built-in class index (>= 0).

    Returns
    -------
    description : str
        For example ``"C7 ring of 7 subunits"`` or ``"hollow tube, C4, 5 layers"``.

    Examples
    --------
    >>> from skcryoal.datasets import describe_template
    >>> describe_template(1)
    'C7 ring of 7 subunits'
    """
    index = check_int(class_index, "class_index", minimum=0)
    return procedural_structure(index)[1]


def make_template(template=0, size: int = 32, voxel_size: float = 10.0) -> np.ndarray:
    """Clean density of a class template, centred in a cubic box, before imaging.

    Parameters
    ----------
    template : int, str, path-like or ndarray, default=0
        Built-in class index, or any source accepted by :func:`load_template`.
    size : int, default=32
        Edge of the box in voxels (>= 8).
    voxel_size : float, default=10.0
        Voxel size in Angstrom.

    Returns
    -------
    density : ndarray of shape (size, size, size), float32
        Axis order (z, y, x), the template's reference orientation, centre at voxel
        ``size // 2``. Units are arbitrary (pseudo-atom weight per voxel).

    Examples
    --------
    >>> from skcryoal.datasets import make_template
    >>> make_template(7, size=16, voxel_size=20.0).shape
    (16, 16, 16)
    """
    size = check_int(size, "size", minimum=8)
    template = load_template(template, voxel_size)
    return render(template, np.eye(3)[None], np.zeros((1, 3)), size, voxel_size)[0]


def check_fits(templates, size, voxel_size, keys=None):
    """Refuse a bundled structure larger than the box; warn for other templates.

    A bundled structure (``keys[k]`` its key, None for other templates) cut at the box
    edge is never what is meant: raise, saying the box it needs. Other templates (user
    files may carry loose tails or detergent) are cut, with one warning.
    """
    half_box = size * voxel_size / 2
    for template, key in zip(templates, keys or [None] * len(templates)):
        if key is None or template.radius <= half_box:
            continue
        info = structure_info(key)
        needed = math.ceil(2 * template.radius / voxel_size)
        needed_voxel = math.ceil(10 * 2 * info["max_radius"] / size) / 10
        raise ValueError(
            f"Structure {key} ({info['name']}, {info['mass_kda']:.0f} kDa) reaches "
            f"{template.radius:.0f} A from its centre; at voxel_size={voxel_size:g} A it "
            f"needs a box of at least size={needed} voxels, got size={size} "
            f"({half_box:.0f} A from centre to edge). Increase size to {needed} or more, "
            f"or voxel_size to {needed_voxel:g} A or more."
        )
    too_large = [t for t in templates if t.radius > half_box]
    if too_large:
        names = "; ".join(t.name for t in too_large[:3]) + ("; ..." if len(too_large) > 3 else "")
        radius = max(t.radius for t in too_large)
        warnings.warn(
            f"{len(too_large)} template(s) ({names}) reach up to {radius:.0f} A from their "
            f"centre but the box is only {half_box:.0f} A from centre to edge "
            f"(size={size} x voxel_size={voxel_size} A); they will be cut at the box edge. "
            "Increase size or voxel_size.",
            UserWarning,
            stacklevel=3,
        )
