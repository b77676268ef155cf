"""Named simulated datasets, generated once and cached on disk as memory-mappable files.

Each dataset lives in its own folder under ``<data home>/simulated/``, named after the
preset and a hash of every generation parameter (and of the simulator version), so a
change of any parameter gives a new folder and never a stale cache. A folder is written
under a temporary name and renamed when complete: an interrupted generation leaves no
folder that looks finished.
"""

import hashlib
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._conditions import (
    check_defocus_spec,
    check_snr_spec,
    check_tilt_range_spec,
    make_conditions,
)
from ._junk import check_crowding, check_junk, check_junk_kinds
from ._mixed import simulate_mixed
from ._simulator import _Imager, _Plan, _Posed, _simulate_into
from ._templates import load_template
from ._validation import (
    check_int,
    check_max_shift,
    check_positive_float,
    class_counts,
)

#: Optional parameters of every preset, absent from its parameters (and cache key) at these.
_OPTIONAL_DEFAULTS = dict(
    templates=None, junk=0.0, junk_kinds=None, junk_as_classes=False, crowding=0.0, n_tomograms=1
)

#: Bump when the simulator's output changes for given parameters: invalidates caches.
SIMULATOR_VERSION = 1

_PAPER = dict(
    n_classes=50,
    n_train_per_class=480,
    n_test_per_class=20,
    size=32,
    voxel_size=10.0,
    tilt_range=(-60.0, 60.0),
    defocus=-5.0,
    max_shift=2.0,
    normalize=True,
    random_state=0,
)
# Shape of the real set's imbalance (10 classes, 320..876 train and 80..219 test per
# class, 4318 / 1080 in total); the per-class counts are not published.
_REAL_TRAIN = (876, 540, 450, 400, 380, 360, 340, 330, 322, 320)
_REAL_TEST = (219, 135, 113, 100, 95, 90, 85, 83, 80, 80)

PRESETS = {
    "paper-snrinf": dict(_PAPER, snr=float("inf")),
    "paper-snr005": dict(_PAPER, snr=0.05),
    "paper-snr003": dict(_PAPER, snr=0.03),
    "paper10-snrinf": dict(_PAPER, n_classes=10, snr=float("inf")),
    "paper10-snr005": dict(_PAPER, n_classes=10, snr=0.05),
    "paper10-snr003": dict(_PAPER, n_classes=10, snr=0.03),
    "imbalanced10-snr005": dict(
        _PAPER,
        n_classes=10,
        n_train_per_class=_REAL_TRAIN,
        n_test_per_class=_REAL_TEST,
        snr=0.05,
    ),
    "quick": dict(_PAPER, n_classes=10, n_train_per_class=60, n_test_per_class=20, snr=0.05),
}

_DESCRIPTIONS = {
    "paper-snrinf": "The paper's 50-class simulated set, noise-free (24000 train, 1000 test).",
    "paper-snr005": "The paper's 50-class simulated set at SNR 0.05 (24000 train, 1000 test).",
    "paper-snr003": "The paper's 50-class simulated set at SNR 0.03 (24000 train, 1000 test).",
    "paper10-snrinf": "10-class variant of the paper's set, noise-free (4800 train, 200 test).",
    "paper10-snr005": "10-class variant of the paper's set at SNR 0.05 (4800 train, 200 test).",
    "paper10-snr003": "10-class variant of the paper's set at SNR 0.03 (4800 train, 200 test).",
    "imbalanced10-snr005": (
        "10 classes imbalanced like the paper's real set (4318 train, 1080 test, 320..876 "
        "per class), SNR 0.05."
    ),
    "quick": "10 classes, 60 train + 20 test each, SNR 0.05: for examples and smoke tests.",
}


def get_data_home(data_home=None) -> Path:
    """Folder of the cached simulated datasets, created if missing.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Explicit folder. None means the environment variable ``SKCRYOAL_DATA`` if set,
        else ``~/skcryoal_data``.

    Returns
    -------
    path : pathlib.Path
    """
    if data_home is None:
        data_home = os.environ.get("SKCRYOAL_DATA", Path("~") / "skcryoal_data")
    path = Path(data_home).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def clear_data_home(data_home=None) -> None:
    """Delete all cached simulated datasets in the data home (see :func:`get_data_home`)."""
    shutil.rmtree(get_data_home(data_home) / "simulated", ignore_errors=True)


def list_presets() -> dict:
    """Names of the dataset presets, each with a one-line description."""
    return dict(_DESCRIPTIONS)


