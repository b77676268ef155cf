"""``skcryoal campaign``: a labelling campaign in a folder, from the shell.

Each action is a sub-command (``new``, ``status``, ``query``, ``export``,
``import``, ``fit``, ``predict``) over :class:`skcryoal.campaign.Campaign`.
Every one records its work in one step (or not at all), so an interrupted
command is simply run again; each prints what to run next.
"""

import argparse
import contextlib
import dataclasses
import json
import re
import shlex
import sys
import time
from pathlib import Path

from ._common import CLIError, positive_int

NAME = "campaign"
HELP = (
    "Label a pool of subtomograms with active learning: a campaign folder records the "
    "particles, every label, query round and model; export batches to label, import the "
    "filled sheets, fit, predict."
)

_OVERVIEW = """\
a campaign, step by step:
  skcryoal campaign new ribo --pool particles.star --classes ribosome,proteasome,junk
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

_DEFAULT_N = 20


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
        required=True,
        metavar="PATH",
        help="the particles: a STAR/CSV particle table (rows with a label seed the "
        "campaign), a directory of MRC files, one MRC stack, or a .npy array file of "
        "shape (n, D, H, W) or (n, 1, D, H, W) (copied into the folder)",
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
        help="label column of the table (default: skcryoalLabelText or skcryoalLabel; "
        "RELION's rlnClassNumber only when named here)",
    )
    sub.add_argument(
        "--strategy",
        default="ema",
        metavar="SPEC",
        help="query strategy, with parameters as in benchmark specs, e.g. "
        "ema:subsample=5000 (default: ema, EMA deviation)",
    )
    model = sub.add_argument_group("model (a CryoNetClassifier, refitted from scratch each fit)")
    add = model.add_argument
    add("--width", type=positive_int, default=16, metavar="N", help="ResNet3D width (default: 16)")
    add("--epochs", type=positive_int, default=30, metavar="N", help="epochs per fit (default: 30)")
    add("--batch-size", type=positive_int, default=16, metavar="N", help="batch size (default: 16)")
    add("--device", default="cpu", help="torch device: cpu, cuda, cuda:1... (default: cpu)")
    sub.add_argument(
        "--seed", type=int, default=0, help="seed of the campaign and the model (default: 0)"
    )
    sub.add_argument("--annotator", metavar="NAME", help="who creates it (default: login name)")
    sub.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a campaign already in FOLDER (its labels, queue and models are deleted)",
    )


def _add_moved_pool(sub):
    sub.add_argument(
        "--pool",
        metavar="PATH",
        help="read the volumes from here instead of the recorded source (the data moved); "
        "the same particles in the same order",
    )


def _add_status(sub):
    sub.add_argument("--json", action="store_true", help="print the status as JSON")


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


def _add_fit(sub):
    sub.add_argument(
        "--force",
        action="store_true",
        help="fit even if the latest model was fitted on exactly the current labels",
    )
    _add_progress(sub)
    _add_moved_pool(sub)


def _add_predict(sub):
    sub.add_argument("outdir", metavar="OUTDIR", help="folder for the prediction tables")
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
        "      --width 16 --epochs 30 --device cuda",
        _add_new,
    )
    _command(
        commands,
        "status",
        "Show labels per class, queue, query rounds, models and disagreements.",
        "  skcryoal campaign status ribo\n  skcryoal campaign status ribo --json",
        _add_status,
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
        "Predict every particle: a table of all, and one STAR file per class for RELION.",
        "  skcryoal campaign predict ribo ribo/predictions",
        _add_predict,
    )


# -------------------------------------------------------------------- helpers
def _cli_words(message):
    """Say in command-line terms what the Python API's messages say in its own."""
    for api, cli in (
        (r"overwrite=True", "--overwrite"),
        (r"query\((\d+)\)", r"-n \1"),
        (r"Campaign\.open\(path\)", "skcryoal campaign status"),
        (r"call campaign\.query\(n\) first", "run skcryoal campaign query first"),
        (r"call campaign\.fit\(\) first", "run skcryoal campaign fit first"),
    ):
        message = re.sub(api, cli, message)
    return message


