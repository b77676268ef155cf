"""Training criteria."""

from ._ema_regularized import EMARegularizedLoss

__all__ = ["EMARegularizedLoss"]
