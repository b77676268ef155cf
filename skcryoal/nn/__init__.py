"""Torch modules for subtomogram classification."""

from ._loss_prediction import LossPredictionModule, LossPredictionResNet3D
from ._resnet3d import BasicBlock3D, ResNet3D

__all__ = ["BasicBlock3D", "LossPredictionModule", "LossPredictionResNet3D", "ResNet3D"]
