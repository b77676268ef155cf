import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from skcryoal.losses._loss_prediction import loss_ranking_loss
from skcryoal.nn import ResNet3D
from skcryoal.nn._loss_prediction import LossPredictionModule, LossPredictionResNet3D


def test_shapes_and_shared_backbone_methods():
    net = LossPredictionResNet3D(n_classes=3, width=4, lp_dim=16).eval()
    x = torch.randn(5, 1, 16, 16, 16)
    logits, predicted = net(x)
    assert logits.shape == (5, 3) and predicted.shape == (5,)
    assert net.embed(x).shape == (5, 32)
    assert [s.shape[1] for s in net.stages(x)] == [4, 8, 16, 32]
    assert net.loss_head.in_features == (4, 8, 16, 32)
    assert [fc.out_features for fc in net.loss_head.fcs] == [16] * 4
    assert net.loss_head.linear.in_features == 64
    # the classification branch is the ResNet3D one
    plain = ResNet3D(n_classes=3, width=4).eval()
    plain.load_state_dict(
        {k: v for k, v in net.state_dict().items() if not k.startswith("loss_head")}
    )
    with torch.no_grad():
        torch.testing.assert_close(logits, plain(x))


def test_head_is_global_pool_fc_relu_concat_fc():
    torch.manual_seed(0)
    head = LossPredictionModule((2, 3), lp_dim=4)
    feats = [torch.randn(6, 2, 4, 4, 4), torch.randn(6, 3, 2, 2, 2)]
    hidden = [torch.relu(fc(f.mean(dim=(2, 3, 4)))) for fc, f in zip(head.fcs, feats)]
    expected = head.linear(torch.cat(hidden, 1))[:, 0]
    torch.testing.assert_close(head(feats), expected)


def test_head_learns_to_rank_known_losses():
    # fixed features whose known "losses" are a nonlinear function of the pooled features
    gen = torch.Generator().manual_seed(0)
    n = 200
    feats = [torch.randn(n, c, 2, 2, 2, generator=gen) for c in (4, 8)]
    pooled = torch.cat([f.mean(dim=(2, 3, 4)) for f in feats], 1)
    target = torch.exp(pooled[:, 0] - pooled[:, 5]) + 0.5 * pooled[:, 9].abs()
    torch.manual_seed(0)
    head = LossPredictionModule((4, 8), lp_dim=32)
    opt = torch.optim.Adam(head.parameters(), lr=1e-2)
    train, test = slice(0, 150), slice(150, None)
    for step in range(300):
        perm = torch.randperm(150, generator=gen)[:64]
        opt.zero_grad()
        loss = loss_ranking_loss(
            head([f[train][perm] for f in feats]), target[train][perm], margin=1.0
        )
        loss.backward()
        opt.step()
    with torch.no_grad():
        predicted = head([f[test] for f in feats]).numpy()
    rho = spearmanr(predicted, target[test].numpy()).statistic
    assert rho > 0.8


def _grads_from_ranking(net, x, target, detach):
    net.zero_grad()
    _, predicted = net(x, detach_features=detach)
    loss_ranking_loss(predicted, target).backward()
    backbone = [p.grad for n, p in net.named_parameters() if not n.startswith(("loss_head", "fc."))]
    head = [p.grad for n, p in net.named_parameters() if n.startswith("loss_head")]
    return backbone, head


def test_detach_features_stops_gradient_into_backbone():
    torch.manual_seed(0)
    net = LossPredictionResNet3D(n_classes=2, width=4, lp_dim=8)
    x = torch.randn(8, 1, 16, 16, 16)
    target = torch.arange(8.0)
    backbone, head = _grads_from_ranking(net, x, target, detach=False)
    assert all(g is not None for g in backbone)
    assert sum(float(g.abs().sum()) for g in backbone) > 0
    assert sum(float(g.abs().sum()) for g in head) > 0
    backbone, head = _grads_from_ranking(net, x, target, detach=True)
    assert all(g is None or float(g.abs().sum()) == 0 for g in backbone)
    assert sum(float(g.abs().sum()) for g in head) > 0


def test_same_parameter_names_across_instances():
    # the EMA mean model is a second instance; the callback pairs tensors by name
    a = LossPredictionResNet3D(n_classes=2, width=4)
    b = LossPredictionResNet3D(n_classes=2, width=4)
    assert [n for n, _ in a.named_parameters()] == [n for n, _ in b.named_parameters()]
    assert np.isclose(
        sum(p.numel() for p in a.loss_head.parameters()),
        sum(c * 128 + 128 for c in (4, 8, 16, 32)) + 4 * 128 + 1,
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"in_features": (4, 0)}, "each entry of in_features must be a positive integer"),
        ({"in_features": ()}, "at least one feature map"),
        ({"in_features": 4}, "in_features must be a sequence"),
        ({"in_features": (4,), "lp_dim": 0}, "lp_dim must be a positive integer"),
    ],
)
def test_head_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LossPredictionModule(**kwargs)


def test_head_wrong_number_of_features_and_resnet_checks():
    head = LossPredictionModule((4, 8))
    with pytest.raises(ValueError, match="expects 2 feature maps; got 1"):
        head([torch.zeros(2, 4, 2, 2, 2)])
    with pytest.raises(ValueError, match="lp_dim must be a positive integer"):
        LossPredictionResNet3D(n_classes=2, width=4, lp_dim=-1)
    with pytest.raises(ValueError, match="every side of the volume"):
        LossPredictionResNet3D(n_classes=2, width=4)(torch.zeros(1, 1, 8, 8, 8))
