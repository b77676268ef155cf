"""Whole-file writes that an interruption cannot leave half done."""

import contextlib
import os
import uuid
from pathlib import Path


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary file to write, and move it onto ``path`` when the block succeeds.

    The temporary file lies in the folder of ``path`` (a rename is atomic only
    within one file system), is hidden, and ends with the suffix of ``path``,
    so that writers which infer a format from the name (``Figure.savefig``)
    work. When the ``with`` block ends, the file is synced to disk and renamed
    onto ``path`` with :func:`os.replace`, then the folder is synced where the
    platform allows it: a reader, or a crash at any moment, finds the old file
    or the new one, never a part of it. If the block raises, the temporary
    file is removed and ``path`` is left as it was; a killed process may leave
    the hidden temporary file behind.

    Parameters
    ----------
    path : str or path-like
        The file to write. Its folder must exist.

    Yields
    ------
    tmp : pathlib.Path
        An empty file beside ``path``, with the permissions a new file gets.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skcryoal.utils._atomic import atomic_output
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "notes.txt"
    ...     with atomic_output(path) as tmp:
    ...         _ = tmp.write_text("complete")
    ...     print(path.read_text())
    complete
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:12]}.tmp{path.suffix}")
    # not tempfile.mkstemp: its 0600 mode would make the final file private
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        message = f"Cannot write {str(path)!r}: {exc.strerror}"
        raise type(exc)(exc.errno, message, str(tmp)) from None
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(path.parent)


def atomic_write_bytes(path, data):
    """Replace the file ``path`` by ``data`` in one step (see :func:`atomic_output`).

    Parameters
    ----------
    path : str or path-like
        The file to write. Its folder must exist.
    data : bytes
    """
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        f.write(data)


def atomic_write_text(path, text, encoding="utf-8"):
    """Replace the file ``path`` by ``text`` in one step (see :func:`atomic_output`).

    Parameters
    ----------
    path : str or path-like
        The file to write. Its folder must exist.
    text : str
        Written as is: line endings are not translated.
    encoding : str, default="utf-8"
    """
    atomic_write_bytes(path, text.encode(encoding))


def _fsync(path):
    fd = os.open(path, os.O_RDWR)  # Windows syncs only a file open for writing
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder):
    # makes the rename itself durable; Windows cannot open a folder, some file
    # systems refuse to sync one: the rename is then as durable as they make it
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
