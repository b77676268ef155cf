"""skorch callbacks."""

from ._ema import ExponentialMovingAverage, ema_decay_at, resolve_ema_decay

__all__ = ["ExponentialMovingAverage", "ema_decay_at", "resolve_ema_decay"]