def _per_class(value, n_classes, name):
    if isinstance(value, (list, tuple, np.ndarray)):
        counts = [check_int(v, name, minimum=0) for v in value]
        if len(counts) != n_classes:
            raise ValueError(
                f"{name} must be an int or have one entry per class ({n_classes}); "
                f"got {len(counts)} entries."
            )
        if sum(counts) < 1:
            raise ValueError(f"{name} must add up to at least 1 sample; got {counts}.")
        return counts
    return [check_int(value, name, minimum=1)] * n_classes


def _resolve(name, overrides):
    if name not in PRESETS:
        raise ValueError(
            f"Unknown simulated dataset {name!r}; choose one of {sorted(PRESETS)} "
            "(see list_presets())."
        )
    unknown = set(overrides) - set(PRESETS[name]) - set(_OPTIONAL_DEFAULTS)
    if unknown:
        raise TypeError(
            f"Unknown parameter(s) {sorted(unknown)} for fetch_simulated; the parameters "
            f"are {sorted(set(PRESETS[name]) | set(_OPTIONAL_DEFAULTS))}."
        )
    params = dict(PRESETS[name], **overrides)
    templates = _check_templates(overrides.get("templates"))
    if templates is not None:
        if "n_classes" in overrides and overrides["n_classes"] != len(templates):
            raise ValueError(
                f"n_classes={overrides['n_classes']!r} contradicts templates, which define "
                f"{len(templates)} classes; leave n_classes out when giving templates."
            )
        params["n_classes"] = len(templates)
    n_classes = check_int(params["n_classes"], "n_classes", minimum=2)
    snr = check_snr_spec(params["snr"])
    random_state = params["random_state"]
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)):
        raise TypeError(
            "random_state of a cached dataset must be an int (it names the cache); "
            f"got {random_state!r}."
        )
    resolved = dict(
        n_classes=n_classes,
        n_train_per_class=_per_class(params["n_train_per_class"], n_classes, "n_train_per_class"),
        n_test_per_class=_per_class(params["n_test_per_class"], n_classes, "n_test_per_class"),
        size=check_int(params["size"], "size", minimum=8),
        snr="inf" if snr == float("inf") else _as_lists(snr),  # JSON has no infinity
        voxel_size=check_positive_float(params["voxel_size"], "voxel_size"),
        tilt_range=_as_lists(check_tilt_range_spec(params["tilt_range"])),
        defocus=_as_lists(check_defocus_spec(params["defocus"])),
        max_shift=check_max_shift(params["max_shift"]),
        normalize=bool(params["normalize"]),
        random_state=int(random_state),
    )
    # Templates, junk and crowding enter the parameters (and the cache key) only when
    # asked for, so that the keys of the datasets made before they existed stay as they were.
    if templates is not None:
        resolved["templates"] = templates
        from ._templates import check_fits

        loaded = [load_template(k, resolved["voxel_size"]) for k in templates]
        check_fits(loaded, resolved["size"], resolved["voxel_size"], keys=templates)
    junk = check_junk(params.get("junk", 0.0))
    if junk > 0:
        resolved["junk"] = junk
        resolved["junk_kinds"] = list(check_junk_kinds(params.get("junk_kinds")))
        resolved["junk_as_classes"] = bool(params.get("junk_as_classes", False))
    crowding = check_crowding(params.get("crowding", 0.0))
    if crowding > 0:
        resolved["crowding"] = crowding
    n_tomograms = check_int(params.get("n_tomograms", 1), "n_tomograms", minimum=1)
    if n_tomograms > 1:
        resolved["n_tomograms"] = n_tomograms
    return resolved


def _as_lists(spec):
    """A checked imaging spec as JSON likes it: tuples become lists."""
    if isinstance(spec, tuple):
        return [_as_lists(s) for s in spec]
    return spec


def _imaging(params):
    """``(snr, tilt_range, defocus, n_tomograms)`` of resolved parameters, for the simulator."""

    def spec(value):
        return tuple(spec(v) for v in value) if isinstance(value, list) else value

    return (
        spec(float(params["snr"]) if params["snr"] == "inf" else params["snr"]),
        spec(params["tilt_range"]),
        spec(params["defocus"]),
        params.get("n_tomograms", 1),
    )


def _check_templates(templates):
    """Canonical keys of the bundled structures ``templates`` names, or None."""
    if templates is None:
        return None
    from ._structures import _table, structure_key, unknown_structure_message

    if isinstance(templates, str) or not hasattr(templates, "__len__"):
        raise TypeError(
            "templates of a cached dataset must be a list of keys of bundled structures, "
            f"e.g. ['4V5D', '4V1W'] (see list_structures()); got {templates!r}. Wrap a "
            "single one in a list."
        )
    keys = []
    for template in templates:
        key = structure_key(template)
        if key is None:
            if isinstance(template, str):
                raise ValueError(unknown_structure_message(template))
            raise TypeError(
                "templates of a cached dataset must be keys of bundled structures (a file "
                "or an array cannot name a cache; simulate it with simulate_from_templates); "
                f"got {template!r}. Bundled structures: {', '.join(_table())}."
            )
        keys.append(key)
    if len(keys) < 2:
        raise ValueError(f"templates must define at least 2 classes; got {len(keys)}.")
    if len(set(keys)) < len(keys):
        raise ValueError(f"templates must not repeat a structure; got {keys}.")
    return keys


