"""copick projects as particle sets, and predictions back as copick picks.

copick (the CZ Imaging Institute's format for collaborative cryo-ET annotation)
keeps a project as a JSON config and, per run (one tilt series), OME-Zarr
tomograms at ``ExperimentRuns/{run}/VoxelSpacing{vs:.3f}/{tomo_type}.zarr`` and
pick sets at ``ExperimentRuns/{run}/Picks/{user}_{session}_{object}.json``.
Points are in Angstrom, (x, y, z), measured from the corner of the tomogram
(copick's importers convert pixel coordinates by multiplying by the voxel
spacing), so the particle centre in voxels of a tomogram is the point divided
by its voxel spacing: x indexes the last array axis, 0-based. A point's centre
is its location plus the translation of its 4x4 transformation (copick's
``full_positions()``). Session ``"0"`` marks a tool's picks.

copick is an optional dependency (``pip install 'skcryoal[copick]'``): it is
imported inside the functions, never when :mod:`skcryoal.io` is imported.
"""

import math
import os
from numbers import Real

import numpy as np
import pandas as pd

_INSTALL = "pip install 'skcryoal[copick]'"
CONVENTION = "copick"
LABEL_COLUMN = "label"
#: row r, column c of the upper 3x4 block of each point's 4x4 transformation
TRANSFORM_COLUMNS = tuple(f"copick_transformation_{r}{c}" for r in range(3) for c in range(4))
POSITION_COLUMNS = ("skcryoal_x", "skcryoal_y", "skcryoal_z")
# copick writes voxel spacings as VoxelSpacing{vs:.3f}: equal to that precision is equal
_SPACING_TOLERANCE = 5e-4


def _import_copick():
    try:
        import copick
    except ImportError as exc:
        raise ImportError(
            "reading and writing copick projects needs the optional package copick (1.31 or "
            f"later), which is not installed; install it with: {_INSTALL}"
        ) from exc
    return copick


def _open_project(config):
    """Return ``(root, where)``: an open copick root and how to name it in messages."""
    if not isinstance(config, (str, os.PathLike)):
        if hasattr(type(config), "runs") and hasattr(config, "config"):
            # a project opened with copick.from_file / copick.new_config
            settings = config.config
            place = getattr(settings, "static_root", None) or getattr(settings, "overlay_root", "")
            return config, f"the copick project at {place}"
        raise TypeError(
            "config must be the path of a copick config file (JSON) or a project opened with "
            f"copick.from_file; got {type(config).__name__}."
        )
    copick = _import_copick()
    path = os.path.abspath(os.fspath(config))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"copick config file not found: {path}")
    try:
        root = copick.from_file(path)
    except Exception as exc:  # JSON, pydantic and copick's own errors alike
        raise ValueError(f"{path} is not a readable copick config: {exc}") from exc
    return root, f"the copick project {path}"


def _as_names(value, name):
    if value is None:
        return None
    values = [value] if isinstance(value, str) else list(value)
    if not values or not all(isinstance(v, str) and v for v in values):
        raise ValueError(f"{name} must be a non-empty string or list of them; got {value!r}.")
    return values


def _object_names(root, objects, where):
    known = [o.name for o in root.config.pickable_objects]
    if objects is None:
        names = [o.name for o in root.config.pickable_objects if o.is_particle]
        if not names:
            raise ValueError(f"{where} declares no particle objects (pickable_objects).")
        return names
    unknown = [o for o in objects if o not in known]
    if unknown:
        raise ValueError(
            f"unknown pickable object(s) {unknown} for {where}; its pickable objects are {known}."
        )
    return objects


def _choose_runs(root, runs, where):
    available = root.runs
    if runs is None:
        return available
    names = [r.name for r in available]
    unknown = [r for r in runs if r not in names]
    if unknown:
        raise ValueError(f"unknown run(s) {unknown} in {where}; its runs are {names}.")
    return [r for r in available if r.name in runs]


