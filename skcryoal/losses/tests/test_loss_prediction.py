import pytest
import torch

from skcryoal.losses._loss_prediction import LossPredictionLoss, loss_ranking_loss


def test_equals_hand_computation_on_pairs():
    predicted = torch.tensor([0.3, -0.2, 2.0, 0.1, 0.4, -1.0], requires_grad=True)
    target = torch.tensor([1.0, 0.5, 0.2, 0.9, 0.1, 2.0])
    # pairs (0, 5), (1, 4), (2, 3): sign(l_i > l_j) -> -1, +1, -1
    expected = (
        max(0.0, -(-1) * (0.3 - (-1.0)) + 1.0)  # 2.3
        + max(0.0, -(+1) * (-0.2 - 0.4) + 1.0)  # 1.6
        + max(0.0, -(-1) * (2.0 - 0.1) + 1.0)  # 2.9
    ) / 3
    loss = loss_ranking_loss(predicted, target, margin=1.0)
    assert loss.item() == pytest.approx(expected)
    loss.backward()
    # d/d lhat_i of the (active) hinge is -sign, of lhat_j is +sign; averaged over 3 pairs
    torch.testing.assert_close(
        predicted.grad, torch.tensor([1, -1, 1, -1, 1, -1], dtype=torch.float32) / 3
    )


def test_zero_when_predictions_are_ordered_with_margin():
    target = torch.tensor([0.1, 3.0, 0.5, 2.0])
    # pairs (0, 3) and (1, 2): predicted differences exceed the margin in the right direction
    predicted = torch.tensor([-5.0, 4.0, 2.5, -3.5])
    assert float(loss_ranking_loss(predicted, target, margin=1.0)) == 0.0
    # the same differences fall short of a larger margin
    assert float(loss_ranking_loss(predicted, target, margin=2.0)) == pytest.approx((0.5 + 0.5) / 2)


def test_margin_is_a_hinge_not_a_regression():
    target = torch.tensor([2.0, 1.0])
    assert float(loss_ranking_loss(torch.tensor([10.0, 0.0]), target)) == 0.0
    assert float(loss_ranking_loss(torch.tensor([0.5, 0.0]), target)) == pytest.approx(0.5)
    # wrong order costs more than the margin
    assert float(loss_ranking_loss(torch.tensor([0.0, 0.5]), target)) == pytest.approx(1.5)


def test_ties_count_as_lower_like_the_paper():
    # 1(l_i, l_j) = -1 unless l_i > l_j
    target = torch.tensor([1.0, 1.0])
    assert float(loss_ranking_loss(torch.tensor([0.0, 2.0]), target)) == 0.0
    assert float(loss_ranking_loss(torch.tensor([2.0, 0.0]), target)) == pytest.approx(3.0)


def test_odd_batch_leaves_middle_out_and_single_sample_is_zero():
    target = torch.tensor([1.0, 5.0, 0.0])
    odd = loss_ranking_loss(torch.tensor([0.2, 100.0, 0.0]), target)
    assert float(odd) == pytest.approx(0.8)
    one = torch.tensor([0.7], requires_grad=True)
    loss = loss_ranking_loss(one, torch.tensor([1.0]))
    assert loss.item() == 0.0
    loss.backward()
    assert float(one.grad) == 0.0


def test_targets_are_detached():
    target = torch.tensor([1.0, 0.0], requires_grad=True)
    predicted = torch.tensor([0.0, 0.0], requires_grad=True)
    loss_ranking_loss(predicted, target).backward()
    assert target.grad is None and predicted.grad is not None


def test_module_wrapper_and_validation():
    p, t = torch.tensor([0.0, 0.5, 1.0, 0.0]), torch.tensor([1.0, 0.0, 2.0, 0.5])
    assert float(LossPredictionLoss(margin=0.3)(p, t)) == float(loss_ranking_loss(p, t, 0.3))
    with pytest.raises(ValueError, match="margin must be a non-negative float; got -1"):
        LossPredictionLoss(margin=-1)
    with pytest.raises(ValueError, match=r"got shapes \(4,\) and \(3,\)"):
        loss_ranking_loss(p, t[:3])
