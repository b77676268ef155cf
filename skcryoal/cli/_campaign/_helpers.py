"""Helpers shared by the ``skcryoal campaign`` sub-commands: wording, opening, fitting."""

import contextlib
import re
import shlex
import sys
import time
from pathlib import Path

from .._common import CLIError

_DEFAULT_N = 20


# -------------------------------------------------------------------- helpers
def _cli_words(message):
    """Say in command-line terms what the Python API's messages say in its own."""
    for api, cli in (
        (r"overwrite=True", "--overwrite"),
        (r"replace_newer=True", "--replace-newer"),
        (r"campaign\.import_labels\(\)", "skcryoal campaign import"),
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
    from ...campaign import Campaign
    from ...campaign._store import DB_NAME

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
    if m.get("warm_start_from") is not None:
        parts.append(f"continued from model #{m['warm_start_from']}")
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
    from ...campaign import Campaign, NewerCampaignError
    from ...campaign._store import DB_NAME

    if not (folder / DB_NAME).is_file():
        return None
    try:
        with Campaign.open(folder) as campaign:
            return campaign.status()
    except NewerCampaignError as exc:
        raise CLIError(f"{prog}: error: {exc}") from None
    except ValueError:  # its creation did not complete
        return None
