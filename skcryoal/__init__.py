"""skcryoal: deep active learning for cryo-ET subtomogram classification.

The core API (the classifier with its EMA mean model, the query strategies and the
active learner) is importable from the top level. Subpackages by concept:

- :mod:`skcryoal.nn` -- torch modules (:class:`ResNet3D`).
- :mod:`skcryoal.callbacks` -- skorch callbacks (:class:`ExponentialMovingAverage`).
- :mod:`skcryoal.losses` -- training criteria (:class:`EMARegularizedLoss`).
- :mod:`skcryoal.classifier` -- :class:`CryoNetClassifier`.
- :mod:`skcryoal.pretraining` -- self-supervised pretraining on unlabeled volumes
  (:class:`~skcryoal.pretraining.SubtomogramEmbedder`).
- :mod:`skcryoal.query` -- query strategies for modAL.
- :mod:`skcryoal.learner` -- :class:`ActiveLearner`.
- :mod:`skcryoal.datasets` -- the built-in subtomogram simulator.
- :mod:`skcryoal.io` -- MRC / STAR reading and writing.
- :mod:`skcryoal.preprocessing` -- transformers for pipelines.
- :mod:`skcryoal.plotting` -- orthoslice sheets and Fourier plots.
- :mod:`skcryoal.campaign` -- annotation campaigns: label your own particles,
  crash-safe, in a notebook, with files or on the command line.
- :mod:`skcryoal.benchmark` -- the paper's experimental protocol (``run_campaign``).

Volumes are arrays of shape ``(n_samples, 1, D, H, W)`` with axis order (z, y, x);
voxel sizes are in Angstrom.
"""

import importlib

from ._version import __version__
from .callbacks import ExponentialMovingAverage
from .classifier import CryoNetClassifier, LearningLossClassifier
from .learner import ActiveLearner
from .losses import EMARegularizedLoss
from .nn import LossPredictionResNet3D, ResNet3D
from .query import (
    CoreSetQuery,
    EMADeviationQuery,
    EntropyQuery,
    LearningLossQuery,
    LeastConfidentQuery,
    MarginQuery,
    MCDropoutQuery,
    RandomQuery,
    VAALQuery,
    get_strategy,
)

_SUBPACKAGES = (
    "benchmark",
    "callbacks",
    "campaign",
    "classifier",
    "cli",
    "datasets",
    "io",
    "learner",
    "losses",
    "nn",
    "plotting",
    "preprocessing",
    "pretraining",
    "query",
    "utils",
)

__all__ = [
    "ActiveLearner",
    "CoreSetQuery",
    "CryoNetClassifier",
    "EMADeviationQuery",
    "EMARegularizedLoss",
    "EntropyQuery",
    "ExponentialMovingAverage",
    "LearningLossClassifier",
    "LearningLossQuery",
    "LeastConfidentQuery",
    "LossPredictionResNet3D",
    "MCDropoutQuery",
    "MarginQuery",
    "RandomQuery",
    "ResNet3D",
    "VAALQuery",
    "__version__",
    "get_strategy",
]


def __getattr__(name):
    # Subpackages load on first access so that ``import skcryoal`` stays light
    # (matplotlib, pandas and starfile are only imported when used).
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
