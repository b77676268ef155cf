"""Particle tables (RELION STAR or CSV) and the encoding of labels in them.

Label columns written by :func:`skcryoal.io.write_subtomograms`:

- ``rlnClassNumber``: 1-based position of the label in the sorted unique
  labels, so that RELION sees valid class numbers whatever the labels are.
- ``skcryoalLabel``: the label itself when labels are integers, or
- ``skcryoalLabelText``: the label percent-encoded (RFC 3986, UTF-8) when
  labels are strings, so that any string (spaces, quotes, ``#``, ``nan``...)
  survives STAR and CSV parsers exactly.

A table that carries the rows of another particle set (``skcryoal extract``,
a campaign's class files) keeps that set's blocks and columns as given and
puts skcryoal's own values in columns named ``skcryoal*``: the subtomogram
file is then ``skcryoalImageName`` (read before ``rlnImageName``, which names
the set's own images) and its voxel size ``skcryoalImagePixelSize`` (read
instead of the optics block, which describes the set's own images).

Every label column is read as text and parsed here, so that a missing value
is detected (and reported with its row) instead of turning into NaN.
"""

import contextlib
import io
import linecache
import os
import tempfile
from pathlib import Path
from urllib.parse import quote, unquote

import numpy as np
import pandas as pd

from ._errors import not_a_file_error

#: the key of DataFrame.attrs holding a particle table's other STAR blocks
BLOCKS_ATTR = "skcryoal_blocks"
#: skcryoal's own file column, in tables that keep another set's rlnImageName
OWN_IMAGE_COLUMN = "skcryoalImageName"
#: the voxel size of the files of OWN_IMAGE_COLUMN
OWN_PIXEL_SIZE_COLUMN = "skcryoalImagePixelSize"
IMAGE_COLUMNS = (OWN_IMAGE_COLUMN, "rlnImageName", "image_name", "filename", "path")
INT_LABEL_COLUMN = "skcryoalLabel"
TEXT_LABEL_COLUMN = "skcryoalLabelText"
CLASS_COLUMN = "rlnClassNumber"
PIXEL_SIZE_COLUMN = "rlnImagePixelSize"
OPTICS_GROUP_COLUMN = "rlnOpticsGroup"
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


def _is_missing(value):
    return not isinstance(value, str) or value.strip() in _NA_TOKENS


def decode_labels(df, column, table, partial=False):
    """Parse a label column read as text; raise naming the rows that lack one.

    Surrounding whitespace is formatting (``a, b`` in a hand-edited CSV), not
    part of a label, and is stripped; a label that really has spaces at its
    ends survives in ``skcryoalLabelText``, where it is percent-encoded.

    Parameters
    ----------
    df : DataFrame
        Particle table with ``column`` read as text.
    column : str
        The label column.
    table : Path
        The table file, for messages.
    partial : bool, default=False
        If False, a row without a label is an error. If True, such rows get
        None.

    Returns
    -------
    y : ndarray of shape (n_rows,)
        If not ``partial``: int64 when every value is an integer, else str.
        If ``partial``: object, holding Python ints (when every label present
        is an integer) or str, and None for rows without a label.
        ``skcryoalLabelText`` is percent-decoded.
    """
    raw = df[column].tolist()
    missing = [i for i, v in enumerate(raw) if _is_missing(v)]
    if missing and not partial:
        rows = ", ".join(str(i) for i in missing[:10])
        raise ValueError(
            f"{table}: column {column!r} has no label in rows {rows}"
            f"{' ...' if len(missing) > 10 else ''} ({len(missing)} of {len(raw)} rows; "
            "rows counted from 0). Label every row, pass partial_labels=True to get None "
            "for the unlabeled rows, or pass the table without a label column to read "
            "unlabeled data."
        )
    rows = [i for i, v in enumerate(raw) if not _is_missing(v)]
    values = [raw[i].strip() for i in rows]
    if column == TEXT_LABEL_COLUMN:
        labels, dtype = [unquote(v) for v in values], str
    else:
        try:
            labels, dtype = [int(v) for v in values], np.int64
        except ValueError:
            if column in (INT_LABEL_COLUMN, CLASS_COLUMN):
                bad = next(i for i in rows if not raw[i].strip().lstrip("+-").isdigit())
                raise ValueError(
                    f"{table}: column {column!r} must hold integers; row {bad} has {raw[bad]!r}."
                ) from None
            labels, dtype = values, str
    if not partial:
        return np.asarray(labels, dtype=dtype)
    y = np.full(len(raw), None, dtype=object)
    for i, label in zip(rows, labels):
        y[i] = label
    return y


