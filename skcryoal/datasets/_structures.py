"""Bundled real macromolecular complexes, coarse-grained from wwPDB atomic models.

Each structure is a small ``structures/<key>.npz`` file of pseudo-atoms: ``points``
(float32, Angstrom, (x, y, z), centred on the weighted centroid), ``weights`` (summed
atomic numbers of the atoms each stands for) and ``cell``, the grid (5 A) they were
merged on. ``structures/structures.json`` describes them: source entry, mass, radius of
gyration, box needed, resolution, citation, provenance and licence (the wwPDB data are
CC0 1.0). Both are written by ``tools/build_structures.py`` from the atomic models.
"""

import difflib
import json
import os
import re
from functools import cache, lru_cache
from importlib import resources

import numpy as np

#: Column order of :func:`list_structures` (the table may hold more columns, kept after).
_COLUMNS = (
    "key",
    "pdb_id",
    "name",
    "mass_kda",
    "n_atoms",
    "n_pseudo_atoms",
    "rg_atoms",
    "rg_pseudo_atoms",
    "max_radius",
    "box_size",
    "resolution",
    "method",
    "citation",
    "chains",
    "source",
    "licence",
)


def _data_file(name):
    return resources.files("skcryoal.datasets").joinpath("structures", name)


@lru_cache(maxsize=1)
def _table():
    """Metadata rows by key, in the order of the table (increasing mass)."""
    rows = json.loads(_data_file("structures.json").read_text(encoding="utf-8"))["structures"]
    return {row["key"]: row for row in rows}


def structure_key(name):
    """Canonical key of a bundled structure (case-insensitive), or None."""
    if not isinstance(name, str):
        return None
    keys = {key.upper(): key for key in _table()}
    return keys.get(name.strip().upper())


def structure_info(key):
    """Metadata row of the bundled structure ``key`` (a canonical key)."""
    return dict(_table()[key])


def unknown_structure_message(name):
    """Say that ``name`` is no bundled structure, suggesting the closest ones."""
    table = _table()
    query = name.strip().lower()
    by_name = [key for key, row in table.items() if query and query in row["name"].lower()]
    words = {}
    for key, row in table.items():
        for word in re.findall(r"[a-z0-9]{4,}", row["name"].lower()):
            words.setdefault(word, []).append(key)
    close_words = difflib.get_close_matches(query, list(words), n=1)
    close = (
        by_name
        or difflib.get_close_matches(name.strip().upper(), list(table), n=1)
        or (words[close_words[0]] if close_words else [])
    )
    hint = " Did you mean " + " or ".join(repr(k) for k in close[:3]) + "?" if close else ""
    return (
        f"Unknown template {name!r}: it is neither a bundled structure nor an existing "
        f"file.{hint} Bundled structures: {', '.join(table)} (see list_structures()); "
        "a file path needs its suffix (.pdb, .cif, .mrc, ...)."
    )


def looks_like_structure_name(source):
    """Whether a missing path ``source`` was more likely meant as a structure name."""
    return (
        isinstance(source, str)
        and not os.path.splitext(source)[1]
        and not ({"/", os.sep} & set(source))
    )


@cache
def structure_points(key):
    """Pseudo-atoms of the bundled structure ``key``: points, weights and grid cell (A)."""
    row = _table()[key]
    with _data_file(row["file"]).open("rb") as f, np.load(f) as data:
        points = data["points"].astype(float)
        weights = data["weights"].astype(float)
        cell = float(data["cell"])
    points.flags.writeable = False
    weights.flags.writeable = False
    return points, weights, cell


def list_structures():
    """The bundled real macromolecular complexes, usable as templates by their key.

    Each one is an atomic model from the wwPDB (CC0 1.0), coarse-grained to Gaussian
    pseudo-atoms on a 5 A grid by ``tools/build_structures.py``. Pass its ``key`` wherever
    a template is accepted: :func:`load_template`, :func:`make_template`,
    :func:`simulate_from_templates` or ``make_subtomograms(templates=...)``.

    Returns
    -------
    structures : pandas.DataFrame
        One row per structure, by increasing mass, with columns ``key`` (the name to
        pass), ``pdb_id``, ``name``, ``mass_kda`` (mass of the non-hydrogen atoms kept,
        kDa), ``n_atoms``, ``n_pseudo_atoms``, ``rg_atoms`` and ``rg_pseudo_atoms``
        (radius of gyration of the atomic model and of the pseudo-atoms, Angstrom,
        atoms weighted by atomic number), ``max_radius`` (Angstrom from the centre to the
        farthest pseudo-atom), ``box_size`` (smallest box edge in voxels of 10 A that
        holds it), ``resolution`` (Angstrom), ``method``, ``citation``, ``chains`` (the
        chains kept), ``source`` (where the file came from), ``licence``, and more
        provenance after those.

    Examples
    --------
    >>> from skcryoal.datasets import list_structures
    >>> table = list_structures()
    >>> table.loc[table.key == "4V1W", ["name", "box_size"]].values.tolist()
    [['apoferritin 24-mer (horse spleen)', 14]]
    """
    import pandas as pd

    frame = pd.DataFrame(list(_table().values()))
    columns = [c for c in _COLUMNS if c in frame] + [c for c in frame if c not in _COLUMNS]
    return frame[columns]
