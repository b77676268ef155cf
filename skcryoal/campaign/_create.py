"""Creating a campaign folder: validate everything, then write pool, specs and store."""

import numbers
import shutil
from pathlib import Path

import numpy as np

from .._version import __version__
from . import _specs
from ._checkpoint import MODELS_DIR
from ._classes import ClassList, seed_texts
from ._pool import (
    FILE_COLUMN,
    POOL_FILE,
    is_referenced,
    pool_record,
    read_pool,
    save_array_pool,
    source_fingerprint,
    to_json,
    tomo_name,
    with_channel,
)
from ._pretrain import check_recipe
from ._sheets import is_missing_like, new_campaign_id
from ._store import DB_NAME, Store, now
from ._validation import check_annotator
from ._warm import check_warm_start_epochs, check_warm_startable

OWNED = (
    DB_NAME,
    f"{DB_NAME}-wal",
    f"{DB_NAME}-shm",
    POOL_FILE,
    _specs.ESTIMATOR_FILE,
    _specs.STRATEGY_FILE,
)


def create_folder(
    path,
    pool,
    classes,
    *,
    y,
    estimator,
    strategy,
    random_state,
    annotator,
    overwrite,
    label_column,
    copy_pool=True,
    keep_checkpoints=None,
    warm_start_epochs=None,
    subsample=None,
    particles=None,
    recipe=None,
):
    """Write a new campaign folder; see :meth:`Campaign.create`.

    Returns
    -------
    folder : Path
    annotator : str
    volumes : array-like or None
        The pool's volumes when read from files or referenced (None for
        copied arrays, which are memory-mapped from the folder).
    """
    folder = Path(path).absolute()
    class_list = ClassList(classes)
    _check_class_names(class_list)
    annotator = check_annotator(annotator)
    existing = [name for name in (*OWNED, MODELS_DIR) if (folder / name).exists()]
    if existing and not overwrite and _holds_a_campaign(folder):
        raise FileExistsError(
            17,
            f"{folder} already holds a campaign ({', '.join(existing)}); reopen it with "
            "Campaign.open(path), or pass overwrite=True to replace it (its labels, queue "
            "and models are deleted)",
            str(folder),
        )
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(20, "a campaign is a folder; this is a file", str(folder))
    source = read_pool(pool, label_column=label_column, particles=particles)
    n = len(source.volumes)
    seeds, seed_annotator = {}, "table"
    if y is not None:
        if source.labels is not None and any(v is not None for v in source.labels):
            raise ValueError(
                "the pool's table carries labels and y= was given too; pass the labels "
                "one way (blank the table's label column, or drop y=)."
            )
        seeds, seed_annotator = seed_texts(class_list, y, n, source="y"), "seed"
    elif source.labels is not None:
        table = source.source or "particles"  # an array pool's particles= table
        seeds = seed_texts(class_list, source.labels, n, source=f"the table {table}")
    if not isinstance(copy_pool, (bool, np.bool_)):
        raise TypeError(f"copy_pool must be True or False; got {copy_pool!r}.")
    reference = source.kind == "array" and not copy_pool
    if keep_checkpoints is not None and (
        isinstance(keep_checkpoints, bool)
        or not isinstance(keep_checkpoints, numbers.Integral)
        or keep_checkpoints < 1
    ):
        raise ValueError(
            "keep_checkpoints must be None (keep all) or a positive integer (the latest "
            f"models to keep on disk); got {keep_checkpoints!r}."
        )
    seed = _specs.resolve_seed(random_state)
    spec, strategy_bytes = _specs.strategy_spec(strategy)
    subsample = _specs.check_subsample(subsample, strategy, spec)
    recipe = check_recipe(recipe, estimator)
    template = _specs.estimator_template(estimator, class_list, seed, recipe)
    warm_start_epochs = check_warm_start_epochs(warm_start_epochs)
    check_warm_startable(template, warm_start_epochs)
    if source.kind == "path":
        # what open checks: a re-sorted table is followed, changed rows or files refused
        fingerprint = source_fingerprint(source.volumes, source.rows, source.source)
    meta = {
        "campaign_id": new_campaign_id(),
        "created": now(),
        "skcryoal_version": __version__,
        "creator": annotator,
        "seed": seed,
        "class_kind": class_list.kind,
        "strategy": spec,
        "pool": {
            "kind": source.kind,
            "source": source.source,
            "n": n,
            "volume_shape": list(source.volume_shape),
            **({"copied": False, **pool_record(source.volumes)} if reference else {}),
            **({"source_fingerprint": fingerprint} if source.kind == "path" else {}),
        },
        "columns": source.columns,
        "blocks": source.blocks,
        "seed_annotator": seed_annotator,
        "keep_checkpoints": None if keep_checkpoints is None else int(keep_checkpoints),
        # the round settings; a campaign written before them has neither (None: the paper's)
        "warm_start_epochs": warm_start_epochs,
        "subsample": subsample,
        # "pretrained": the first fit pretrains; None in a campaign written before recipes
        # existed, or with a given estimator (used as it is)
        "recipe": recipe,
    }

    if reference:  # no file: the array lives with its owner
        source.rows = [{**row, FILE_COLUMN: None} for row in source.rows]

    # everything is valid: write, the store last (one transaction)
    if existing:
        _remove_campaign(folder)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        _write(folder, source, template, strategy_bytes, meta, class_list, seeds, seed_annotator)
    except BaseException:
        # e.g. a NaN volume found while copying the pool: leave nothing behind
        _remove_campaign(folder)
        if created:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    if reference:
        X = source.volumes
        return folder, annotator, (X if len(X.shape) == 5 else with_channel(X))
    return folder, annotator, (source.volumes if source.kind == "path" else None)


