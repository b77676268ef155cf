"""Files for people and for RELION: batch sheets, label sheets, predictions."""

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..io._tables import write_star as write_star_blocks
from ..utils._atomic import atomic_output, atomic_write_text
from ._model import no_model_error, warn_older_model, with_particle_ids
from ._predictions import check_folder, write_outputs
from ._sheets import SHEET_COLUMN, newer_label_check, read_stamps, sheet_label, sheet_stamp
from ._store import labels_digest
from ._tables import provenance, provenance_frame, shown_name
from ._validation import check_annotator

_EMPTY = ("", "nan", "NaN", "<NA>", "None", "?", ".")


# ---------------------------------------------------------------- writing
def write_star(path, frame, blocks=None):
    """Write a STAR file atomically: ``frame`` as the particles, within ``blocks``.

    ``blocks`` as :func:`skcryoal.io._tables.side_blocks` returns them (the
    source table's other blocks, as given, and the particles' place); floats at
    full precision (starfile would write 6 decimals).
    """
    with atomic_output(path) as tmp:
        write_star_blocks(tmp, frame, blocks)
    return Path(path)


def write_csv(path, frame):
    """Write a CSV file atomically (floats at full precision)."""
    atomic_write_text(path, frame.to_csv(index=False))
    return Path(path)


# ----------------------------------------------------------- export_batch
def _unimported_rows(campaign, path, queued):
    """1-based rows of an existing sheet whose label is filled in for a still-queued particle."""
    frame = _read_sheet(path)
    if not {"particle_id", "label"} <= set(frame.columns):
        return []
    rows = []
    for n, (pid, label) in enumerate(zip(frame["particle_id"], frame["label"]), start=1):
        try:
            pid = int(str(pid).strip())
        except ValueError:
            continue
        if _filled(campaign, label) and pid in queued:
            rows.append(n)
    return rows


def _filled(campaign, label):
    """Whether a label cell holds something (a class, or a person's typo of one)."""
    try:
        return sheet_label(campaign._classes, label, "") is not None
    except ValueError:
        return True


def export_batch(campaign, directory, *, per_page=24, overwrite=False):
    """Write the queued batch's label sheets and orthoslice pages; see Campaign.export_batch."""
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    from ..plotting import plot_orthoslices

    if isinstance(per_page, bool) or not isinstance(per_page, int) or per_page < 1:
        raise ValueError(f"per_page must be a positive integer; got {per_page!r}.")
    ids = campaign.queued()
    if len(ids) == 0:
        raise ValueError("nothing is queued to export; call campaign.query(n) first.")
    directory = Path(directory)
    if not overwrite:  # a person's filled-in sheet is never silently replaced
        queued = set(ids.tolist())
        for existing in (directory / "batch.csv", directory / "batch.star"):
            if existing.is_file():
                rows = _unimported_rows(campaign, existing, queued)
                if rows:
                    raise ValueError(
                        f"{existing} has labels filled in for {len(rows)} particle(s) that are "
                        f"still queued (rows {rows[:10]}{' ...' if len(rows) > 10 else ''}): "
                        "import it first (campaign.import_labels()), or pass overwrite=True "
                        "to replace it."
                    )
    directory.mkdir(parents=True, exist_ok=True)
    queue = {pid: (round_id, rank) for round_id, pid, rank, _ in campaign._store.queue()}
    sheet = provenance_frame(campaign, ids)
    sheet.insert(1, "round", [queue[int(i)][0] for i in ids])
    sheet.insert(2, "rank", [queue[int(i)][1] for i in ids])
    sheet["label"] = ""
    # which campaign and export the sheet is: import refuses it elsewhere, and stale rows
    sheet[SHEET_COLUMN] = sheet_stamp(campaign)
    files = {
        "csv": directory / "batch.csv",
        "star": directory / "batch.star",
        "pdf": directory / "batch.pdf",
        "pages": [],
        "particle_ids": ids,
    }
    # the pages first: a volume that cannot be read stops the export before any sheet
    pages = [ids[k : k + per_page] for k in range(0, len(ids), per_page)]
    with atomic_output(files["pdf"]) as tmp, PdfPages(tmp) as pdf:
        for number, page in enumerate(pages, start=1):
            X = np.asarray(campaign._volumes[np.asarray(page)], dtype=np.float32)
            fig = plot_orthoslices(X, labels=[f"#{pid}" for pid in page], n_cols=4)
            fig.suptitle(f"{campaign.path.name}: queued batch, page {number}/{len(pages)}")
            path = directory / f"batch-page-{number:03d}.png"
            with atomic_output(path) as png:
                fig.savefig(png, dpi=100)
            pdf.savefig(fig)
            plt.close(fig)
            files["pages"].append(path)
    for stale in directory.glob("batch-page-*.png"):
        if stale not in files["pages"]:
            stale.unlink(missing_ok=True)
    write_csv(files["csv"], sheet)
    write_star(files["star"], sheet)
    return files


