"""Query strategies for modAL's ``ActiveLearner`` (``strategy(learner, X_pool, n_instances)``)."""

from ._base import BaseQueryStrategy
from ._ema_deviation import EMADeviationQuery
from ._random import RandomQuery

__all__ = ["BaseQueryStrategy", "EMADeviationQuery", "RandomQuery"]
