"""Training criteria."""

from ._ema_regularized import EMARegularizedLoss
from ._loss_prediction import LossPredictionLoss, loss_ranking_loss

__all__ = ["EMARegularizedLoss", "LossPredictionLoss", "loss_ranking_loss"]
