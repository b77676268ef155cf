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
- :func:`read_particle_set` -- a RELION 3/4/5, Warp/M or pytom-match-pick particle
  table with each particle's tomogram file and voxel coordinates resolved.
- :func:`extract_particles` -- cut the subtomograms of a particle set spread over
  many tomograms, lazily, resampled to a given voxel size.
- :func:`open_tomogram` -- an MRC (memory-mapped) or OME-Zarr tomogram, read box by
  box.
- :func:`read_copick`, :func:`read_copick_subtomograms`,
  :func:`write_copick_picks` -- picks of a copick project as a particle set,
  and classes back as copick picks (optional extra ``skcryoal[copick]``).
"""

from ._copick import read_copick, read_copick_subtomograms, write_copick_picks
from ._errors import InvalidMRCError
from ._extract import extract_subtomograms
from ._extract_particles import extract_particles
from ._lazy import LazySubtomograms
from ._particles import read_particle_set
from ._read import read_subtomograms
from ._tomogram import open_tomogram
from ._write import write_subtomograms

__all__ = [
    "InvalidMRCError",
    "LazySubtomograms",
    "extract_particles",
    "extract_subtomograms",
    "open_tomogram",
    "read_copick",
    "read_copick_subtomograms",
    "read_particle_set",
    "read_subtomograms",
    "write_copick_picks",
    "write_subtomograms",
]
