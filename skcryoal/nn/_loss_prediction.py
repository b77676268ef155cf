"""The loss-prediction module of LL4AL (Yoo & Kweon, CVPR 2019) on a 3D ResNet."""

import torch
from torch import nn

from ._resnet3d import ResNet3D, _check_positive_int


class LossPredictionModule(nn.Module):
    """Predict the task loss of each sample from intermediate features.

    Each feature map is globally average-pooled and mapped by its own
    ``Linear(channels_i, lp_dim)`` and ReLU; the concatenated results go through a
    final ``Linear(len(in_features) * lp_dim, 1)`` giving one scalar per sample,
    the predicted loss (Fig. 2 of Yoo & Kweon, 2019).

    Parameters
    ----------
    in_features : sequence of int
        Channels of each feature map, e.g. ``(64, 128, 256, 512)`` for the four
        stages of a ResNet-18.
    lp_dim : int, default=128
        Width of the per-feature fully connected layers (the paper's 128).

    Examples
    --------
    >>> import torch
    >>> from skcryoal.nn import LossPredictionModule
    >>> head = LossPredictionModule((4, 8), lp_dim=16)
    >>> features = [torch.zeros(3, 4, 8, 8, 8), torch.zeros(3, 8, 4, 4, 4)]
    >>> head(features).shape
    torch.Size([3])
    """

    def __init__(self, in_features, lp_dim=128):
        super().__init__()
        try:
            in_features = tuple(in_features)
        except TypeError:
            raise ValueError(
                f"in_features must be a sequence of channel counts; got {in_features!r}."
            ) from None
        if not in_features:
            raise ValueError("in_features must list at least one feature map; got ().")
        for value in in_features:
            _check_positive_int(value, "each entry of in_features")
        _check_positive_int(lp_dim, "lp_dim")
        self.in_features = in_features
        self.lp_dim = lp_dim
        self.fcs = nn.ModuleList(nn.Linear(c, lp_dim) for c in in_features)
        self.linear = nn.Linear(len(in_features) * lp_dim, 1)

    def forward(self, features):
        """Return the predicted loss of each sample.

        Parameters
        ----------
        features : sequence of torch.Tensor of shape (n, in_features[i], ...)
            One feature map per entry of ``in_features``, any spatial shape.

        Returns
        -------
        predicted_loss : torch.Tensor of shape (n,)
        """
        if len(features) != len(self.fcs):
            raise ValueError(
                f"LossPredictionModule expects {len(self.fcs)} feature maps; got {len(features)}."
            )
        hidden = [torch.relu(fc(f.flatten(2).mean(2))) for fc, f in zip(self.fcs, features)]
        return self.linear(torch.cat(hidden, dim=1)).squeeze(1)


class LossPredictionResNet3D(ResNet3D):
    """A :class:`~skcryoal.nn.ResNet3D` with an LL4AL loss-prediction head.

    The head (:class:`LossPredictionModule`) reads the outputs of the four
    residual stages and predicts the classification loss of each volume;
    :class:`~skcryoal.classifier.LearningLossClassifier` trains it with a ranking loss and
    :class:`~skcryoal.query.LearningLossQuery` selects the volumes with the highest
    predicted loss.

    Parameters
    ----------
    n_classes : int
        Number of output logits.
    width : int, default=64
        Channels of the first stage (64 is ResNet-18).
    in_channels : int, default=1
        Channels of the input volumes.
    dropout : float, default=0.0
        Dropout probability before the classification layer.
    stem : {"imagenet", "cifar"}, default="imagenet"
        The input stem, see :class:`~skcryoal.nn.ResNet3D`.
    lp_dim : int, default=128
        Width of the loss-prediction head's hidden layers.

    Notes
    -----
    ``forward`` returns the pair ``(logits, predicted_loss)``; ``stages`` and
    ``embed`` are those of :class:`~skcryoal.nn.ResNet3D`. With
    ``detach_features=True`` the head reads detached stage outputs, so the
    ranking loss trains the head only and no gradient reaches the backbone (the
    second phase of LL4AL's training schedule).

    Examples
    --------
    >>> import torch
    >>> from skcryoal import LossPredictionResNet3D
    >>> net = LossPredictionResNet3D(n_classes=5, width=4, lp_dim=16)
    >>> logits, predicted_loss = net(torch.zeros(2, 1, 16, 16, 16))
    >>> logits.shape, predicted_loss.shape
    (torch.Size([2, 5]), torch.Size([2]))
    """

    def __init__(
        self, n_classes, width=64, in_channels=1, dropout=0.0, stem="imagenet", lp_dim=128
    ):
        super().__init__(
            n_classes, width=width, in_channels=in_channels, dropout=dropout, stem=stem
        )
        self.lp_dim = lp_dim
        self.loss_head = LossPredictionModule(
            tuple(width * 2**i for i in range(len(self.layers))), lp_dim=lp_dim
        )

    def forward(self, x, detach_features=False):
        """Return the class logits and the predicted loss.

        Parameters
        ----------
        x : torch.Tensor of shape (n, in_channels, D, H, W)
        detach_features : bool, default=False
            Feed the head detached stage outputs (no gradient into the backbone).

        Returns
        -------
        logits : torch.Tensor of shape (n, n_classes)
        predicted_loss : torch.Tensor of shape (n,)
        """
        features = self.stages(x)
        logits = self.fc(self.drop(torch.flatten(self.pool(features[-1]), 1)))
        if detach_features:
            features = [f.detach() for f in features]
        return logits, self.loss_head(features)
