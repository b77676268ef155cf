"""Files for people and for RELION: batch sheets, label sheets, predictions."""

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..utils._atomic import atomic_output, atomic_write_text
from ._store import labels_digest
from ._tables import RESERVED, provenance, provenance_frame, shown_name
from ._validation import check_annotator

_EMPTY = ("", "nan", "NaN", "<NA>", "None", "?", ".")


# ---------------------------------------------------------------- writing
def _star_ready(frame):
    """Floats as shortest round-trip text (starfile would write 6 decimals)."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_float_dtype(values):
            out[column] = [("nan" if math.isnan(v) else repr(float(v))) for v in values]
        elif values.dtype == object:
            out[column] = [
                "" if v is None else (repr(v) if isinstance(v, float) else str(v)) for v in values
            ]
    return out


def write_star(path, frame, blocks=None):
    """Write a STAR file atomically: the given extra blocks, then ``particles``."""
    import starfile

    data = {name: pd.DataFrame(block) for name, block in (blocks or {}).items()}
    data["particles"] = _star_ready(frame)
    with atomic_output(path) as tmp:
        starfile.write(data, tmp, overwrite=True)
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
        if not _is_empty(label) and pid in queued:
            rows.append(n)
    return rows


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


def import_labels(campaign, file, annotator=None):
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
    rows = dict(provenance(campaign))
    checked = [
        (shown_name(c), c) for c in campaign._meta["columns"] if shown_name(c) in sheet.columns
    ]
    errors, items, seen, n_empty = [], [], {}, 0
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
        label = record["label"]
        if _is_empty(label):
            n_empty += 1
            continue
        try:
            items.append((pid, campaign._classes.to_text(label, where=f" in {where}")))
        except ValueError:
            errors.append(f"{where}: unknown class {label!r}")
    if errors:
        shown = "\n  - ".join(errors[:20]) + ("\n  - ..." if len(errors) > 20 else "")
        raise ValueError(
            f"{path}: {len(errors)} problem(s), nothing was imported. Classes are "
            f"{campaign.classes}.\n  - {shown}"
        )
    action, n = campaign._store.record("import", annotator, items, skip_unchanged=True)
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


def _safe(name):
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", str(name)) or "class"


def predict(campaign, out_dir, *, fit=True, on_epoch=None):
    """Predict every particle and write the tables; see Campaign.predict."""
    labels = campaign._current_labels()
    model, record = campaign._latest_model()
    stale = record is None or record["labels_digest"] != labels_digest(labels)
    if fit and stale and len(labels) >= 2:
        campaign.fit(on_epoch=on_epoch)
        model, record = campaign._latest_model()
    if model is None:
        raise ValueError(
            "no model is fitted yet; label at least 2 particles and call campaign.fit() first."
        )
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

    out_dir = Path(out_dir)
    (out_dir / "classes").mkdir(parents=True, exist_ok=True)
    blocks = campaign._meta.get("blocks") or {}
    files = {
        "star": write_star(out_dir / "predictions.star", frame, blocks),
        "csv": write_csv(out_dir / "predictions.csv", frame.fillna({"label": ""})),
        "classes": {},
        "model_id": record["model_id"],
    }
    relion = _relion_rows(campaign)
    final_arr = np.asarray([str(v) for v in final], dtype=object)
    for k, cls in enumerate(campaign.classes):
        members = np.flatnonzero(final_arr == str(cls))
        if len(members) == 0:
            continue
        rows = _with_class(relion.iloc[members].reset_index(drop=True), k, cls)
        path = out_dir / "classes" / f"class_{k:02d}_{_safe(cls)}.star"
        files["classes"][cls] = write_star(path, rows, blocks)
    for stale_file in (out_dir / "classes").glob("class_*.star"):
        if stale_file not in files["classes"].values():
            stale_file.unlink(missing_ok=True)
    return files


def _with_class(frame, k, cls):
    """Label the rows of one class file: RELION's class number and skcryoal's label column."""
    from ..io._tables import INT_LABEL_COLUMN, TEXT_LABEL_COLUMN, encode_text_label

    frame = frame.drop(columns=[INT_LABEL_COLUMN, TEXT_LABEL_COLUMN], errors="ignore")
    frame["rlnClassNumber"] = k + 1
    if isinstance(cls, str):
        frame[TEXT_LABEL_COLUMN] = encode_text_label(cls)
    else:
        frame[INT_LABEL_COLUMN] = cls
    return frame


def _relion_rows(campaign):
    """The source table's own columns, with absolute image names where files are known."""
    rows = [row for _, row in provenance(campaign)]
    if campaign._meta["pool"]["kind"] != "path":
        frame = provenance_frame(campaign)
        return frame[[c for c in frame.columns if c not in RESERVED or c == "particle_id"]]
    own = ("skcryoal_file", "skcryoal_index")
    columns = [c for c in campaign._meta["columns"] if c not in own]
    frame = pd.DataFrame({c: [r.get(c) for r in rows] for c in columns})
    counts = pd.Series([r["skcryoal_file"] for r in rows]).value_counts()
    names = []
    for r in rows:
        original = r.get("rlnImageName")
        stack = "@" in str(original) if original is not None else counts[r["skcryoal_file"]] > 1
        names.append(f"{r['skcryoal_index']}@{r['skcryoal_file']}" if stack else r["skcryoal_file"])
    frame["rlnImageName"] = names
    return frame


