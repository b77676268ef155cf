"""Finding each tomogram of a particle set: its file, dimensions and pixel sizes.

Sources, in the order they are tried for a tomogram name:

1. ``tomograms=`` as a dict name -> path, or a single path (one-tomogram tables);
2. ``tomograms=`` as a RELION tomograms STAR (``global`` block, one row per
   ``rlnTomoName``): its reconstructed-tomogram column, plus the unbinned size
   (``rlnTomoSizeX/Y/Z``), tilt-series pixel size and binning;
3. ``tomogram_dir=``: ``{name}.mrc``, ``.rec``, ``.zarr``, ``.map`` and the same with
   RELION 5's ``rec_`` prefix (or the name itself when it ends so);
4. the name itself as a path (RELION 3 ``rlnMicrographName``), relative to the
   particle table's folder or the working directory.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ._conventions import TS_PIXEL_SIZE, numeric
from ._tables import read_blocks
from ._tomogram import open_tomogram

TOMOGRAM_FILE_COLUMNS = ("rlnTomoReconstructedTomogram", "rlnTomoReconstructedTomogramDenoised")
BINNING = "rlnTomoTomogramBinning"
SIZES = ("rlnTomoSizeX", "rlnTomoSizeY", "rlnTomoSizeZ")
TOMOGRAM_SUFFIXES = (".mrc", ".rec", ".zarr", ".map")
#: Suffixes stripped from a name to find its tomogram (Warp's .tomostar, file names).
_NAME_SUFFIXES = (".tomostar", ".mrc", ".rec", ".zarr", ".map", ".st", ".mrcs", ".xml")
#: Relative difference above which two voxel sizes of one tomogram contradict.
VOXEL_RTOL = 0.01


def short_name(key):
    """``Tomograms/job007/TS_01.mrc`` -> ``TS_01``; ``TS_01.tomostar`` -> ``TS_01``."""
    name = str(key).replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    for suffix in _NAME_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


@dataclass
class StarRow:
    """One row of a tomograms STAR: what RELION knows about a tomogram."""

    file: str | None = None
    size: np.ndarray | None = None  # unbinned (x, y, z) pixels
    pixel_size: float = float("nan")  # tilt-series pixel size, Angstrom
    binning: float = float("nan")


@dataclass
class TomogramInfo:
    """A resolved tomogram: the file and what its header (or metadata) says."""

    name: str
    path: str
    shape: tuple  # (D, H, W) of the file (finest level for OME-Zarr)
    header_voxel_size: float  # 0.0 when the file does not say
    star: StarRow = field(default_factory=StarRow)


def _resolve(value, bases):
    path = Path(str(value)).expanduser()
    if path.is_absolute():
        return path if path.exists() else None
    for base in bases:
        candidate = Path(base) / path
        if candidate.exists():
            return candidate
    return None


def _star_bases(star_path):
    # RELION writes paths relative to the project directory, usually two or three
    # levels above a job's tomograms.star (Tomograms/job007/tomograms.star).
    parent = Path(star_path).resolve().parent
    return [parent, *list(parent.parents)[:3], Path.cwd()]


def read_tomograms_star(path, tomogram_column=None):
    """Rows of a RELION tomograms STAR by ``rlnTomoName``."""
    path = Path(path)
    text = ("rlnTomoName", *TOMOGRAM_FILE_COLUMNS, *([tomogram_column] if tomogram_column else []))
    blocks = read_blocks(path, text)
    tables = [v for v in blocks.values() if isinstance(v, pd.DataFrame)]
    global_block = blocks.get("global")
    if isinstance(global_block, dict):  # a single tomogram written as key-value pairs
        global_block = pd.DataFrame([global_block])
    if not isinstance(global_block, pd.DataFrame):
        global_block = next((t for t in tables if "rlnTomoName" in t.columns), None)
    if global_block is None or "rlnTomoName" not in global_block.columns:
        raise ValueError(
            f"{path}: not a RELION tomograms STAR (no 'global' block with rlnTomoName). "
            "Pass the tomograms.star of the Reconstruct or Denoise job, a dict "
            "{name: path}, or tomogram_dir=."
        )
    columns = global_block.columns
    if tomogram_column is not None:
        if tomogram_column not in columns:
            raise ValueError(
                f"{path}: no column {tomogram_column!r}; the columns are "
                f"{', '.join(map(str, columns))}."
            )
        file_column = tomogram_column
    else:
        file_column = next((c for c in TOMOGRAM_FILE_COLUMNS if c in columns), None)
    pixel = numeric(global_block, TS_PIXEL_SIZE)
    binning = numeric(global_block, BINNING)
    names = global_block["rlnTomoName"].astype(str).tolist()
    for column, values, rule in (
        (TS_PIXEL_SIZE, pixel, "Angstrom per pixel of the tilt series"),
        (BINNING, binning, "the tomogram's voxel size over the tilt series' pixel size, e.g. 4"),
    ):
        bad = np.flatnonzero(np.isfinite(values) & (values <= 0))
        if bad.size:
            shown = ", ".join(f"{names[i]!r} has {values[i]:g}" for i in bad[:5])
            raise ValueError(
                f"{path}: {column} must be a positive number ({rule}); {shown}"
                f"{' ...' if bad.size > 5 else ''}. Fix the tomograms STAR, or leave the "
                "value out (empty) if it is not known."
            )
    sizes = np.stack([numeric(global_block, c) for c in SIZES], axis=1)
    rows = {}
    bases = _star_bases(path)
    for i, name in enumerate(global_block["rlnTomoName"].astype(str)):
        file = None
        if file_column is not None:
            value = global_block[file_column].iloc[i]
            if isinstance(value, str) and value.strip() and value.strip().lower() != "none":
                resolved = _resolve(value.strip(), bases)
                file = str(resolved) if resolved is not None else value.strip()
        size = sizes[i] if np.all(np.isfinite(sizes[i])) else None
        rows[name] = StarRow(file=file, size=size, pixel_size=pixel[i], binning=binning[i])
    return rows


def describe(path):
    """(shape, voxel size) of a tomogram file (finest level), without reading its data."""
    with open_tomogram(path) as tomo:
        return tomo.shape, tomo.reference_voxel_size


class TomogramSource:
    """Resolves tomogram names to files, from ``tomograms=`` and ``tomogram_dir=``."""

    def __init__(self, tomograms=None, tomogram_dir=None, *, base_dir=None, tomogram_column=None):
        self.mapping = {}
        self.single = None
        self.star = {}
        self.star_path = None
        if isinstance(tomograms, dict):
            self.mapping = {str(k): v for k, v in tomograms.items()}
            for key, value in self.mapping.items():
                if not isinstance(value, (str, os.PathLike)):
                    raise TypeError(
                        f"tomograms[{key!r}] must be the path of a tomogram; got "
                        f"{type(value).__name__}."
                    )
        elif isinstance(tomograms, (str, os.PathLike)):
            if Path(tomograms).suffix.lower() == ".star":
                self.star_path = Path(tomograms)
                self.star = read_tomograms_star(tomograms, tomogram_column)
            else:
                self.single = Path(tomograms)
        elif tomograms is not None:
            raise TypeError(
                "tomograms must be a tomograms STAR file, a dict {name: path} or the path "
                f"of one tomogram; got {type(tomograms).__name__}."
            )
        if tomogram_dir is not None:
            tomogram_dir = Path(tomogram_dir)
            if not tomogram_dir.is_dir():
                raise FileNotFoundError(
                    2, f"tomogram_dir is not a directory: {tomogram_dir}", str(tomogram_dir)
                )
        self.directory = tomogram_dir
        self.base_dir = Path.cwd() if base_dir is None else Path(base_dir)

    def star_row(self, key):
        if key is None:
            return StarRow() if len(self.star) != 1 else next(iter(self.star.values()))
        return self.star.get(str(key)) or self.star.get(short_name(key)) or StarRow()

    def lists(self, key):
        """Whether the tomograms STAR has a row for tomogram ``key``."""
        return str(key) in self.star or short_name(key) in self.star

    def star_listing(self):
        """The tomograms STAR's names, for messages."""
        names = list(self.star)
        more = f", ... ({len(names)} in all)" if len(names) > 20 else ""
        return f"its rlnTomoName entries are: {', '.join(names[:20])}{more}"

    def _candidates(self, key, n_tomograms):
        """(path or None, what was tried) for one tomogram name."""
        tried = []
        if self.mapping:
            for k in [None] if key is None else [str(key), short_name(key)]:
                if k is None and len(self.mapping) == 1:
                    return Path(next(iter(self.mapping.values()))), tried
                if k in self.mapping:
                    return Path(self.mapping[k]), tried
            tried.append(f"the keys of tomograms= ({', '.join(list(self.mapping)[:5])})")
        if self.single is not None:
            if n_tomograms > 1:
                return None, tried + ["tomograms= is one file but the table lists several"]
            return self.single, tried
        row = self.star_row(key)
        if row.file is not None:
            if Path(row.file).exists():
                return Path(row.file), tried
            tried.append(f"{row.file} (from {self.star_path})")
        elif self.star_path is not None and key is not None and not self.lists(key):
            tried.append(f"{self.star_path} does not list {str(key)!r}: {self.star_listing()}")
        if key is not None and self.directory is not None:
            name = short_name(key)
            names = [str(key)] + [
                f"{prefix}{name}{suffix}" for prefix in ("", "rec_") for suffix in TOMOGRAM_SUFFIXES
            ]
            for candidate in dict.fromkeys(names):
                path = self.directory / candidate
                # Only tomogram files: Warp keeps TS_01.tomostar and a TS_01/ folder there.
                if path.suffix.lower() in TOMOGRAM_SUFFIXES and path.exists():
                    return path, tried
            tried.append(f"{self.directory}/{name}{{.mrc,.rec,.zarr,.map}} (and rec_{name}...)")
        if key is not None:
            resolved = _resolve(key, [self.base_dir, Path.cwd()])
            if resolved is not None and resolved.is_file():
                return resolved, tried
            if any(str(key).lower().endswith(s) for s in TOMOGRAM_SUFFIXES):
                tried.append(f"{key} (relative to {self.base_dir})")
        return None, tried

    def resolve(self, key, n_tomograms, where):
        """The :class:`TomogramInfo` of tomogram ``key`` (None: the table names none)."""
        path, tried = self._candidates(key, n_tomograms)
        label = "the tomogram" if key is None else f"tomogram {str(key)!r}"
        if path is None:
            if key is None:
                fix = "Pass tomograms= the path of the tomogram these particles come from."
            elif self.star_path is not None and not self.lists(key):
                fix = (
                    f"The particle table and {self.star_path} do not name the tomograms "
                    "alike: check that both come from the same RELION project (the "
                    "tomograms STAR of the job the particles were picked on), or add "
                    f"{str(key)!r} to it; tomogram_dir= the folder holding the tomograms "
                    "also finds them by name."
                )
            else:
                fix = (
                    "Pass tomograms= a RELION tomograms STAR or a dict {name: path}, or "
                    "tomogram_dir= the folder holding the tomograms."
                )
            tried_text = f" Tried: {'; '.join(tried)}." if tried else ""
            raise FileNotFoundError(2, f"{where}: no file found for {label}.{tried_text} {fix}")
        if not path.exists():
            raise FileNotFoundError(
                2, f"{where}: the file of {label} does not exist: {path}", str(path)
            )
        shape, header_voxel = describe(path)
        name = short_name(path) if key is None else str(key)
        return TomogramInfo(
            name=name,
            path=str(path.resolve()),
            shape=shape,
            header_voxel_size=header_voxel,
            star=self.star_row(key),
        )
