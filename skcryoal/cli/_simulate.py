"""``skcryoal simulate``: write a simulated subtomogram data set to disk."""

import argparse
import json
import math

import numpy as np

from ..utils._atomic import atomic_write_text
from ._common import CLIError, finite_float, positive_float, positive_int, snr_value

NAME = "simulate"
HELP = (
    "Simulate labeled subtomograms with skcryoal.datasets.make_subtomograms (built-in "
    "classes or bundled real structures, optionally with junk boxes and crowding "
    "neighbours) and write them as MRC files plus a particle table, with a legend of the "
    "labels in classes.json."
)

#: The legend of the labels, next to the particle table (not a table: a folder read with
#: read_subtomograms must hold only one).
LEGEND = "classes.json"
#: per-particle imaging conditions, written when they vary (several tomograms or ranges)
CONDITIONS = "conditions.csv"


def _name_list(text):
    """Argparse type: comma-separated names, none empty."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated names such as 4V5D,4V1W, got {text!r}"
        )
    return names


def _junk_fraction(text):
    """Argparse type: a fraction in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}") from None
    if not (math.isfinite(value) and 0 <= value < 1):
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}")
    return value


def _non_negative(text):
    """Argparse type: a finite number >= 0."""
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def add_arguments(parser):
    """Add the options of ``skcryoal simulate`` to ``parser``."""
    parser.add_argument("outdir", metavar="OUTDIR", help="output directory (created if needed)")
    parser.add_argument(
        "--n-samples",
        type=positive_int,
        default=1000,
        metavar="N",
        help="number of subtomograms (default: 1000)",
    )
    parser.add_argument(
        "--n-classes",
        type=positive_int,
        default=None,
        metavar="C",
        help="number of built-in classes (default: 50, or the number of --templates)",
    )
    parser.add_argument(
        "--templates",
        type=_name_list,
        metavar="KEYS",
        help="bundled real structures as the classes, comma-separated, e.g. "
        "4V5D,4V1W,3JB9 (label k is the k-th; see skcryoal.datasets.list_structures: "
        "3KPR, 6MSM, 7PBL, 4V1W, 4V5D-30S, 3JB9, 4V5D-50S, 4V5D; a .pdb, .cif or .mrc file of "
        "your own works too); the box must hold them (--size x --voxel-size, e.g. 32 x 12 "
        "A for all of them)",
    )
    parser.add_argument(
        "--size",
        type=positive_int,
        default=32,
        metavar="S",
        help="box edge in voxels (default: 32)",
    )
    parser.add_argument(
        "--snr",
        type=snr_value,
        nargs="+",
        default=[0.05],
        metavar="SNR",
        help="signal-to-noise ratio, inf for noise-free data (default: 0.05); two values "
        "LOW HIGH draw each tomogram's SNR log-uniformly between them (ice thickness, see "
        "--n-tomograms)",
    )
    weights = parser.add_mutually_exclusive_group()
    weights.add_argument(
        "--imbalance",
        type=positive_float,
        metavar="RATIO",
        help="ratio of the most to the least frequent class; class frequencies decay "
        "geometrically from class 0 to class C-1 (default: balanced)",
    )
    weights.add_argument(
        "--class-weights",
        type=positive_float,
        nargs="+",
        metavar="W",
        help="relative frequency of each class (C values)",
    )
    parser.add_argument(
        "--tilt-range",
        type=finite_float,
        nargs="+",
        default=[-60.0, 60.0],
        metavar="ANGLE",
        help="tilt range in degrees, MIN MAX, missing wedge (default: -60 60); four values "
        "give the narrowest and widest ranges, e.g. -45 45 -70 70, each tomogram's drawn "
        "between them",
    )
    parser.add_argument(
        "--defocus",
        type=finite_float,
        nargs="+",
        default=[-5.0],
        metavar="UM",
        help="defocus in micrometers (default: -5); two values LOW HIGH draw each "
        "tomogram's uniformly between them",
    )
    parser.add_argument(
        "--n-tomograms",
        type=positive_int,
        default=1,
        metavar="N",
        help="number of tomograms the boxes come from, each with its own SNR, defocus and "
        "tilt range when these are ranges; the per-particle conditions are written to "
        f"{CONDITIONS} (default: 1)",
    )
    parser.add_argument(
        "--voxel-size",
        type=positive_float,
        default=10.0,
        metavar="A",
        help="voxel size in Angstrom (default: 10)",
    )
    parser.add_argument(
        "--no-normalize", action="store_true", help="do not standardize the simulated volumes"
    )
    junk = parser.add_argument_group("junk and crowding (default: particles only)")
    junk.add_argument(
        "--junk",
        type=_junk_fraction,
        default=0.0,
        metavar="F",
        help="fraction of the boxes, in [0, 1), that hold junk instead of a particle: gold, "
        "membrane, ice, empty, carbon edge, off-centre or edge-cut particles (see "
        "skcryoal.datasets.make_junk); labelled 'not a particle', after the particle classes",
    )
    junk.add_argument(
        "--junk-kinds",
        type=_name_list,
        metavar="KINDS",
        help="kinds of junk, comma-separated, from gold, membrane, ice, empty, carbon, "
        "off-centre, edge-cut (default: all of them)",
    )
    junk.add_argument(
        "--junk-as-classes",
        action="store_true",
        help="one label per kind of junk instead of a single 'not a particle' label",
    )
    junk.add_argument(
        "--crowding",
        type=_non_negative,
        default=0.0,
        metavar="M",
        help="mean number (Poisson) of neighbouring particles reaching into each particle's "
        "box (default: 0)",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument(
        "--format",
        choices=("star", "csv"),
        default="star",
        help="particle table format (default: star)",
    )
    parser.add_argument("--prefix", default="subtomo", help="MRC file name prefix")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")


def _n_classes(args):
    if args.templates is None:
        return 50 if args.n_classes is None else args.n_classes
    if args.n_classes is not None and args.n_classes != len(args.templates):
        raise CLIError(
            f"skcryoal simulate: error: --n-classes {args.n_classes} contradicts --templates, "
            f"which name {len(args.templates)} classes; leave --n-classes out."
        )
    return len(args.templates)


def _check_junk_options(args):
    if args.junk == 0:
        given = [
            flag
            for flag, value in (
                ("--junk-kinds", args.junk_kinds is not None),
                ("--junk-as-classes", args.junk_as_classes),
            )
            if value
        ]
        if given:
            raise CLIError(
                f"skcryoal simulate: error: {' and '.join(given)} without junk boxes: give "
                "--junk F too, the fraction of junk (e.g. --junk 0.6)."
            )


def _class_weights(args):
    n_classes = _n_classes(args)
    if args.class_weights is not None:
        if len(args.class_weights) != n_classes:
            what = "--templates" if args.templates is not None else "--n-classes"
            raise CLIError(
                f"skcryoal simulate: error: --class-weights needs {n_classes} values "
                f"(one per class, {what}); got {len(args.class_weights)}."
            )
        weights = np.asarray(args.class_weights, dtype=float)
    elif args.imbalance is not None:
        if args.imbalance < 1:
            raise CLIError(
                "skcryoal simulate: error: --imbalance is the ratio of the most to the least "
                f"frequent class and must be >= 1; got {args.imbalance:g}."
            )
        steps = np.arange(n_classes) / max(n_classes - 1, 1)
        weights = args.imbalance**-steps
    else:
        return None
    return weights / weights.sum()


def run(args):
    """Simulate, write, and report what was written."""
    from ..datasets import describe_classes, make_subtomograms
    from ..io import write_subtomograms

    snr, tilt_range, defocus = _imaging(args)
    _check_junk_options(args)
    # only what was asked for, so that a run without the new options calls as before
    extra = {}
    if args.templates is not None:
        extra["templates"] = args.templates
    if args.junk > 0:
        extra.update(junk=args.junk, junk_as_classes=args.junk_as_classes)
        if args.junk_kinds is not None:
            extra["junk_kinds"] = args.junk_kinds
    if args.crowding > 0:
        extra["crowding"] = args.crowding
    if args.n_tomograms > 1:
        extra["n_tomograms"] = args.n_tomograms
    class_weights = _class_weights(args)
    try:
        target_names = describe_classes(
            None if args.templates is not None else _n_classes(args),
            templates=args.templates,
            junk=args.junk,
            junk_kinds=args.junk_kinds,
            junk_as_classes=args.junk_as_classes,
        )
    except (ValueError, TypeError) as exc:
        raise CLIError(f"skcryoal simulate: error: {exc}") from None
    try:
        X, y, poses = make_subtomograms(
            n_samples=args.n_samples,
            n_classes=args.n_classes,
            size=args.size,
            snr=snr,
            class_weights=class_weights,
            tilt_range=tilt_range,
            voxel_size=args.voxel_size,
            defocus=defocus,
            normalize=not args.no_normalize,
            return_poses=True,
            random_state=args.seed,
            **extra,
        )
    except (ValueError, TypeError) as exc:
        raise CLIError(f"skcryoal simulate: error: {exc}") from None
    try:
        table = write_subtomograms(
            args.outdir,
            X,
            y,
            voxel_size=args.voxel_size,
            format=args.format,
            prefix=args.prefix,
            overwrite=args.overwrite,
        )
    except FileExistsError as exc:
        message = str(exc).replace("Pass overwrite=True", "Pass --overwrite")
        raise CLIError(f"skcryoal simulate: error: {message}") from None
    counts = np.bincount(y, minlength=len(target_names))
    legend = [
        dict(label=label, name=name, count=int(count))
        for label, (name, count) in enumerate(zip(target_names, counts))
    ]
    if "tomogram" in poses:
        _write_conditions(table.parent / CONDITIONS, args.prefix, poses)
    atomic_write_text(
        table.parent / LEGEND, json.dumps(dict(classes=legend, **_recorded(args)), indent=2) + "\n"
    )
    size = "x".join(str(s) for s in X.shape[-3:])
    print(
        f"wrote {len(X)} subtomograms of {size} voxels ({args.voxel_size:g} A) in "
        f"{len(counts)} classes (smallest {counts.min()}, largest {counts.max()}) to "
        f"{table.parent}\nparticle table: {table}\nlabels: {table.parent / LEGEND}"
    )
    if len(legend) <= 20:
        print("  label  count  class")
        for row in legend:
            print(f"  {row['label']:>5}  {row['count']:>5}  {row['name']}")
    return 0


def _imaging(args):
    """``(snr, tilt_range, defocus)`` for the simulator, from one value or a range each."""
    prog = "skcryoal simulate: error:"
    if len(args.snr) > 2 or len(args.defocus) > 2:
        option = "--snr" if len(args.snr) > 2 else "--defocus"
        raise CLIError(f"{prog} {option} takes one value or two (LOW HIGH), not more.")
    if len(args.tilt_range) not in (2, 4):
        raise CLIError(
            f"{prog} --tilt-range takes MIN MAX, or four values (the narrowest and widest "
            f"ranges, e.g. -45 45 -70 70); got {len(args.tilt_range)} values."
        )
    for lo, hi in zip(args.tilt_range[::2], args.tilt_range[1::2]):
        if lo >= hi:
            raise CLIError(f"{prog} --tilt-range MIN MAX needs MIN < MAX; got {lo:g} {hi:g}.")
    snr = tuple(args.snr) if len(args.snr) == 2 else args.snr[0]
    defocus = tuple(args.defocus) if len(args.defocus) == 2 else args.defocus[0]
    t = args.tilt_range
    tilt_range = tuple(t) if len(t) == 2 else (tuple(t[:2]), tuple(t[2:]))
    return snr, tilt_range, defocus


def _write_conditions(path, prefix, poses):
    """One row per particle, in the table's order: its tomogram and imaging conditions."""
    import io

    import pandas as pd

    # write_subtomograms names the files so, numbering from 0 like the rows
    names = [f"{prefix}_{i:06d}.mrc" for i in range(len(poses.tomogram))]
    frame = pd.DataFrame(
        dict(
            rlnImageName=names,
            tomogram=poses.tomogram,
            snr=poses.snr,
            defocus_um=poses.defocus,
            tilt_min=poses.tilt_range[:, 0],
            tilt_max=poses.tilt_range[:, 1],
        )
    )
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, float_format="%.6g")
    atomic_write_text(path, buffer.getvalue())


def _recorded(args):
    """The simulation's parameters, as given, for the legend file."""
    return dict(
        parameters=dict(
            n_samples=args.n_samples,
            templates=args.templates,
            n_classes=_n_classes(args),
            size=args.size,
            voxel_size=args.voxel_size,
            snr=["inf" if math.isinf(s) else s for s in args.snr]  # JSON has no infinity
            if len(args.snr) > 1
            else ("inf" if math.isinf(args.snr[0]) else args.snr[0]),
            tilt_range=list(args.tilt_range)
            if len(args.tilt_range) == 2
            else [args.tilt_range[:2], args.tilt_range[2:]],
            defocus=args.defocus if len(args.defocus) > 1 else args.defocus[0],
            n_tomograms=args.n_tomograms,
            normalize=not args.no_normalize,
            junk=args.junk,
            junk_kinds=args.junk_kinds,
            junk_as_classes=args.junk_as_classes,
            crowding=args.crowding,
            seed=args.seed,
        )
    )
