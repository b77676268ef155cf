"""modAL's ActiveLearner, working on current scikit-learn."""

from ._active_learner import ActiveLearner

__all__ = ["ActiveLearner"]
