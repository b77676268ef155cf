"""The skorch-wrapped 3D ResNet classifier with its EMA mean model."""

from ._augment import augment_batch
from ._cryonet import CryoNetClassifier
from ._learning_loss import LearningLossClassifier

__all__ = ["CryoNetClassifier", "LearningLossClassifier", "augment_batch"]
