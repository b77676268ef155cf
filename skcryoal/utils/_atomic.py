"""Whole-file writes that an interruption cannot leave half done."""

import contextlib
import ctypes
import errno
import os
import shutil
import sys
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
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename is None and exc.errno is not None:
            # a full disk fails a write(), which names no file: say which one
            message = f"Cannot write {str(path)!r}: {exc.strerror}"
            raise OSError(exc.errno, message, str(path)) from exc
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


def replace_folder(new, target):
    """Put the folder ``new`` in the place of the folder ``target``, in one step.

    Where the system can exchange two folders atomically (Linux 3.15 and later,
    ``renameat2`` with ``RENAME_EXCHANGE``, on the usual local file systems),
    ``new`` and ``target`` are exchanged: a reader of ``target``, or a process
    killed at any moment, finds the old content or the new one, never a mix and
    never nothing. The old content, now at ``new``, is then removed. Elsewhere,
    ``target`` is renamed aside and ``new`` renamed onto it: a process killed
    between the two renames leaves no ``target`` (the old content hidden beside
    it, ``.NAME.*.old``, the new one at ``new``), still never a mix.

    Parameters
    ----------
    new : path-like
        A complete folder, in the same folder as ``target`` (a rename is atomic
        only within one file system); its files should be synced to disk.
    target : path-like
        The folder to replace, or a name that does not exist yet.
    """
    new, target = Path(new), Path(target)
    if not os.path.lexists(target):
        os.rename(new, target)
        _fsync_folder(target.parent)
        return
    if _exchange(new, target):
        old = new
    else:
        old = target.parent / f".{target.name}.{uuid.uuid4().hex[:12]}.old"
        os.rename(target, old)
        try:
            os.rename(new, target)
        except BaseException:
            os.rename(old, target)  # the old content back in place
            raise
    _fsync_folder(target.parent)
    shutil.rmtree(old, ignore_errors=True)


#: renameat2(2)'s flag (<linux/fs.h>) and the "current folder" descriptor (<fcntl.h>)
_RENAME_EXCHANGE, _AT_FDCWD = 2, -100


def _exchange(a, b):
    """Exchange two paths atomically; False where the system or file system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2  # glibc 2.28 and later
    except (OSError, AttributeError):
        return False
    text, number = ctypes.c_char_p, ctypes.c_int
    renameat2.argtypes = [number, text, number, text, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False  # an old kernel, or a file system that cannot exchange
    raise OSError(code, f"Cannot replace {str(b)!r} by {str(a)!r}: {os.strerror(code)}", str(b))


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