# ---------------------------------------------------------- import_labels
def _read_sheet(path):
    if not path.is_file():
        raise FileNotFoundError(2, f"label sheet not found: {path}", str(path))
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        if suffix == ".star":
            import starfile

            blocks = starfile.read(path, always_dict=True)
            loops = {k: v for k, v in blocks.items() if isinstance(v, pd.DataFrame)}
            name = next((k for k, v in loops.items() if "particle_id" in v.columns), None)
            if name is None:
                return next(iter(loops.values()), pd.DataFrame())
            columns = [str(c) for c in loops[name].columns]
            blocks = starfile.read(path, always_dict=True, parse_as_string=columns)
            return blocks[name]
    except (ValueError, OSError, KeyError, IndexError, pd.errors.ParserError) as exc:
        raise ValueError(f"{path}: could not parse the label sheet ({exc}).") from exc
    raise ValueError(f"{path}: a label sheet is a .csv or .star file; got {suffix!r}.")


def _is_empty(value):
    return (
        value is None
        or (isinstance(value, float) and math.isnan(value))
        or (isinstance(value, str) and value.strip() in _EMPTY)
    )


def _same(recorded, given):
    if _is_empty(recorded):
        return _is_empty(given)
    if isinstance(recorded, bool) or not isinstance(recorded, (int, float)):
        return str(given).strip() == str(recorded).strip()
    try:
        value = float(given)
    except (TypeError, ValueError):
        return False
    return math.isclose(value, float(recorded), rel_tol=1e-6, abs_tol=1e-9)


