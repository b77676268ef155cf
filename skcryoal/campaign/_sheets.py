"""What a label sheet carries besides labels: the campaign it belongs to, and when it was made.

Every sheet :meth:`Campaign.export_batch` writes has a ``skcryoal_sheet``
column whose value, ``<campaign id>:<sheet id>:<last action id>``, says which
campaign exported it, which export it is, and how far the campaign's labels
went when it was exported. :meth:`Campaign.import_labels` refuses a sheet of
another campaign, and a row that would replace a label its annotator gave
after the sheet was exported (an old sheet imported again), unless told to.
"""

import hashlib
import math
import re
import uuid
import warnings

#: the column of a label sheet that identifies it
SHEET_COLUMN = "skcryoal_sheet"
#: cell values that label sheets and tables take for "no label": never a class name
MISSING_LIKE = ("", "nan", "NaN", "<NA>", "None", "?", ".")
_STAMP = re.compile(r"^([0-9a-f]{16}):([0-9a-f]{8}):(\d+)$")


def campaign_id(meta):
    """Return the campaign's id: recorded at creation, or derived from what was recorded.

    Campaigns created before ids were recorded get one derived from their
    creation time, creator and seed: stable, and nothing is written.
    """
    recorded = meta.get("campaign_id")
    if recorded:
        return recorded
    basis = f"{meta.get('created')}|{meta.get('creator')}|{meta.get('seed')}"
    return hashlib.sha256(basis.encode()).hexdigest()[:16]


def new_campaign_id():
    """Return a fresh random campaign id (16 hex digits)."""
    return uuid.uuid4().hex[:16]


def sheet_stamp(campaign):
    """The ``skcryoal_sheet`` value of a sheet exported now."""
    last = campaign._store.last_action_id()
    return f"{campaign_id(campaign._meta)}:{uuid.uuid4().hex[:8]}:{last}"


def is_missing_like(text):
    """Whether a class name would read as a missing value in a sheet or table."""
    return str(text).strip() in MISSING_LIKE or _reads_as_nan(str(text))


def _reads_as_nan(text):
    """Whether the STAR reader takes ``text`` for NaN (as it does ``nan`` and ``<NA>``)."""
    text = text.strip()
    if text == "<NA>":
        return True
    try:
        return math.isnan(float(text))
    except ValueError:
        return False


def sheet_label(classes, value, where):
    """Return the class text of a label cell, or None for an empty one.

    A cell naming a class is that class, even where the name looks like a
    missing value (campaigns created before such names were refused may have
    them); the other missing-value spellings (``nan``, ``None``, ``?``, ``.``)
    mean "not labelled yet".

    Raises
    ------
    ValueError
        An unknown class, or a cell that the STAR reader turned into NaN where
        a class's name reads as NaN too (which of the two was meant is lost).
    """
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        ambiguous = [t for t in classes.texts if _reads_as_nan(t)]
        if ambiguous:
            raise ValueError(
                f"{where}: the cell reads as a missing value (NaN) and this campaign has the "
                f"class {ambiguous[0]!r}, which reads the same; label this particle in a CSV "
                "sheet or with campaign.label()"
            )
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        return classes.to_text(value, where=f" in {where}")
    except ValueError:
        if text in MISSING_LIKE:
            return None
        raise ValueError(f"{where}: unknown class {value!r}") from None


