"""Particle tables (RELION STAR or CSV) and the encoding of labels in them.

Label columns written by :func:`skcryoal.io.write_subtomograms`:

- ``rlnClassNumber``: 1-based position of the label in the sorted unique
  labels, so that RELION sees valid class numbers whatever the labels are.
- ``skcryoalLabel``: the label itself when labels are integers, or
- ``skcryoalLabelText``: the label percent-encoded (RFC 3986, UTF-8) when
  labels are strings, so that any string (spaces, quotes, ``#``, ``nan``...)
  survives STAR and CSV parsers exactly.

Every label column is read as text and parsed here, so that a missing value
is detected (and reported with its row) instead of turning into NaN.
"""

from pathlib import Path
from urllib.parse import quote, unquote

import numpy as np
import pandas as pd

IMAGE_COLUMNS = ("rlnImageName", "image_name", "filename", "path")
INT_LABEL_COLUMN = "skcryoalLabel"
TEXT_LABEL_COLUMN = "skcryoalLabelText"
CLASS_COLUMN = "rlnClassNumber"
PIXEL_SIZE_COLUMN = "rlnImagePixelSize"
LABEL_COLUMNS = (TEXT_LABEL_COLUMN, INT_LABEL_COLUMN, CLASS_COLUMN)
TABLE_SUFFIXES = (".star", ".csv")
# Values that the STAR reader turns into NaN whatever we ask.
_NA_TOKENS = ("", "nan", "NaN", "<NA>")


def encode_text_label(label):
    """Percent-encode a string label so that it is a single safe table token."""
    encoded = quote(label, safe="")
    if encoded in _NA_TOKENS[1:]:
        # "nan" / "NaN" would be parsed as missing: encode the first letter too.
        encoded = f"%{ord(encoded[0]):02X}{encoded[1:]}"
    return encoded


def encode_labels(y, n_samples):
    """Validate labels and return ``{column: values}`` for the table.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Integer or string labels.
    n_samples : int
        Expected length.

    Returns
    -------
    columns : dict of str to list
    """
    values = np.asarray(y)
    if values.ndim != 1 or len(values) != n_samples:
        raise ValueError(
            f"y must be a 1D array of {n_samples} labels (one per subtomogram); "
            f"got shape {values.shape}."
        )
    if values.dtype.kind in "iu":
        labels = [int(v) for v in values]
        column = {INT_LABEL_COLUMN: labels}
    elif values.dtype.kind in "UO":
        labels = [str(v) if isinstance(v, str) else v for v in values]
        bad = [i for i, v in enumerate(labels) if not isinstance(v, str) or v == ""]
        if bad:
            shown = ", ".join(f"{i} ({labels[i]!r})" for i in bad[:5])
            raise ValueError(
                "y must hold only integers or only non-empty strings; "
                f"rows {shown}{' ...' if len(bad) > 5 else ''} are not. "
                "Cast the labels with y.astype(int) or y.astype(str), and fill missing ones."
            )
        column = {TEXT_LABEL_COLUMN: [encode_text_label(v) for v in labels]}
    else:
        raise ValueError(
            f"y must hold integer or string labels; got dtype {values.dtype}. "
            "Cast them with y.astype(int) or y.astype(str)."
        )
    classes = sorted(set(labels))
    position = {c: k + 1 for k, c in enumerate(classes)}
    return {CLASS_COLUMN: [position[v] for v in labels], **column}


