"""``skcryoal campaign``: a labelling campaign in a folder, from the shell.

Each action is a sub-command (``new``, ``status``, ``pretrain``, ``query``,
``export``, ``import``, ``fit``, ``predict``) over :class:`skcryoal.campaign.Campaign`.
Every one records its work in one step (or not at all), so an interrupted
command is simply run again; each prints what to run next.
"""

import argparse

from .. import _pools
from .._common import CLIError, positive_int
from ._commands import (
    _run_export,
    _run_fit,
    _run_import,
    _run_new,
    _run_predict,
    _run_pretrain,
    _run_query,
    _run_status,
)
from ._helpers import _DEFAULT_N, _cli_words

NAME = "campaign"
HELP = (
    "Label a pool of subtomograms with active learning: a campaign folder records the "
    "particles, every label, query round and model; export batches to label, import the "
    "filled sheets, fit, predict."
)

_OVERVIEW = """\
a campaign, step by step:
  skcryoal campaign new ribo --pool particles.star --classes ribosome,proteasome,junk
  skcryoal campaign pretrain ribo              # optional: learn from the unlabeled pool
  skcryoal campaign query ribo -n 20          # queue the next particles to label
  skcryoal campaign export ribo ribo/batch-001  # orthoslice pages + a label sheet
  (fill in the label column of ribo/batch-001/batch.csv)
  skcryoal campaign import ribo ribo/batch-001/batch.csv --annotator ana
  skcryoal campaign status ribo
  ... query, export, import again ...
  skcryoal campaign fit ribo
  skcryoal campaign predict ribo ribo/predictions

Every command can be interrupted and run again; run `skcryoal campaign COMMAND --help`
for its options and an example.
"""


# ------------------------------------------------------------------ arguments
def _command(commands, name, help, example, add=None):
    sub = commands.add_parser(
        name,
        help=help,
        description=help,
        epilog=f"example:\n{example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub.add_argument("folder", metavar="FOLDER", help="the campaign folder")
    if add is not None:
        add(sub)
    sub.set_defaults(campaign_run=_RUNS[name], command_prog=sub.prog)
    return sub


def _add_progress(sub):
    sub.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show training progress on stderr, a bar on a terminal and a line per epoch "
        "otherwise (default: on)",
    )


def _add_new(sub):
    sub.add_argument(
        "--pool",
        metavar="PATH",
        help="the particles: a STAR/CSV table of subtomogram files (rows with a label seed "
        "the campaign), a directory of MRC files, one MRC stack, a .npy array file of "
        "shape (n, D, H, W) or (n, 1, D, H, W) (copied into the folder), or a particle set "
        "(RELION 5/4/3, Warp/M, pytom coordinates; always so with --tomograms, "
        "--tomogram-dir or --tomogram), cut once into FOLDER/extracted (MRC files + "
        "particles.star, every input column kept) which is then the pool, read on every "
        "reopen. Or --copick CONFIG instead of --pool",
    )
    sub.add_argument(
        "--classes",
        required=True,
        metavar="LIST",
        help="all classes, comma-separated (ribosome,proteasome,junk), or @FILE with one "
        "class per line; integers (0,1,2) make integer classes",
    )
    sub.add_argument(
        "--label-column",
        metavar="C",
        help="label column of the table or particle set (default: skcryoalLabelText or "
        "skcryoalLabel; RELION's rlnClassNumber only when named here)",
    )
    sub.add_argument(
        "--strategy",
        default="ema",
        metavar="SPEC",
        help="query strategy, with parameters as in benchmark specs, e.g. "
        "ema:distance=mse (default: ema, EMA deviation)",
    )
    sub.add_argument(
        "--subsample",
        type=positive_int,
        metavar="N",
        help="each query scores a fresh random subset of N unlabeled particles, drawn from "
        "the seed and the round number (default: all of them)",
    )
    model = sub.add_argument_group(
        "model (a CryoNetClassifier, refitted from scratch each fit unless --warm-start)"
    )
    add = model.add_argument
    add("--width", type=positive_int, default=16, metavar="N", help="ResNet3D width (default: 16)")
    add("--epochs", type=positive_int, default=30, metavar="N", help="epochs per fit (default: 30)")
    add("--batch-size", type=positive_int, default=16, metavar="N", help="batch size (default: 16)")
    add("--device", default="cpu", help="torch device: cpu, cuda, cuda:1... (default: cpu)")
    add(
        "--warm-start",
        type=positive_int,
        metavar="EPOCHS",
        help="cheaper fits: the first fit trains from scratch for --epochs, every later one "
        "continues from the latest model for EPOCHS epochs (default: every fit from scratch)",
    )
    add(
        "--no-augment",
        dest="augment",
        action="store_false",
        help="train without the wedge-preserving augmentation (180-degree turns about the "
        "axes, shifts of up to 2 voxels), e.g. for particles whose pose defines the class",
    )
    add(
        "--recipe",
        choices=("pretrained", "paper"),
        default="pretrained",
        help="pretrained: the first fit first learns an encoder from every particle of the "
        "pool, without labels (SimCLR, about 60,000 volumes, resumable; `skcryoal campaign "
        "pretrain` does it ahead, with its own options), and every fit fine-tunes it: the "
        "measured best (docs: Fewer labels). paper: every fit from scratch, the paper's "
        "recipe (default: pretrained)",
    )
    sub.add_argument(
        "--seed", type=int, default=0, help="seed of the campaign and the model (default: 0)"
    )
    sub.add_argument("--annotator", metavar="NAME", help="who creates it (default: login name)")
    sub.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a campaign already in FOLDER (its labels, queue and models are deleted)",
    )
    _pools.add_arguments(sub)