def read_stamps(campaign, sheet, path):
    """Check each row's ``skcryoal_sheet`` value; return ``[(sheet_id, as_of) or None]``.

    Raises
    ------
    ValueError
        The sheet was exported by another campaign, or a value is not one
        that an export writes.

    Warns
    -----
    UserWarning
        The sheet has no ``skcryoal_sheet`` column (exported by an earlier
        skcryoal, or made by hand): which campaign it belongs to cannot be
        checked.
    """
    n = len(sheet)
    if SHEET_COLUMN not in sheet.columns:
        warnings.warn(
            f"{path} has no {SHEET_COLUMN} column (a sheet exported by skcryoal before sheets "
            "were stamped, or made by hand): it cannot be checked to come from this campaign, "
            "so it was checked against the campaign's particle provenance only, and every "
            "label its annotator gave counts as newer than the sheet.",
            UserWarning,
            stacklevel=4,
        )
        return [None] * n
    ours = campaign_id(campaign._meta)
    stamps, foreign, bad = [], {}, []
    for line, value in enumerate(sheet[SHEET_COLUMN].tolist(), start=1):
        text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else value
        text = str(text).strip()
        match = _STAMP.match(text)
        if not text:
            stamps.append(None)  # a row added by hand
        elif match is None:
            bad.append(f"row {line}: {SHEET_COLUMN} is {value!r}, not a value export writes")
            stamps.append(None)
        elif match.group(1) != ours:
            foreign.setdefault(match.group(1), []).append(line)
            stamps.append(None)
        else:
            stamps.append((match.group(2), int(match.group(3))))
    if foreign:
        rows = sorted(line for lines in foreign.values() for line in lines)
        raise ValueError(
            f"{path} was exported by another campaign (id {', '.join(foreign)}; rows "
            f"{rows[:10]}{' ...' if len(rows) > 10 else ''}), but this campaign, "
            f"{campaign.path}, has id {ours}: its particle ids would label other particles. "
            "Import the sheet into the campaign that exported it. Nothing was imported."
        )
    if bad:
        raise ValueError(
            f"{path}: {len(bad)} row(s) have an altered {SHEET_COLUMN} column; leave it as "
            "exported (or empty, for rows added by hand). Nothing was imported.\n  - "
            + "\n  - ".join(bad[:20])
        )
    return stamps


def newer_label_check(campaign, path, annotator, rows, replace_newer):
    """Return ``check(cur)`` for :meth:`Store.record`: refuse to revert newer labels.

    A row conflicts when its label differs from the one its annotator has in
    force for that particle and that label was given after the sheet was
    exported (any label, for a sheet without a stamp), other than by an
    earlier import of the same sheet (a correction made in the sheet).

    Parameters
    ----------
    rows : list of (line, particle_id, label_text, stamp)
    replace_newer : bool
        Apply the sheet anyway, with a warning listing what it replaces.
    """
    store, classes = campaign._store, campaign._classes

    def check(cur):
        own = store.latest_own_labels(cur, annotator)
        from_sheet = {}
        conflicts = []
        for line, pid, text, stamp in rows:
            mine = own.get(pid)
            if mine is None or mine[0] == text:
                continue
            label, action = mine
            if stamp is not None:
                sheet_id, as_of = stamp
                if action <= as_of:
                    continue  # given before the export: the sheet relabels it
                if sheet_id not in from_sheet:
                    from_sheet[sheet_id] = store.sheet_actions(cur, sheet_id)
                if action in from_sheet[sheet_id]:
                    continue  # imported from this very sheet, corrected in it since
            conflicts.append(
                f"row {line} (particle {pid}): the sheet says {classes.value(text)!r}, but "
                f"{annotator} labeled it {classes.value(label)!r} since (action {action})"
            )
        if not conflicts:
            return
        listed = "\n  - ".join(conflicts[:20]) + ("\n  - ..." if len(conflicts) > 20 else "")
        if replace_newer:
            warnings.warn(
                f"{path}: replacing {len(conflicts)} label(s) that {annotator} gave after the "
                f"sheet was exported (replace_newer=True; undo() withdraws the import):\n  - "
                f"{listed}",
                UserWarning,
                stacklevel=6,
            )
            return
        raise ValueError(
            f"{path}: {len(conflicts)} row(s) would replace a label that {annotator} gave "
            "after this sheet was exported (an old sheet imported again?); nothing was "
            f"imported.\n  - {listed}\nEmpty these rows or write the current labels into them, "
            "or pass replace_newer=True to apply the sheet's labels anyway."
        )

    return check
