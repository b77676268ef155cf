"""The margin ranking loss that trains LL4AL's loss-prediction module."""

import numbers

import torch
from torch import nn


def loss_ranking_loss(predicted_loss, target_loss, margin=1.0):
    r"""Return the pairwise ranking loss of Yoo & Kweon (2019), Eq. (2).

    The batch is split into pairs ``(i, n - 1 - i)`` for ``i < n // 2`` (the
    first half against the reversed second half, as in the authors' code; the
    middle sample of an odd batch is left out). Each pair contributes

    .. math:: \max\big(0, -\mathbb{1}(l_i, l_j) \, (\hat l_i - \hat l_j) + \xi\big),

    with :math:`\mathbb{1}(l_i, l_j) = +1` if :math:`l_i > l_j` and :math:`-1`
    otherwise, and the result is the mean over pairs. The predictions are thus
    asked to reproduce the *order* of the target losses with a margin
    :math:`\xi`, not their values. The target losses are treated as constants.

    Parameters
    ----------
    predicted_loss : torch.Tensor of shape (n,)
        Output of the loss-prediction module.
    target_loss : torch.Tensor of shape (n,)
        The per-sample task losses (detached here).
    margin : float, default=1.0
        The margin :math:`\xi`.

    Returns
    -------
    loss : torch.Tensor (scalar)
        ``0`` (still attached to ``predicted_loss``) for a batch of fewer than
        two samples.

    Examples
    --------
    >>> import torch
    >>> from skcryoal.losses import loss_ranking_loss
    >>> predicted = torch.tensor([0.5, 0.0, 0.0, 0.0])
    >>> target = torch.tensor([2.0, 1.0, 0.0, 1.0])
    >>> # pairs (0, 3): max(0, -(0.5 - 0) + 1) = 0.5; (1, 2): max(0, -(0 - 0) + 1) = 1
    >>> float(loss_ranking_loss(predicted, target))
    0.75
    """
    predicted_loss = predicted_loss.reshape(-1)
    target_loss = target_loss.reshape(-1).detach()
    if predicted_loss.shape != target_loss.shape:
        raise ValueError(
            "predicted_loss and target_loss must hold one value per sample; got shapes "
            f"{tuple(predicted_loss.shape)} and {tuple(target_loss.shape)}."
        )
    n_pairs = len(predicted_loss) // 2
    if n_pairs == 0:
        return predicted_loss.sum() * 0.0
    diff_pred = (predicted_loss - predicted_loss.flip(0))[:n_pairs]
    diff_true = (target_loss - target_loss.flip(0))[:n_pairs]
    sign = torch.where(diff_true > 0, 1.0, -1.0).to(diff_pred.dtype)
    return torch.clamp(margin - sign * diff_pred, min=0.0).mean()


class LossPredictionLoss(nn.Module):
    """Margin ranking loss between predicted and true per-sample losses.

    A module wrapper of :func:`loss_ranking_loss`, the criterion of LL4AL's
    loss-prediction module (Yoo & Kweon, CVPR 2019).

    Parameters
    ----------
    margin : float, default=1.0
        The margin of the ranking loss (the paper's 1.0).

    Examples
    --------
    >>> import torch
    >>> from skcryoal.losses import LossPredictionLoss
    >>> criterion = LossPredictionLoss(margin=1.0)
    >>> float(criterion(torch.tensor([3.0, 1.0]), torch.tensor([0.7, 0.2])))
    0.0
    """

    def __init__(self, margin=1.0):
        super().__init__()
        if isinstance(margin, bool) or not isinstance(margin, numbers.Real) or margin < 0:
            raise ValueError(f"margin must be a non-negative float; got {margin!r}.")
        self.margin = float(margin)

    def forward(self, predicted_loss, target_loss):
        """Return the ranking loss, see :func:`loss_ranking_loss`.

        Parameters
        ----------
        predicted_loss : torch.Tensor of shape (n,)
        target_loss : torch.Tensor of shape (n,)

        Returns
        -------
        loss : torch.Tensor (scalar)
        """
        return loss_ranking_loss(predicted_loss, target_loss, margin=self.margin)