def _count(n, noun):
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _shell(path):
    return shlex.quote(str(path))


def _next(text, *commands):
    print(f"\nNext: {text}")
    for command in commands:
        print(f"  {command}")


def _open(args):
    """Open the campaign in ``args.folder``, or say why there is none."""
    from ..campaign import Campaign
    from ..campaign._store import DB_NAME

    folder = Path(args.folder)
    if not folder.exists():
        raise CLIError(
            f"{args.command_prog}: error: the campaign folder {str(folder)!r} does not exist; "
            f"create one with: skcryoal campaign new {_shell(folder)} --pool PATH --classes LIST"
        )
    if not (folder / DB_NAME).is_file():
        what = "a folder" if folder.is_dir() else "a file"
        raise CLIError(
            f"{args.command_prog}: error: {str(folder)!r} is {what} but not a campaign folder "
            f"(no {DB_NAME} in it); create one with: skcryoal campaign new {_shell(folder)} "
            "--pool PATH --classes LIST"
        )
    pool = getattr(args, "pool", None)
    campaign = Campaign.open(folder, pool=pool, annotator=getattr(args, "annotator", None))
    if hasattr(args, "pool"):  # commands that read volumes: fail before any work if they moved
        try:
            campaign.volume(0)
        except BaseException:
            campaign.close()
            raise
    return campaign


def _n_classes_line(per_class):
    return ", ".join(f"{k}: {v}" for k, v in per_class.items())


def _model_line(model):
    m = model["metrics"]
    parts = [f"model #{model['id']}: fitted on {model['n_labels']} labels"]
    if m.get("train_accuracy") is not None:
        parts.append(f"training accuracy {m['train_accuracy']:.3f}")
    if m.get("train_loss") is not None:
        parts.append(f"loss {m['train_loss']:.4f}")
    epochs = f"{m['epochs']} epochs in " if m.get("epochs") else ""
    if m.get("fit_seconds") is not None:
        parts.append(f"{epochs}{m['fit_seconds']:.1f} s")
    return ", ".join(parts)


@contextlib.contextmanager
def _epoch_progress(progress):
    """Yield an ``on_epoch(epoch, n_epochs)`` for Campaign.fit, or None (no progress)."""
    if progress is False:
        yield None
        return
    bar, start = [], time.perf_counter()

    def on_epoch(epoch, n_epochs):
        if not sys.stderr.isatty():
            seconds = time.perf_counter() - start
            print(f"  epoch {epoch}/{n_epochs} ({seconds:.1f} s)", file=sys.stderr, flush=True)
            return
        if not bar:
            from tqdm.std import tqdm

            bar.append(
                tqdm(total=n_epochs, desc="training", unit="epoch", file=sys.stderr, leave=False)
            )
        bar[0].update(epoch - bar[0].n)

    try:
        yield on_epoch
    finally:
        if bar:
            bar[0].close()


def _fit(campaign, args, status, why):
    """Fit with progress, print the new model's metrics and return the new status."""
    print(
        f"Fitting a model on {status.n_labeled} labels ({_n_classes_line(status.per_class)}) "
        f"{why} ...",
        flush=True,
    )
    with _epoch_progress(args.progress) as on_epoch:
        campaign.fit(on_epoch=on_epoch)
    status = campaign.status()
    print(_model_line(status.models[-1]))
    return status


def _fit_if_stale(campaign, args, status):
    """Fit before a query or predict, as Campaign would, but with progress shown."""
    if not args.fit or status.n_labeled < 2:
        return status
    if not status.model_up_to_date:
        why = "first (labels changed since the last model)" if status.models else "first"
        return _fit(campaign, args, status, why)
    print(f"Model #{status.models[-1]['id']} is up to date with the {status.n_labeled} labels.")
    return status


def _suggest_batch(args, status):
    return Path(args.folder) / f"batch-{status.n_rounds:03d}"