def import_labels(campaign, file, annotator=None, *, replace_newer=False):
    """Validate a label sheet whole, then apply it in one transaction (Campaign.import_labels)."""
    path = Path(file)
    sheet = _read_sheet(path)
    missing = [c for c in ("particle_id", "label") if c not in sheet.columns]
    if missing:
        raise ValueError(
            f"{path}: the label sheet needs the columns particle_id and label (as written by "
            f"export_batch); missing {missing}. Columns found: {list(sheet.columns)[:20]}."
        )
    annotator = check_annotator(annotator or campaign.annotator)
    stamps = read_stamps(campaign, sheet, path)
    rows = dict(provenance(campaign))
    checked = [
        (shown_name(c), c) for c in campaign._meta["columns"] if shown_name(c) in sheet.columns
    ]
    errors, items, seen, n_empty, stamped = [], [], {}, 0, []
    for line, record in enumerate(sheet.to_dict("records"), start=1):
        where = f"row {line}"
        raw = str(record["particle_id"]).strip()
        if not raw.lstrip("+-").isdigit():
            errors.append(f"{where}: particle_id {record['particle_id']!r} is not an integer")
            continue
        pid = int(raw)
        if not 0 <= pid < campaign.n_particles:
            last = campaign.n_particles - 1
            errors.append(f"{where}: particle {pid} is not in this campaign (ids 0..{last})")
            continue
        if pid in seen:
            errors.append(f"{where}: particle {pid} is listed again (first in row {seen[pid]})")
            continue
        seen[pid] = line
        where = f"{where} (particle {pid})"
        for shown, column in checked:
            if not _same(rows[pid].get(column), record[shown]):
                errors.append(
                    f"{where}: {shown} is {record[shown]!r} in the sheet but "
                    f"{rows[pid].get(column)!r} in the campaign"
                )
        try:
            text = sheet_label(campaign._classes, record["label"], where)
        except ValueError as exc:
            errors.append(str(exc))
            continue
        if text is None:
            n_empty += 1
            continue
        items.append((pid, text))
        stamped.append((line, pid, text, stamps[line - 1]))
    if errors:
        shown = "\n  - ".join(errors[:20]) + ("\n  - ..." if len(errors) > 20 else "")
        raise ValueError(
            f"{path}: {len(errors)} problem(s), nothing was imported. Classes are "
            f"{campaign.classes}.\n  - {shown}"
        )
    action, n = campaign._store.record(
        "import",
        annotator,
        items,
        skip_unchanged=True,
        check=newer_label_check(campaign, path, annotator, stamped, replace_newer),
        sheets=[stamp[0] for stamp in stamps if stamp is not None],
    )
    return {"action_id": action, "n_labeled": n, "n_unchanged": len(items) - n, "n_empty": n_empty}


# ---------------------------------------------------------------- predict
def _probabilities(model, X):
    """Task-model probabilities and EMA deviation (NaN where the model has no mean model)."""
    from scipy.special import softmax

    from ..query import EMADeviationQuery
    from ..query._ema_deviation import kl_deviation
    from ..utils._batches import iter_batches

    if hasattr(model, "forward_logits"):
        task, mean = model.forward_logits(X, models=("task", "mean"))
        return softmax(task.astype(np.float64), axis=1), kl_deviation(task, mean)
    proba = None
    for start, stop, batch in iter_batches(X, 64):
        p = np.asarray(model.predict_proba(batch), dtype=np.float64)
        proba = np.empty((len(X), p.shape[1])) if proba is None else proba
        proba[start:stop] = p
    try:
        deviation = EMADeviationQuery().score_samples(model, X)
    except (TypeError, AttributeError, ValueError):
        deviation = np.full(len(X), np.nan)
    return proba, deviation


def predict(campaign, out_dir, *, fit=True, on_epoch=None):
    """Predict every particle and write the tables; see Campaign.predict."""
    out_dir = Path(os.path.abspath(out_dir))  # normalized: its name names the staging folder
    check_folder(out_dir)  # before a fit: what is in the way is said at once
    labels = campaign._current_labels()
    model, record = campaign._latest_model()
    stale = record is None or record["labels_digest"] != labels_digest(labels)
    if fit and stale and len(labels) >= 2:
        campaign.fit(on_epoch=on_epoch)
        model, record = campaign._latest_model()
    if model is None:
        raise no_model_error(campaign)  # none fitted yet, or no checkpoint can be loaded
    warn_older_model(campaign, record, "predicting")
    every = np.arange(campaign.n_particles)  # every particle is predicted, skipped ones too
    with with_particle_ids(campaign, every, "they cannot be predicted", skippable=False):
        proba, deviation = _probabilities(model, campaign._volumes)
    classes = list(getattr(model, "classes_", campaign.classes))
    best = proba.argmax(axis=1)
    predicted = [campaign._classes.value(campaign._classes.to_text(classes[k])) for k in best]
    frame = provenance_frame(campaign)
    human = [None] * len(frame)
    for pid, text in labels.items():
        human[pid] = campaign._classes.value(text)
    frame["label"] = pd.Series(human, dtype=object)
    frame["predicted_class"] = pd.Series(predicted, dtype=object)
    frame["probability"] = proba[np.arange(len(best)), best]
    frame["mean_deviation"] = np.asarray(deviation, dtype=np.float64)
    final = [p if h is None else h for h, p in zip(human, predicted)]
    frame["final_class"] = pd.Series(final, dtype=object)
    frame["final_source"] = ["prediction" if h is None else "label" for h in human]
    frame["model_id"] = record["model_id"]

    return write_outputs(campaign, out_dir, frame, proba, classes, final, record["model_id"])


