"""``skcryoal simulate``: write a simulated subtomogram data set to disk."""

import numpy as np

from ._common import CLIError, finite_float, positive_float, positive_int, snr_value

NAME = "simulate"
HELP = (
    "Simulate labeled subtomograms with skcryoal.datasets.make_subtomograms and write "
    "them as MRC files plus a particle table."
)


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
        default=50,
        metavar="C",
        help="number of classes (default: 50)",
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
        default=0.05,
        help="signal-to-noise ratio, inf for noise-free data (default: 0.05)",
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
        nargs=2,
        default=(-60.0, 60.0),
        metavar=("MIN", "MAX"),
        help="tilt range in degrees, missing wedge (default: -60 60)",
    )
    parser.add_argument(
        "--defocus", type=finite_float, default=-5.0, help="defocus in micrometers (default: -5)"
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
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument(
        "--format",
        choices=("star", "csv"),
        default="star",
        help="particle table format (default: star)",
    )
    parser.add_argument("--prefix", default="subtomo", help="MRC file name prefix")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")


def _class_weights(args):
    if args.class_weights is not None:
        if len(args.class_weights) != args.n_classes:
            raise CLIError(
                f"skcryoal simulate: error: --class-weights needs {args.n_classes} values "
                f"(one per class, --n-classes); got {len(args.class_weights)}."
            )
        weights = np.asarray(args.class_weights, dtype=float)
    elif args.imbalance is not None:
        if args.imbalance < 1:
            raise CLIError(
                "skcryoal simulate: error: --imbalance is the ratio of the most to the least "
                f"frequent class and must be >= 1; got {args.imbalance:g}."
            )
        steps = np.arange(args.n_classes) / max(args.n_classes - 1, 1)
        weights = args.imbalance**-steps
    else:
        return None
    return weights / weights.sum()


def run(args):
    """Simulate, write, and report what was written."""
    from ..datasets import make_subtomograms
    from ..io import write_subtomograms

    if args.tilt_range[0] >= args.tilt_range[1]:
        raise CLIError(
            f"skcryoal simulate: error: --tilt-range MIN MAX needs MIN < MAX; got "
            f"{args.tilt_range[0]:g} {args.tilt_range[1]:g}."
        )
    X, y = make_subtomograms(
        n_samples=args.n_samples,
        n_classes=args.n_classes,
        size=args.size,
        snr=args.snr,
        class_weights=_class_weights(args),
        tilt_range=tuple(args.tilt_range),
        voxel_size=args.voxel_size,
        defocus=args.defocus,
        normalize=not args.no_normalize,
        random_state=args.seed,
    )
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
    counts = np.bincount(y, minlength=args.n_classes)
    size = "x".join(str(s) for s in X.shape[-3:])
    print(
        f"wrote {len(X)} subtomograms of {size} voxels ({args.voxel_size:g} A) in "
        f"{len(counts)} classes (smallest {counts.min()}, largest {counts.max()}) to "
        f"{table.parent}\nparticle table: {table}"
    )
    return 0