class FilesMixin:
    """The file methods of :class:`Campaign` (sheets, label import, predictions)."""

    def export_batch(self, directory, *, per_page=24, overwrite=False):
        """Write the queued particles as orthoslice sheets and a label sheet to fill in.

        Writes into ``directory`` (created): ``batch.csv`` and ``batch.star``, the
        label sheet (``particle_id``, ``round``, ``rank``, every provenance column
        and an empty ``label`` column); ``batch-page-NNN.png``, orthoslice sheets
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

    def import_labels(self, file, annotator=None):
        """Import a filled label sheet (CSV or STAR): validated whole, applied all or nothing.

        The sheet needs ``particle_id`` and ``label`` columns (as written by
        :meth:`export_batch`); every other column that names a provenance
        column (``rlnImageName``, coordinates, ``skcryoal_file``...) must agree
        with the campaign's record, so a sheet sorted or edited out of step
        with its ids is caught. Rows with an empty label are not labelled yet
        and are ignored; rows repeating the annotator's current label are not
        recorded twice. Everything is checked before anything is written: an
        unknown class, a particle id not in the campaign, a particle listed
        twice, or a row disagreeing with the provenance raises one error that
        lists every problem, and nothing is imported. The labels are recorded
        in one transaction (one action, withdrawn as a whole by :meth:`undo`).

        Parameters
        ----------
        file : str or path-like
            ``.csv`` or ``.star``.
        annotator : str or None, default=None
            Defaults to the handle's ``annotator``.

        Returns
        -------
        summary : dict
            ``action_id`` (None if nothing new), ``n_labeled``,
            ``n_unchanged``, ``n_empty``.
        """
        return import_labels(self, file, annotator=annotator)

    def predict(self, out_dir, *, fit=True, on_epoch=None):
        """Predict every particle; write tables for people and STAR files for RELION.

        Writes into ``out_dir`` (created), atomically:

        - ``predictions.star`` and ``predictions.csv``, one row per particle:
          ``particle_id``, every provenance column unchanged, the current
          human ``label`` (empty if none), ``predicted_class`` and its
          ``probability`` (task model), ``mean_deviation`` (KL divergence of
          the task model's posterior from the EMA mean model's, the score of
          :class:`~skcryoal.EMADeviationQuery`: high where the two models
          disagree, a second confidence signal; NaN for models without a
          mean model), ``final_class`` (the human label where there is one,
          else the prediction), ``final_source`` (``"label"`` or
          ``"prediction"``) and ``model_id``;
        - ``classes/class_NN_<name>.star``, the source table's own rows (and
          its other blocks, e.g. optics) of each ``final_class``, for RELION
          subtomogram averaging: ``rlnImageName`` made absolute
          (``index@/abs/file``) so that the file works from any folder,
          ``rlnClassNumber`` set to ``NN + 1`` and the class in
          ``skcryoalLabelText`` (or ``skcryoalLabel`` for integer classes), so
          that :func:`~skcryoal.io.read_subtomograms` reads it back labeled.

        Parameters
        ----------
        out_dir : str or path-like
        fit : bool, default=True
            Fit first if the latest model was not fitted on the current labels.
        on_epoch : callable or None, default=None
            ``on_epoch(epoch, n_epochs)`` after each epoch of that fit.

        Returns
        -------
        files : dict
            ``star``, ``csv`` (Path), ``classes`` (dict class -> Path, classes
            with particles only) and ``model_id``.
        """
        return predict(self, out_dir, fit=fit, on_epoch=on_epoch)
