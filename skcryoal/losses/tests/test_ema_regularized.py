import pytest
import torch
from torch.nn import functional as F

from skcryoal import EMARegularizedLoss


def test_equals_cross_entropy_plus_lambda_mse_by_hand():
    torch.manual_seed(0)
    task, mean = torch.randn(5, 4), torch.randn(5, 4)
    target = torch.tensor([0, 3, 1, 2, 0])
    loss = EMARegularizedLoss(reg_lambda=0.3)(task, target, mean)
    ce = -torch.log_softmax(task, 1)[torch.arange(5), target].mean()
    mse = ((task - mean) ** 2).sum() / task.numel()
    assert torch.allclose(loss, ce + 0.3 * mse)


def test_zero_lambda_is_plain_cross_entropy():
    task, target = torch.randn(4, 3), torch.tensor([0, 1, 2, 1])
    loss = EMARegularizedLoss(reg_lambda=0)(task, target)
    assert torch.allclose(loss, F.cross_entropy(task, target))


def test_no_gradient_flows_into_mean_logits():
    task = torch.randn(3, 2, requires_grad=True)
    mean = torch.randn(3, 2, requires_grad=True)
    EMARegularizedLoss(reg_lambda=1.0)(task, torch.tensor([0, 1, 0]), mean).backward()
    assert task.grad is not None and mean.grad is None


def test_extra_rows_are_unlabeled_and_only_regularized():
    torch.manual_seed(1)
    task, mean = torch.randn(6, 3), torch.randn(6, 3)
    target = torch.tensor([2, 0])
    loss = EMARegularizedLoss(reg_lambda=0.5)(task, target, mean)
    expected = F.cross_entropy(task[:2], target) + 0.5 * F.mse_loss(task, mean)
    assert torch.allclose(loss, expected)


def test_custom_task_loss():
    task, target = torch.randn(4, 3), torch.tensor([0, 1, 2, 1])
    loss = EMARegularizedLoss(0, task_loss=torch.nn.CrossEntropyLoss(label_smoothing=0.2))
    assert torch.allclose(loss(task, target), F.cross_entropy(task, target, label_smoothing=0.2))


def test_errors():
    with pytest.raises(ValueError, match="non-negative"):
        EMARegularizedLoss(reg_lambda=-1)
    with pytest.raises(ValueError, match="mean_logits"):
        EMARegularizedLoss(reg_lambda=0.1)(torch.randn(2, 2), torch.tensor([0, 1]))