def _check_class_names(class_list):
    """Refuse class names that sheets and tables read as a missing value."""
    bad = [text for text in class_list.texts if is_missing_like(text)]
    if bad:
        raise ValueError(
            f"class names {bad} read as a missing value in label sheets and particle tables "
            "(CSV and STAR), where a label of that class would be taken for no label; name "
            "the class otherwise (e.g. 'none_of_these', 'unknown'). Nothing was created."
        )


def _write(folder, source, template, strategy_bytes, meta, class_list, seeds, seed_annotator):
    if source.kind == "array" and not is_referenced(meta["pool"]):
        save_array_pool(source.volumes, folder)
    _specs.save_specs(folder, template, strategy_bytes)
    particles = (
        (pid, row.get("skcryoal_file"), row.get("skcryoal_index"), tomo_name(row), to_json(row))
        for pid, row in enumerate(source.rows)
    )
    store = Store(folder / DB_NAME)
    try:
        store.initialize(meta, class_list.texts, particles, seeds, seed_annotator)
    finally:
        store.close()


def _holds_a_campaign(folder):
    """Whether ``folder`` holds a campaign whose creation completed (any version).

    What an interrupted ``create`` leaves (files without a database, or a
    database whose single creating transaction never committed) is replaced
    without ``overwrite``: nothing of value can be in it.
    """
    from ._store import NewerCampaignError

    if not (folder / DB_NAME).is_file():
        return False
    try:
        store = Store(folder / DB_NAME)
    except Exception:  # noqa: BLE001 - unreadable: let overwrite decide, keep it
        return True
    try:
        store.check_version()
    except NewerCampaignError:
        return True
    except ValueError:  # its creation did not complete
        return False
    finally:
        store.close()
    return True


def _remove_campaign(folder):
    for name in OWNED:
        (folder / name).unlink(missing_ok=True)
    shutil.rmtree(folder / MODELS_DIR, ignore_errors=True)
    for temp in folder.glob(".*.tmp*"):
        temp.unlink(missing_ok=True)
