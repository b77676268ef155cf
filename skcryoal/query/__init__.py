"""Query strategies for modAL's ``ActiveLearner`` (``strategy(learner, X_pool, n_instances)``).

Every strategy returns the indices of the selected pool rows. Strategies can be
named by string through :func:`get_strategy` (``"ema"``, ``"random"``,
``"entropy"``, ``"margin"``, ``"least_confident"``, ``"mc_dropout"``,
``"bald"``, ``"coreset"``, ``"badge"``, ``"typiclust"``, ``"probcover"``, ``"ll4al"``,
``"vaal"``, and the ``"balanced"`` wrapper of any score-based one).
"""

from ._badge import BADGEQuery
from ._balanced import ClassBalancedQuery
from ._base import BaseQueryStrategy, select_top
from ._coreset import CoreSetQuery
from ._ema_deviation import EMADeviationQuery, kl_deviation, mse_deviation
from ._learning_loss import LearningLossQuery
from ._mc_dropout import MCDropoutQuery
from ._probcover import ProbCoverQuery
from ._random import RandomQuery
from ._registry import available_strategies, describe_strategies, get_strategy
from ._typiclust import TypiClustQuery
from ._uncertainty import EntropyQuery, LeastConfidentQuery, MarginQuery
from ._vaal import VAALQuery

__all__ = [
    "BADGEQuery",
    "BaseQueryStrategy",
    "ClassBalancedQuery",
    "CoreSetQuery",
    "EMADeviationQuery",
    "EntropyQuery",
    "LearningLossQuery",
    "LeastConfidentQuery",
    "MCDropoutQuery",
    "MarginQuery",
    "ProbCoverQuery",
    "RandomQuery",
    "TypiClustQuery",
    "VAALQuery",
    "available_strategies",
    "describe_strategies",
    "get_strategy",
    "kl_deviation",
    "mse_deviation",
    "select_top",
]
