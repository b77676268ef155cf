"""The options that name a particle set or a copick project, and their checks."""

import argparse
import importlib.util
from pathlib import Path

from .._common import CLIError, positive_float, positive_int

CONVENTIONS = ("auto", "relion5", "relion4", "relion3", "warp", "pytom", "pixels")
EDGES = ("raise", "skip", "pad")
DEFAULT_SIZE = 32
INSTALL_COPICK = "pip install 'skcryoal[copick]'"

#: where a particle set's tomograms are (read_particle_set's tomograms=, tomogram_dir=...)
TOMOGRAM_OPTIONS = ("tomograms", "tomogram_dir", "tomogram", "tomogram_column", "convention")
#: how the boxes are cut (besides --size, which the benchmark shares with the simulator)
CUT_OPTIONS = ("voxel_size", "edge", "standardize")
#: which picks of a copick project (read_copick's arguments)
COPICK_OPTIONS = (
    "objects",
    "user",
    "session",
    "runs",
    "tomo_type",
    "voxel_spacing",
    "truth_user",
    "truth_session",
)


def name_list(text):
    """Argparse type: names separated by commas (``ribosome,apoferritin``)."""
    names = [s.strip() for s in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected names separated by single commas, got {text!r}")
    return names


def _flag(option):
    if option == "standardize":
        return "--no-standardize"
    return "--" + option.replace("_", "-")


def add_arguments(parser, *, size=True, simulated=False):
    """Add the particle-set and copick options to ``parser`` (two argument groups).

    ``size=False`` leaves ``--size`` to the command (the benchmark's also sizes
    simulated volumes); ``args.size`` must exist either way. ``simulated=True``
    says in the help that ``--voxel-size`` also sets the voxel size of simulated
    volumes (the command handles that).
    """
    tomo = parser.add_argument_group(
        "particle sets (RELION 5/4/3, Warp/M, pytom-match-pick tables: subtomograms are "
        "cut from the tomograms)"
    )
    add = tomo.add_argument
    add(
        "--tomograms",
        metavar="STAR",
        help="RELION tomograms STAR of the particle set: each rlnTomoName's file, unbinned "
        "size, tilt-series pixel size and binning",
    )
    add(
        "--tomogram-dir",
        metavar="DIR",
        help="folder holding the tomograms: TS_01 is looked up as TS_01.mrc, .rec, .zarr, "
        ".map, then rec_TS_01.mrc... (where --tomograms does not give the file)",
    )
    add(
        "--tomogram",
        metavar="FILE",
        help="the one tomogram (MRC or OME-Zarr) of a single-tomogram table",
    )
    add(
        "--tomogram-column",
        metavar="C",
        help="column of --tomograms holding the files (default: "
        "rlnTomoReconstructedTomogram, else rlnTomoReconstructedTomogramDenoised)",
    )
    add(
        "--convention",
        choices=CONVENTIONS,
        help="how to read the coordinates (default: auto, recognised by the columns; see "
        "skcryoal.io.read_particle_set)",
    )
    if size:
        add(
            "--size",
            type=positive_int,
            metavar="N",
            help=f"box edge in voxels of the subtomograms (default: {DEFAULT_SIZE})",
        )
    add(
        "--voxel-size",
        type=positive_float,
        metavar="A",
        help="voxel size of the subtomograms in Angstrom (the one the classifier is trained "
        "at): tomograms at another voxel size are resampled by Fourier cropping or padding "
        "(default: the tomograms' own, which must then agree)"
        + (
            "; without --table or --copick, the voxel size of the simulated volumes "
            "(default: the preset's, 10 or 12)"
            if simulated
            else ""
        ),
    )
    add(
        "--edge",
        choices=EDGES,
        help="boxes that do not fit inside their tomogram: raise an error naming them, "
        "skip them, or pad with the tomogram mean (default: raise)",
    )
    add(
        "--no-standardize",
        dest="standardize",
        action="store_false",
        default=None,
        help="keep the tomograms' grey values in the subtomograms (default: standardize "
        "each to zero mean and unit standard deviation, as the classifier expects)",
    )

    cp = parser.add_argument_group(
        f"copick projects (instead of a particle table; needs {INSTALL_COPICK})"
    )
    add = cp.add_argument
    add("--copick", metavar="CONFIG", help="the copick project's config file (JSON)")
    add(
        "--objects",
        type=name_list,
        metavar="LIST",
        help="pickable objects whose picks are read (default: every particle object)",
    )
    add("--user", type=name_list, metavar="LIST", help="read only picks by these users/tools")
    add("--session", type=name_list, metavar="LIST", help="read only picks of these sessions")
    add("--runs", type=name_list, metavar="LIST", help="read only these runs (default: all)")
    add(
        "--tomo-type",
        metavar="T",
        help="tomogram type the picks are cut from, e.g. wbp or denoised (default: wbp)",
    )
    add(
        "--voxel-spacing",
        type=positive_float,
        metavar="A",
        help="voxel spacing of those tomograms in Angstrom (default: the only one there is)",
    )
    add(
        "--truth-user",
        metavar="U",
        help="picks by this user are ground truth: their object name is the particle's label",
    )
    add(
        "--truth-session",
        metavar="S",
        help="picks of this session are ground truth (with or without --truth-user)",
    )


def _given(args, options):
    return [o for o in options if getattr(args, o, None) is not None]


def copick_installed():
    """Whether copick can be imported (a separate function, so tests can pretend)."""
    return importlib.util.find_spec("copick") is not None


def _absolute(path):
    return None if path is None else str(Path(path).absolute())


def spec_from_args(args, path, prog, *, what, forced=False, size_is_ours=True):
    """Describe the particles to cut, as a JSON-able dict; None if ``path`` is not a set.

    Parameters
    ----------
    args : argparse.Namespace
        With the options of :func:`add_arguments` and ``label_column``.
    path : str or None
        The command's table argument (PARTICLES, ``--table``, ``--pool``).
    prog : str
        For messages.
    what : str
        How the command names ``path`` in messages.
    forced : bool, default=False
        ``path`` is a particle set whatever its columns (``skcryoal extract``).
    size_is_ours : bool, default=True
        ``--size`` sizes the boxes of a particle set only (with False, the
        command checks it).

    Returns
    -------
    spec : dict or None
        ``kind`` ("particles" or "copick"), the inputs as absolute paths, the
        options of the reader, ``label_column``, ``size``, ``voxel_size`` and
        ``edge``. None when the input is not a particle set or a copick project
        (a table of subtomogram files, a directory, a stack...).
    """
    label_column = getattr(args, "label_column", None)
    tomo = _given(args, TOMOGRAM_OPTIONS)
    cut = _given(args, CUT_OPTIONS + (("size",) if size_is_ours else ()))
    copick = _given(args, COPICK_OPTIONS)
    cut_spec = dict(
        size=getattr(args, "size", None) or DEFAULT_SIZE,
        voxel_size=args.voxel_size,
        edge=args.edge or "raise",
        standardize=getattr(args, "standardize", None) is not False,
    )
    if args.copick is not None:
        if path is not None:
            raise CLIError(f"{prog}: error: give either {what} or --copick, not both")
        if tomo:
            raise CLIError(
                f"{prog}: error: {', '.join(map(_flag, tomo))} describe the tomograms of a "
                "particle table; a copick project names its own (choose them with --tomo-type "
                "and --voxel-spacing)"
            )
        if label_column is not None:
            raise CLIError(
                f"{prog}: error: --label-column names a column of a particle table; the "
                "labels of a copick project are the object names of the truth picks "
                "(--truth-user, --truth-session)"
            )
        if not copick_installed():
            raise CLIError(
                f"{prog}: error: --copick needs the optional package copick, which is not "
                f"installed; install it with: {INSTALL_COPICK}"
            )
        return dict(
            kind="copick",
            copick=_absolute(args.copick),
            objects=args.objects,
            users=args.user,
            sessions=args.session,
            runs=args.runs,
            tomo_type=args.tomo_type or "wbp",
            voxel_spacing=args.voxel_spacing,
            truth_user=args.truth_user,
            truth_session=args.truth_session,
            **cut_spec,
        )
    if copick:
        raise CLIError(
            f"{prog}: error: {', '.join(map(_flag, copick))} select the picks of a copick "
            "project; they need --copick CONFIG"
        )
    if path is not None and (forced or tomo or is_particle_set(path)):
        if args.tomogram is not None and (args.tomograms or args.tomogram_dir):
            raise CLIError(
                f"{prog}: error: --tomogram names the one tomogram of the table; it does not "
                "go with --tomograms or --tomogram-dir"
            )
        return dict(
            kind="particles",
            particles=_absolute(path),
            tomograms=_absolute(args.tomograms or args.tomogram),
            tomogram_dir=_absolute(args.tomogram_dir),
            tomogram_column=args.tomogram_column,
            convention=args.convention or "auto",
            label_column=label_column,
            **cut_spec,
        )
    if tomo or cut:
        where = (
            f"{what} {path!r} is not one (it lists subtomogram files, or has no coordinates)"
            if path is not None
            else f"give it as {what}"
        )
        raise CLIError(
            f"{prog}: error: {', '.join(map(_flag, tomo + cut))} apply to a particle set "
            f"(particle coordinates and their tomograms); {where}"
        )
    return None


def is_particle_set(path):
    """Whether ``path`` is a table of particle coordinates rather than of subtomogram files.

    A table with an image column (``rlnImageName``...) lists subtomogram files and is
    read as such, unless tomogram options say otherwise.
    """
    from ...io import _conventions as conv
    from ...io._tables import IMAGE_COLUMNS, TABLE_SUFFIXES, particle_block, read_blocks

    path = Path(path)
    if path.suffix.lower() not in TABLE_SUFFIXES or not path.is_file():
        return False
    try:
        particles = particle_block(path, read_blocks(path))
    except (ValueError, OSError):  # the usual reader says what is wrong with it
        return False
    if any(c in particles.columns for c in IMAGE_COLUMNS):
        return False
    return conv.detect(particles.columns) is not None


def describe(spec):
    """A short name of the input, for messages and the benchmark's dataset."""
    if spec["kind"] == "copick":
        return f"copick {Path(spec['copick']).name}"
    return Path(spec["particles"]).name
