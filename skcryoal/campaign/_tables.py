"""The DataFrames a campaign shows: labels, history, disagreements, particles."""

import json

import numpy as np
import pandas as pd

from ._cost import annotation_cost
from ._status import CampaignStatus
from ._store import labels_digest

#: columns the campaign adds to particle tables; a provenance column with one
#: of these names is shown as "<name>_table" next to them
RESERVED = (
    "particle_id",
    "label",
    "annotator",
    "labeled_at",
    "skipped",
    "queued",
    "round",
    "rank",
    "score",
    "predicted_class",
    "probability",
    "mean_deviation",
    "final_class",
    "final_source",
    "model_id",
    "skcryoal_sheet",
)
_LABELED = ("label", "relabel")


def shown_name(column):
    """Name of a provenance column in the campaign's tables and sheets."""
    return f"{column}_table" if column in RESERVED else column


def provenance(campaign):
    """Yield ``(particle_id, row)`` with each particle's provenance dict."""
    for pid, _, _, _, row_json in campaign._store.particles():
        yield pid, json.loads(row_json)


def provenance_frame(campaign, ids=None):
    """Provenance columns (shown names) of all particles, or of ``ids`` in that order."""
    columns = campaign._meta["columns"]
    rows = dict(provenance(campaign))
    ids = sorted(rows) if ids is None else [int(i) for i in ids]
    data = {"particle_id": np.asarray(ids, dtype=np.int64)}
    for column in columns:
        data[shown_name(column)] = [rows[i].get(column) for i in ids]
    return pd.DataFrame(data)


def _times(values):
    return pd.to_datetime(pd.Series(values, dtype=object), utc=True)


def _value(campaign, text):
    return None if text is None else campaign._classes.value(text)


def labels(campaign):
    """Current labels, by particle id."""
    rows = [
        (pid, _value(campaign, s[1]), s[2], s[3])
        for pid, s in sorted(campaign._store.current().items())
        if s[0] in _LABELED
    ]
    return pd.DataFrame(
        {
            "particle_id": np.asarray([r[0] for r in rows], dtype=np.int64),
            "label": pd.Series([r[1] for r in rows], dtype=object),
            "annotator": pd.Series([r[2] for r in rows], dtype=object),
            "time": _times([r[3] for r in rows]),
        }
    )


def history(campaign):
    """All events, oldest first."""
    rows = campaign._store.history()
    return pd.DataFrame(
        {
            "event_id": np.asarray([r[0] for r in rows], dtype=np.int64),
            "action_id": np.asarray([r[1] for r in rows], dtype=np.int64),
            "particle_id": np.asarray([r[2] for r in rows], dtype=np.int64),
            "event": pd.Series([r[3] for r in rows], dtype=object),
            "label": pd.Series([_value(campaign, r[4]) for r in rows], dtype=object),
            "annotator": pd.Series([r[5] for r in rows], dtype=object),
            "time": _times([r[6] for r in rows]),
            "action": pd.Series([r[7] for r in rows], dtype=object),
            "undone": np.asarray([r[8] is not None for r in rows], dtype=bool),
        }
    )


def disagreements(campaign):
    """Particles whose annotators' latest labels differ, one row per annotator."""
    by_particle = {}
    for pid, annotator, text, time in campaign._store.latest_by_annotator():
        by_particle.setdefault(pid, []).append((annotator, text, time))
    current = campaign._store.current()
    rows = []
    for pid, entries in sorted(by_particle.items()):
        if len({text for _, text, _ in entries}) < 2:
            continue
        state = current.get(pid)
        now_label = _value(campaign, state[1]) if state and state[0] in _LABELED else None
        for annotator, text, time in entries:
            rows.append((pid, annotator, _value(campaign, text), time, now_label))
    return pd.DataFrame(
        {
            "particle_id": np.asarray([r[0] for r in rows], dtype=np.int64),
            "annotator": pd.Series([r[1] for r in rows], dtype=object),
            "label": pd.Series([r[2] for r in rows], dtype=object),
            "time": _times([r[3] for r in rows]),
            "current_label": pd.Series([r[4] for r in rows], dtype=object),
        }
    )


