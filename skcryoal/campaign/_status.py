"""A snapshot of where a campaign stands."""

import html
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CampaignStatus:
    """Counts of a campaign at one moment, from :meth:`Campaign.status`.

    Parameters
    ----------
    n_particles : int
        Particles in the pool.
    n_labeled : int
        Particles with a current label.
    n_queued : int
        Queued particles not labeled or skipped yet.
    n_skipped : int
        Particles whose latest action is a skip.
    n_unlabeled : int
        Particles neither labeled nor skipped (queued ones included).
    per_class : dict of class to int
        Current labels per class, every class listed (zeros included), in the
        campaign's class order.
    n_rounds : int
        Query rounds so far.
    models : list of dict
        The fitted models, oldest first: ``id``, ``n_labels``, ``time`` (ISO
        8601, UTC) and ``metrics`` (training accuracy, fit time...).
    disagreements : int
        Particles that annotators labeled differently (each annotator's
        latest label counts); see :meth:`Campaign.disagreements`.
    model_up_to_date : bool
        Whether the latest model was fitted on exactly the current labels.
    path : str
        The campaign folder.
    pretrained : dict or None
        The recorded pretraining (:meth:`Campaign.pretrain`): ``method``,
        ``n_epochs``, ``n_particles``, ``train_seconds``, ``time``, ``key``...;
        None if the campaign has none.
    annotation : str
        The annotation work in one line (:meth:`Campaign.annotation_cost`):
        decisions timed, time spent, labels per hour per annotator, imported
        labels, and the time left to a budget given to :meth:`Campaign.status`.
    recipe : str or None
        The campaign's recipe (:meth:`Campaign.create`): ``"pretrained"``,
        ``"paper"``, or None (a given estimator, or a campaign created before
        recipes existed).
    """

    n_particles: int
    n_labeled: int
    n_queued: int
    n_skipped: int
    n_unlabeled: int
    per_class: dict = field(default_factory=dict)
    n_rounds: int = 0
    models: list = field(default_factory=list)
    disagreements: int = 0
    model_up_to_date: bool = False
    path: str = ""
    pretrained: dict | None = None
    recipe: str | None = None
    annotation: str = ""

    def _pretrained_line(self):
        record = self.pretrained
        if record is None and self.recipe == "pretrained":
            return "none yet: the first fit learns one from the unlabeled pool (recipe)"
        if record is None:
            return "none (campaign.pretrain() learns an encoder from the unlabeled pool)"
        latest = self.models[-1] if self.models else None
        if latest is None:
            used = "no model fitted yet"
        elif latest["metrics"].get("pretrained") == record.get("key"):
            used = "the latest model starts from it"
        else:
            used = "the latest model does not start from it"
        minutes = (record.get("train_seconds") or 0) / 60
        where = f"{record.get('n_particles')} particles"
        if record.get("trained_here") is False:  # recorded fitted: trained on other volumes
            where = f"{record.get('n_trained_on') or 'other'} particles, fitted elsewhere"
        return (
            f"{record.get('method')}, {record.get('n_epochs')} epochs on {where} "
            f"({minutes:.1f} min); {used}"
        )

    def _lines(self):
        share = self.n_labeled / self.n_particles if self.n_particles else 0.0
        latest = self.models[-1] if self.models else None
        if latest is None:
            model = "none fitted yet"
        else:
            acc = latest["metrics"].get("train_accuracy")
            acc = "" if acc is None else f", training accuracy {acc:.3f}"
            fresh = "up to date" if self.model_up_to_date else "labels changed since"
            model = f"#{latest['id']} on {latest['n_labels']} labels{acc} ({fresh})"
        classes = ", ".join(f"{k}: {v}" for k, v in self.per_class.items())
        return [
            ("particles", f"{self.n_particles}"),
            ("labeled", f"{self.n_labeled} ({share:.1%})"),
            ("queued", f"{self.n_queued}"),
            ("skipped", f"{self.n_skipped}"),
            ("unlabeled", f"{self.n_unlabeled}"),
            ("per class", classes),
            ("query rounds", f"{self.n_rounds}"),
            ("models", f"{len(self.models)}; latest {model}"),
            ("disagreements", f"{self.disagreements}"),
            ("pretrained encoder", self._pretrained_line()),
            *([("annotation", self.annotation)] if self.annotation else []),
        ]

    def __str__(self):
        lines = [f"Campaign {self.path}"] if self.path else ["Campaign"]
        width = max(len(k) for k, _ in self._lines())
        lines += [f"  {k:<{width}}  {v}" for k, v in self._lines()]
        return "\n".join(lines)

    def _repr_html_(self):
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in self._lines()
        )
        title = html.escape(f"Campaign {self.path}" if self.path else "Campaign")
        return f"<table><caption style='text-align:left'>{title}</caption>{rows}</table>"