def _selected_picks(chosen_runs, objects, users, sessions, truth, where):
    """``{run: [(picks, is_truth)]}`` of the non-empty pick sets to read, in a fixed order."""
    truth_user, truth_session = truth
    use_truth = truth_user is not None or truth_session is not None
    seen_users, seen_sessions, found = set(), set(), {}
    for run in chosen_runs:
        for picks in run.get_picks(object_name=objects):
            seen_users.add(picks.user_id)
            seen_sessions.add(picks.session_id)
            is_truth = (
                use_truth
                and truth_user in (None, picks.user_id)
                and truth_session in (None, picks.session_id)
            )
            wanted = (users is None or picks.user_id in users) and (
                sessions is None or picks.session_id in sessions
            )
            if (wanted or is_truth) and len(picks.points):
                found.setdefault(run.name, []).append((picks, is_truth))
    truth_users = None if truth_user is None else [truth_user]
    truth_sessions = None if truth_session is None else [truth_session]
    for name, given, seen, kind in (
        ("users", users, seen_users, "users"),
        ("sessions", sessions, seen_sessions, "sessions"),
        ("truth_user", truth_users, seen_users, "users"),
        ("truth_session", truth_sessions, seen_sessions, "sessions"),
    ):
        missing = [v for v in given or () if v not in seen]
        if missing:
            raise ValueError(
                f"{name}: {where} has no picks of objects {objects} from {kind} {missing}; "
                f"its pick sets of those objects are from {kind} {sorted(seen)}."
            )
    if use_truth and not any(t for sets in found.values() for _, t in sets):
        raise ValueError(
            f"the truth picks (truth_user={truth_user!r}, truth_session={truth_session!r}) "
            f"hold no points of objects {objects} in {where}."
        )
    if not found:
        present = (
            f"its pick sets of those objects are from users {sorted(seen_users)} and sessions "
            f"{sorted(seen_sessions)}"
            if seen_users
            else "it has no pick sets of those objects"
        )
        raise ValueError(
            f"no picks of objects {objects} (users={users}, sessions={sessions}) with any point "
            f"in {where}; {present}."
        )
    for sets in found.values():
        sets.sort(key=lambda s: (s[0].pickable_object_name, s[0].user_id, s[0].session_id))
    return found


def _tomograms(runs_by_name, tomo_type, voxel_spacing, where):
    """``{run name: (voxel size, absolute zarr path)}`` of the chosen tomogram of each run."""
    with_type = {}
    for run in runs_by_name.values():
        for vs in run.voxel_spacings:
            if vs.get_tomograms(tomo_type):
                with_type.setdefault(run.name, []).append(vs.voxel_size)
    if voxel_spacing is None:
        spacings = sorted({round(v, 3) for sizes in with_type.values() for v in sizes})
        if len(spacings) > 1:
            raise ValueError(
                f"tomograms of type {tomo_type!r} exist at several voxel spacings {spacings} "
                f"(Angstrom) in {where}; choose one with voxel_spacing=."
            )
        voxel_spacing = spacings[0] if spacings else None
    problems, chosen = [], {}
    for run in runs_by_name.values():
        spacing = None
        if voxel_spacing is not None:
            spacing = next(
                (
                    vs
                    for vs in run.voxel_spacings
                    if abs(vs.voxel_size - voxel_spacing) <= _SPACING_TOLERANCE
                ),
                None,
            )
        if spacing is None:
            at = "" if voxel_spacing is None else f" at voxel spacing {voxel_spacing} A"
            problems.append(f"run {run.name!r} has no tomogram {tomo_type!r}{at} ({_have(run)})")
            continue
        tomograms = spacing.get_tomograms(tomo_type)
        if not tomograms:
            problems.append(
                f"run {run.name!r} has no tomogram {tomo_type!r} at voxel spacing "
                f"{spacing.voxel_size} A ({_have(run)})"
            )
            continue
        chosen[run.name] = (float(spacing.voxel_size), _zarr_path(tomograms[0], where))
    if problems:
        raise ValueError(
            f"picks need a tomogram to be cut from, and in {where} " + "; ".join(problems) + ". "
            "Choose tomo_type= and voxel_spacing= that every run has, or leave those runs out "
            "with runs=."
        )
    return chosen


def _have(run):
    """What tomograms a run has, for messages."""
    have = [
        f"{vs.voxel_size} A: {sorted(t.tomo_type for t in vs.tomograms)}"
        for vs in sorted(run.voxel_spacings, key=lambda vs: vs.voxel_size)
    ]
    return "tomograms: " + ("; ".join(have) if have else "none")


