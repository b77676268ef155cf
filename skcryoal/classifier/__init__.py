"""The skorch-wrapped 3D ResNet classifier with its EMA mean model."""

from ._cryonet import CryoNetClassifier

__all__ = ["CryoNetClassifier"]
