"""Campaign: a labelling campaign on disk, for people and for benchmarks."""

from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from . import _specs, _tables
from ._checkpoint import remove_stray_temps
from ._classes import ClassList
from ._cost import AnnotationCost, annotation_cost
from ._create import create_folder
from ._files import FilesMixin
from ._model import ModelMixin
from ._pool import is_referenced, open_pool, source_fingerprint, source_signature
from ._sheets import campaign_id
from ._status import CampaignStatus
from ._store import DB_NAME, CampaignFileError, Store
from ._validation import check_annotator, check_ids, check_seconds


def _load_template(path):
    """Unpickle the campaign's estimator, or say which file is damaged and what to do."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise type(exc)(
            exc.errno, f"cannot read the campaign's estimator {path}: {exc.strerror}", str(path)
        ) from exc
    try:
        return pickle.loads(data)
    except Exception as exc:  # unpickling runs arbitrary code; report any failure
        raise CampaignFileError(
            22,
            f"{path} cannot be read back ({type(exc).__name__}: {exc}): the campaign's "
            "estimator (the unfitted model every fit starts from) is damaged or was written "
            "for other software versions. Restore it from a backup; or replace it, keeping the "
            "labels: pickle.dump(CryoNetClassifier(classes=...), open(path, 'wb')) with the "
            "campaign's settings.",
            str(path),
        ) from exc


class Campaign(ModelMixin, FilesMixin):
    """A labelling campaign over a pool of subtomograms, stored in a folder.

    The store of record is an SQLite database in the folder (``campaign.sqlite``):
    the particles and their provenance, the classes, every label with its
    annotator and time (and its undo/relabel history), every query round
    (strategy, score and rank of each queued particle, model used) and every
    fitted model with its metrics. Model checkpoints are files in ``models/``,
    written atomically and recorded in the database only once complete. Nothing
    lives only in memory: any number of :class:`Campaign` objects, in any
    number of processes, can work on one folder, and a killed process loses at
    most the label call in progress.

    Create a campaign with :meth:`create`, reopen it with :meth:`open`.

    Parameters
    ----------
    path : str or path-like
        An existing campaign folder.
    pool : str, path-like, array-like or None, default=None
        Read the volumes from here instead of the recorded source (the data
        moved); it must hold the same particles with the same volume shape.
        Required for a campaign created with ``copy_pool=False``: the array
        it was created with, checked against the recorded shape, dtype and
        fingerprint.
    annotator : str or None, default=None
        Default annotator of this handle's label calls; None uses the login
        name.

    Attributes
    ----------
    path : Path
        The campaign folder.
    classes : list
        The class labels, in order (ints or strings).
    n_particles : int
    volume_shape : tuple of int
        ``(D, H, W)``, axis order (z, y, x).
    warm_start_epochs : int or None
        See :meth:`create`.
    subsample : int or None
        See :meth:`create`.
    annotator : str
        Default annotator of this handle.

    Notes
    -----
    Labels: the *current* label of a particle is its latest label, whoever
    gave it (last label wins); earlier labels stay in :meth:`history`, and
    :meth:`disagreements` lists particles that annotators labeled
    differently. :meth:`undo` withdraws a whole label/skip/import call.

    Queue: :meth:`query` always adds a new round of ``n`` particles that are
    neither labeled, skipped nor queued; particles queued earlier and not
    labeled yet stay queued (:meth:`queued` lists them all, oldest round
    first). Before any model can be fitted (fewer than 2 labels) a query is a
    *cold start*: a random selection drawn from the campaign's
    ``random_state`` (recorded as such), whatever the strategy.

    Pool: an array pool is copied into the folder (``pool.npy``), unless
    created with ``copy_pool=False``: then the folder records its shape, dtype
    and a fingerprint, and :meth:`open` needs the same array as ``pool=``. A
    pool given as a path is read in place and recorded by path, with a
    fingerprint (a checksum of a few volumes spread through the pool): when
    the campaign opens after the table changed (or first reads volumes), every
    row is compared with the recorded particles. A re-sorted table is followed
    (each particle is read from its new row, with a warning); edited, removed
    or added rows, or replaced volume files, are refused with an error naming
    the particles, so that labels never attach to other particles' volumes.

    Storage: SQLite in WAL mode with ``synchronous=FULL`` and a busy timeout,
    so concurrent annotators on one machine are safe. SQLite's locking is not
    safe on network file systems (NFS, SMB): keep the folder on a local disk.
    Models and callable strategies are pickles: open only campaigns you trust.

    Examples
    --------
    >>> import tempfile
    >>> from skcryoal import CryoNetClassifier
    >>> from skcryoal.campaign import Campaign
    >>> from skcryoal.datasets import make_subtomograms
    >>> X, y = make_subtomograms(12, 2, size=16, snr=10.0, random_state=0)
    >>> seeds = [label if i < 4 else None for i, label in enumerate(y)]
    >>> clf = CryoNetClassifier(module__width=4, max_epochs=1, batch_size=4, random_state=0)
    >>> c = Campaign.create(tempfile.mkdtemp(), X, [0, 1], y=seeds, estimator=clf)
    >>> ids = c.query(2)  # fits on the 4 seed labels first, then ranks by EMA deviation
    >>> action = c.label(ids, [int(y[i]) for i in ids], annotator="ana")  # durable now
    >>> status = c.status()
    >>> status.n_labeled, status.n_queued, len(status.models)
    (6, 0, 1)
    >>> Campaign.open(c.path).labels()["annotator"].tolist()
    ['seed', 'seed', 'seed', 'seed', 'ana', 'ana']
    """

    def __init__(self, path, *, pool=None, annotator=None):
        self._load(path, pool, annotator, None)

    def _load(self, path, pool, annotator, volumes):
        """Open the folder; ``volumes`` (from :meth:`create`) skips reopening the pool."""
        folder = Path(path).absolute()
        if not (folder / DB_NAME).is_file():
            raise FileNotFoundError(
                2,
                f"no campaign in {folder} (no {DB_NAME}); create one with "
                "Campaign.create(path, pool, classes)",
                str(folder),
            )
        self.path = folder
        self.annotator = check_annotator(annotator)
        self._store = Store(folder / DB_NAME)
        try:
            self._meta = self._store.check_version()
        except BaseException:
            self._store.close()
            raise
        self._model_cache = (None, None)
        self._pool_arg = pool
        self._volumes_ = volumes
        try:
            self._classes = ClassList.from_texts(
                self._store.class_texts(), self._meta["class_kind"]
            )
            self._template = _load_template(folder / _specs.ESTIMATOR_FILE)
            if volumes is None and (
                pool is not None or is_referenced(self._meta["pool"]) or self._source_changed()
            ):
                # a referenced pool is required and checked; a table changed since it was
                # last checked is checked now, so that open refuses one that lost its particles
                self._volumes_ = self._open_volumes()
        except BaseException:
            self._store.close()
            raise
        remove_stray_temps(folder)

    # ----------------------------------------------------------- creation
    @classmethod
    def open(cls, path: str | os.PathLike, *, pool=None, annotator: str | None = None) -> Campaign:
        """Open an existing campaign; see :class:`Campaign` for the parameters.

        Returns
        -------
        campaign : Campaign

        Raises
        ------
        FileNotFoundError
            No campaign in ``path``.
        NewerCampaignError
            The campaign was written by a newer skcryoal.
        CampaignFileError
            ``campaign.sqlite`` or ``estimator.pkl`` is damaged (the message
            names the file).
        OSError
            The folder is not readable and writable (``PermissionError``), or
            the disk failed.
        ValueError
            ``pool`` does not hold this campaign's particles or volume shape,
            or is missing for a campaign whose pool was not copied; or the
            pool's table changed since it was last checked (rows edited,
            removed or added; sampled volume files replaced), named in the
            message. A re-sorted table is followed instead (see ``Pool`` in
            :class:`Campaign`).

        Warns
        -----
        UserWarning
            The table was re-sorted (each particle is read from its new row);
            a campaign of an earlier skcryoal got its pool's fingerprint.
        """
        return cls(path, pool=pool, annotator=annotator)

    @classmethod
    def create(
        cls,
        path: str | os.PathLike,
        pool,
        classes,
        *,
        y=None,
        estimator=None,
        strategy=None,
        random_state=0,
        annotator: str | None = None,
        overwrite: bool = False,
        label_column: str | None = None,
        copy_pool: bool = True,
        keep_checkpoints: int | None = None,
        warm_start_epochs: int | None = None,
        subsample: int | None = None,
        particles=None,
        recipe: str | None = None,
    ) -> Campaign:
        """Create a campaign folder over a pool of subtomograms.

        Everything is validated before anything is written.

        Parameters
        ----------
        path : str or path-like
            The campaign folder (created; may exist, holding other files).
        pool : str, path-like or array-like
            A particle table (``.star``/``.csv``), a directory of MRC files or a
            single MRC stack, read lazily with
            :func:`skcryoal.io.read_subtomograms` (``mmap=True``) and recorded
            by path; or an array (ndarray, memmap, lazy array) of shape
            ``(n, 1, D, H, W)`` or ``(n, D, H, W)``, e.g. from
            :func:`skcryoal.datasets.make_subtomograms`, copied chunk by chunk
            into ``pool.npy`` in the folder (written atomically, memory-mapped
            when used). Table rows that carry a label seed the campaign with it
            (annotator ``"table"``); the other rows are the unlabeled pool.
        classes : sequence of int or str
            All classes, in output order; labels must be one of them.
        y : sequence or None, default=None
            Seed labels, one per particle, None (or NaN, "") for unlabeled ones
            (annotator ``"seed"``). Not together with a labeled table.
        estimator : estimator or None, default=None
            Unfitted model cloned for every fit, stored pickled in the folder.
            Default: ``CryoNetClassifier(classes=classes, augment=True,
            module__width=16, random_state=<campaign seed>)`` (width 64, the
            paper's, with ``recipe="paper"``): subtomograms picked from
            tomograms lie in random poses, so it trains with wedge-preserving
            augmentation (180-degree turns about the axes and small shifts; 18
            points of test accuracy at 300 labels in our measurements,
            docs/benchmarks.md). A given estimator is used as it
            is (its own ``random_state``), except that a ``classes`` parameter
            left None is set to ``classes``.
        recipe : {"pretrained", "paper"} or None, default=None
            How the campaign learns. ``"pretrained"``: the first :meth:`fit`
            first learns an encoder from every particle of the pool, without
            labels (:meth:`pretrain`: SimCLR on views that respect the missing
            wedge, about 60,000 volumes: 30 epochs of 2,000 particles, fewer
            epochs for a larger pool, resumable after a kill), and every fit
            fine-tunes it; the measured best (SNR 0.1, 10 classes: 90% test
            accuracy with 37 labels, 0.949 with 50, against about 250 labels
            and 0.254 from scratch; docs/benchmarks.md, "Fewer labels").
            ``"paper"``: the paper's recipe, every fit from scratch, and the
            default estimator at the paper's width 64. None: ``"pretrained"``
            with the default estimator; a given estimator is used as it is
            (pass ``"pretrained"`` to pretrain for it, or call
            :meth:`pretrain`). On a CPU the pretraining takes minutes at width
            16 (measured for 2,000 particles of 32^3: 16 min on one torch
            thread of a busy 2-core machine, 8 min projected on an idle
            thread); at width 64, hours (estimated).
        strategy : str, (str, dict), callable or None, default=None
            Query strategy: a registered name (:func:`skcryoal.query.get_strategy`),
            a spec with parameters (``"ema:subsample=5000"`` or
            ``("ema", {"subsample": 5000})``) or a picklable callable
            ``strategy(learner, X_pool, n_instances)`` (stored in the folder).
            Default ``"ema"`` (EMA deviation). Registered strategies get a
            ``random_state`` derived from the campaign's per round.
        random_state : int, RandomState or None, default=0
            Seed of the campaign (default estimator, cold-start selections,
            strategies). None draws one; the seed is recorded either way.
        annotator : str or None, default=None
            Default annotator of the returned handle; None uses the login name.
        overwrite : bool, default=False
            Replace a campaign already in ``path`` (its labels, queue and models
            are deleted). Other files in the folder are left alone.
        label_column : str or None, default=None
            Label column of a table pool. By default ``skcryoalLabelText`` or
            ``skcryoalLabel`` (as :func:`~skcryoal.io.write_subtomograms`
            writes them); RELION's ``rlnClassNumber`` (what a classification
            assigned) seeds labels only when named here.
        copy_pool : bool, default=True
            Copy an array pool into the folder (``pool.npy``), so that the
            folder is self-contained. False references the array instead (an
            ndarray, a memory map or a lazy array, e.g. a pool of gigabytes
            that a benchmark runs many campaigns over): nothing is copied, the
            folder records the pool's shape, dtype and a fingerprint (a
            checksum over a few volumes spread through the pool), and
            :meth:`open` then needs ``pool=`` the same array and checks it.
            Its values are not scanned for NaN (a copy checks them). A pool
            given as a path is always read in place; this has no effect then.
        keep_checkpoints : int or None, default=None
            Keep the checkpoint files of the latest ``keep_checkpoints``
            models only: older files are deleted as soon as a newer model is
            recorded (by any process); their records and metrics stay in the
            store, but they can no longer be loaded. A checkpoint holds the
            whole estimator (a width-16 :class:`~skcryoal.CryoNetClassifier`
            about 60 MB, a ResNet-18 about 0.9 GB), so a campaign that fits
            often (a simulation, a benchmark) may keep only the latest. None
            keeps every checkpoint.
        warm_start_epochs : int or None, default=None
            None re-initializes the model at every fit (the paper's
            protocol). An int makes fits after the first *warm*: the first
            fit trains from scratch for the estimator's ``max_epochs``; each
            later one starts from the weights of the latest recorded model
            (loaded from its checkpoint after a reopen) and trains
            ``warm_start_epochs`` epochs with a fresh optimizer and
            learning-rate schedule. Much cheaper rounds; see the user guide
            (campaigns) for what it costs in accuracy. Needs a skorch
            estimator (:class:`~skcryoal.CryoNetClassifier`).
        subsample : int or None, default=None
            None scores every particle that is neither labeled, skipped nor
            queued at each query. An int scores a fresh random subset of that
            many of them per round (the paper scores 12,000 of a 24,000-volume
            pool), drawn from the round's seed (itself derived from
            ``random_state`` and the round number), so that a round costs
            the same however large the pool. Recorded with each round
            (:meth:`rounds`, ``n_scored``). Not together with a strategy's own
            ``subsample``.
        particles : DataFrame or None, default=None
            The provenance of an array pool, one row per volume (row ``i``
            describes ``pool[i]``): the table that
            :func:`~skcryoal.io.extract_particles` or
            :func:`~skcryoal.io.read_copick_subtomograms` returns with the
            volumes. Every column is recorded for each particle, as the rows of
            a table pool are (tomogram, coordinates, the input's own columns),
            and so are the particle set's other STAR blocks (its ``attrs``, see
            :func:`~skcryoal.io.read_particle_set`): :meth:`predict` then writes
            class files that are the input set itself. Its label column seeds
            the campaign as a table pool's does (``label_column``).
            ``skcryoal_file`` and ``skcryoal_index`` are the campaign's own
            (``pool.npy`` and the volume's row in it). None records only
            that.

        Returns
        -------
        campaign : Campaign

        Raises
        ------
        FileExistsError
            ``path`` holds a campaign and ``overwrite`` is False.
        ValueError
            Bad classes (class names that read as a missing value in sheets
            and tables: ``None``, ``nan``, ``<NA>``, ``?``, ``.``), labels that
            are not classes, a bad pool, an estimator that cannot be stored and
            read back (e.g. an unknown torch ``device``), a bad
            ``warm_start_epochs`` or ``subsample``, or a ``subsample`` set on
            the campaign and its strategy both; ``particles`` with a number of
            rows other than the pool's volumes, or with a table pool.
        TypeError
            ``particles`` is not a DataFrame.
        """
        folder, annotator, volumes = create_folder(
            path,
            pool,
            classes,
            y=y,
            estimator=estimator,
            strategy=strategy,
            random_state=random_state,
            annotator=annotator,
            overwrite=overwrite,
            label_column=label_column,
            copy_pool=copy_pool,
            keep_checkpoints=keep_checkpoints,
            warm_start_epochs=warm_start_epochs,
            subsample=subsample,
            particles=particles,
            recipe=recipe,
        )
        campaign = cls.__new__(cls)
        campaign._load(folder, None, annotator, volumes)
        return campaign

    def close(self) -> None:
        """Close the database connection."""
        self._store.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"Campaign({str(self.path)!r})"

    # --------------------------------------------------------- properties
    @property
    def classes(self) -> list:
        """The class labels, in order."""
        return list(self._classes.values)

    @property
    def campaign_id(self) -> str:
        """The campaign's id, written into every label sheet it exports."""
        return campaign_id(self._meta)

    @property
    def n_particles(self) -> int:
        """Number of particles in the pool."""
        return int(self._meta["pool"]["n"])

    @property
    def volume_shape(self) -> tuple:
        """Spatial shape ``(D, H, W)`` of the volumes, axis order (z, y, x)."""
        return tuple(self._meta["pool"]["volume_shape"])

    @property
    def warm_start_epochs(self) -> int | None:
        """Epochs of each warm fit after the first, or None (every fit is cold)."""
        return self._meta.get("warm_start_epochs")

    @property
    def subsample(self) -> int | None:
        """Particles scored per query round, or None (all that are free)."""
        return self._meta.get("subsample")

    def _source_changed(self):
        """Whether the pool's table (or a sampled file) changed since it was last checked."""
        pool = self._meta["pool"]
        if pool["kind"] != "path" or not os.path.exists(pool["source"]):
            return False  # a moved table is reported when the volumes are needed
        fingerprint = pool.get("source_fingerprint") or {}
        if "stat" not in fingerprint:
            return True  # created before fingerprints: checked, and recorded, now
        return source_signature(pool["source"], fingerprint["files"]) != fingerprint["stat"]

    def _open_volumes(self):
        def rows():
            return [r for _, r in _tables.provenance(self)]

        X = open_pool(self.path, self._meta["pool"], rows, self._pool_arg)
        if self._meta["pool"]["kind"] == "path" and self._pool_arg is None:
            self._record_fingerprint(X)
        return X

    def _record_fingerprint(self, X):
        """Record the fingerprint of a table pool that matched (missing, or the table touched)."""
        pool = dict(self._meta["pool"])
        old = pool.get("source_fingerprint") or {}
        if old.get("volumes") is None:
            new = source_fingerprint(X, [r for _, r in _tables.provenance(self)], pool["source"])
        else:  # the files were checked against it: only their times changed
            new = {**old, "stat": source_signature(pool["source"], old["files"])}
        if new == old:
            return
        pool["source_fingerprint"] = new
        self._meta["pool"] = pool
        try:
            self._store.set_meta("pool", pool)
        except OSError as exc:
            if old.get("volumes") is None:
                warnings.warn(
                    f"could not record the fingerprint of the pool {pool['source']} ({exc}); "
                    "it is checked against the campaign's particle records each time.",
                    UserWarning,
                    stacklevel=4,
                )
            return
        if old.get("volumes") is None:
            warnings.warn(
                f"{self.path}: this campaign was created by skcryoal "
                f"{self._meta.get('skcryoal_version', '(an earlier version)')}, which recorded "
                f"no fingerprint of the pool's volumes. Every row of the table "
                f"{pool['source']} was checked against the campaign's particles, and a "
                "fingerprint of their volumes was recorded now: later opens refuse a table or "
                "files that changed. Nothing in the campaign was changed or lost.",
                UserWarning,
                stacklevel=4,
            )

    @property
    def _volumes(self):
        if self._volumes_ is None:
            self._volumes_ = self._open_volumes()
        return self._volumes_

    def volume(self, particle_id: int) -> np.ndarray:
        """Return one particle's volume.

        Parameters
        ----------
        particle_id : int

        Returns
        -------
        volume : ndarray of shape (D, H, W), float32
        """
        (pid,) = check_ids([particle_id], self.n_particles) or [None]
        return np.asarray(self._volumes[pid], dtype=np.float32).reshape(self.volume_shape)

    # ------------------------------------------------------------- labels
    def _current_labels(self):
        return {
            pid: s[1] for pid, s in self._store.current().items() if s[0] in ("label", "relabel")
        }

    def label(self, ids, labels, annotator: str | None = None, *, seconds=None) -> int | None:
        """Label particles, in one durable transaction.

        Any particle can be labeled, queued or not; a labeled particle leaves
        the queue. Relabeling is allowed: the last label wins, and the earlier
        one stays in :meth:`history`.

        Parameters
        ----------
        ids : int or sequence of int
            Particle ids (pool rows), distinct.
        labels : class or sequence of classes
            One label for all ids, or one per id. Integer classes may be given
            as text (``"3"``).
        annotator : str or None, default=None
            Who labels; defaults to the handle's ``annotator``.
        seconds : float, sequence of float or None, default=None
            How long each particle was looked at before the decision (display
            to click), one for all or one per id (None for an untimed one);
            stored with the label for :meth:`annotation_cost`. The notebook
            widget gives it.

        Returns
        -------
        action_id : int or None
            The recorded action (None when ``ids`` is empty).

        Raises
        ------
        ValueError
            An unknown class, no label (None or NaN: skip a particle with
            :meth:`skip`, withdraw a label with :meth:`undo`), an id not in the
            campaign, a repeated id, a negative time; nothing is recorded then.
        """
        ids = check_ids(ids, self.n_particles)
        texts = self._classes.texts_of(labels, len(ids), ids=ids)
        annotator = check_annotator(annotator or self.annotator)
        timed = check_seconds(seconds, ids)
        if not ids:
            return None
        return self._store.record("label", annotator, list(zip(ids, texts)), seconds=timed)[0]

    def skip(self, ids, annotator: str | None = None, *, seconds=None) -> int | None:
        """Mark particles as skipped (cannot be labeled), in one durable transaction.

        Skipped particles leave the queue and are never queried again. The
        latest action wins: a later label supersedes the skip, a skip
        supersedes an earlier label, and :meth:`undo` withdraws it.

        Parameters
        ----------
        ids : int or sequence of int
            Particle ids (pool rows), distinct.
        annotator : str or None, default=None
            Who skips; defaults to the handle's ``annotator``.
        seconds : float, sequence of float or None, default=None
            How long each particle was looked at before it was skipped, as in
            :meth:`label`.

        Returns
        -------
        action_id : int or None
            The recorded action (None when ``ids`` is empty).
        """
        ids = check_ids(ids, self.n_particles)
        annotator = check_annotator(annotator or self.annotator)
        timed = check_seconds(seconds, ids)
        if not ids:
            return None
        return self._store.record("skip", annotator, [(i, None) for i in ids], seconds=timed)[0]

    def undo(self, annotator: str | None = None) -> dict | None:
        """Undo the latest label, skip or import call (of ``annotator`` if given).

        The particles get back their state from before the call (another
        annotator's label, if that came earlier; queued particles are queued
        again). Seed labels are not undone.

        Returns
        -------
        undone : dict or None
            ``action_id``, ``kind``, ``annotator``, ``time``, ``particle_ids``,
            ``labels`` and ``undo_action_id``; None if nothing is left to undo.
        """
        who = None if annotator is None else check_annotator(annotator)
        undone = self._store.undo(who)
        if undone is not None:
            undone["labels"] = [
                None if t is None else self._classes.value(t) for t in undone["labels"]
            ]
        return undone

    def queued(self) -> np.ndarray:
        """Return the queued particles not labeled or skipped yet, oldest round first.

        Returns
        -------
        ids : ndarray of int64
        """
        current = self._store.current()
        return np.asarray(
            [r[1] for r in self._store.queue() if r[1] not in current], dtype=np.int64
        )

    def labels(self) -> pd.DataFrame:
        """Return the current label of every labeled particle.

        Returns
        -------
        labels : DataFrame
            ``particle_id``, ``label`` (a class), ``annotator`` and ``time``
            (UTC) of the label in force, sorted by particle id.
        """
        return _tables.labels(self)

    def history(self) -> pd.DataFrame:
        """Every label event, oldest first.

        Returns
        -------
        history : DataFrame
            ``event_id``, ``action_id``, ``particle_id``, ``event`` (``label``,
            ``relabel``, ``skip``, ``undo``), ``label``, ``annotator``,
            ``time``, ``action`` (``seed``, ``label``, ``skip``, ``import``,
            ``undo``) and ``undone`` (whether the event was withdrawn).
        """
        return _tables.history(self)

    def disagreements(self) -> pd.DataFrame:
        """Particles that annotators labeled differently.

        Each annotator's latest label of a particle counts (so correcting
        oneself is not a disagreement); seed labels count as annotator
        ``"table"`` (or ``"seed"``), so relabeling a seed differently is one.

        Returns
        -------
        disagreements : DataFrame
            One row per (particle, annotator): ``particle_id``, ``annotator``,
            that annotator's latest ``label`` and its ``time``, and the
            particle's ``current_label`` (the last label given, by anyone).
        """
        return _tables.disagreements(self)

    def rounds(self) -> pd.DataFrame:
        """Return the query rounds, oldest first.

        Returns
        -------
        rounds : DataFrame
            ``round_id``, ``time``, ``annotator``, ``strategy`` (the strategy
            used, e.g. ``RandomQuery(...)`` at a cold start), ``configured``
            (the campaign's strategy spec), ``cold_start``, ``model_id`` (the
            model that ranked the particles), ``seed``, ``n_requested``,
            ``n_queued`` and ``n_scored`` (the particles the strategy was
            given: all free ones, or the campaign's ``subsample``; missing at
            a cold start and in rounds recorded before it was). Each
            particle's rank and score are in :meth:`particles`.
        """
        return _tables.rounds(self)

    def particles(self) -> pd.DataFrame:
        """Every particle with its provenance, current label and queue state.

        Returns
        -------
        particles : DataFrame
            ``particle_id`` (pool row), the provenance columns (every column of
            the source table, ``skcryoal_file``, ``skcryoal_index``), then
            ``label``, ``annotator``, ``labeled_at``, ``skipped``, ``queued``,
            ``round``, ``rank`` and ``score``.
        """
        return _tables.particles(self)

    def status(self, budget: int | None = None) -> CampaignStatus:
        """Return where the campaign stands.

        Parameters
        ----------
        budget : int or None, default=None
            A label budget: the status then says how much annotation time is
            left to reach it at the current rate (:meth:`annotation_cost`).

        Returns
        -------
        status : CampaignStatus
            Counts (labeled, queued, skipped, per class), rounds, models with
            their metrics, disagreements, the annotation time spent and the
            rate; prints readably and renders as HTML in notebooks.
        """
        return _tables.status(self, budget=budget)

    def annotation_cost(self, budget: int | None = None) -> AnnotationCost:
        """Return what the labels cost: decision times, labels per hour, time to a budget.

        Every decision made in the notebook widget (or given ``seconds=`` in
        :meth:`label` and :meth:`skip`) records how long the particle was on
        screen before it; labels imported from sheets are counted, untimed,
        with their sheets.

        Parameters
        ----------
        budget : int or None, default=None
            A label budget to project to: hours still needed at the current
            rate (:attr:`AnnotationCost.projected_hours`).

        Returns
        -------
        cost : AnnotationCost
            ``per_annotator`` (a DataFrame: labels, skips, timed decisions,
            hours, median seconds, labels per hour, imported labels, sheets;
            one row per annotator and one for all), ``labels_per_hour``,
            ``hours``, ``projected_hours``; prints as a summary line and the
            table.

        Examples
        --------
        >>> cost = campaign.annotation_cost(budget=300)  # doctest: +SKIP
        >>> print(cost.summary())  # doctest: +SKIP
        41 decisions timed in 6.2 min (390 labels/hour; ana 390/h; median 7.9 s);
        to 300 labels: 40.1 min more (259 labels)
        """
        return annotation_cost(self._store, len(self._current_labels()), budget)

    def widget(self, **kwargs):
        """Return a notebook widget to label the queued particles.

        Three orthoslices of the current particle (with a slab average), class
        buttons with keyboard shortcuts, skip, undo, progress, and "retrain and
        queue the next batch" with a progress bar. Every click is stored at
        once. Needs ipywidgets (``pip install 'skcryoal[notebook]'``).

        Parameters
        ----------
        **kwargs
            Passed to :class:`~skcryoal.campaign.CampaignWidget` (``annotator``,
            ``slab``, ``batch_size``, ``cmap``...).

        Returns
        -------
        widget : CampaignWidget
            Displays itself as the last expression of a notebook cell.
        """
        from ._widget import CampaignWidget

        return CampaignWidget(self, **kwargs)
