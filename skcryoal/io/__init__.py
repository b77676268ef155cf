"""Reading and writing subtomograms: MRC2014 volumes and RELION/Warp particle tables.

Conventions (shared with the rest of skcryoal): a set of subtomograms is an
array of shape ``(n_samples, 1, D, H, W)``, float32, axis order (z, y, x);
voxel sizes are in Angstrom; particle coordinates in tables are (x, y, z).
Files are read with ``mrcfile`` in strict mode and their size is checked
against the header: a missing, truncated or non-MRC file is an error naming
the file (and the table row), never a zeroed volume.

- :func:`write_subtomograms` -- one MRC per subtomogram plus ``particles.star``
  (or ``.csv``) with labels that round-trip exactly.
- :func:`read_subtomograms` -- from a table, a directory, or a volume stack;
  ``mmap=True`` for pools larger than memory (:class:`LazySubtomograms`).
- :func:`extract_subtomograms` -- cut boxes out of a tomogram at particle
  coordinates.
"""

from ._errors import InvalidMRCError
from ._extract import extract_subtomograms
from ._lazy import LazySubtomograms
from ._read import read_subtomograms
from ._write import write_subtomograms

__all__ = [
    "InvalidMRCError",
    "LazySubtomograms",
    "extract_subtomograms",
    "read_subtomograms",
    "write_subtomograms",
]