def rounds(campaign):
    """The query rounds, oldest first."""
    counts = {}
    for round_id, *_ in campaign._store.queue():
        counts[round_id] = counts.get(round_id, 0) + 1
    rows = campaign._store.rounds()
    return pd.DataFrame(
        {
            "round_id": np.asarray([r["round_id"] for r in rows], dtype=np.int64),
            "time": _times([r["time"] for r in rows]),
            "annotator": pd.Series([r["annotator"] for r in rows], dtype=object),
            "strategy": pd.Series([r["strategy"]["used"] for r in rows], dtype=object),
            "configured": pd.Series([r["strategy"]["configured"] for r in rows], dtype=object),
            "cold_start": np.asarray([r["cold_start"] for r in rows], dtype=bool),
            "model_id": pd.array([r["model_id"] for r in rows], dtype="Int64"),
            "seed": np.asarray([r["seed"] for r in rows], dtype=np.int64),
            "n_requested": np.asarray([r["n_requested"] for r in rows], dtype=np.int64),
            "n_queued": np.asarray([counts.get(r["round_id"], 0) for r in rows], dtype=np.int64),
            "n_scored": pd.array([r["strategy"].get("n_scored") for r in rows], dtype="Int64"),
        }
    )


def particles(campaign):
    """Provenance, current label and queue state of every particle."""
    frame = provenance_frame(campaign)
    n = len(frame)
    current = campaign._store.current()
    label = np.full(n, None, dtype=object)
    annotator = np.full(n, None, dtype=object)
    when = np.full(n, None, dtype=object)
    skipped = np.zeros(n, dtype=bool)
    for pid, (kind, text, who, time, _) in current.items():
        if kind in _LABELED:
            label[pid], annotator[pid], when[pid] = _value(campaign, text), who, time
        elif kind == "skip":
            skipped[pid], annotator[pid], when[pid] = True, who, time
    rounds = np.full(n, np.nan)
    ranks = np.full(n, np.nan)
    scores = np.full(n, np.nan)
    queued = np.zeros(n, dtype=bool)
    for round_id, pid, rank, score in campaign._store.queue():
        rounds[pid], ranks[pid] = round_id, rank
        scores[pid] = np.nan if score is None else score
        queued[pid] = pid not in current
    frame["label"] = label
    frame["annotator"] = annotator
    frame["labeled_at"] = _times(when)
    frame["skipped"] = skipped
    frame["queued"] = queued
    frame["round"] = pd.array(rounds, dtype="Int64") if n else pd.array([], dtype="Int64")
    frame["rank"] = pd.array(ranks, dtype="Int64") if n else pd.array([], dtype="Int64")
    frame["score"] = scores
    return frame


def status(campaign, budget=None):
    """A :class:`CampaignStatus` snapshot (with the annotation time to ``budget`` labels)."""
    current = campaign._store.current()
    labeled = {p: s[1] for p, s in current.items() if s[0] in _LABELED}
    per_class = {v: 0 for v in campaign._classes.values}
    for text in labeled.values():
        per_class[campaign._classes.value(text)] += 1
    models = campaign._store.models()
    n_skipped = sum(s[0] == "skip" for s in current.values())
    n_queued = sum(r[1] not in current for r in campaign._store.queue())
    return CampaignStatus(
        n_particles=campaign.n_particles,
        n_labeled=len(labeled),
        n_queued=n_queued,
        n_skipped=n_skipped,
        n_unlabeled=campaign.n_particles - len(labeled) - n_skipped,
        per_class=per_class,
        n_rounds=len(campaign._store.rounds()),
        models=[
            {
                "id": m["model_id"],
                "n_labels": m["n_labels"],
                "time": m["time"],
                "metrics": m["metrics"],
            }
            for m in models
        ],
        disagreements=int(disagreements(campaign)["particle_id"].nunique()),
        model_up_to_date=bool(models) and models[-1]["labels_digest"] == labels_digest(labeled),
        path=str(campaign.path),
        pretrained=campaign._store.meta().get("pretrained"),
        recipe=campaign._store.meta().get("recipe"),
        annotation=annotation_cost(campaign._store, len(labeled), budget).summary(),
    )
