"""modAL's ActiveLearner, working on current scikit-learn."""

from ._active_learner import ActiveLearner, default_query_strategy

__all__ = ["ActiveLearner", "default_query_strategy"]