def _zarr_path(tomogram, where):
    """Absolute local path of a tomogram's OME-Zarr group (copick's filesystem backend)."""
    read_only = getattr(tomogram, "read_only", False)
    fs = getattr(tomogram, "fs_static" if read_only else "fs_overlay", None)
    path = getattr(tomogram, "static_path" if read_only else "overlay_path", None)
    protocols = getattr(fs, "protocol", ())
    protocols = (protocols,) if isinstance(protocols, str) else tuple(protocols)
    if path is None or not {"file", "local"} & set(protocols):
        raise ValueError(
            f"the tomograms of {where} are not on the local filesystem (storage "
            f"{protocols or type(tomogram).__name__}); skcryoal cuts subtomograms from local "
            "OME-Zarr files: copy the project's tomograms to disk and point overlay_root or "
            "static_root at them (local://...)."
        )
    return os.path.abspath(path)


def read_copick(
    config,
    *,
    objects=None,
    users=None,
    sessions=None,
    runs=None,
    tomo_type: str = "wbp",
    voxel_spacing: float | None = None,
    truth_user: str | None = None,
    truth_session: str | None = None,
) -> pd.DataFrame:
    """Read the picks of a copick project as a particle set.

    One row per picked point, over all runs (or ``runs``), with the position
    converted to voxels of the chosen tomogram of its run. The result goes to
    :func:`~skcryoal.io.extract_particles` (or use
    :func:`read_copick_subtomograms`, which does both).

    Parameters
    ----------
    config : str, path-like or copick root
        The project's copick config file (``config_type`` "filesystem", the
        tomograms on local disk), or a project opened with ``copick.from_file``.
    objects : str or list of str, default=None
        Pickable objects whose picks are read; default all particle objects of
        the config. An object the config does not declare is an error.
    users, sessions : str or list of str, default=None
        Read only pick sets by these users (or tools) and sessions; default all.
    runs : str or list of str, default=None
        Read only these runs; default all.
    tomo_type : str, default="wbp"
        The tomogram type the positions refer to (and subtomograms are cut
        from), e.g. ``"wbp"`` or ``"denoised"``.
    voxel_spacing : float, default=None
        Voxel spacing in Angstrom of that tomogram; default the only one at
        which the runs have a ``tomo_type`` tomogram (an error if several).
    truth_user, truth_session : str, default=None
        Pick sets by this user and/or session are ground truth: their rows are
        read whatever ``users`` and ``sessions`` say and get their object name
        as ``label``. Every other row gets None.

    Returns
    -------
    table : pandas.DataFrame
        One row per point, runs in name order, then pick sets by object, user
        and session, then points in file order. Columns:

        - ``skcryoal_tomogram`` (run name), ``skcryoal_tomogram_path``
          (absolute path of the tomogram's OME-Zarr group; level ``"0"`` is at
          ``skcryoal_voxel_size``), ``skcryoal_voxel_size`` (Angstrom),
          ``skcryoal_x``, ``skcryoal_y``, ``skcryoal_z`` (particle centre in
          voxels of that tomogram, 0-based, x along the last array axis) and
          ``skcryoal_convention`` (``"copick"``);
        - ``label``: the object name for truth picks, None elsewhere;
        - provenance: ``copick_run``, ``copick_object``, ``copick_user_id``,
          ``copick_session_id``, ``copick_point_index`` (0-based, in its pick
          set), ``copick_instance_id``, ``copick_score``,
          ``copick_location_x/y/z`` (the stored location, Angstrom) and
          ``copick_transformation_rc`` for row r < 3 and column c < 4 of the
          point's 4x4 transformation (the last row is always 0, 0, 0, 1). The
          centre is the location plus the translation
          (``copick_transformation_03``, ``_13``, ``_23``).

    Raises
    ------
    ImportError
        copick is not installed.
    FileNotFoundError
        No config file at ``config``.
    ValueError
        An object, run, user or session the project does not have; no picks
        to read; a run with picks but without the ``tomo_type`` tomogram at
        ``voxel_spacing``; tomograms that are not on local disk.

    See Also
    --------
    read_copick_subtomograms : Read and cut the subtomograms in one call.
    write_copick_picks : Write predictions back as copick picks.

    Examples
    --------
    Needs copick (``pip install 'skcryoal[copick]'``) and a project on disk:

    >>> from skcryoal.io import extract_particles, read_copick
    >>> table = read_copick(
    ...     "copick.json", objects=["ribosome", "apoferritin"], tomo_type="denoised",
    ...     voxel_spacing=10.012, truth_user="curation",
    ... )  # doctest: +SKIP
    >>> X, table = extract_particles(table, size=32)  # doctest: +SKIP
    """
    root, where = _open_project(config)
    objects = _object_names(root, _as_names(objects, "objects"), where)
    users = _as_names(users, "users")
    sessions = _as_names(sessions, "sessions")
    truth_user = None if truth_user is None else _as_names(truth_user, "truth_user")[0]
    truth_session = None if truth_session is None else _as_names(truth_session, "truth_session")[0]
    if voxel_spacing is not None and (
        not isinstance(voxel_spacing, Real) or not voxel_spacing > 0 or math.isinf(voxel_spacing)
    ):
        raise ValueError(
            f"voxel_spacing must be a positive number of Angstrom; got {voxel_spacing!r}."
        )
    chosen = _choose_runs(root, _as_names(runs, "runs"), where)
    found = _selected_picks(chosen, objects, users, sessions, (truth_user, truth_session), where)
    runs_by_name = {r.name: r for r in chosen if r.name in found}
    tomograms = _tomograms(runs_by_name, tomo_type, voxel_spacing, where)

    parts = []
    for run_name in sorted(found):
        spacing, path = tomograms[run_name]
        for picks, is_truth in found[run_name]:
            parts.append(_pick_rows(picks, run_name, spacing, path, is_truth))
    return pd.concat(parts, ignore_index=True)


