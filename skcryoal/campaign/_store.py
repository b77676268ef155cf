"""The store of record of a campaign: particles, labels, rounds and models in SQL.

Everything about a campaign that is not a file (pool volumes, model weights)
lives here, and nothing lives only in memory. SQL goes through the Python
DB-API (PEP 249) with parameterised statements in ``qmark`` style. The
SQLite-specific parts are few and marked: :meth:`Store.connect` (pragmas),
:meth:`Store.transaction` (``BEGIN IMMEDIATE``), ``AUTOINCREMENT`` in the
schema and ``cursor.lastrowid``; a server database (e.g. PostgreSQL, to serve
annotators on several machines) would replace those behind the same methods.

Labels are an append-only log: an *action* (one ``label``/``skip`` call, a
table import, the seed labels, an undo) holds one *event* per particle. The
current state of a particle is its latest event whose action has not been
undone; so the last label wins, whoever gave it, and undoing an action brings
back whatever was current before it (including another annotator's label).
"""

import contextlib
import errno
import hashlib
import json
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path

#: version of the schema below; a store of a newer version is refused
SCHEMA_VERSION = 1
DB_NAME = "campaign.sqlite"
UNDOABLE = ("label", "skip", "import")

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE classes (position INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE particles (
    particle_id INTEGER PRIMARY KEY,
    file TEXT,
    stack_index INTEGER,
    tomo_name TEXT,
    row_json TEXT NOT NULL
);
CREATE TABLE actions (
    action_id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('seed', 'label', 'skip', 'import', 'undo')),
    annotator TEXT NOT NULL,
    time TEXT NOT NULL,
    undone_by INTEGER REFERENCES actions (action_id)
);
CREATE TABLE events (
    event_id INTEGER PRIMARY KEY AUTOINCREMENT,
    action_id INTEGER NOT NULL REFERENCES actions (action_id),
    particle_id INTEGER NOT NULL REFERENCES particles (particle_id),
    kind TEXT NOT NULL CHECK (kind IN ('label', 'relabel', 'skip', 'undo')),
    label TEXT
);
CREATE INDEX events_by_particle ON events (particle_id, event_id);
CREATE INDEX events_by_action ON events (action_id);
CREATE TABLE rounds (
    round_id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    annotator TEXT NOT NULL,
    strategy TEXT NOT NULL,
    seed INTEGER NOT NULL,
    model_id INTEGER REFERENCES models (model_id),
    cold_start INTEGER NOT NULL,
    n_requested INTEGER NOT NULL
);
CREATE TABLE queue (
    round_id INTEGER NOT NULL REFERENCES rounds (round_id),
    particle_id INTEGER NOT NULL UNIQUE REFERENCES particles (particle_id),
    rank INTEGER NOT NULL,  -- 1-based: 1 was asked first
    score REAL,
    PRIMARY KEY (round_id, particle_id)
);
CREATE TABLE models (
    model_id INTEGER PRIMARY KEY AUTOINCREMENT,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    time TEXT NOT NULL,
    n_labels INTEGER NOT NULL,
    labels_digest TEXT NOT NULL,
    metrics TEXT NOT NULL
);
"""

# which label sheet each import came from (created on the first import of a sheet)
_SHEET_IMPORTS = """
CREATE TABLE IF NOT EXISTS sheet_imports (
    action_id INTEGER NOT NULL REFERENCES actions (action_id),
    sheet TEXT NOT NULL,
    PRIMARY KEY (action_id, sheet)
)
"""

# how long the annotator looked at each particle before deciding (display to click), per
# label or skip event (created on the first timed decision: stores of earlier releases
# lack it, and releases before it ignore it)
_DECISION_SECONDS = """
CREATE TABLE IF NOT EXISTS decision_seconds (
    event_id INTEGER PRIMARY KEY REFERENCES events (event_id),
    seconds REAL NOT NULL CHECK (seconds >= 0)
)
"""

# every label and skip event of an action (imports and seeds included), its annotator,
# its action's kind and time, its decision time where one was recorded, its sheet if any
_DECISIONS = """
SELECT e.event_id, e.particle_id, e.kind, a.kind, a.annotator, a.time, a.undone_by IS NOT NULL,
       {seconds}, {sheet}
