"""The skorch-wrapped 3D ResNet classifier with its EMA mean model."""

from ._augment import augment_batch
from ._cryonet import CryoNetClassifier
from ._learning_loss import LearningLossClassifier
from ._views import random_rotations, rotate_reimpose_wedge

__all__ = [
    "CryoNetClassifier",
    "LearningLossClassifier",
    "augment_batch",
    "random_rotations",
    "rotate_reimpose_wedge",
]