def _pick_rows(picks, run_name, spacing, path, is_truth):
    locations, transforms = picks.numpy()
    centres = locations + transforms[:, :3, 3]
    n = len(locations)
    columns = {
        "skcryoal_tomogram": [run_name] * n,
        "skcryoal_tomogram_path": [path] * n,
        "skcryoal_voxel_size": np.full(n, spacing),
    }
    for k, column in enumerate(POSITION_COLUMNS):
        columns[column] = centres[:, k] / spacing
    columns["skcryoal_convention"] = [CONVENTION] * n
    label = picks.pickable_object_name if is_truth else None
    columns[LABEL_COLUMN] = pd.Series([label] * n, dtype=object)
    columns.update(
        copick_run=[run_name] * n,
        copick_object=[picks.pickable_object_name] * n,
        copick_user_id=[picks.user_id] * n,
        copick_session_id=[picks.session_id] * n,
        copick_point_index=np.arange(n, dtype=np.int64),
        copick_instance_id=picks.instance_ids(),
        copick_score=picks.scores(),
    )
    for k, axis in enumerate("xyz"):
        columns[f"copick_location_{axis}"] = locations[:, k]
    for column in TRANSFORM_COLUMNS:
        r, c = int(column[-2]), int(column[-1])
        columns[column] = transforms[:, r, c]
    return pd.DataFrame(columns)


def read_copick_subtomograms(
    config,
    size: int = 32,
    *,
    objects=None,
    users=None,
    sessions=None,
    runs=None,
    tomo_type: str = "wbp",
    voxel_spacing: float | None = None,
    truth_user: str | None = None,
    truth_session: str | None = None,
    voxel_size: float | None = None,
    edge: str = "raise",
    standardize: bool = True,
):
    """Cut subtomograms at the picks of a copick project.

    :func:`read_copick` followed by :func:`~skcryoal.io.extract_particles`.

    Parameters
    ----------
    config : str, path-like or copick root
        The project's copick config file, or a project opened with
        ``copick.from_file``.
    size : int, default=32
        Box edge in voxels (of ``voxel_size``).
    objects, users, sessions, runs, tomo_type, voxel_spacing, truth_user, truth_session
        Which picks and which tomogram; see :func:`read_copick`.
    voxel_size : float, default=None
        Voxel size in Angstrom of the subtomograms (the one the classifier was
        trained at); default that of the tomograms (``voxel_spacing``). See
        :func:`~skcryoal.io.extract_particles`.
    edge : {"raise", "skip", "pad"}, default="raise"
        Boxes that do not fit inside their tomogram; see
        :func:`~skcryoal.io.extract_particles`.
    standardize : bool, default=True
        Standardize each subtomogram to zero mean and unit standard deviation;
        see :func:`~skcryoal.io.extract_particles`.

    Returns
    -------
    X : ndarray of shape (n_samples, 1, size, size, size)
        float32 subtomograms, axis order (z, y, x), standardized per subtomogram
        unless ``standardize=False``.
    y : ndarray of shape (n_samples,) or None
        Object names (str) of truth picks and None for the other rows (object
        dtype); None when neither ``truth_user`` nor ``truth_session`` is given.
    table : pandas.DataFrame
        The rows of :func:`read_copick` that were extracted, as returned by
        :func:`~skcryoal.io.extract_particles`.
    """
    from . import extract_particles  # the multi-tomogram core, imported when used

    table = read_copick(
        config,
        objects=objects,
        users=users,
        sessions=sessions,
        runs=runs,
        tomo_type=tomo_type,
        voxel_spacing=voxel_spacing,
        truth_user=truth_user,
        truth_session=truth_session,
    )
    X, table = extract_particles(
        table, size, voxel_size=voxel_size, edge=edge, standardize=standardize
    )
    y = None
    if truth_user is not None or truth_session is not None:
        y = table[LABEL_COLUMN].to_numpy(dtype=object)
    return X, y, table