def read_blocks(path, text_columns=()):
    """Read every data block of a STAR file (or the one table of a CSV file).

    The file is read once, as bytes, and parsed from that snapshot, so every
    call sees the file as it is on disk now (never an older version from a
    cache, never half an old and half a new file).

    Parameters
    ----------
    path : Path
        ``.star`` or ``.csv`` file.
    text_columns : sequence of str
        Columns to keep as text (labels, file names, tomogram names).

    Returns
    -------
    blocks : dict of str to DataFrame or dict
        Loop blocks as DataFrames and simple (key value) blocks as dicts, by
        block name (``data_global`` is ``"global"``); a CSV file is one block
        named ``"particles"``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it cannot be parsed (the message names the file and the parser's
        complaint) or has two CSV columns of the same name.
    """
    path = Path(path)
    if not path.is_file():
        raise not_a_file_error(
            path, "particle table", "give a STAR (.star) or CSV (.csv) particle table file."
        )
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ValueError(f"{path}: unknown table suffix {suffix!r}; expected .star or .csv.")
    data = path.read_bytes()
    if suffix == ".csv":
        return {"particles": _parse_csv(path, data, text_columns)}
    return _parse_star(path, data, text_columns)


def particle_block_name(path, blocks):
    """The name of the particle block of ``blocks`` (see :func:`read_table`)."""
    loops = [k for k, v in blocks.items() if isinstance(v, pd.DataFrame)]
    if not loops:
        # A single particle may be written as a simple (key value) block.
        singles = [k for k, v in blocks.items() if isinstance(v, dict) and v]
        if not singles:
            raise ValueError(f"{path}: the table has no loop (column) block.")
        return singles[0]
    if "particles" in loops:
        return "particles"
    with_images = [k for k in loops if any(c in blocks[k].columns for c in IMAGE_COLUMNS)]
    return with_images[0] if with_images else loops[0]


def particle_block(path, blocks):
    """The particle block of ``blocks`` (see :func:`read_table`), index reset."""
    block = blocks[particle_block_name(path, blocks)]
    frame = block if isinstance(block, pd.DataFrame) else pd.DataFrame([block])
    return frame.reset_index(drop=True)