def _next_after(args, status):
    """Print the command that naturally follows, given the campaign's state."""
    folder = _shell(args.folder)
    if status.n_queued:
        _next(
            f"export the {_count(status.n_queued, 'queued particle')} to label them:",
            f"skcryoal campaign export {folder} {_shell(_suggest_batch(args, status))}",
        )
    elif status.n_unlabeled:
        _next(
            "queue particles to label:",
            f"skcryoal campaign query {folder} -n {_DEFAULT_N}",
        )
    else:
        _next(
            "every particle is labeled or skipped; write the final tables:",
            f"skcryoal campaign predict {folder} {_shell(Path(args.folder) / 'predictions')}",
        )


# ----------------------------------------------------------------------- new
def _parse_classes(text, prog):
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise CLIError(
                f"{prog}: error: cannot read the class file {str(path)!r} given as --classes "
                f"{text} ({exc.strerror or exc}); give one class per line"
            ) from None
        names = [s.strip() for s in lines if s.strip() and not s.lstrip().startswith("#")]
        where = f"the class file {str(path)!r}"
    else:
        names = [s.strip() for s in text.split(",")]
        where = f"--classes {text!r}"
        if "" in names:
            raise CLIError(
                f"{prog}: error: {where} has an empty class name; give names separated by "
                "single commas (ribosome,proteasome,junk)"
            )
    if len(names) < 2:
        raise CLIError(
            f"{prog}: error: {where} names {len(names)} class(es); a campaign needs at least 2"
        )
    if all(re.fullmatch(r"[+-]?\d+", s) for s in names):
        return [int(s) for s in names]
    return names