FROM events AS e JOIN actions AS a ON a.action_id = e.action_id
{joins}
WHERE e.kind != 'undo'
ORDER BY e.event_id
"""

# latest event per particle among actions not undone (undo events excluded)
_CURRENT = """
SELECT e.particle_id, e.kind, e.label, a.annotator, a.time, e.event_id
FROM events AS e JOIN actions AS a ON a.action_id = e.action_id
WHERE e.event_id IN (
    SELECT MAX(e2.event_id)
    FROM events AS e2 JOIN actions AS a2 ON a2.action_id = e2.action_id
    WHERE a2.undone_by IS NULL AND e2.kind != 'undo'
    GROUP BY e2.particle_id
)
ORDER BY e.particle_id
"""


def now():
    """Return the current UTC time as an ISO 8601 string (microseconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def labels_digest(labels):
    """Return a digest of ``{particle_id: label_text}`` (which labels a model saw)."""
    h = hashlib.sha256()
    for pid in sorted(labels):
        h.update(f"{pid}\t{labels[pid]}\n".encode())
    return h.hexdigest()


class NewerCampaignError(RuntimeError):
    """The campaign was written by a newer skcryoal (a newer store schema)."""


class CampaignFileError(OSError):
    """A file of a campaign folder is damaged or is not what the campaign wrote.

    Raised for a ``campaign.sqlite`` that is not a readable SQLite database and
    for an ``estimator.pkl`` that cannot be unpickled; the message names the
    file and what to do. An :class:`OSError`, so that scripts handling I/O
    failures handle it too.
    """

    def __str__(self):
        return str(self.strerror) if self.strerror else super().__str__()


# SQLite failures of the disk or the folder, as the OSError a file write gives
_SQLITE_CAUSES = {
    "SQLITE_READONLY": (
        errno.EACCES,
        "the database or its folder is read-only",
        "make the folder and its files writable (chmod -R u+w FOLDER), or copy the campaign "
        "folder to a writable place and work there",
    ),
    "SQLITE_CANTOPEN": (
        errno.EACCES,
        "SQLite cannot open it (the folder must be readable and writable: SQLite keeps "
        "campaign.sqlite-wal and campaign.sqlite-shm beside it)",
        "make the folder and its files readable and writable (chmod -R u+w FOLDER), or copy "
        "the campaign folder to a writable place and work there",
    ),
    "SQLITE_FULL": (
        errno.ENOSPC,
        "the disk is full",
        "free some space on that disk and run the step again",
    ),
    "SQLITE_IOERR": (
        errno.EIO,
        "a disk I/O error (a full or failing disk, a removed drive, or a network file system)",
        "check the disk (and keep the folder on a local disk), then run the step again",
    ),
    "SQLITE_BUSY": (
        errno.EBUSY,
        "another process held it locked for longer than the busy timeout",
        "wait for that process (a fit or a long import) to finish, then run the step again",
    ),
}
_SQLITE_DAMAGED = ("SQLITE_NOTADB", "SQLITE_CORRUPT")


def _sqlite_cause(exc):
    """The primary SQLite result code of ``exc`` (``SQLITE_READONLY``...), or ''."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    primary = next((k for k in (*_SQLITE_CAUSES, *_SQLITE_DAMAGED) if name.startswith(k)), "")
    if primary:
        return primary
    text = str(exc).lower()  # Python < 3.11 has no sqlite_errorname
    for words, code in (
        ("readonly", "SQLITE_READONLY"),
        ("unable to open", "SQLITE_CANTOPEN"),
        ("disk is full", "SQLITE_FULL"),
        ("disk i/o", "SQLITE_IOERR"),
        ("locked", "SQLITE_BUSY"),
        ("not a database", "SQLITE_NOTADB"),
        ("malformed", "SQLITE_CORRUPT"),
    ):
        if words in text:
            return code
    return ""


def storage_error(exc, path):
    """Return the error to raise for an SQLite failure of the store ``path``, or None.

    A damaged file gives a :class:`CampaignFileError`; a read-only folder, a
    full disk, an I/O error or a lock held too long an :class:`OSError` (with
    its errno: ``PermissionError`` for a read-only folder) naming the database,
    the cause and what to do. Other failures (a table missing from the store of
    an interrupted creation...) give None: the caller decides.
    """
    cause = _sqlite_cause(exc)
    path = Path(path)
    if cause in _SQLITE_DAMAGED:
        return CampaignFileError(
            errno.EINVAL,
            f"{path} is not a readable campaign database ({exc}): the file is damaged or is "
            "not a campaign's. The labels, query rounds and models of a campaign are recorded "
            "only in it: restore it from a backup (with campaign.sqlite-wal beside it, if "
            "there was one), or start a new campaign in the folder (overwrite=True replaces "
            "this one).",
            str(path),
        )
    if cause not in _SQLITE_CAUSES:
        return None
    code, why, fix = _SQLITE_CAUSES[cause]
    return OSError(
        code,
        f"cannot use the campaign database {path}: {why} ({exc}); {fix}. "
        "Nothing of the step in progress was recorded.".replace("FOLDER", str(path.parent)),
        str(path),
    )


@contextlib.contextmanager
def _translated(path):
    """Re-raise SQLite failures of the disk or the file as clear errors (see storage_error)."""
    try:
        yield
    except sqlite3.Error as exc:
        error = storage_error(exc, path)
        if error is None:
            raise
        raise error from exc


class Store:
    """A campaign's database: one connection, used under a lock.

    Parameters
    ----------
    path : path-like
        The SQLite file (``campaign.sqlite`` in the campaign folder).
    timeout : float, default=60.0
        Seconds to wait for another process's write transaction (busy timeout).

    Notes
    -----
    SQLite runs in WAL mode with ``synchronous=FULL``: a committed transaction
    survives a process kill or a power cut, and readers never block the writer.
    SQLite's locking is unreliable on network file systems (NFS, SMB): keep the
    campaign folder on a local disk, and serve annotators on several machines
    through a server database behind this interface instead.
    """

    def __init__(self, path, *, timeout=60.0):
        self.path = str(path)
        self.timeout = float(timeout)
        self._lock = threading.RLock()
        self._conn = self.connect()

    def connect(self):
        """Open the connection and set the durability pragmas.

        Raises
        ------
        CampaignFileError
            The file is not a readable SQLite database.
        OSError
            The folder is not readable and writable, or its file system does
            not support SQLite's WAL mode.
        """
        conn = None
        try:
            with _translated(self.path):
                conn = sqlite3.connect(
                    self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
                )
                conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise OSError(
                        f"{self.path}: SQLite could not switch to WAL mode (got {mode!r}); the "
                        "campaign folder must be on a local file system that supports it."
                    )
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        return conn

    def close(self):
        """Close the connection."""
        with self._lock:
            self._conn.close()

    @contextlib.contextmanager
    def transaction(self):
        """Run a block as one write transaction; roll back on any error.

        A read-only folder, a full disk or a damaged file raise the clear
        errors of :func:`storage_error`; nothing of the block is recorded then.
        """
        with self._lock, _translated(self.path):
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                if self._conn.in_transaction:  # SQLite may have rolled back already
                    with contextlib.suppress(sqlite3.Error):
                        cur.execute("ROLLBACK")
                raise
            try:
                cur.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        cur.execute("ROLLBACK")
                raise

    def _read(self, sql, params=()):
        with self._lock, _translated(self.path):
            return self._conn.execute(sql, params).fetchall()

    # ----------------------------------------------------------- creation
    def initialize(self, meta, class_texts, particles, seeds, seed_annotator):
        """Create the schema and fill it, in one transaction.

        Parameters
        ----------
        meta : dict of str to JSON-serialisable
        class_texts : list of str
        particles : iterable of (particle_id, file, stack_index, tomo_name, row_json)
        seeds : dict of int to str
            Seed labels by particle id.
        seed_annotator : str
        """
        with self.transaction() as cur:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    cur.execute(statement)
            meta = {**meta, "schema_version": SCHEMA_VERSION, "complete": True}
            cur.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [(k, json.dumps(v)) for k, v in meta.items()],
            )
            cur.executemany(
                "INSERT INTO classes (position, name) VALUES (?, ?)", list(enumerate(class_texts))
            )
            cur.executemany(
                "INSERT INTO particles (particle_id, file, stack_index, tomo_name, row_json) "
                "VALUES (?, ?, ?, ?, ?)",
                particles,
            )
            if seeds:
                action = self._new_action(cur, "seed", seed_annotator)
                cur.executemany(
                    "INSERT INTO events (action_id, particle_id, kind, label) "
                    "VALUES (?, ?, 'label', ?)",
                    [(action, pid, text) for pid, text in sorted(seeds.items())],
                )

    def check_version(self):
        """Return the metadata; raise if the store is incomplete or too new."""
        try:
            meta = self.meta()
        except sqlite3.DatabaseError as exc:
            raise ValueError(
                f"{self.path} is not a readable campaign database ({exc}). If its creation "
                "was interrupted, create the campaign again: Campaign.create replaces what "
                "an interrupted creation left."
            ) from exc
        if not meta.get("complete"):
            raise ValueError(
                f"{self.path}: the campaign's creation was interrupted; create the campaign "
                "again: Campaign.create replaces what an interrupted creation left."
            )
        version = meta.get("schema_version")
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise NewerCampaignError(
                f"{self.path} has campaign schema version {version}, but this skcryoal reads "
                f"versions up to {SCHEMA_VERSION}; it was written by a newer skcryoal. "
                "Upgrade skcryoal (pip install -U skcryoal) to open it."
            )
        return meta

    # --------------------------------------------------------------- reads
    def meta(self):
        """Return the metadata as a dict."""
        return {k: json.loads(v) for k, v in self._read("SELECT key, value FROM meta")}

    def class_texts(self):
        """Return the class texts in order."""
        return [r[0] for r in self._read("SELECT name FROM classes ORDER BY position")]

    def particles(self):
        """Return rows (particle_id, file, stack_index, tomo_name, row_json), by id."""
        return self._read(
            "SELECT particle_id, file, stack_index, tomo_name, row_json FROM particles "
            "ORDER BY particle_id"
        )

    def current(self, cur=None):
        """Return ``{particle_id: (kind, label, annotator, time, event_id)}``."""
        rows = cur.execute(_CURRENT).fetchall() if cur is not None else self._read(_CURRENT)
        return {r[0]: tuple(r[1:]) for r in rows}

    def history(self):
        """Return every event with its action, oldest first."""
        return self._read(
            "SELECT e.event_id, e.action_id, e.particle_id, e.kind, e.label, a.annotator, "
            "a.time, a.kind, a.undone_by FROM events AS e JOIN actions AS a "
            "ON a.action_id = e.action_id ORDER BY e.event_id"
        )

    def latest_by_annotator(self):
        """Return (particle_id, annotator, label, time) of each annotator's latest label."""
        return self._read(
            "SELECT e.particle_id, a.annotator, e.label, a.time FROM events AS e "
            "JOIN actions AS a ON a.action_id = e.action_id WHERE e.event_id IN ("
            " SELECT MAX(e2.event_id) FROM events AS e2 JOIN actions AS a2"
            " ON a2.action_id = e2.action_id"
            " WHERE a2.undone_by IS NULL AND e2.kind IN ('label', 'relabel')"
            " GROUP BY e2.particle_id, a2.annotator)"
            " ORDER BY e.particle_id, e.event_id"
        )

    def queue(self, cur=None):
        """Return (round_id, particle_id, rank, score) of every queued particle, in order."""
        sql = "SELECT round_id, particle_id, rank, score FROM queue ORDER BY round_id, rank"
        return cur.execute(sql).fetchall() if cur is not None else self._read(sql)

    def rounds(self):
        """Return the query rounds as dicts."""
        cols = ("round_id", "time", "annotator", "strategy", "seed", "model_id", "cold_start")
        rows = self._read(f"SELECT {', '.join(cols)}, n_requested FROM rounds ORDER BY round_id")
        out = []
        for r in rows:
            d = dict(zip((*cols, "n_requested"), r))
            d["strategy"] = json.loads(d["strategy"])
            d["cold_start"] = bool(d["cold_start"])
            out.append(d)
        return out

    def models(self):
        """Return the recorded models as dicts, oldest first."""
        cols = ("model_id", "file", "sha256", "size", "time", "n_labels", "labels_digest")
        rows = self._read(f"SELECT {', '.join(cols)}, metrics FROM models ORDER BY model_id")
        return [{**dict(zip(cols, r[:-1])), "metrics": json.loads(r[-1])} for r in rows]

    def integrity_check(self):
        """Return SQLite's ``PRAGMA integrity_check`` result (``"ok"`` when sound)."""
        return "; ".join(str(r[0]) for r in self._read("PRAGMA integrity_check"))

    # -------------------------------------------------------------- writes
    def set_meta(self, key, value):
        """Set one metadata entry (JSON-serialisable) in its own transaction."""
        with self.transaction() as cur:
            cur.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value))
            )

    def _new_action(self, cur, kind, annotator):
        cur.execute(
            "INSERT INTO actions (kind, annotator, time) VALUES (?, ?, ?)",
            (kind, annotator, now()),
        )
        return cur.lastrowid

    def record(
        self, kind, annotator, items, *, skip_unchanged=False, check=None, sheets=(), seconds=None
    ):
        """Record one action (``label``, ``skip`` or ``import``) in one transaction.

        Parameters
        ----------
        kind : {"label", "skip", "import"}
        annotator : str
        items : list of (particle_id, label_text or None)
        skip_unchanged : bool, default=False
            Leave out particles whose current label, by the same annotator, is
            already the given one (re-importing a sheet records nothing twice).
        check : callable or None, default=None
            ``check(cur)``, run in the transaction before anything is written
            (so that what it reads cannot change before the write); an
            exception it raises records nothing.
        sheets : iterable of str, default=()
            The ids of the label sheets an import comes from, recorded with
            the action (see :meth:`sheet_actions`).
        seconds : dict or None, default=None
            ``{particle_id: seconds}``: how long the annotator looked at each
            particle before deciding, recorded with its event.

        Returns
        -------
        action_id : int or None
            None when nothing was left to record.
        n_recorded : int
        """
        with self.transaction() as cur:
            if check is not None:
                check(cur)
            current = self.current(cur)
            rows = []
            for pid, text in items:
                state = current.get(pid)
                if kind == "skip":
                    rows.append((pid, "skip", None))
                    continue
                if skip_unchanged and state and state[1] == text and state[2] == annotator:
                    continue
                had_label = state is not None and state[0] in ("label", "relabel")
                rows.append((pid, "relabel" if had_label else "label", text))
            if not rows:
                return None, 0
            action = self._new_action(cur, kind, annotator)
            cur.executemany(
                "INSERT INTO events (action_id, particle_id, kind, label) VALUES (?, ?, ?, ?)",
                [(action, *row) for row in rows],
            )
            timed = [(pid, seconds[pid]) for pid, _, _ in rows if seconds and pid in seconds]
            if timed:
                cur.execute(_DECISION_SECONDS)
                cur.executemany(
                    "INSERT INTO decision_seconds (event_id, seconds) SELECT event_id, ? "
                    "FROM events WHERE action_id = ? AND particle_id = ?",
                    [(float(t), action, pid) for pid, t in timed],
                )
            sheets = sorted(set(sheets))
            if sheets:
                # a table of its own, made on first use: stores of earlier releases lack it
                cur.execute(_SHEET_IMPORTS)
                cur.executemany(
                    "INSERT INTO sheet_imports (action_id, sheet) VALUES (?, ?)",
                    [(action, sheet) for sheet in sheets],
                )
        return action, len(rows)

    def latest_own_labels(self, cur, annotator):
        """Return ``{particle_id: (label_text, action_id)}`` of ``annotator``'s latest labels.

        Only labels in force for that annotator count: undone actions are left out.
        """
        rows = cur.execute(
            "SELECT e.particle_id, e.label, e.action_id FROM events AS e WHERE e.event_id IN ("
            " SELECT MAX(e2.event_id) FROM events AS e2 JOIN actions AS a2"
            " ON a2.action_id = e2.action_id"
            " WHERE a2.undone_by IS NULL AND e2.kind IN ('label', 'relabel')"
            " AND a2.annotator = ? GROUP BY e2.particle_id)",
            (annotator,),
        ).fetchall()
        return {pid: (label, action) for pid, label, action in rows}

    def sheet_actions(self, cur, sheet):
        """Return the ids of the import actions recorded from the label sheet ``sheet``."""
        exists = cur.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sheet_imports'"
        ).fetchone()
        if not exists:
            return set()
        rows = cur.execute("SELECT action_id FROM sheet_imports WHERE sheet = ?", (sheet,))
        return {r[0] for r in rows.fetchall()}

    def decisions(self):
        """Every label and skip event, with who, when, its decision time and its sheet.

        Returns
        -------
        rows : list of dict
            ``event_id``, ``particle_id``, ``event`` (label, relabel, skip),
            ``action`` (seed, label, skip, import), ``annotator``, ``time``,
            ``undone`` (bool), ``seconds`` (None where not timed) and ``sheet``
            (the label sheet of an import, else None), oldest first.
        """
        tables = {r[0] for r in self._read("SELECT name FROM sqlite_master WHERE type='table'")}
        joins, seconds, sheet = [], "NULL", "NULL"
        if "decision_seconds" in tables:
            joins.append("LEFT JOIN decision_seconds AS t ON t.event_id = e.event_id")
            seconds = "t.seconds"
        if "sheet_imports" in tables:
            # one sheet per import action (an import reads one sheet)
            joins.append(
                "LEFT JOIN (SELECT action_id, MIN(sheet) AS sheet FROM sheet_imports "
                "GROUP BY action_id) AS s ON s.action_id = e.action_id"
            )
            sheet = "s.sheet"
        sql = _DECISIONS.format(seconds=seconds, sheet=sheet, joins="\n".join(joins))
        cols = ("event_id", "particle_id", "event", "action", "annotator", "time", "undone")
        return [
            {**dict(zip(cols, r[:7])), "undone": bool(r[6]), "seconds": r[7], "sheet": r[8]}
            for r in self._read(sql)
        ]

    def last_action_id(self):
        """Return the id of the latest action (0 if none): what a sheet was exported after."""
        return int(self._read("SELECT COALESCE(MAX(action_id), 0) FROM actions")[0][0])

    def undo(self, annotator=None):
        """Undo the latest label/skip/import action not undone yet (of ``annotator``).

        Returns
        -------
        undone : dict or None
        """
        with self.transaction() as cur:
            sql = (
                "SELECT action_id, kind, annotator, time FROM actions WHERE undone_by IS NULL "
                f"AND kind IN ({', '.join('?' * len(UNDOABLE))})"
            )
            params = list(UNDOABLE)
            if annotator is not None:
                sql += " AND annotator = ?"
                params.append(annotator)
            row = cur.execute(sql + " ORDER BY action_id DESC LIMIT 1", params).fetchone()
            if row is None:
                return None
            action_id, kind, who, time = row
            events = cur.execute(
                "SELECT particle_id, label FROM events WHERE action_id = ? ORDER BY event_id",
                (action_id,),
            ).fetchall()
            undo_annotator = annotator if annotator is not None else who
            undo_id = self._new_action(cur, "undo", undo_annotator)
            cur.executemany(
                "INSERT INTO events (action_id, particle_id, kind, label) VALUES (?, ?, 'undo', ?)",
                [(undo_id, pid, label) for pid, label in events],
            )
            cur.execute(
                "UPDATE actions SET undone_by = ? WHERE action_id = ?", (undo_id, action_id)
            )
        return {
            "action_id": action_id,
            "kind": kind,
            "annotator": who,
            "time": time,
            "particle_ids": [pid for pid, _ in events],
            "labels": [label for _, label in events],
            "undo_action_id": undo_id,
        }

    def add_round(self, round_info, ranked, scores):
        """Queue the ranked particles that are still free, in one transaction.

        Particles another process labeled, skipped or queued in the meantime
        are left out (their ranks keep their gaps).

        Returns
        -------
        round_id : int or None
        queued : list of int
        """
        with self.transaction() as cur:
            taken = set(self.current(cur)) | {r[1] for r in self.queue(cur)}
            # ranks are 1-based (1 = asked first): what people read in sheets and tables
            keep = [(rank, pid) for rank, pid in enumerate(ranked, start=1) if pid not in taken]
            if not keep:
                return None, []
            cur.execute(
                "INSERT INTO rounds (time, annotator, strategy, seed, model_id, cold_start, "
                "n_requested) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    now(),
                    round_info["annotator"],
                    json.dumps(round_info["strategy"]),
                    int(round_info["seed"]),
                    round_info["model_id"],
                    int(round_info["cold_start"]),
                    int(round_info["n_requested"]),
                ),
            )
            round_id = cur.lastrowid
            cur.executemany(
                "INSERT INTO queue (round_id, particle_id, rank, score) VALUES (?, ?, ?, ?)",
                [
                    (round_id, int(pid), rank, None if scores is None else float(scores[rank - 1]))
                    for rank, pid in keep
                ],
            )
        return round_id, [int(pid) for _, pid in keep]

    def add_model(self, record):
        """Record a checkpoint written to disk; returns its model id."""
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO models (file, sha256, size, time, n_labels, labels_digest, metrics) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record["file"],
                    record["sha256"],
                    int(record["size"]),
                    now(),
                    int(record["n_labels"]),
                    record["labels_digest"],
                    json.dumps(record["metrics"]),
                ),
            )
            return cur.lastrowid