def _add_moved_pool(sub):
    sub.add_argument(
        "--pool",
        metavar="PATH",
        help="read the volumes from here instead of the recorded source (the data moved); "
        "the same particles in the same order",
    )


def _add_status(sub):
    sub.add_argument("--json", action="store_true", help="print the status as JSON")
    sub.add_argument(
        "--budget",
        type=positive_int,
        metavar="N",
        help="a label budget: also say how much annotation time is left to reach it, at the "
        "rate of the decisions timed so far, and print the time per annotator",
    )


def _add_query(sub):
    sub.add_argument(
        "-n",
        type=positive_int,
        default=_DEFAULT_N,
        metavar="N",
        help=f"particles to queue (default: {_DEFAULT_N})",
    )
    sub.add_argument(
        "--no-fit",
        dest="fit",
        action="store_false",
        help="query with the latest model as it is, even if labels were added since",
    )
    sub.add_argument("--annotator", metavar="NAME", help="who queries (default: login name)")
    _add_progress(sub)
    _add_moved_pool(sub)


def _add_export(sub):
    sub.add_argument("outdir", metavar="OUTDIR", help="folder for the pages and the label sheet")
    sub.add_argument(
        "--per-page",
        type=positive_int,
        default=24,
        metavar="K",
        help="particles per page (default: 24)",
    )
    sub.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a label sheet in OUTDIR that holds labels not imported yet",
    )
    _add_moved_pool(sub)


def _add_import(sub):
    sub.add_argument("sheet", metavar="SHEET", help="the filled label sheet (.csv or .star)")
    sub.add_argument("--annotator", metavar="NAME", help="who labeled (default: login name)")
    sub.add_argument(
        "--replace-newer",
        action="store_true",
        help="apply rows that replace labels the annotator gave after the sheet was exported "
        "(an old sheet imported again); without it such a sheet is refused, listing them",
    )


def _add_fit(sub):
    sub.add_argument(
        "--force",
        action="store_true",
        help="fit even if the latest model was fitted on exactly the current labels",
    )
    _add_progress(sub)
    _add_moved_pool(sub)


def _add_pretrain(sub):
    sub.add_argument(
        "--method",
        choices=("simclr", "byol"),
        default="simclr",
        help="self-supervised objective (default: simclr)",
    )
    sub.add_argument(
        "--epochs", type=positive_int, default=30, help="passes over the pool (default: 30)"
    )
    sub.add_argument(
        "--width",
        type=positive_int,
        help="encoder width (default: the campaign classifier's module__width)",
    )
    sub.add_argument("--batch-size", type=positive_int, help="volumes per step (default: 64)")
    _add_progress(sub)
    _add_moved_pool(sub)


def _add_predict(sub):
    sub.add_argument(
        "outdir",
        metavar="OUTDIR",
        help="folder of its own for the output set (predictions.star, predictions.csv, "
        "classes/), replaced whole at each predict, so that a reader never sees two runs "
        "mixed; each class file is the input particle set itself (every block and column "
        "as given) restricted to the class, plus skcryoal* columns",
    )
    sub.add_argument(
        "--no-fit",
        dest="fit",
        action="store_false",
        help="predict with the latest model as it is, even if labels were added since",
    )
    _add_progress(sub)
    _add_moved_pool(sub)


