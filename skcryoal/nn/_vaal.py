"""The 3D variational autoencoder and latent discriminator of VAAL."""

import numbers

import torch
from torch import nn
from torch.nn import functional as F

#: stride-2 stages of the encoder (and of the decoder): each halves every side
N_STAGES = 3
#: the encoder's grid is padded to a multiple of this on every axis
_MULTIPLE = 2**N_STAGES


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)


class VAE3D(nn.Module):
    """A 3D convolutional VAE for subtomograms, after the VAE of VAAL.

    The encoder has three 4x4x4 convolutions of stride 2 (each halving every
    side) with ``width * (1, 2, 4)`` channels, each followed by batch norm and
    ReLU, then two linear heads to the posterior mean ``mu`` and log-variance
    ``logvar`` of a ``latent_dim``-dimensional Gaussian. The decoder mirrors
    it: a linear layer back to the encoder's grid, two transposed
    convolutions of stride 2 with batch norm and ReLU, and a last transposed
    convolution of stride 2 straight to ``in_channels`` (no output
    activation: volumes are real-valued and best standardized). Sinha et al.
    (ICCV 2019) used the 2D analogue with ``width=128``, four stages on 32x32
    images and a full-width layer at full resolution before the output; in
    3D that layer alone would double the cost of a training step.

    Any spatial shape works: a side that is not a multiple of 8 is zero-padded
    at its end up to the next multiple of 8 before encoding, and the
    reconstruction is cropped back, so ``forward`` always returns the input's
    shape. Sides that are multiples of 8 (16, 24, 32, ...) need no padding; a
    32^3 volume is encoded on a 4^3 grid.

    Parameters
    ----------
    volume_shape : tuple of int
        Spatial shape ``(D, H, W)`` of the input volumes, axis order (z, y, x).
    in_channels : int, default=1
        Channels of the input volumes.
    latent_dim : int, default=32
        Dimension of the latent space (32 in the paper's CIFAR setting).
    width : int, default=32
        Channels of the first encoder stage; tiny widths (4-8) make tests fast.

    Attributes
    ----------
    grid_shape : tuple of int
        Spatial shape of the encoder's last feature map.

    Examples
    --------
    >>> import torch
    >>> from skcryoal.nn import VAE3D
    >>> vae = VAE3D((16, 16, 16), latent_dim=8, width=4)
    >>> recon, z, mu, logvar = vae(torch.zeros(2, 1, 16, 16, 16))
    >>> tuple(recon.shape), tuple(mu.shape), vae.grid_shape
    ((2, 1, 16, 16, 16), (2, 8), (2, 2, 2))
    """

    def __init__(self, volume_shape, in_channels=1, latent_dim=32, width=32):
        super().__init__()
        volume_shape = tuple(volume_shape)
        if len(volume_shape) != 3:
            raise ValueError(
                f"volume_shape must be the spatial shape (D, H, W); got {volume_shape!r}."
            )
        self.volume_shape = tuple(_check_positive_int(s, "volume_shape") for s in volume_shape)
        self.in_channels = _check_positive_int(in_channels, "in_channels")
        self.latent_dim = _check_positive_int(latent_dim, "latent_dim")
        self.width = _check_positive_int(width, "width")
        padded = tuple(-(-s // _MULTIPLE) * _MULTIPLE for s in self.volume_shape)
        self._padding = tuple(p - s for p, s in zip(padded, self.volume_shape))
        self.grid_shape = tuple(p // _MULTIPLE for p in padded)
        channels = [width * 2**k for k in range(N_STAGES)]

        encoder, c_in = [], self.in_channels
        for c_out in channels:
            encoder += [
                nn.Conv3d(c_in, c_out, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm3d(c_out),
                nn.ReLU(inplace=True),
            ]
            c_in = c_out
        self.encoder = nn.Sequential(*encoder, nn.Flatten())
        n_features = channels[-1] * self.grid_shape[0] * self.grid_shape[1] * self.grid_shape[2]
        self.fc_mu = nn.Linear(n_features, self.latent_dim)
        self.fc_logvar = nn.Linear(n_features, self.latent_dim)

        self.fc_decode = nn.Linear(self.latent_dim, n_features)
        decoder = [nn.Unflatten(1, (channels[-1], *self.grid_shape))]
        for c_in, c_out in zip(channels[:0:-1], channels[-2::-1]):
            decoder += [
                nn.ConvTranspose3d(c_in, c_out, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm3d(c_out),
                nn.ReLU(inplace=True),
            ]
        # the last stage goes straight to the output channels: a width-channel
        # layer at full resolution would double the cost of a training step
        decoder.append(nn.ConvTranspose3d(channels[0], self.in_channels, 4, stride=2, padding=1))
        self.decoder = nn.Sequential(*decoder)

    def _check_input(self, x):
        if x.ndim != 5 or tuple(x.shape[1:]) != (self.in_channels, *self.volume_shape):
            raise ValueError(
                f"{type(self).__name__} expects input of shape (n, {self.in_channels}, "
                f"{', '.join(map(str, self.volume_shape))}); got {tuple(x.shape)}."
            )

    def encode(self, x):
        """Return the posterior mean and log-variance of ``x``.

        Parameters
        ----------
        x : torch.Tensor of shape (n, in_channels, D, H, W)

        Returns
        -------
        mu, logvar : torch.Tensor of shape (n, latent_dim)
        """
        self._check_input(x)
        if any(self._padding):
            pd, ph, pw = self._padding
            x = F.pad(x, (0, pw, 0, ph, 0, pd))
        h = self.encoder(x)
        return self.fc_mu(h), self.fc_logvar(h)

    def decode(self, z):
        """Return the reconstruction decoded from latent codes ``z``.

        Parameters
        ----------
        z : torch.Tensor of shape (n, latent_dim)

        Returns
        -------
        recon : torch.Tensor of shape (n, in_channels, D, H, W)
        """
        out = self.decoder(self.fc_decode(z))
        d, h, w = self.volume_shape
        return out[:, :, :d, :h, :w]

    def forward(self, x):
        """Encode, sample by reparameterization (in training mode) and decode.

        In eval mode ``z = mu``, so inference is deterministic.

        Parameters
        ----------
        x : torch.Tensor of shape (n, in_channels, D, H, W)

        Returns
        -------
        recon : torch.Tensor of shape (n, in_channels, D, H, W)
        z, mu, logvar : torch.Tensor of shape (n, latent_dim)
        """
        mu, logvar = self.encode(x)
        if self.training:
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        else:
            z = mu
        return self.decode(z), z, mu, logvar


class LatentDiscriminator(nn.Module):
    """The VAAL discriminator: an MLP from latent codes to one "labeled" logit.

    ``latent_dim -> hidden -> hidden -> 1`` with ReLU activations, as in Sinha
    et al. (ICCV 2019) with ``hidden=512``. It returns the logit, not the
    probability (their final sigmoid is folded into the loss for numerical
    stability); ``torch.sigmoid(logit)`` is the probability that a code comes
    from the labeled set.

    Parameters
    ----------
    latent_dim : int, default=32
        Dimension of the latent codes.
    hidden : int, default=512
        Units of the two hidden layers.

    Examples
    --------
    >>> import torch
    >>> from skcryoal.nn import LatentDiscriminator
    >>> disc = LatentDiscriminator(latent_dim=8)
    >>> tuple(disc(torch.zeros(3, 8)).shape)
    (3,)
    """

    def __init__(self, latent_dim=32, hidden=512):
        super().__init__()
        self.latent_dim = _check_positive_int(latent_dim, "latent_dim")
        hidden = _check_positive_int(hidden, "hidden")
        self.net = nn.Sequential(
            nn.Linear(self.latent_dim, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, 1),
        )

    def forward(self, z):
        """Return the "labeled" logit of each code.

        Parameters
        ----------
        z : torch.Tensor of shape (n, latent_dim)

        Returns
        -------
        logits : torch.Tensor of shape (n,)
        """
        return self.net(z).squeeze(1)


def vae_loss(x, recon, mu, logvar, beta=1.0):
    """Return the VAE loss per voxel: squared error plus ``beta`` times the KL.

    ``mean((x - recon)**2) + beta * KL / n_voxels``: the KL divergence of the
    posterior ``N(mu, exp(logvar))`` from ``N(0, I)`` is summed over the
    latent dimensions, averaged over the batch and divided by the number of
    values per sample (``C * D * H * W``), like the squared error. With
    ``beta=1`` this is the negative ELBO of a Gaussian decoder of variance
    1/2, divided by the voxel count, so the balance of the two terms does not
    depend on the volume size or the batch size.

    VAAL's code adds the KL summed over the batch to the voxel-mean squared
    error, which weighs the KL by ``batch_size * n_voxels`` relative to the
    ELBO. On volumes that collapses the posterior (``mu`` near 0 for every
    input) within a few iterations, and the discriminator, which sees only
    ``mu``, is left with nothing to tell labeled from unlabeled volumes.

    Parameters
    ----------
    x, recon : torch.Tensor of shape (n, C, D, H, W)
        Input and reconstruction.
    mu, logvar : torch.Tensor of shape (n, latent_dim)
        Posterior parameters.
    beta : float, default=1.0
        Weight of the KL term.

    Returns
    -------
    loss : torch.Tensor
        A scalar.

    Examples
    --------
    >>> import torch
    >>> from skcryoal.nn import vae_loss
    >>> x = torch.ones(2, 1, 4, 4, 4)
    >>> float(vae_loss(x, x, torch.zeros(2, 3), torch.zeros(2, 3)))
    0.0
    """
    mse = F.mse_loss(recon, x)
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1).mean()
    return mse + beta * kl / x[0].numel()
