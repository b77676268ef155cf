"""A 3D ResNet-18 for single-channel subtomograms."""

import numbers

import torch
from torch import nn


class BasicBlock3D(nn.Module):
    """Two 3x3x3 convolutions with batch norm and an identity (or 1x1x1) shortcut.

    Parameters
    ----------
    in_planes : int
        Input channels.
    planes : int
        Output channels.
    stride : int, default=1
        Stride of the first convolution (2 halves each side).
    """

    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv3d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2 = nn.Conv3d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm3d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv3d(in_planes, planes, 1, stride=stride, bias=False),
                nn.BatchNorm3d(planes),
            )

    def forward(self, x):
        """Apply the block."""
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNet3D(nn.Module):
    """The 3D analogue of ResNet-18 used by Wang et al. (ICIP 2022).

    Four stages of two :class:`BasicBlock3D` each, with ``width * (1, 2, 4, 8)``
    channels; stages 2-4 halve each side, then global average pooling.

    Two stems are available. ``"imagenet"`` (default) is the original ResNet-18
    stem, a 7x7x7 convolution with stride 2 and a 3x3x3 max-pooling with stride
    2, which the paper adapted to 3D: a 32^3 subtomogram enters the residual
    stages at 8^3. ``"cifar"`` is the single 3x3x3 convolution of the CIFAR
    variants used in much of the deep active learning literature: the stages run
    at full resolution (32^3, 16^3, 8^3, 4^3), which costs about 50 times more
    compute (impractical on CPUs at full width) for finer detail.

    Parameters
    ----------
    n_classes : int
        Number of output logits.
    width : int, default=64
        Channels of the first stage (64 is ResNet-18). Small widths (4-16) make
        CPU runs and tests fast.
    in_channels : int, default=1
        Channels of the input volumes.
    dropout : float, default=0.0
        Dropout probability applied to the embedding before the classification
        layer (needed by MC-dropout).
    stem : {"imagenet", "cifar"}, default="imagenet"
        The input stem, see above.

    Notes
    -----
    Input: float tensors of shape ``(n, in_channels, D, H, W)`` with axis order
    (z, y, x); every side must be at least ``min_side`` (16) voxels.

    Examples
    --------
    >>> import torch
    >>> from skcryoal import ResNet3D
    >>> net = ResNet3D(n_classes=5, width=4)
    >>> net(torch.zeros(2, 1, 16, 16, 16)).shape
    torch.Size([2, 5])
    >>> net.embed(torch.zeros(2, 1, 16, 16, 16)).shape
    torch.Size([2, 32])
    """

    min_side = 16
    layers = (2, 2, 2, 2)

    def __init__(self, n_classes, width=64, in_channels=1, dropout=0.0, stem="imagenet"):
        super().__init__()
        _check_positive_int(n_classes, "n_classes")
        _check_positive_int(width, "width")
        _check_positive_int(in_channels, "in_channels")
        if not isinstance(dropout, numbers.Real) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be a float in [0, 1); got {dropout!r}.")
        if stem not in ("imagenet", "cifar"):
            raise ValueError(f"stem must be 'imagenet' or 'cifar'; got {stem!r}.")
        self.n_classes = n_classes
        self.width = width
        self.in_channels = in_channels
        self.dropout = dropout
        self.stem = stem

        if stem == "imagenet":
            self.conv1 = nn.Conv3d(in_channels, width, 7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool3d(3, stride=2, padding=1)
        else:
            self.conv1 = nn.Conv3d(in_channels, width, 3, stride=1, padding=1, bias=False)
            self.maxpool = nn.Identity()
        self.bn1 = nn.BatchNorm3d(width)
        planes, stages = width, []
        for i, n_blocks in enumerate(self.layers):
            out_planes = width * 2**i
            stride = 1 if i == 0 else 2
            blocks = []
            for j in range(n_blocks):
                blocks.append(BasicBlock3D(planes, out_planes, stride if j == 0 else 1))
                planes = out_planes
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(planes, n_classes)
        self.embedding_dim = planes
        self.reset_parameters()

    def reset_parameters(self):
        """Re-draw all weights (Kaiming-normal convolutions, unit batch norms)."""
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm3d):
                m.reset_parameters()
            elif isinstance(m, nn.Linear):
                m.reset_parameters()

    def _check_input(self, x):
        if x.ndim != 5 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"ResNet3D expects input of shape (n, {self.in_channels}, D, H, W); "
                f"got {tuple(x.shape)}."
            )
        if min(x.shape[2:]) < self.min_side:
            raise ValueError(
                f"ResNet3D needs every side of the volume to be at least {self.min_side} "
                f"voxels; got volumes of shape {tuple(x.shape[2:])}."
            )

    def stages(self, x):
        """Return the outputs of the four residual stages.

        Parameters
        ----------
        x : torch.Tensor of shape (n, in_channels, D, H, W)

        Returns
        -------
        features : list of 4 torch.Tensor
            Stage outputs, ``width * 2**i`` channels each.
        """
        self._check_input(x)
        out = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        features = []
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            out = layer(out)
            features.append(out)
        return features

    def embed(self, x):
        """Return the penultimate embedding (globally pooled last stage).

        Parameters
        ----------
        x : torch.Tensor of shape (n, in_channels, D, H, W)

        Returns
        -------
        embedding : torch.Tensor of shape (n, 8 * width)
        """
        return torch.flatten(self.pool(self.stages(x)[-1]), 1)

    def forward(self, x):
        """Return the class logits, shape ``(n, n_classes)``."""
        return self.fc(self.drop(self.embed(x)))


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
