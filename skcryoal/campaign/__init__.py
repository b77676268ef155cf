"""Labelling campaigns: active learning on a pool of subtomograms, stored in a folder.

A :class:`Campaign` is a folder whose store of record is an SQLite database:
the particles with their provenance, the classes, every label with its
annotator and history, every query round and every fitted model (checkpoints
beside it). People label through it (in a notebook, or with exported sheets
and :meth:`Campaign.import_labels`); simulations run the same loop with an
:class:`OracleAnnotator` and :func:`run_rounds`, and the benchmark
(:func:`skcryoal.benchmark.run_campaign`) runs each strategy and trial as a
campaign, through the same steps.

- :class:`Campaign` -- ``create``/``open``, ``query``, ``label``, ``skip``,
  ``undo``, ``fit``, ``predict``, ``export_batch``, ``import_labels``.
- :class:`CampaignStatus` -- counts returned by :meth:`Campaign.status`.
- :class:`AnnotationCost` -- what the labels cost (:meth:`Campaign.annotation_cost`).
- :class:`CampaignWidget` -- label in a notebook (``campaign.widget()``; needs
  ``pip install 'skcryoal[notebook]'``).
- :class:`OracleAnnotator`, :func:`run_rounds` -- the loop with known labels.
- :class:`NewerCampaignError` -- a campaign folder from a newer skcryoal.
- :class:`CampaignFileError` -- a damaged ``campaign.sqlite`` or ``estimator.pkl``.
"""

from ._campaign import Campaign
from ._checkpoint import CheckpointError
from ._cost import AnnotationCost
from ._oracle import OracleAnnotator, run_rounds
from ._status import CampaignStatus
from ._store import SCHEMA_VERSION, CampaignFileError, NewerCampaignError
from ._widget import CampaignWidget  # imports ipywidgets only when a widget is built

__all__ = [
    "SCHEMA_VERSION",
    "AnnotationCost",
    "Campaign",
    "CampaignFileError",
    "CampaignStatus",
    "CampaignWidget",
    "CheckpointError",
    "NewerCampaignError",
    "OracleAnnotator",
    "run_rounds",
]