def add_arguments(parser):
    """Add the sub-commands of ``skcryoal campaign`` to ``parser``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _OVERVIEW
    commands = parser.add_subparsers(
        dest="campaign_command", metavar="COMMAND", parser_class=type(parser)
    )
    commands.required = True
    _command(
        commands,
        "new",
        "Create a campaign folder over a pool of particles.",
        "  skcryoal campaign new ribo --pool particles.star \\\n"
        "      --classes ribosome,proteasome,junk --annotator ana\n"
        "  skcryoal campaign new mine --pool subtomograms/ --classes @classes.txt \\\n"
        "      --width 16 --epochs 30 --device cuda\n"
        "  skcryoal campaign new picks --pool particles.star --tomograms tomograms.star \\\n"
        "      --size 32 --voxel-size 10 --classes ribosome,proteasome,junk\n"
        "  skcryoal campaign new cp --copick copick.json --objects ribosome,apoferritin \\\n"
        "      --truth-user curation --size 32 --classes ribosome,apoferritin,junk\n"
        "(particle sets and copick projects are cut once into FOLDER/extracted, the pool)",
        _add_new,
    )
    _command(
        commands,
        "status",
        "Show labels per class, queue, query rounds, models and disagreements.",
        "  skcryoal campaign status ribo\n  skcryoal campaign status ribo --json\n"
        "  skcryoal campaign status ribo --budget 300",
        _add_status,
    )
    _command(
        commands,
        "pretrain",
        "Learn an encoder from every particle, without labels (self-supervised); later fits "
        "start from it and the embedding strategies pick even the first labels with it.",
        "  skcryoal campaign pretrain ribo\n"
        "  skcryoal campaign pretrain ribo --method byol --epochs 50 --threads 2",
        _add_pretrain,
    )
    _command(
        commands,
        "query",
        "Queue the next particles to label (fits a model on the current labels first).",
        "  skcryoal campaign query ribo -n 20",
        _add_query,
    )
    _command(
        commands,
        "export",
        "Write the queued particles as orthoslice pages (PNG, PDF) and a label sheet "
        "(CSV, STAR) to fill in.",
        "  skcryoal campaign export ribo ribo/batch-001",
        _add_export,
    )
    _command(
        commands,
        "import",
        "Import a filled label sheet, all or nothing.",
        "  skcryoal campaign import ribo ribo/batch-001/batch.csv --annotator ana",
        _add_import,
    )
    _command(
        commands,
        "fit",
        "Fit a new model on all current labels and checkpoint it.",
        "  skcryoal campaign fit ribo\n  skcryoal campaign fit ribo --no-progress --threads 2",
        _add_fit,
    )
    _command(
        commands,
        "predict",
        "Predict every particle: a table of all, and per class the input particle set's "
        "own rows and blocks, for RELION 5, Warp/M or copick.",
        "  skcryoal campaign predict ribo ribo/predictions",
        _add_predict,
    )


_RUNS = {
    "new": _run_new,
    "status": _run_status,
    "query": _run_query,
    "export": _run_export,
    "import": _run_import,
    "fit": _run_fit,
    "predict": _run_predict,
    "pretrain": _run_pretrain,
}


def run(args):
    """Run one campaign sub-command; API errors are reworded for the command line."""
    import sqlite3

    from ...campaign import CheckpointError, NewerCampaignError

    prog = args.command_prog
    try:
        return args.campaign_run(args)
    except CLIError:
        raise
    except KeyboardInterrupt:
        raise CLIError(
            f"{prog}: interrupted; what was recorded before is kept and the step in progress "
            "was not recorded. Run the same command again to carry on.",
            status=130,
        ) from None
    except (FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
        message = exc.strerror or str(exc)
        if exc.filename and str(exc.filename) not in message:
            message = f"{message}: {exc.filename}"
        if isinstance(exc, FileNotFoundError) and hasattr(args, "pool") and not args.pool:
            message += "; if the particles moved, pass their new place as --pool PATH"
        raise CLIError(f"{prog}: error: {_cli_words(message)}") from None
    except (ValueError, NewerCampaignError) as exc:
        raise CLIError(f"{prog}: error: {_cli_words(str(exc))}") from None
    except CheckpointError as exc:
        raise CLIError(f"{prog}: error: {exc}", status=1) from None
    except OSError as exc:  # a damaged file, a read-only folder, a full disk...
        message = str(exc.strerror or exc)
        if exc.filename and str(exc.filename) not in message:
            message = f"{message}: {exc.filename}"
        raise CLIError(f"{prog}: error: {_cli_words(message)}", status=1) from None
    except sqlite3.Error as exc:
        raise CLIError(
            f"{prog}: error: the campaign database in {str(args.folder)!r} failed: {exc}",
            status=1,
        ) from None
