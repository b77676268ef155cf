"""Sphinx configuration of the skcryoal documentation.

Build with ``python -m sphinx -W --keep-going -b html docs docs/_build/html``
(the command CI runs); the gallery examples in ``examples/`` are executed.
"""

import os
import sys
import warnings
from pathlib import Path

import skcryoal

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the gallery's scrapers/sorters live next to conf.py

os.environ.setdefault("MPLBACKEND", "Agg")
# The examples print tqdm bars to stdout; keep the gallery outputs readable.
os.environ.setdefault("TQDM_DISABLE", "1")
# Examples are executed in this process: keep warnings from third-party
# libraries out of the gallery output, not from skcryoal itself.
warnings.filterwarnings("ignore", category=UserWarning, module="torch")

project = "skcryoal"
author = "skcryoal developers"
copyright = "2026, skcryoal developers"
release = skcryoal.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**/README.rst"]
default_role = "literal"
nitpicky = False

# -- autodoc / autosummary / numpydoc ---------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"
autodoc_member_order = "groupwise"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False


def _skip_metadata_request_methods(app, what, name, obj, skip, options):
    """Leave scikit-learn's generated ``set_{method}_request`` methods out of the API pages.

    scikit-learn attaches them to every estimator for metadata routing; their
    docstrings refer to scikit-learn's own glossary, which this site does not have.
    """
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request_methods)


# -- MyST (the benchmark and performance pages are Markdown) ----------------
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3

# -- sphinx-gallery ---------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "FileNameSortKey",
    "subsection_order": [
        f"../examples/{name}"
        for name in (
            "quickstart",
            "campaigns",
            "data",
            "sklearn",
            "strategies",
            "io",
            "semi_supervised",
        )
    ],
    "doc_module": ("skcryoal",),
    "backreferences_dir": "generated/backreferences",
    "abort_on_example_error": True,
    "show_memory": False,
    "matplotlib_animations": False,
    "remove_config_comments": True,
    "download_all_examples": False,
}

# -- HTML -------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skcryoal {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_show_sourcelink = False
