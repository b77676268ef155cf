"""Query strategies for modAL's ``ActiveLearner`` (``strategy(learner, X_pool, n_instances)``).

Every strategy returns the indices of the selected pool rows. Strategies can be
named by string through :func:`get_strategy` (``"ema"``, ``"random"``,
``"entropy"``, ``"margin"``, ``"least_confident"``, ``"mc_dropout"``,
``"coreset"``, ``"ll4al"``, ``"vaal"``).
"""

from ._base import BaseQueryStrategy, select_top
from ._coreset import CoreSetQuery
from ._ema_deviation import EMADeviationQuery, kl_deviation, mse_deviation
from ._learning_loss import LearningLossQuery
from ._mc_dropout import MCDropoutQuery
from ._random import RandomQuery
from ._registry import available_strategies, describe_strategies, get_strategy
from ._uncertainty import EntropyQuery, LeastConfidentQuery, MarginQuery
from ._vaal import VAALQuery

__all__ = [
    "BaseQueryStrategy",
    "CoreSetQuery",
    "EMADeviationQuery",
    "EntropyQuery",
    "LearningLossQuery",
    "LeastConfidentQuery",
    "MCDropoutQuery",
    "MarginQuery",
    "RandomQuery",
    "VAALQuery",
    "available_strategies",
    "describe_strategies",
    "get_strategy",
    "kl_deviation",
    "mse_deviation",
    "select_top",
]
