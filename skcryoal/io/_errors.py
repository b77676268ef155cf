"""Exceptions raised by :mod:`skcryoal.io`."""

import os
import stat
from pathlib import Path


class InvalidMRCError(ValueError):
    """A file is not a complete, usable MRC2014 volume or volume stack.

    Raised for non-MRC files, truncated files, 2D images and image stacks,
    unsupported data modes, voxel sizes that are anisotropic, negative, NaN or
    infinite, and volumes holding NaN or infinite values (when they are read).
    The message names the file; the file is also available as the ``path``
    attribute.

    Parameters
    ----------
    message : str
        What is wrong and what to do.
    path : path-like, optional
        The offending file.
    """

    def __init__(self, message, path=None):
        super().__init__(message)
        self.path = path


_KINDS = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
)


def not_a_file_error(path, what, expected):
    """The error for a ``path`` that is not a regular file: missing, a directory, a device.

    Parameters
    ----------
    path : path-like
    what : str
        What was expected there ("MRC file", "particle table").
    expected : str
        What a readable one is, for the message.

    Returns
    -------
    error : FileNotFoundError, IsADirectoryError or ValueError
        FileNotFoundError only when nothing is there.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return FileNotFoundError(2, f"{what} not found: {path}", str(path))
    except OSError as exc:
        return OSError(exc.errno, f"cannot read the {what} {path}: {exc.strerror}", str(path))
    if stat.S_ISDIR(mode):
        return IsADirectoryError(21, f"{path} is a directory, not a {what}; {expected}")
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    return ValueError(f"{path} is {kind}, not a regular file: not a readable {what}; {expected}")
