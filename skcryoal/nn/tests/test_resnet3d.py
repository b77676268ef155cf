import pytest
import torch

from skcryoal import ResNet3D
from skcryoal.nn import BasicBlock3D


@pytest.mark.parametrize("stem, factor", [("imagenet", 4), ("cifar", 1)])
@pytest.mark.parametrize("side", [16, 20, 32])
def test_output_and_embedding_shapes(side, stem, factor):
    net = ResNet3D(n_classes=7, width=4, stem=stem).eval()
    x = torch.randn(3, 1, side, side, side)
    assert net(x).shape == (3, 7)
    assert net.embed(x).shape == (3, 32)
    stages = net.stages(x)
    assert [s.shape[1] for s in stages] == [4, 8, 16, 32]
    assert stages[0].shape[2:] == (-(-side // factor),) * 3


def test_resnet18_structure():
    net = ResNet3D(n_classes=50)
    blocks = [m for m in net.modules() if isinstance(m, BasicBlock3D)]
    assert len(blocks) == 8
    assert [
        net.layer1[0].conv1.out_channels,
        net.layer2[0].conv1.out_channels,
        net.layer3[0].conv1.out_channels,
        net.layer4[0].conv1.out_channels,
    ] == [64, 128, 256, 512]
    assert net.fc.in_features == 512 and net.fc.out_features == 50


def test_dropout_is_stochastic_in_train_mode_only():
    net = ResNet3D(n_classes=3, width=4, dropout=0.5)
    x = torch.randn(2, 1, 16, 16, 16)
    net.train()
    torch.manual_seed(0)
    a = net(x)
    b = net(x)
    assert not torch.allclose(a, b)
    net.eval()
    assert torch.allclose(net(x), net(x))


def test_small_volume_rejected_with_clear_message():
    net = ResNet3D(n_classes=3, width=4)
    with pytest.raises(ValueError, match="at least 16 voxels"):
        net(torch.randn(1, 1, 12, 16, 16))
    with pytest.raises(ValueError, match=r"shape \(n, 1, D, H, W\)"):
        net(torch.randn(1, 2, 16, 16, 16))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_classes": 0}, "n_classes"),
        ({"n_classes": 3, "width": 2.5}, "width"),
        ({"n_classes": 3, "dropout": 1.0}, "dropout"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ResNet3D(**kwargs)