def _cache_key(resolved):
    """The hash that names the cache folder of the resolved parameters."""
    text = json.dumps(dict(resolved, version=SIMULATOR_VERSION), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _split_counts(params, split):
    """Samples per class and then per junk kind: junk is ``junk`` of the split's samples."""
    counts = np.asarray(params[f"n_{split}_per_class"], dtype=np.int64)
    junk, kinds = params.get("junk", 0.0), params.get("junk_kinds", [])
    if not kinds:
        return counts
    n_junk = math.floor(junk / (1 - junk) * counts.sum() + 0.5)
    return np.concatenate([counts, class_counts(n_junk, np.full(len(kinds), 1.0 / len(kinds)))])


def _sizes(params):
    """Samples in the train split and number of labels of resolved parameters."""
    from ._classes import describe_classes

    n_labels = len(
        describe_classes(
            params["n_classes"],
            junk=params.get("junk", 0.0),
            junk_kinds=params.get("junk_kinds"),
            junk_as_classes=params.get("junk_as_classes", False),
        )
    )
    return int(_split_counts(params, "train").sum()), n_labels


class _FileWriter:
    """Takes ``out[start:stop, 0] = batch`` in order and appends the batch to a file."""

    def __init__(self, file):
        self.file = file
        self.position = 0

    def __setitem__(self, key, batch):
        rows = key[0]
        if rows.start != self.position:  # _simulate_into fills batches in order
            raise RuntimeError(f"Out-of-order write at {rows.start}, expected {self.position}.")
        self.file.write(np.ascontiguousarray(batch, dtype=np.float32).tobytes())
        self.position = rows.stop


def _generate(folder, params, verbose):
    """Write X_train.npy, y_train.npy, X_test.npy, y_test.npy and params.json."""
    size, voxel_size = params["size"], params["voxel_size"]
    sources = params.get("templates", range(params["n_classes"]))
    templates = [_Posed(load_template(k, voxel_size), size, voxel_size) for k in sources]
    # One seed per split from the dataset seed: presets that differ only in SNR pair up.
    seeds = np.random.SeedSequence(params["random_state"]).generate_state(2)
    for split, seed in zip(("train", "test"), seeds):
        counts = _split_counts(params, split)
        n = int(counts.sum())
        mixed = "junk" in params or "crowding" in params
        snr, tilt_range, defocus, n_tomograms = _imaging(params)
        if not mixed:
            plan = _Plan(n, counts, params["max_shift"], int(seed))
            conditions = make_conditions(n, n_tomograms, snr, defocus, tilt_range, plan.pose_seed)
            imager = _Imager(
                size,
                voxel_size,
                snr,
                tilt_range,
                defocus,
                params["normalize"],
                plan.noise_seed,
                conditions,
            )
        path = folder / f"X_{split}.npy"
        # open_memmap writes the .npy header and sizes the file; the data then goes in
        # with plain sequential writes, so that no page of it stays mapped in memory.
        header = np.lib.format.open_memmap(
            path, mode="w+", dtype=np.float32, shape=(n, 1, size, size, size)
        )
        offset = header.offset
        del header
        progress = None
        if verbose:
            from tqdm.auto import tqdm

            progress = tqdm(total=n, desc=f"simulating {split}", unit="vol")
        try:
            with open(path, "r+b") as file:
                file.seek(offset)
                if mixed:
                    _, labels, _ = simulate_mixed(
                        [t.template for t in templates],
                        counts,
                        size,
                        snr,
                        tilt_range=tilt_range,
                        voxel_size=voxel_size,
                        defocus=defocus,
                        max_shift=params["max_shift"],
                        normalize=params["normalize"],
                        random_state=int(seed),
                        kinds=tuple(params.get("junk_kinds", ())),
                        junk_as_classes=params.get("junk_as_classes", False),
                        crowding=params.get("crowding", 0.0),
                        n_tomograms=n_tomograms,
                        out=_FileWriter(file),
                        progress=progress,
                    )
                else:
                    _simulate_into(_FileWriter(file), plan, templates, imager, progress=progress)
                    labels = plan.labels
        finally:
            if progress is not None:
                progress.close()
        np.save(folder / f"y_{split}.npy", labels)
    (folder / "params.json").write_text(json.dumps(dict(params, version=SIMULATOR_VERSION)))


def fetch_simulated(
    name: str = "quick",
    *,
    data_home=None,
    generate_if_missing: bool = True,
    verbose: bool = False,
    **params,
):
    """Load a named simulated dataset, generating and caching it on first use.

    The datasets reproduce the paper's simulated benchmarks with the built-in simulator
    (:func:`make_subtomograms`): 50 classes with 480 train and 20 test subtomograms per
    class, 32^3 voxels of 10 A, at SNR infinity, 0.05 and 0.03; their 10-class variants;
    a 10-class set imbalanced like the paper's real data; and a small ``"quick"`` one.
    Presets that differ only in SNR hold the same particles in the same poses.

    The first call generates the data in batches straight into ``.npy`` files (the
    paper-sized sets take 3.1 GB on disk and about a minute or two on 2 CPU cores, and
    are never held in memory); later calls open them as read-only memory maps.

    Parameters
    ----------
    name : str, default="quick"
        A preset name, see :func:`list_presets`: ``"paper-snrinf"``,
        ``"paper-snr005"``, ``"paper-snr003"``, ``"paper10-snrinf"``,
        ``"paper10-snr005"``, ``"paper10-snr003"``, ``"imbalanced10-snr005"``,
        ``"quick"``.
    data_home : str or path-like, default=None
        Cache folder; see :func:`get_data_home`.
    generate_if_missing : bool, default=True
        If False, raise :class:`FileNotFoundError` instead of generating.
    verbose : bool, default=False
        Show a progress bar while generating.
    **params
        Overrides of the preset's parameters, which all take part in the cache key:
        ``n_classes``, ``n_train_per_class`` and ``n_test_per_class`` (int, or one count
        per class), ``size``, ``snr``, ``voxel_size``, ``tilt_range``, ``defocus``,
        ``max_shift``, ``normalize`` and ``random_state`` (an int); ``templates``, a
        list of keys of bundled real structures (:func:`list_structures`), e.g.
        ``["4V5D", "4V1W"]``, which replace the built-in classes (``n_classes`` is then
        their number; a structure that does not fit ``size * voxel_size`` raises); and
        ``junk``, ``junk_kinds``, ``junk_as_classes``, ``crowding`` and ``n_tomograms``
        (with ranges of ``snr``, ``defocus`` and ``tilt_range``) as in
        :func:`make_subtomograms`, except that ``junk`` adds junk boxes to the
        per-class counts, ``round(junk / (1 - junk) * n_particles)`` per split, so that
        they make up ``junk`` of it. A dataset without templates, junk, crowding or
        tomograms keeps the cache and the samples it had before these existed.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``X_train``, ``X_test``: read-only memory maps of shape
        (n, 1, size, size, size), float32, axis order (z, y, x);
        ``y_train``, ``y_test``: int64 labels; ``target_names``: a description of each
        class, junk labels included (see :func:`describe_classes`); ``params``: the
        generation parameters; ``path``: the cache folder; ``DESCR``: a description.

    Examples
    --------
    >>> from skcryoal.datasets import fetch_simulated
    >>> data = fetch_simulated("quick")  # doctest: +SKIP
    >>> data.X_train.shape  # doctest: +SKIP
    (600, 1, 32, 32, 32)
    """
    resolved = _resolve(name, params)
    key = _cache_key(resolved)
    root = get_data_home(data_home) / "simulated"
    folder = root / f"{name}-{key}"
    if not folder.is_dir():
        if not generate_if_missing:
            raise FileNotFoundError(
                f"The simulated dataset {name!r} is not cached in {str(folder)!r}; call "
                "fetch_simulated with generate_if_missing=True to generate it."
            )
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}-{key}-", dir=root))
        try:
            _generate(tmp, resolved, verbose)
            tmp.chmod(0o755)  # mkdtemp makes it private
            try:
                os.rename(tmp, folder)
            except OSError:
                if not folder.is_dir():  # not a concurrent writer that finished first
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    data = Bunch(params=json.loads((folder / "params.json").read_text()), path=folder)
    for split in ("train", "test"):
        data[f"X_{split}"] = np.load(folder / f"X_{split}.npy", mmap_mode="r")
        data[f"y_{split}"] = np.load(folder / f"y_{split}.npy")
    from ._classes import describe_classes

    data["target_names"] = describe_classes(
        resolved["n_classes"],
        templates=resolved.get("templates"),
        junk=resolved.get("junk", 0.0),
        junk_kinds=resolved.get("junk_kinds"),
        junk_as_classes=resolved.get("junk_as_classes", False),
    )
    data["DESCR"] = _DESCRIPTIONS[name] + (f" Overrides: {params}." if params else "")
    return data
