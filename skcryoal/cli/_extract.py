"""``skcryoal extract``: cut the subtomograms of a particle set into MRC files plus a table."""

import argparse
import shlex

from . import _pools
from ._common import CLIError

NAME = "extract"
HELP = (
    "Cut subtomograms out of tomograms at the particles of a particle set (RELION 5/4/3, "
    "Warp/M, pytom-match-pick; any number of tomograms) or of a copick project, into one MRC "
    "file per particle plus a particle table: the input particle set itself (its blocks and "
    "every column, under their names) with the subtomogram files and labels in skcryoal* "
    "columns."
)

_EPILOG = """\
PARTICLES is read with skcryoal.io.read_particle_set, which documents the coordinate
conventions; tomograms are opened one at a time and only their boxes are read. OUTDIR
receives subtomo_000000.mrc ... and particles.star (or .csv), all at once or nothing:
read it with skcryoal.io.read_subtomograms, or pass it to skcryoal campaign new --pool
or skcryoal benchmark --table.

The table is PARTICLES itself, restricted to the rows cut: its other blocks
(data_general, data_optics...) and every column as given, under its own name
(rlnImageName, rlnClassNumber and rlnOpticsGroup included: nothing is renamed),
plus skcryoal's columns: skcryoalImageName (the subtomogram file, relative to the
table), skcryoalImagePixelSize, the labels in skcryoalLabelText or skcryoalLabel,
and skcryoal_* (tomogram, voxel coordinates, skcryoal_row: the row in PARTICLES).
RELION's class numbers stay labels to read by name: --label-column rlnClassNumber
(here, in skcryoal campaign new, or read_subtomograms(..., label_column=...)).

examples:
  skcryoal extract particles.star subtomograms --tomograms tomograms.star --size 32
  skcryoal extract picks.star subtomograms --tomogram-dir Tomograms/job007 \\
      --size 48 --voxel-size 10 --edge skip
  skcryoal extract TS_01_particles.star TS_01_boxes --tomogram TS_01.mrc --size 32
  skcryoal extract --copick copick.json subtomograms --objects ribosome,apoferritin \\
      --tomo-type denoised --voxel-spacing 10.012 --truth-user curation --size 32
"""


def add_arguments(parser):
    """Add the options of ``skcryoal extract`` to ``parser``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _EPILOG
    parser.add_argument(
        "particles",
        nargs="?",
        metavar="PARTICLES",
        help="the particle table (.star or .csv); leave it out with --copick",
    )
    parser.add_argument("outdir", metavar="OUTDIR", help="folder for the MRC files and the table")
    parser.add_argument(
        "--label-column",
        metavar="C",
        help="label column of PARTICLES, written as the subtomograms' labels in "
        "skcryoalLabelText or skcryoalLabel, the column itself kept as it is (default: "
        "skcryoalLabelText or skcryoalLabel; rows without a label stay unlabeled)",
    )
    parser.add_argument(
        "--format",
        choices=("star", "csv"),
        default="star",
        help="format of the particle table (default: star, with the input's other blocks; "
        "csv holds the particle rows only)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an earlier extraction in OUTDIR (its table and subtomogram files)",
    )
    _pools.add_arguments(parser)


def run(args):
    """Cut the particles into OUTDIR and say what was written."""
    prog = args.command_prog
    spec = _pools.spec_from_args(args, args.particles, prog, what="PARTICLES", forced=True)
    if spec is None:
        raise CLIError(
            f"{prog}: error: give the particle table (PARTICLES OUTDIR) or a copick project "
            "(--copick CONFIG OUTDIR)"
        )
    with _pools.cli_errors(prog):
        source = _pools.read_source(spec)
        extraction = _pools.extract_to_folder(
            source,
            args.outdir,
            size=spec["size"],
            voxel_size=spec["voxel_size"],
            edge=spec["edge"],
            standardize=spec["standardize"],
            fmt=args.format,
            overwrite=args.overwrite,
            protect=[spec.get("particles")],
        )
    print("\n".join(_pools.summary_lines(extraction)))
    table = shlex.quote(str(extraction.table_path))
    labels = extraction.labels
    partial = ", partial_labels=True" if labels is not None and None in labels.tolist() else ""
    print(
        f"\nNext: read them with skcryoal.io.read_subtomograms({str(extraction.table_path)!r}"
        f"{partial}), or label them:\n  skcryoal campaign new CAMPAIGN --pool {table} "
        "--classes LIST"
    )
    return 0
