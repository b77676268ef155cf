"""Particle sets and copick projects as pools of subtomograms, for the command line.

``skcryoal extract``, ``skcryoal benchmark --table`` and ``skcryoal campaign new
--pool`` take the same options for a particle set (a RELION 5/4/3, Warp/M or
pytom-match-pick table and where its tomograms are) or a copick project
(:func:`add_arguments`, :func:`spec_from_args`), read it with
:func:`skcryoal.io.read_particle_set` or :func:`skcryoal.io.read_copick`
(:func:`read_source`), and cut it into a folder of MRC files plus a particle table
that :func:`skcryoal.io.read_subtomograms` reads, with the labels and every column
of the input rows (:func:`extract_to_folder`). A benchmark and a campaign cut it
once into a folder of their own (:func:`cached_extraction`, :func:`campaign_pool`),
so that their pool is an ordinary table of subtomogram files.
"""

from ._cache import CACHE_DIR, cached_extraction, campaign_pool
from ._options import DEFAULT_SIZE, add_arguments, describe, spec_from_args
from ._read import read_source
from ._report import cli_errors, summary_lines
from ._write import extract_to_folder

__all__ = [
    "CACHE_DIR",
    "DEFAULT_SIZE",
    "add_arguments",
    "cached_extraction",
    "campaign_pool",
    "cli_errors",
    "describe",
    "extract_to_folder",
    "read_source",
    "spec_from_args",
    "summary_lines",
]
