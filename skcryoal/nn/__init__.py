"""Torch modules for subtomogram classification."""

from ._resnet3d import BasicBlock3D, ResNet3D

__all__ = ["BasicBlock3D", "ResNet3D"]