class FilesMixin:
    """The file methods of :class:`Campaign` (sheets, label import, predictions)."""

    def export_batch(self, directory, *, per_page=24, overwrite=False):
        """Write the queued particles as orthoslice sheets and a label sheet to fill in.

        Writes into ``directory`` (created): ``batch.csv`` and ``batch.star``, the
        label sheet (``particle_id``, ``round``, ``rank``, every provenance column,
        an empty ``label`` column and ``skcryoal_sheet``, which identifies the
        campaign and this export: leave it as it is); ``batch-page-NNN.png``, orthoslice sheets
        (central XY, XZ and YZ slices, titled ``#particle_id``) of ``per_page``
        particles each, in rank order; and ``batch.pdf`` with all pages. Every
        file is written atomically, the sheets last (a volume that cannot be
        read stops the export before any sheet is written). Fill in the sheet
        and read it back with :meth:`import_labels`.

        Parameters
        ----------
        directory : str or path-like
        per_page : int, default=24
        overwrite : bool, default=False
            Replace a ``batch.csv`` / ``batch.star`` in ``directory`` that has
            labels filled in for particles still queued (not imported yet).
            Without it, such a sheet stops the export: a person's work is never
            replaced silently.

        Returns
        -------
        files : dict
            ``csv``, ``star``, ``pdf`` (Path), ``pages`` (list of Path) and
            ``particle_ids`` (ndarray, rank order).

        Raises
        ------
        ValueError
            Nothing is queued, or a sheet with labels not imported yet is in
            the way (see ``overwrite``).
        """
        return export_batch(self, directory, per_page=per_page, overwrite=overwrite)

    def import_labels(self, file, annotator=None, *, replace_newer=False):
        """Import a filled label sheet (CSV or STAR): validated whole, applied all or nothing.

        The sheet needs ``particle_id`` and ``label`` columns (as written by
        :meth:`export_batch`); every other column that names a provenance
        column (``rlnImageName``, coordinates, ``skcryoal_file``...) must agree
        with the campaign's record, so a sheet sorted or edited out of step
        with its ids is caught. The ``skcryoal_sheet`` column says which
        campaign exported the sheet: a sheet of another campaign is refused. A
        sheet without it (exported by an earlier skcryoal, or made by hand) is
        imported with a warning. Rows with an empty label (or ``nan``,
        ``None``, ``?``, ``.``, unless that is a class's name) are not
        labelled yet and are ignored; rows repeating the annotator's current
        label are not recorded twice. A row that would replace a label the
        same annotator gave *after* the sheet was exported (an old sheet
        imported again) is refused, unless ``replace_newer``; a correction
        made in the sheet itself since its last import is applied.
        Everything is checked before anything is written: an unknown class, a
        particle id not in the campaign, a particle listed twice, or a row
        disagreeing with the provenance raises one error that lists every
        problem, and nothing is imported. The labels are recorded in one
        transaction (one action, withdrawn as a whole by :meth:`undo`).

        Parameters
        ----------
        file : str or path-like
            ``.csv`` or ``.star``.
        annotator : str or None, default=None
            Defaults to the handle's ``annotator``.
        replace_newer : bool, default=False
            Apply rows that replace labels the annotator gave after the sheet
            was exported (a warning lists them) instead of refusing the sheet.

        Returns
        -------
        summary : dict
            ``action_id`` (None if nothing new), ``n_labeled``,
            ``n_unchanged``, ``n_empty``.

        Raises
        ------
        ValueError
            Any problem of the sheet (listed together), a sheet exported by
            another campaign, or rows replacing newer labels (listed with the
            particle, the label in force and the sheet's).

        Warns
        -----
        UserWarning
            The sheet has no ``skcryoal_sheet`` column; or, with
            ``replace_newer``, the newer labels it replaces.
        """
        return import_labels(self, file, annotator=annotator, replace_newer=replace_newer)

    def predict(self, out_dir, *, fit=True, on_epoch=None):
        """Predict every particle; write tables for people and STAR files for RELION.

        Writes the output set into ``out_dir`` (a folder of its own, created):

        - ``predictions.star`` and ``predictions.csv``, one row per particle:
          ``particle_id``, every provenance column as recorded (the volume's
          file column, ``skcryoalImageName`` or ``rlnImageName``, named
          relative to ``out_dir``, so that
          ``read_subtomograms("out_dir/predictions.star")`` reads the volumes
          from any working folder), the current human ``label`` (empty if
          none), ``predicted_class`` and its ``probability`` (task model),
          ``mean_deviation`` (KL divergence of the task model's posterior
          from the EMA mean model's, the score of
          :class:`~skcryoal.EMADeviationQuery`: high where the two models
          disagree, a second confidence signal; NaN for models without a
          mean model), ``final_class`` (the human label where there is one,
          else the prediction), ``final_source`` (``"label"`` or
          ``"prediction"``) and ``model_id``; the STAR file within the
          source table's other blocks;
        - ``classes/class_NN_<name>.star``, per ``final_class``, the particle
          set the campaign was created from, restricted to that class: every
          block of the source STAR file (``data_general``, ``data_optics``...)
          and every column of its rows as given, under their names
          (``rlnClassNumber``, ``rlnOpticsGroup``, RELION's ``rlnImageName``),
          so that RELION 5, Warp/M and copick take it as is; plus skcryoal's
          columns: the class in ``skcryoalLabelText`` (``skcryoalLabel`` for
          integer classes; these two are skcryoal's own label columns),
          ``skcryoalParticleId``, ``skcryoalClassNumber`` (``NN + 1``),
          ``skcryoalClassProbability`` (the model's probability of the
          class), ``skcryoalClassSource`` (``"label"`` or ``"prediction"``)
          and ``skcryoalModelId``. For a pool read from files, the volume's
          file column is made absolute (``index@/abs/file``), so
          :func:`~skcryoal.io.read_subtomograms` reads the class file back,
          labeled, from any folder. The source is the
          pool table (for ``skcryoal extract`` and ``campaign new`` on a
          particle set: the input set itself, see :ref:`ug-tomograms`), or the
          ``particles=`` table of :meth:`create`.

        The whole set is written into a new folder beside ``out_dir`` and
        switched in at once: on Linux the two folders are exchanged
        atomically, so that a reader, or a process killed at any moment,
        finds the previous set or the new one, never a mix (elsewhere a kill
        between two renames leaves the previous set hidden beside
        ``out_dir``, as ``.NAME.*.old``). The hidden ``.NAME.*.new`` folder
        of a killed run is removed by a later ``predict`` into ``out_dir``
        once it is an hour old.

        Parameters
        ----------
        out_dir : str or path-like
            A new folder, or one written by ``predict``. A folder holding
            anything else is refused: it is replaced whole.
        fit : bool, default=True
            Fit first if the latest model was not fitted on the current labels.
        on_epoch : callable or None, default=None
            ``on_epoch(epoch, n_epochs)`` after each epoch of that fit.

        Returns
        -------
        files : dict
            ``star``, ``csv`` (Path), ``classes`` (dict class -> Path, classes
            with particles only) and ``model_id``.

        Raises
        ------
        FileExistsError
            ``out_dir`` holds files that ``predict`` did not write (they are
            named); nothing is written.
        """
        return predict(self, out_dir, fit=fit, on_epoch=on_epoch)
