"""skorch callbacks."""

from ._ema import ExponentialMovingAverage, ema_decay_at

__all__ = ["ExponentialMovingAverage", "ema_decay_at"]