def plain(value):
    """A table cell as a plain Python value (JSON-ready; NaN stays a float)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    try:
        if value != value:  # pandas NA / NaT
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def side_blocks(path, blocks):
    """The blocks of a STAR file other than its particles, as given, in order.

    Returns
    -------
    blocks : dict
        By block name, in the file's order: a loop block as ``{column: [values]}``,
        a simple (key value) block as ``{key: value}``, and the particle block
        itself as None (it marks the block's name and place). Values are plain
        Python values, ready for JSON. ``write_star`` writes them back.
    """
    name = particle_block_name(path, blocks)
    out = {}
    for key, block in blocks.items():
        if key == name:
            out[str(key)] = None
        elif isinstance(block, pd.DataFrame):
            out[str(key)] = {str(c): [plain(v) for v in block[c]] for c in block.columns}
        elif isinstance(block, dict):
            out[str(key)] = {str(k): plain(v) for k, v in block.items()}
    return out


def _cell_text(value):
    """A cell as STAR text: floats at full precision (starfile would write 6 decimals)."""
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return "nan" if np.isnan(value) else repr(float(value))
    if isinstance(value, np.generic):
        value = value.item()
    return str(value)


def star_text(frame):
    """A copy of ``frame`` with every cell as STAR text (see :func:`write_star`)."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_float_dtype(values):
            out[column] = [("nan" if np.isnan(v) else repr(float(v))) for v in values]
        elif values.dtype == object:
            out[column] = [_cell_text(v) for v in values]
    return out


def star_data(particles, blocks=None):
    """The blocks to write: ``blocks`` in order, ``particles`` in place of its None entry.

    ``blocks`` is as :func:`side_blocks` returns it; without a None entry the
    particles come last, as ``data_particles``.
    """
    data, placed = {}, False
    for name, block in (blocks or {}).items():
        if block is None:
            data[name], placed = star_text(particles), True
        elif block and all(isinstance(v, list) for v in block.values()):
            data[name] = star_text(pd.DataFrame(block))
        else:
            data[name] = {k: _cell_text(v) for k, v in block.items()}
    if not placed:
        data["particles"] = star_text(particles)
    return data


def write_star(path, particles, blocks=None):
    """Write a STAR file: ``blocks`` (see :func:`side_blocks`) with ``particles`` in place.

    Floats are written at full precision (shortest round-trip text), so a table
    read and written again keeps every value.
    """
    import starfile

    starfile.write(star_data(particles, blocks), path, overwrite=True)
    return Path(path)


def read_table(path, text_columns=(), *, pixel_size=True):
    """Read a STAR or CSV particle table.

    The file is read once, as bytes, and parsed from that snapshot (see
    :func:`read_blocks`).

    Parameters
    ----------
    path : Path
        ``.star`` or ``.csv`` file.
    text_columns : sequence of str
        Columns to keep as text (labels, file names).
    pixel_size : bool, default=True
        Whether to look up (and check) the pixel size.

    Returns
    -------
    particles : DataFrame
        The particle block (STAR: the block named ``particles``, else the first
        loop block with an image column, else the first loop block). CSV column
        names are stripped of surrounding whitespace (``a, b`` names ``b``);
        no column is lost.
    pixel_size : float or None
        ``rlnImagePixelSize`` from the optics block (only the groups used by the
        particles) or else from a particle column, if any; in a table whose files
        are ``skcryoalImageName``, ``skcryoalImagePixelSize`` (the optics block
        describes the images of ``rlnImageName``). None if not asked.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it cannot be parsed (the message names the file and the parser's
        complaint), has no loop block, has two CSV columns of the same name, or
        gives different pixel sizes (optics groups or rows).
    """
    path = Path(path)
    blocks = read_blocks(path, text_columns)
    particles = particle_block(path, blocks)
    pixel = _pixel_size(path, blocks.get("optics"), particles) if pixel_size else None
    return particles, pixel


def _parse_failure(path, exc, fix, alias=None):
    complaint = str(exc) if alias is None else str(exc).replace(alias, str(path))
    return ValueError(
        f"{path}: could not parse the particle table ({type(exc).__name__}: {complaint}). {fix}"
    )


def _parse_star(path, data, text_columns):
    import starfile

    # starfile reads the file line by line through the process-wide ``linecache``
    # and clears it only after a successful parse: after a failed parse, a later
    # read of the same path (even once fixed) is served the cached old lines, and
    # linecache's own staleness check (size and mtime) misses same-size rewrites.
    # So starfile never sees the user's path: it parses a private copy of the
    # bytes just read, under a fresh name that no cache entry can match, and the
    # entry is dropped afterwards.
    try:
        fd, snapshot = tempfile.mkstemp(prefix="skcryoal-table-", suffix=".star")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except OSError as exc:
        raise OSError(f"{path}: could not copy the table to a temporary file ({exc})") from exc
    try:
        return starfile.read(snapshot, always_dict=True, parse_as_string=list(text_columns))
    except MemoryError:
        raise
    except Exception as exc:  # whatever starfile raises, the file is malformed
        fix = "Check the STAR syntax (data_ blocks, loop_ headers, one value per column)."
        raise _parse_failure(path, exc, fix, alias=snapshot) from exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(snapshot)
        linecache.checkcache(snapshot)  # drops the entry of the deleted file


def _parse_csv(path, data, text_columns):
    def parse(**kwargs):
        # skipinitialspace: "a, b" is the value "b", in the header and the rows.
        return pd.read_csv(io.BytesIO(data), skipinitialspace=True, keep_default_na=False, **kwargs)

    try:
        header = parse(header=None, nrows=1, dtype=str).iloc[0].tolist()
    except MemoryError:
        raise
    except Exception as exc:
        raise _parse_failure(path, exc, "Check that it is a comma-separated table.") from exc
    # Stripping only drops padding (a name cannot meaningfully start or end with a
    # space), so nothing is lost; unstripped, "skcryoalLabel " would not be found
    # as the label column and the labels would be silently dropped.
    names = [n.strip() or f"Unnamed: {i}" for i, n in enumerate(map(str, header))]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(
            f"{path}: column {twice[0]!r} appears more than once (after stripping spaces "
            f"from the header {header}); rename the columns so that each name is unique."
        )
    data = _even_rows(path, data, len(names))
    try:
        # index_col=False: a row longer than the header never turns the first
        # column into the index (which shifted every column by one)
        return parse(
            header=0,
            names=names,
            index_col=False,
            dtype={n: str for n in names if n in text_columns},
        )
    except MemoryError:
        raise
    except Exception as exc:
        raise _parse_failure(path, exc, "Check that every row has the header's columns.") from exc


def _even_rows(path, data, n_columns):
    """Check that every CSV row has the header's ``n_columns`` fields; return the data.

    Empty fields after the last column (trailing commas, as spreadsheets
    export) are dropped; a row with other extra values, or with fewer fields,
    is refused naming its line.
    """
    import csv

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data  # pandas says what is wrong with the encoding
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    rows, trimmed = [], False
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line: skipped, as pandas does
            if len(row) > n_columns and not any(v.strip() for v in row[n_columns:]):
                row, trimmed = row[:n_columns], True
            if len(row) != n_columns and rows:
                what = "more" if len(row) > n_columns else "fewer"
                raise ValueError(
                    f"{path}: line {reader.line_num} has {len(row)} fields, {what} than the "
                    f"{n_columns} columns of the header (line 1); give every row one value per "
                    "column (an empty one for a missing value, e.g. 'a,,c')."
                )
            rows.append(row)
    except csv.Error:
        return data  # pandas names the parse error
    if not trimmed:
        return data
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def _pixel_size(path, optics, particles):
    """The one pixel size of the particles, or None; raise if they have several."""
    column = PIXEL_SIZE_COLUMN
    if OWN_IMAGE_COLUMN in particles.columns:
        # the optics block and rlnImagePixelSize describe the set's own images
        if OWN_PIXEL_SIZE_COLUMN not in particles.columns:
            return None
        column, rows, where = OWN_PIXEL_SIZE_COLUMN, particles, "particles"
        names = [f"row {i}" for i in range(len(rows))]
    elif isinstance(optics, pd.DataFrame) and PIXEL_SIZE_COLUMN in optics.columns:
        rows, where = optics, "optics groups"
        if OPTICS_GROUP_COLUMN in optics.columns:
            if OPTICS_GROUP_COLUMN in particles.columns:
                used = set(particles[OPTICS_GROUP_COLUMN].tolist())
                rows = optics[optics[OPTICS_GROUP_COLUMN].isin(used)]
            names = [f"group {g}" for g in rows[OPTICS_GROUP_COLUMN].tolist()]
        else:
            names = [f"optics row {i}" for i in range(len(rows))]
    elif PIXEL_SIZE_COLUMN in particles.columns:
        rows, where = particles, "particles"
        names = [f"row {i}" for i in range(len(rows))]
    else:
        return None
    values = pd.to_numeric(rows[column], errors="coerce").to_numpy(np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        return None
    first = values[finite][0]
    if not np.allclose(values[finite], first, rtol=1e-4, atol=1e-6):
        seen = {}
        for name, value in zip(names, values):
            if np.isfinite(value) and not any(np.isclose(value, v, rtol=1e-4) for v in seen):
                seen[value] = name
        shown = ", ".join(f"{name}: {value:g} A" for value, name in list(seen.items())[:5])
        raise ValueError(
            f"{path}: the {where} have different pixel sizes ({column}: {shown}); "
            "all subtomograms read together must share one voxel size. Split the table "
            f"(e.g. by {OPTICS_GROUP_COLUMN}) and read each part separately, or resample "
            "the subtomograms to one pixel size."
        )
    return float(first)


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
                    OPTICS_GROUP_COLUMN: [1],
                    "rlnOpticsGroupName": ["opticsGroup1"],
                    PIXEL_SIZE_COLUMN: [float(voxel_size)],
                    "rlnImageSize": [int(volume_size)],
                    "rlnImageDimensionality": [3],
                }
            )
            particles = particles.assign(**{OPTICS_GROUP_COLUMN: 1})
            starfile.write({"optics": optics, "particles": particles}, path, overwrite=True)
    except (ValueError, OSError) as exc:
        raise OSError(f"could not write particle table {path}: {exc}") from exc
    return path