def decode_labels(df, column, table):
    """Parse a label column read as text; raise naming the rows that lack one.

    Parameters
    ----------
    df : DataFrame
        Particle table with ``column`` read as text.
    column : str
        The label column.
    table : Path
        The table file, for messages.

    Returns
    -------
    y : ndarray of shape (n_rows,)
        int64 when every value is an integer, else str. ``skcryoalLabelText``
        is percent-decoded.
    """
    raw = df[column].tolist()
    missing = [i for i, v in enumerate(raw) if not isinstance(v, str) or v.strip() in _NA_TOKENS]
    if missing:
        rows = ", ".join(str(i) for i in missing[:10])
        raise ValueError(
            f"{table}: column {column!r} has no label in rows {rows}"
            f"{' ...' if len(missing) > 10 else ''} ({len(missing)} of {len(raw)} rows; "
            "rows counted from 0). Label every row, or pass the table without a label "
            "column to read unlabeled data."
        )
    if column == TEXT_LABEL_COLUMN:
        return np.asarray([unquote(v) for v in raw], dtype=str)
    try:
        return np.asarray([int(v) for v in raw], dtype=np.int64)
    except ValueError:
        if column in (INT_LABEL_COLUMN, CLASS_COLUMN):
            bad = next(i for i, v in enumerate(raw) if not v.strip().lstrip("+-").isdigit())
            raise ValueError(
                f"{table}: column {column!r} must hold integers; row {bad} has {raw[bad]!r}."
            ) from None
        return np.asarray(raw, dtype=str)


def read_table(path, text_columns=()):
    """Read a STAR or CSV particle table.

    Parameters
    ----------
    path : Path
        ``.star`` or ``.csv`` file.
    text_columns : sequence of str
        Columns to keep as text (labels, file names).

    Returns
    -------
    particles : DataFrame
        The particle block (STAR: the block named ``particles``, else the first
        loop block with an image column, else the first loop block).
    pixel_size : float or None
        ``rlnImagePixelSize`` from an optics block or particle column, if any and
        unique.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(2, f"particle table not found: {path}", str(path))
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            blocks = {
                "particles": pd.read_csv(
                    path, dtype={c: str for c in text_columns}, keep_default_na=False
                )
            }
        elif suffix == ".star":
            import starfile

            blocks = starfile.read(path, always_dict=True, parse_as_string=list(text_columns))
        else:
            raise ValueError(f"unknown table suffix {suffix!r}; expected .star or .csv")
    except (ValueError, OSError, KeyError, IndexError, pd.errors.ParserError) as exc:
        raise ValueError(f"{path}: could not parse the particle table ({exc}).") from exc
    loops = {k: v for k, v in blocks.items() if isinstance(v, pd.DataFrame)}
    if not loops:
        # A single particle may be written as a simple (key value) block.
        loops = {k: pd.DataFrame([v]) for k, v in blocks.items() if isinstance(v, dict) and v}
    if not loops:
        raise ValueError(f"{path}: the table has no loop (column) block.")
    if "particles" in loops:
        particles = loops["particles"]
    else:
        with_images = [v for v in loops.values() if any(c in v.columns for c in IMAGE_COLUMNS)]
        particles = with_images[0] if with_images else next(iter(loops.values()))

    pixel = None
    for block in (blocks.get("optics"), particles):
        if isinstance(block, pd.DataFrame) and PIXEL_SIZE_COLUMN in block.columns:
            values = pd.to_numeric(block[PIXEL_SIZE_COLUMN], errors="coerce").unique()
            if len(values) == 1 and np.isfinite(values[0]):
                pixel = float(values[0])
            break
    return particles.reset_index(drop=True), pixel


def write_table(path, particles, voxel_size, volume_size, fmt):
    """Write a particle table: STAR with an optics block, or CSV."""
    path = Path(path)
    try:
        if fmt == "csv":
            particles = particles.assign(**{PIXEL_SIZE_COLUMN: float(voxel_size)})
            particles.to_csv(path, index=False)
        else:
            import starfile

            optics = pd.DataFrame(
                {
                    "rlnOpticsGroup": [1],
                    "rlnOpticsGroupName": ["opticsGroup1"],
                    PIXEL_SIZE_COLUMN: [float(voxel_size)],
                    "rlnImageSize": [int(volume_size)],
                    "rlnImageDimensionality": [3],
                }
            )
            particles = particles.assign(rlnOpticsGroup=1)
            starfile.write({"optics": optics, "particles": particles}, path, overwrite=True)
    except (ValueError, OSError) as exc:
        raise OSError(f"could not write particle table {path}: {exc}") from exc
    return path
