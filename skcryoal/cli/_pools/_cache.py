"""Particle sets cut once into a folder that a benchmark or a campaign then reads as its pool."""

import contextlib
import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np

from .._common import CLIError
from ._read import read_source
from ._report import cli_errors, summary_lines
from ._write import extract_to_folder

#: the folder, inside a campaign folder or a benchmark's --out, of the cut subtomograms
CACHE_DIR = "extracted"
MANIFEST = "extraction.json"
_VERSION = 1


def _cut(spec, folder, prog, *, labeled_only=False, replace=True, manifest=None):
    with cli_errors(prog):
        source = read_source(spec)
        if labeled_only:
            source = _labeled(source, spec, prog)
        return extract_to_folder(
            source,
            folder,
            size=spec["size"],
            voxel_size=spec["voxel_size"],
            edge=spec["edge"],
            standardize=spec.get("standardize", True),
            replace=replace,
            manifest=manifest,
        )


def _labeled(source, spec, prog):
    """Only the labeled particles (a benchmark plays the annotator with their labels)."""
    if source.labels is None or source.n_labeled == 0:
        how = (
            "--truth-user or --truth-session (the truth picks' object names)"
            if spec["kind"] == "copick"
            else "a label column: skcryoalLabelText or skcryoalLabel, or name another with "
            "--label-column"
        )
        raise CLIError(
            f"{prog}: error: the particles have no labels; a benchmark needs the true class "
            f"of every particle to play the annotator. Give {how}"
        )
    keep = np.array([v is not None for v in source.labels])
    if not keep.all():
        print(
            f"Leaving out the {int((~keep).sum())} of {len(keep)} particles without a label "
            "(a benchmark needs the true class of each).",
            flush=True,
        )
    return source.subset(keep)


def cached_extraction(spec, folder, prog, *, labeled_only=False):
    """The particle table of ``spec``'s subtomograms in ``folder``, cut there once.

    A folder cut from the same ``spec`` earlier (its ``extraction.json`` says so) is
    reused: an interrupted benchmark resumes on the same subtomograms without cutting
    them again. Otherwise the folder is replaced whole.
    """
    folder = Path(folder)
    manifest = {"version": _VERSION, "spec": spec, "labeled_only": labeled_only}
    manifest = json.loads(json.dumps(manifest))
    try:
        recorded = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        table = folder / recorded["table"]
    except (OSError, ValueError, KeyError, TypeError):
        recorded, table = None, None
    if recorded is not None and table.is_file():
        recorded.pop("table")
        if recorded == manifest:
            print(f"Reading the subtomograms cut earlier into {folder}.", flush=True)
            return table
    print(f"Cutting the particles of {spec.get('particles') or spec['copick']} ...", flush=True)
    extraction = _cut(
        spec,
        folder,
        prog,
        labeled_only=labeled_only,
        manifest={**manifest, "table": "particles.star"},
    )
    print("\n".join(summary_lines(extraction)), flush=True)
    return extraction.table_path


@contextlib.contextmanager
def campaign_pool(spec, folder, prog):
    """Cut ``spec``'s particles into ``folder/extracted``; yield its table (the pool).

    The new folder replaces an earlier one only if the ``with`` block (creating the
    campaign) succeeds; otherwise the earlier one is put back (and a campaign folder
    this call created is removed), so a failed ``campaign new --overwrite`` leaves the
    old campaign whole.
    """
    folder = Path(folder).absolute()
    created = not folder.exists()
    cache = folder / CACHE_DIR
    token = uuid.uuid4().hex[:12]
    # no ".tmp" in these names: Campaign.create deletes the folder's ".*.tmp*" files
    fresh = folder / f".{CACHE_DIR}.{token}.new"
    old = folder / f".{CACHE_DIR}.{token}.old"
    manifest = {"version": _VERSION, "spec": spec, "table": "particles.star"}
    try:
        extraction = _cut(spec, fresh, prog, manifest=json.loads(json.dumps(manifest)))
        if cache.exists():
            os.rename(cache, old)
        os.rename(fresh, cache)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        if created:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    extraction.folder = cache
    extraction.table_path = cache / extraction.table_path.name
    try:
        yield extraction
    except BaseException:
        shutil.rmtree(cache, ignore_errors=True)
        if old.exists():
            os.rename(old, cache)
        if created:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
