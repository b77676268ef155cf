"""Exceptions raised by :mod:`skcryoal.io`."""


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
