"""The regularized criterion of Wang et al., Eq. (2) and (4)."""

import numbers

from torch import nn
from torch.nn import functional as F


class EMARegularizedLoss(nn.Module):
    r"""Task loss plus the mean-model consistency penalty.

    .. math::

        L = \mathrm{CE}(T(x_L), y_L)
            + \lambda \, \mathrm{MSE}\big(T(x), M(x)\big)

    where ``T`` is the task model, ``M`` the EMA mean model, and the MSE is the
    mean over samples and classes of the squared logit difference. ``M(x)`` is a
    constant target (no gradient flows into the mean model).

    Parameters
    ----------
    reg_lambda : float, default=0.03
        Weight :math:`\lambda` of the consistency term (the paper's value). ``0``
        gives the plain task loss.
    task_loss : torch.nn.Module or None, default=None
        Loss on the labeled rows; ``None`` means :class:`torch.nn.CrossEntropyLoss`.

    Notes
    -----
    Semi-supervised use (Fig. 3 left of the paper): pass the logits of a batch
    whose first ``len(target)`` rows are labeled and whose remaining rows are
    unlabeled. The task loss uses the labeled rows only; the consistency term
    uses all rows.

    Examples
    --------
    >>> import torch
    >>> from skcryoal.losses import EMARegularizedLoss
    >>> loss = EMARegularizedLoss(reg_lambda=0.5)
    >>> task = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    >>> mean = torch.zeros(2, 2)
    >>> round(float(loss.consistency(task, mean)), 4)
    1.25
    """

    def __init__(self, reg_lambda=0.03, task_loss=None):
        super().__init__()
        if (
            isinstance(reg_lambda, bool)
            or not isinstance(reg_lambda, numbers.Real)
            or not 0 <= reg_lambda < float("inf")  # also rejects NaN
        ):
            raise ValueError(
                f"reg_lambda must be a finite, non-negative float; got {reg_lambda!r}."
            )
        self.reg_lambda = float(reg_lambda)
        self.task_loss = nn.CrossEntropyLoss() if task_loss is None else task_loss

    def consistency(self, task_logits, mean_logits):
        """Return the mean squared difference between task and mean logits.

        Parameters
        ----------
        task_logits : torch.Tensor of shape (n, n_classes)
        mean_logits : torch.Tensor of shape (n, n_classes)
            Treated as a constant (detached).

        Returns
        -------
        mse : torch.Tensor (scalar)
        """
        return F.mse_loss(task_logits, mean_logits.detach())

    def forward(self, task_logits, target, mean_logits=None):
        """Return the regularized loss.

        Parameters
        ----------
        task_logits : torch.Tensor of shape (n, n_classes)
            Task-model logits; the first ``len(target)`` rows are labeled.
        target : torch.Tensor of shape (n_labeled,)
            Class indices of the labeled rows.
        mean_logits : torch.Tensor of shape (n, n_classes) or None
            Mean-model logits for the same rows. Required when ``reg_lambda > 0``.

        Returns
        -------
        loss : torch.Tensor (scalar)
        """
        n_labeled = len(target)
        loss = (
            self.task_loss(task_logits[:n_labeled], target)
            if n_labeled
            else task_logits.sum() * 0.0
        )
        if self.reg_lambda > 0:
            if mean_logits is None:
                raise ValueError(
                    "EMARegularizedLoss with reg_lambda > 0 needs the mean model's logits; "
                    "pass mean_logits (or set reg_lambda=0)."
                )
            loss = loss + self.reg_lambda * self.consistency(task_logits, mean_logits)
        return loss
