"""The ``skcryoal campaign`` sub-commands: one ``_run_*`` function each."""

import dataclasses
import json
from pathlib import Path

from .. import _pools
from .._common import CLIError
from ._helpers import (
    _DEFAULT_N,
    _cli_words,
    _count,
    _existing_campaign,
    _fit,
    _fit_if_stale,
    _model_line,
    _n_classes_line,
    _next,
    _next_after,
    _open,
    _parse_classes,
    _pool_value,
    _shell,
)


def _run_new(args):
    from ...classifier import CryoNetClassifier

    prog = args.command_prog
    folder = Path(args.folder)
    classes = _parse_classes(args.classes, prog)
    spec = _pools.spec_from_args(args, args.pool, prog, what="--pool")
    if spec is None and args.pool is None:
        raise CLIError(
            f"{prog}: error: give the particles as --pool PATH (or a copick project as "
            "--copick CONFIG)"
        )
    estimator = CryoNetClassifier(
        module__width=args.width,
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        device=args.device,
        classes=classes,
        augment=args.augment,
        random_state=args.seed,
    )
    options = dict(
        estimator=estimator,
        strategy=args.strategy,
        random_state=args.seed,
        annotator=args.annotator,
        warm_start_epochs=args.warm_start,
        subsample=args.subsample,
        recipe=args.recipe,
    )
    if spec is None:
        pool = _pool_value(args, prog)
        campaign = _create(args, folder, pool, classes, label_column=args.label_column, **options)
        source = "copied into the folder" if not isinstance(pool, Path) else "read in place"
    else:
        # cut before anything else is touched, but not over a campaign that --overwrite
        # does not replace; the cut folder stays only if the campaign is created
        if not args.overwrite:
            _refuse_existing(folder, prog)
        with _pools.campaign_pool(spec, folder, prog) as extraction:
            # the labels are in the cut table's skcryoalLabel(Text), whatever the input's
            campaign = _create(
                args, folder, extraction.table_path, classes, label_column=None, **options
            )
        print("\n".join(_pools.summary_lines(extraction, files=False)))
        source = f"cut into {extraction.folder}, read from there"
    with campaign:
        status = campaign.status()
        shape = "x".join(map(str, campaign.volume_shape))
    unlabeled = status.n_unlabeled
    given = args.pool if spec is None or spec["kind"] == "particles" else args.copick
    print(
        f"Created campaign {campaign.path}\n"
        f"  pool       {given} ({source}): {status.n_particles} particles of {shape} "
        "voxels\n"
        f"  classes    {len(classes)}: {', '.join(map(str, classes))}\n"
        f"  seeded     {status.n_labeled} labels ({_n_classes_line(status.per_class)}); "
        f"{unlabeled} unlabeled\n"
        f"  strategy   {args.strategy}"
        + (f", scoring {args.subsample} random particles per round" if args.subsample else "")
        + "\n"
        f"  model      CryoNetClassifier, width {args.width}, {args.epochs} epochs, batch "
        f"{args.batch_size}, {args.device}, seed {args.seed}"
        + (", augmented" if args.augment else ", no augmentation")
        + (
            f"; later fits continue from the latest model for {args.warm_start} epochs"
            if args.warm_start
            else ""
        )
        + "\n"
        + _recipe_line(args.recipe, status.n_particles)
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


def _recipe_line(recipe, n_particles):
    from ...campaign._pretrain import auto_epochs

    if recipe == "paper":
        return "  recipe     paper: every fit from scratch, no pretraining"
    return (
        f"  recipe     pretrained: the first fit first learns an encoder from the "
        f"{n_particles} particles ({auto_epochs(n_particles)} epochs, SimCLR), then every fit "
        "fine-tunes it"
    )


def _refuse_existing(folder, prog):
    status = _existing_campaign(folder, prog)
    if status is not None:
        raise CLIError(
            f"{prog}: error: {str(folder)!r} already holds a campaign ({status.n_labeled} "
            f"of {status.n_particles} particles labeled, {status.n_rounds} query rounds); "
            f"see skcryoal campaign status {_shell(folder)}, or pass --overwrite to replace "
            "it (its labels, queue and models are deleted)"
        )


def _create(args, folder, pool, classes, **options):
    """Campaign.create; says so when it replaces the leftovers of an interrupted ``new``."""
    from ...campaign import Campaign
    from ...campaign._create import OWNED

    if not args.overwrite:
        _refuse_existing(folder, args.command_prog)
        if any((Path(folder) / name).exists() for name in OWNED):
            # Campaign.create replaces what an interrupted creation left
            print(f"Replacing the leftovers of an interrupted `new` in {folder} ...")
    return Campaign.create(folder, pool, classes, overwrite=args.overwrite, **options)


# -------------------------------------------------------------------- status
def _run_status(args):
    with _open(args) as campaign:
        status = campaign.status(budget=args.budget)
        classes = campaign.classes
        disagreements = campaign.disagreements() if status.disagreements else None
        # the per-annotator table, shown with a budget or in JSON (the status has its line)
        wanted = args.json or args.budget is not None
        cost = campaign.annotation_cost(budget=args.budget) if wanted else None
    if args.json:
        data = {"classes": classes, **dataclasses.asdict(status)}
        data["annotation_cost"] = {
            "per_annotator": cost.per_annotator.to_dict(orient="records"),
            "budget": cost.budget,
            "projected_hours": cost.projected_hours,
        }
        print(json.dumps(data, indent=2, default=str))
        return 0
    print(status)
    if args.budget is not None:
        print("  annotation per annotator:")
        table = cost.per_annotator.to_string(index=False)
        print("\n".join("    " + line for line in table.splitlines()))
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
def _run_export(args):
    with _open(args) as campaign:
        queued = campaign.queued()
        if len(queued) == 0:
            raise CLIError(
                f"{args.command_prog}: error: nothing is queued in {str(args.folder)!r}; queue "
                f"particles first: skcryoal campaign query {_shell(args.folder)} -n {_DEFAULT_N}"
            )
        files = campaign.export_batch(args.outdir, per_page=args.per_page, overwrite=args.overwrite)
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
    import sys
    import warnings

    with _open(args) as campaign:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            summary = campaign.import_labels(
                args.sheet, annotator=args.annotator, replace_newer=args.replace_newer
            )
        for warning in caught:
            print(f"Warning: {_cli_words(str(warning.message))}", file=sys.stderr)
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
            why = "from scratch"
            if campaign.warm_start_epochs is not None and status.models:
                why = f"from the latest model, {campaign.warm_start_epochs} epochs"
            status = _fit(campaign, args, status, why)
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
    print("  one STAR file per class: the input's own rows and blocks, for RELION:")
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


# ------------------------------------------------------------------ pretrain
def _run_pretrain(args):
    from ...pretraining import SubtomogramEmbedder

    with _open(args) as campaign:
        from ...campaign._pretrain import default_embedder

        embedder = default_embedder(campaign)
        params = {"method": args.method, "max_epochs": args.epochs}
        if args.width is not None:
            params["width"] = args.width
        if args.batch_size is not None:
            params["batch_size"] = args.batch_size
        embedder = SubtomogramEmbedder(**{**embedder.get_params(), **params})
        progress = True if args.progress is None else args.progress
        print(
            f"Pretraining a {embedder.method} encoder (width {embedder.width}, "
            f"{embedder.max_epochs} epochs) on the {campaign.n_particles} particles of "
            f"{str(args.folder)!r}; no labels are used. Interrupted, the same command resumes."
        )
        fitted = campaign.pretrain(embedder, progress=progress)
        record = campaign.status().pretrained
    minutes = record["train_seconds"] / 60
    print(
        f"Pretrained: {fitted.n_epochs_} epochs, final loss {record['final_loss']:.3f}, "
        f"{minutes:.1f} min of training; stored in {record['file']}.\n"
        "Every fit now starts from this encoder, and the typiclust and probcover strategies "
        "select on its embedding (also before the first label)."
    )
    folder = _shell(args.folder)
    _next(
        "queue particles to label (or fit, if you have labels):",
        f"skcryoal campaign query {folder} -n {_DEFAULT_N}",
        f"skcryoal campaign fit {folder}",
    )
    return 0
