"""Torch modules for subtomogram classification."""

from ._loss_prediction import LossPredictionModule, LossPredictionResNet3D
from ._resnet3d import BasicBlock3D, ResNet3D
from ._vaal import VAE3D, LatentDiscriminator, vae_loss

__all__ = [
    "BasicBlock3D",
    "LatentDiscriminator",
    "LossPredictionModule",
    "LossPredictionResNet3D",
    "ResNet3D",
    "VAE3D",
    "vae_loss",
]
