"""What the labels cost: decision times per annotator, labels per hour, time to a budget.

The notebook widget records how long each particle was on screen before the annotator
decided (label or skip); :meth:`Campaign.label` and :meth:`Campaign.skip` take such
times from any other front end (``seconds=``). Labels imported from sheets carry no
time (they were made elsewhere), but their sheet is recorded; seeds are not
annotation work of the campaign.
"""

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: the columns of :attr:`AnnotationCost.per_annotator`
COLUMNS = (
    "annotator",
    "n_labels",
    "n_skips",
    "n_timed",
    "hours",
    "median_seconds",
    "labels_per_hour",
    "n_imported",
    "n_sheets",
)


@dataclass(frozen=True)
class AnnotationCost:
    """The annotation work of a campaign, from :meth:`Campaign.annotation_cost`.

    Parameters
    ----------
    per_annotator : pandas.DataFrame
        One row per annotator, then ``"all"``: ``n_labels`` (label decisions,
        relabels and undone ones included: the work was done), ``n_skips``,
        ``n_timed`` (decisions with a recorded time), ``hours`` (their time
        summed), ``median_seconds`` (per timed decision), ``labels_per_hour``
        (timed labels over the time of all timed decisions, skips included, so
        that the rate pays for them; NaN without timed labels), ``n_imported``
        (labels read from sheets, untimed) and ``n_sheets``.
    n_labeled : int
        Particles with a current label.
    budget : int or None
        The label budget projected to, if any.
    """

    per_annotator: pd.DataFrame
    n_labeled: int
    budget: int | None = None

    @property
    def labels_per_hour(self) -> float:
        """Labels per hour of looking, over every annotator's timed decisions."""
        return float(self.per_annotator.set_index("annotator").loc["all", "labels_per_hour"])

    @property
    def hours(self) -> float:
        """Hours of timed decisions, all annotators."""
        return float(self.per_annotator.set_index("annotator").loc["all", "hours"])

    @property
    def projected_hours(self) -> float | None:
        """Hours still needed to reach ``budget`` labels at the current rate.

        None without a budget; 0 when it is reached; NaN when no label was timed.
        """
        if self.budget is None:
            return None
        remaining = max(0, self.budget - self.n_labeled)
        if remaining == 0:
            return 0.0
        rate = self.labels_per_hour
        return remaining / rate if rate > 0 else math.nan

    def summary(self) -> str:
        """One line: timed labels, time spent, rate per annotator, projection."""
        table = self.per_annotator.set_index("annotator")
        all_ = table.loc["all"]
        if all_["n_timed"] == 0:
            line = "no decision timed yet (the notebook widget times each one)"
        else:
            rates = ", ".join(
                f"{name} {row['labels_per_hour']:.0f}/h"
                for name, row in table.drop(index="all").iterrows()
                if row["n_timed"] > 0 and np.isfinite(row["labels_per_hour"])
            )
            line = (
                f"{int(all_['n_timed'])} decisions timed in {_duration(all_['hours'])} "
                f"({all_['labels_per_hour']:.0f} labels/hour; {rates}; median "
                f"{all_['median_seconds']:.1f} s)"
            )
        if all_["n_imported"]:
            line += f"; {int(all_['n_imported'])} labels imported from "
            line += f"{int(all_['n_sheets'])} sheet(s), untimed"
        projected = self.projected_hours
        if projected is not None:
            if projected == 0:
                line += f"; the budget of {self.budget} labels is reached"
            elif math.isnan(projected):
                line += f"; {self.budget - self.n_labeled} labels to the budget, rate unknown"
            else:
                line += (
                    f"; to {self.budget} labels: {_duration(projected)} more "
                    f"({self.budget - self.n_labeled} labels)"
                )
        return line

    def __str__(self):
        return self.summary() + "\n" + self.per_annotator.to_string(index=False)


def _duration(hours):
    if hours < 1:
        return f"{hours * 60:.1f} min"
    return f"{hours:.1f} h"


def annotation_cost(store, n_labeled, budget=None):
    """Build an :class:`AnnotationCost` from a campaign store's decisions."""
    if budget is not None and (
        isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1
    ):
        raise ValueError(f"budget must be a positive number of labels; got {budget!r}.")
    rows = [d for d in store.decisions() if d["action"] != "seed"]
    frame = pd.DataFrame(
        rows,
        columns=[
            "event_id", "particle_id", "event", "action", "annotator", "time", "undone",
            "seconds", "sheet",
        ],
    )  # fmt: skip
    out = [_row(name, g) for name, g in frame.groupby("annotator", sort=True)]
    out.append(_row("all", frame))
    table = pd.DataFrame(out, columns=list(COLUMNS))
    return AnnotationCost(table, int(n_labeled), None if budget is None else int(budget))


def _row(name, g):
    is_label = g["event"].isin(["label", "relabel"])
    imported = g["action"] == "import"
    interactive = g[~imported]
    timed = interactive["seconds"].notna()
    seconds = interactive.loc[timed, "seconds"].astype(float)
    timed_labels = int((timed & interactive["event"].isin(["label", "relabel"])).sum())
    total = float(seconds.sum())
    return dict(
        annotator=name,
        n_labels=int((is_label & ~imported).sum()),
        n_skips=int((g["event"] == "skip").sum()),
        n_timed=int(timed.sum()),
        hours=total / 3600.0,
        median_seconds=float(seconds.median()) if len(seconds) else math.nan,
        labels_per_hour=3600.0 * timed_labels / total if total > 0 else math.nan,
        n_imported=int((is_label & imported).sum()),
        n_sheets=int(g.loc[imported, "sheet"].dropna().nunique()),
    )