def _pool_value(args, prog):
    import numpy as np

    path = Path(args.pool)
    if not path.exists():
        raise CLIError(
            f"{prog}: error: --pool {str(path)!r} does not exist; give a particle table "
            "(.star/.csv), a directory of MRC files, an MRC stack or a .npy array file"
        )
    if path.suffix.lower() != ".npy":
        return path
    if args.label_column:
        raise CLIError(
            f"{prog}: error: --label-column names a column of a particle table; {str(path)!r} "
            "is an array file (its particles start unlabeled)"
        )
    try:
        return np.load(path, mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise CLIError(
            f"{prog}: error: cannot read the array file {str(path)!r} ({exc}); save it with "
            "numpy.save, of shape (n, D, H, W) or (n, 1, D, H, W)"
        ) from None


def _existing_campaign(folder, prog):
    """Status of the campaign in ``folder``; None for the leftovers of an interrupted ``new``."""
    from ..campaign import Campaign, NewerCampaignError
    from ..campaign._store import DB_NAME

    if not (folder / DB_NAME).is_file():
        return None
    try:
        with Campaign.open(folder) as campaign:
            return campaign.status()
    except NewerCampaignError as exc:
        raise CLIError(f"{prog}: error: {exc}") from None
    except ValueError:  # its creation did not complete
        return None


def _run_new(args):
    from ..campaign import Campaign
    from ..classifier import CryoNetClassifier

    prog = args.command_prog
    folder = Path(args.folder)
    classes = _parse_classes(args.classes, prog)
    pool = _pool_value(args, prog)
    estimator = CryoNetClassifier(
        module__width=args.width,
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        device=args.device,
        classes=classes,
        random_state=args.seed,
    )
    options = dict(
        estimator=estimator,
        strategy=args.strategy,
        random_state=args.seed,
        annotator=args.annotator,
        label_column=args.label_column,
    )
    try:
        campaign = Campaign.create(folder, pool, classes, overwrite=args.overwrite, **options)
    except FileExistsError:
        if args.overwrite:
            raise
        status = _existing_campaign(folder, prog)
        if status is not None:
            raise CLIError(
                f"{prog}: error: {str(folder)!r} already holds a campaign ({status.n_labeled} "
                f"of {status.n_particles} particles labeled, {status.n_rounds} query rounds); "
                f"see skcryoal campaign status {_shell(folder)}, or pass --overwrite to replace "
                "it (its labels, queue and models are deleted)"
            ) from None
        print(f"Replacing the leftovers of an interrupted `new` in {folder} ...")
        campaign = Campaign.create(folder, pool, classes, overwrite=True, **options)
    with campaign:
        status = campaign.status()
        shape = "x".join(map(str, campaign.volume_shape))
    source = "copied into the folder" if not isinstance(pool, Path) else "read in place"
    unlabeled = status.n_unlabeled
    print(
        f"Created campaign {campaign.path}\n"
        f"  pool       {args.pool} ({source}): {status.n_particles} particles of {shape} "
        "voxels\n"
        f"  classes    {len(classes)}: {', '.join(map(str, classes))}\n"
        f"  seeded     {status.n_labeled} labels ({_n_classes_line(status.per_class)}); "
        f"{unlabeled} unlabeled\n"
        f"  strategy   {args.strategy}\n"
        f"  model      CryoNetClassifier, width {args.width}, {args.epochs} epochs, batch "
        f"{args.batch_size}, {args.device}, seed {args.seed}"
    )
    if status.n_labeled < 2:
        print(
            "With fewer than 2 labels there is no model yet: the first batch is a random "
            "selection (cold start)."
        )
    _next(
        "queue the first particles to label:",
        f"skcryoal campaign query {_shell(folder)} -n {_DEFAULT_N}",
    )
    return 0


# -------------------------------------------------------------------- status
def _run_status(args):
    with _open(args) as campaign:
        status = campaign.status()
        classes = campaign.classes
        disagreements = campaign.disagreements() if status.disagreements else None
    if args.json:
        data = {"classes": classes, **dataclasses.asdict(status)}
        print(json.dumps(data, indent=2, default=str))
        return 0
    print(status)
    if len(status.models) > 1:
        print("  model history:")
        for model in status.models[-10:]:
            print(f"    {_model_line(model)}")
    if disagreements is not None:
        print("  annotators disagree on:")
        for pid, group in list(disagreements.groupby("particle_id", sort=True))[:10]:
            given = ", ".join(f"{a} {lab!r}" for a, lab in zip(group["annotator"], group["label"]))
            current = group["current_label"].iloc[0]
            print(f"    particle {pid}: {given} (current {current!r})")
        if status.disagreements > 10:
            print(f"    ... {status.disagreements - 10} more (Campaign.disagreements())")
    _next_after(args, status)
    return 0


# --------------------------------------------------------------------- query
def _source_column(frame):
    """Human-readable provenance of each particle: the image name, else file and index."""
    if "rlnImageName" in frame.columns:
        return frame["rlnImageName"].astype(str).tolist()
    names = [Path(str(f)).name for f in frame["skcryoal_file"]]
    stacked = len(set(names)) < len(names)
    return [
        f"{i}@{name}" if stacked or i != 1 else name
        for name, i in zip(names, frame["skcryoal_index"])
    ]


def _print_queue(particles, ids):
    import numpy as np

    rows = particles.set_index("particle_id").loc[ids]
    table = {
        "rank": [str(r) for r in rows["rank"]],
        "particle": [str(i) for i in ids],
        "source": _source_column(particles.set_index("particle_id").loc[ids]),
    }
    if "rlnTomoName" in rows.columns:
        table["tomogram"] = rows["rlnTomoName"].astype(str).tolist()
    scores = rows["score"].to_numpy(float)
    if not np.isnan(scores).all():
        table["score"] = ["-" if np.isnan(s) else f"{s:.4g}" for s in scores]
    widths = {k: max(len(k), *map(len, v)) for k, v in table.items()}
    print("  " + "  ".join(k.ljust(widths[k]) for k in table).rstrip())
    for n in range(len(ids)):
        print("  " + "  ".join(v[n].ljust(widths[k]) for k, v in table.items()).rstrip())


def _run_query(args):
    with _open(args) as campaign:
        status = campaign.status()
        already = status.n_queued
        free = status.n_unlabeled - status.n_queued
        if args.n > free:  # checked before a fit that would be wasted
            raise CLIError(
                f"{args.command_prog}: error: asked for {args.n} particles but only {free} "
                f"are neither labeled, skipped nor queued; use -n {free} or fewer"
                if free
                else f"{args.command_prog}: error: every particle is labeled, skipped or "
                "queued already; nothing left to query"
            )
        status = _fit_if_stale(campaign, args, status)
        if status.n_labeled < 2 and not status.models:
            print("Fewer than 2 labels and no model yet: a random selection (cold start).")
        ids = campaign.query(args.n, fit=args.fit)
        particles = campaign.particles()
        status = campaign.status()
    if len(ids) == 0:
        print("Nothing was queued: other processes took the candidates meanwhile.")
        return 0
    rounds = sorted(set(particles.set_index("particle_id").loc[ids, "round"].tolist()))
    print(
        f"Queued {len(ids)} particles in round {', '.join(map(str, rounds))}, best first "
        f"({status.n_queued} queued in all):"
    )
    _print_queue(particles, ids)
    if already:
        print(
            f"{already} particles queued earlier were not labeled yet; they stay queued "
            "and the export includes them."
        )
    _next_after(args, status)
    return 0


# -------------------------------------------------------------------- export
def _unimported(sheet, queued):
    """Rows of an existing label sheet filled in for particles still queued (not imported)."""
    import pandas as pd

    if sheet.suffix == ".csv":
        frame = pd.read_csv(sheet, dtype=str, keep_default_na=False)
    else:
        import starfile

        frame = starfile.read(sheet, always_dict=True, parse_as_string=["label"])
        frame = next(iter(frame.values()))
    if not {"particle_id", "label"} <= set(frame.columns):
        return []
    label = frame["label"].astype(str).str.strip()
    filled = ~label.isin(["", "nan", "None", "<NA>"])
    pids = pd.to_numeric(frame["particle_id"], errors="coerce")
    return [n + 1 for n in range(len(frame)) if filled.iloc[n] and pids.iloc[n] in queued]


def _check_sheets(args, queued):
    for sheet in (Path(args.outdir) / "batch.csv", Path(args.outdir) / "batch.star"):
        if args.overwrite or not sheet.is_file():
            continue
        try:
            rows = _unimported(sheet, set(queued.tolist()))
        except Exception as exc:  # noqa: BLE001 - whatever the reader raises, stop and ask
            rows, problem = None, f"cannot be read to check it ({exc})"
        else:
            problem = f"has labels filled in for particles not imported yet (rows {rows[:10]})"
        if rows != []:
            raise CLIError(
                f"{args.command_prog}: error: the label sheet {str(sheet)!r} {problem}; import "
                f"it first (skcryoal campaign import {_shell(args.folder)} {_shell(sheet)}), "
                "or pass --overwrite to replace it"
            )


def _run_export(args):
    with _open(args) as campaign:
        queued = campaign.queued()
        if len(queued) == 0:
            raise CLIError(
                f"{args.command_prog}: error: nothing is queued in {str(args.folder)!r}; queue "
                f"particles first: skcryoal campaign query {_shell(args.folder)} -n {_DEFAULT_N}"
            )
        _check_sheets(args, queued)
        files = campaign.export_batch(args.outdir, per_page=args.per_page)
        classes = campaign.classes
    pages = files["pages"]
    print(f"Exported {len(files['particle_ids'])} queued particles to {args.outdir}:")
    print(f"  {files['csv']}  label sheet: fill in its label column")
    print(f"  {files['star']}  the same sheet as STAR (fill in one of the two)")
    print(f"  {files['pdf']}  orthoslices (central XY, XZ, YZ), {len(pages)} page(s)")
    for page in pages:
        print(f"  {page}")
    print(
        "\nHow to label: the pages title each particle #particle_id. In the sheet, write\n"
        "its class in the label column, one of:\n"
        f"  {', '.join(map(str, classes))}\n"
        "Leave a label empty to decide later (the particle stays queued). Do not edit the\n"
        "other columns: they are checked against the campaign."
    )
    _next(
        "when the sheet is filled in:",
        f"skcryoal campaign import {_shell(args.folder)} {_shell(files['csv'])} "
        "--annotator YOUR_NAME",
    )
    return 0


# -------------------------------------------------------------------- import
def _run_import(args):
    with _open(args) as campaign:
        summary = campaign.import_labels(args.sheet, annotator=args.annotator)
        status = campaign.status()
        annotator = args.annotator or campaign.annotator
    print(
        f"Imported {args.sheet} as {annotator}: {summary['n_labeled']} labels applied, "
        f"{summary['n_unchanged']} unchanged, {_count(summary['n_empty'], 'row')} left empty."
    )
    print(
        f"The campaign has {status.n_labeled} of {status.n_particles} particles labeled "
        f"({_n_classes_line(status.per_class)}); {status.n_queued} still queued."
    )
    if status.disagreements:
        print(
            f"Annotators disagree on {status.disagreements} particle(s); the latest label "
            "counts (see skcryoal campaign status)."
        )
    folder = _shell(args.folder)
    who = f" --annotator {_shell(args.annotator)}" if args.annotator else ""
    if status.n_queued:
        _next(
            "label the rest of the sheet and import it again (imported rows are not recorded "
            "twice), or fit, or queue more:",
            f"skcryoal campaign import {folder} {_shell(args.sheet)}{who}",
            f"skcryoal campaign fit {folder}",
        )
    else:
        _next(
            "queue the next batch (a model is fitted on the new labels first), or fit:",
            f"skcryoal campaign query {folder} -n {_DEFAULT_N}",
            f"skcryoal campaign fit {folder}",
        )
    return 0


# ----------------------------------------------------------------------- fit
def _run_fit(args):
    with _open(args) as campaign:
        status = campaign.status()
        if status.n_labeled < 2:
            raise CLIError(
                f"{args.command_prog}: error: {str(args.folder)!r} has {status.n_labeled} "
                "label(s); a fit needs at least 2. Query, export and import labels first."
            )
        if status.model_up_to_date and not args.force:
            print(
                f"Model #{status.models[-1]['id']} is fitted on exactly the current "
                f"{status.n_labeled} labels; nothing to do (--force fits again).\n"
                f"{_model_line(status.models[-1])}"
            )
        else:
            status = _fit(campaign, args, status, "from scratch")
    missing = [str(k) for k, v in status.per_class.items() if v == 0]
    if missing:
        print(f"No labels yet for: {', '.join(missing)}; the model cannot learn them.")
    folder = _shell(args.folder)
    _next(
        "queue particles where the model is least sure, or predict every particle:",
        f"skcryoal campaign query {folder} -n {_DEFAULT_N}",
        f"skcryoal campaign predict {folder} {_shell(Path(args.folder) / 'predictions')}",
    )
    return 0


# ------------------------------------------------------------------- predict
def _run_predict(args):
    import pandas as pd

    with _open(args) as campaign:
        _fit_if_stale(campaign, args, campaign.status())
        files = campaign.predict(args.outdir, fit=args.fit)
        classes = campaign.classes
    table = pd.read_csv(files["csv"], dtype=str, keep_default_na=False)
    final = table["final_class"].value_counts()
    labeled = table.loc[table["final_source"] == "label", "final_class"].value_counts()
    print(f"Predicted {len(table)} particles with model #{files['model_id']} in {args.outdir}:")
    print(f"  {files['star']}  every particle: provenance, label, prediction, final_class")
    print(f"  {files['csv']}  the same table as CSV")
    print("  one STAR file per class, for RELION (rlnImageName absolute):")
    for cls in classes:
        if cls in files["classes"]:
            n, n_labeled = int(final.get(str(cls), 0)), int(labeled.get(str(cls), 0))
            print(f"    {files['classes'][cls]}  {n} particles ({n_labeled} labeled)")
        else:
            print(f"    {cls}: no particles, no file")
    _next(
        "label more where the model is least sure, or use the class files in RELION:",
        f"skcryoal campaign query {_shell(args.folder)} -n {_DEFAULT_N}",
    )
    return 0


_RUNS = {
    "new": _run_new,
    "status": _run_status,
    "query": _run_query,
    "export": _run_export,
    "import": _run_import,
    "fit": _run_fit,
    "predict": _run_predict,
}


def run(args):
    """Run one campaign sub-command; API errors are reworded for the command line."""
    from ..campaign import CheckpointError, NewerCampaignError

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