def write_copick_picks(
    config,
    table: pd.DataFrame,
    *,
    class_column: str = "predicted_class",
    score_column: str | None = "probability",
    user_id: str = "skcryoal",
    session_id: str = "0",
    run_column: str = "skcryoal_tomogram",
    overwrite: bool = False,
) -> pd.DataFrame:
    """Write classified particles into a copick project as picks.

    One pick set per (run, class): the rows of that class, as points at the
    particle centres (converted back to Angstrom), with the score in each
    point's ``score``, under ``user_id`` and ``session_id``. With the defaults
    (session ``"0"``, copick's mark of a tool's output) they show up as the
    tool ``skcryoal`` in napari-copick and the copick tools. Rows without a
    class (None, NaN or empty) are left out. Nothing is written unless every
    row can be.

    Parameters
    ----------
    config : str, path-like or copick root
        The project's copick config file, or a project opened with
        ``copick.from_file``.
    table : pandas.DataFrame
        A particle set with ``class_column``, ``run_column``, ``skcryoal_x``,
        ``skcryoal_y``, ``skcryoal_z`` (voxels) and ``skcryoal_voxel_size``
        (Angstrom), e.g. the predictions of a campaign whose pool came from
        :func:`read_copick`. Where it has the ``copick_transformation_rc``
        columns of :func:`read_copick`, each point keeps its transformation
        (orientation and shift); otherwise the identity.
    class_column : str, default="predicted_class"
        The class of each row: names of pickable objects of the project (use
        ``"label"`` for the labels of a campaign, ``"final_class"`` for labels
        where there are some and predictions elsewhere).
    score_column : str or None, default="probability"
        Each point's score (finite); None gives every point 1.0.
    user_id : str, default="skcryoal"
        The user or tool the picks are by.
    session_id : str, default="0"
        The session; ``"0"`` marks a tool's output.
    run_column : str, default="skcryoal_tomogram"
        The copick run of each row.
    overwrite : bool, default=False
        Replace pick sets by ``user_id`` in ``session_id`` that already exist
        (for the runs and classes written); otherwise they are an error.

    Returns
    -------
    summary : pandas.DataFrame
        One row per pick set written: ``run``, ``object``, ``user_id``,
        ``session_id``, ``n_points``.

    Raises
    ------
    ImportError
        copick is not installed.
    ValueError
        A class that is not a pickable object of the project (named with the
        project's objects), a run the project does not have, missing columns,
        non-finite positions, voxel sizes or scores, a ``user_id`` or
        ``session_id`` copick cannot use in a file name, existing pick sets
        without ``overwrite``.

    Examples
    --------
    The predictions of a campaign whose pool came from :func:`read_copick`
    (needs copick and the project on disk):

    >>> import pandas as pd
    >>> from skcryoal.io import write_copick_picks
    >>> predictions = pd.read_csv("predictions/predictions.csv")  # doctest: +SKIP
    >>> write_copick_picks("copick.json", predictions)  # doctest: +SKIP
    """
    root, where = _open_project(config)
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame; got {type(table).__name__}.")
    for name, value in (("user_id", user_id), ("session_id", session_id)):
        _check_copick_name(name, value)
    needed = [class_column, run_column, *POSITION_COLUMNS, "skcryoal_voxel_size"]
    if score_column is not None:
        needed.append(score_column)
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ValueError(
            f"table has no column(s) {missing}, which write_copick_picks needs "
            f"(class_column={class_column!r}, score_column={score_column!r}, "
            f"run_column={run_column!r}, the particle centre skcryoal_x/y/z in voxels and "
            "skcryoal_voxel_size in Angstrom); columns found: "
            f"{[str(c) for c in table.columns]}."
        )

    classes = table[class_column]
    keep = ~(classes.isna() | (classes.astype(str) == ""))
    rows = table[keep]
    classes = rows[class_column].astype(str)
    known = [o.name for o in root.config.pickable_objects]
    unknown = sorted(set(classes) - set(known))
    if unknown:
        raise ValueError(
            f"class(es) {unknown} of column {class_column!r} are not pickable objects of "
            f"{where}, whose objects are {known}; add them to the config's pickable_objects "
            f"or map the classes to object names first, e.g. "
            f"table[{class_column!r}].map({{...}})."
        )
    run_names = rows[run_column].astype(str)
    runs = {r.name: r for r in root.runs}
    unknown = sorted(set(run_names) - set(runs))
    if unknown:
        raise ValueError(
            f"run(s) {unknown} of column {run_column!r} are not runs of {where}, whose runs are "
            f"{sorted(runs)}; pass run_column= naming the column of copick run names."
        )

    centres = _finite(rows, list(POSITION_COLUMNS), "particle centres")
    spacing = _finite(rows, ["skcryoal_voxel_size"], "voxel sizes")[:, 0]
    if (spacing <= 0).any():
        raise ValueError(
            f"skcryoal_voxel_size must be positive; rows {_rows(rows, spacing <= 0)} are not."
        )
    transforms = np.tile(np.eye(4), (len(rows), 1, 1))
    if set(TRANSFORM_COLUMNS) <= set(rows.columns):
        upper = rows[list(TRANSFORM_COLUMNS)].apply(pd.to_numeric, errors="coerce").to_numpy()
        given = np.isfinite(upper).all(axis=1)
        transforms[given, :3, :] = upper[given].reshape(-1, 3, 4)
    locations = centres * spacing[:, None] - transforms[:, :3, 3]
    scores = np.ones(len(rows))
    if score_column is not None:
        scores = _finite(rows, [score_column], f"scores ({score_column})")[:, 0]

    groups = {}
    for i, key in enumerate(zip(run_names, classes)):
        groups.setdefault(key, []).append(i)
    existing = [
        key
        for key in groups
        if runs[key[0]].get_picks(object_name=key[1], user_id=user_id, session_id=session_id)
    ]
    if existing and not overwrite:
        shown = ", ".join(f"{obj} in run {run}" for run, obj in sorted(existing))
        raise ValueError(
            f"{where} already has picks by {user_id!r} in session {session_id!r} for {shown}; "
            "pass overwrite=True to replace them, or another user_id/session_id."
        )
    summary = []
    for (run_name, obj), index in sorted(groups.items()):
        picks = runs[run_name].new_picks(obj, session_id, user_id, exist_ok=True)
        picks.from_numpy(locations[index], transforms[index], scores=scores[index])
        summary.append((run_name, obj, user_id, session_id, len(index)))
    return pd.DataFrame(summary, columns=["run", "object", "user_id", "session_id", "n_points"])


def _check_copick_name(name, value):
    from copick.util.escape import sanitize_name

    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string; got {value!r}.")
    if sanitize_name(value, suppress_warnings=True) != value:
        raise ValueError(
            f"{name}={value!r} cannot name copick picks: copick files are named "
            '{user}_{session}_{object}.json, so underscores, spaces and <>:"/\\|?* are not '
            f"allowed; use e.g. {sanitize_name(value, suppress_warnings=True)!r}."
        )


def _finite(rows, columns, what):
    values = rows[columns].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        raise ValueError(
            f"{what} must be finite numbers; rows {_rows(rows, bad)} of columns {columns} are not."
        )
    return values


def _rows(rows, mask):
    labels = rows.index[np.asarray(mask)].tolist()
    return f"{labels[:5]}{' ...' if len(labels) > 5 else ''}"
