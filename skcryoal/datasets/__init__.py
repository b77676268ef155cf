"""Simulated cryo-ET data: subtomograms, junk, tomograms, templates, real structures, presets.

Volumes are arrays of shape ``(n_samples, 1, D, H, W)`` with axis order (z, y, x);
voxel sizes are in Angstrom, defocus in micrometres (negative = underfocus).
"""

from ._classes import describe_classes
from ._imaging import ctf, missing_wedge_mask, transfer_function
from ._junk import JUNK_KINDS, describe_junk, make_junk
from ._presets import clear_data_home, fetch_simulated, get_data_home, list_presets
from ._simulator import make_subtomograms, simulate_from_templates
from ._structures import list_structures
from ._templates import Template, describe_template, load_template, make_template
from ._tomogram import make_tomogram

__all__ = [
    "JUNK_KINDS",
    "Template",
    "clear_data_home",
    "ctf",
    "describe_classes",
    "describe_junk",
    "describe_template",
    "fetch_simulated",
    "get_data_home",
    "list_presets",
    "list_structures",
    "load_template",
    "make_junk",
    "make_subtomograms",
    "make_template",
    "make_tomogram",
    "missing_wedge_mask",
    "simulate_from_templates",
    "transfer_function",
]
