"""Self-supervised objectives: SimCLR (contrastive) and BYOL (self-distillation)."""

import copy

import torch
import torch.nn.functional as F
from torch import nn


def mlp(in_dim, hidden, out_dim):
    """A two-layer projection / prediction head with batch norm (SimCLR, BYOL)."""
    return nn.Sequential(
        nn.Linear(in_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
        nn.Linear(hidden, out_dim),
    )  # fmt: skip


def nt_xent(z1, z2, temperature):
    """SimCLR's normalized-temperature cross-entropy over the 2n views of a batch.

    Each view's positive is the other view of the same volume; the other 2n - 2
    views are its negatives.

    Parameters
    ----------
    z1, z2 : torch.Tensor of shape (n, d)
        Projections of the two views.
    temperature : float

    Returns
    -------
    loss : torch.Tensor (scalar)
    """
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.T / temperature
    sim.fill_diagonal_(float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, target)


def byol_loss(p, z):
    """BYOL's regression loss ``2 - 2 cos(p, z)``, averaged, with ``z`` a constant."""
    return (2 - 2 * F.cosine_similarity(p, z.detach(), dim=1)).mean()


class SimCLR(nn.Module):
    """Encoder + projection head trained with :func:`nt_xent` (Chen et al., 2020).

    Parameters
    ----------
    encoder : ResNet3D
    projection_dim : int
    temperature : float
    """

    def __init__(self, encoder, projection_dim=128, temperature=0.2):
        super().__init__()
        self.encoder = encoder
        dim = encoder.embedding_dim
        self.projector = mlp(dim, 2 * dim, projection_dim)
        self.temperature = temperature

    def loss(self, v1, v2):
        """Return the loss on two views of a batch."""
        z = self.projector(self.encoder.embed(torch.cat([v1, v2])))
        z1, z2 = z.chunk(2)
        return nt_xent(z1, z2, self.temperature)

    def after_step(self, progress):
        """Nothing to update after an optimizer step."""


class BYOL(nn.Module):
    """Online encoder, projector and predictor regressing an EMA target (Grill et al., 2020).

    The target network is the exponential moving average of the online encoder
    and projector, the mean model of Wang et al. used as a teacher; its decay
    rises from ``base_decay`` to 1 along a cosine over the training
    (``after_step``).

    Parameters
    ----------
    encoder : ResNet3D
    projection_dim : int
    base_decay : float
    """

    def __init__(self, encoder, projection_dim=128, base_decay=0.99):
        super().__init__()
        self.encoder = encoder
        dim = encoder.embedding_dim
        self.projector = mlp(dim, 2 * dim, projection_dim)
        self.predictor = mlp(projection_dim, 2 * dim, projection_dim)
        self.target_encoder = copy.deepcopy(encoder).requires_grad_(False)
        self.target_projector = copy.deepcopy(self.projector).requires_grad_(False)
        self.base_decay = base_decay

    def loss(self, v1, v2):
        """Return the symmetrized loss on two views of a batch."""
        both = torch.cat([v1, v2])
        p1, p2 = self.predictor(self.projector(self.encoder.embed(both))).chunk(2)
        with torch.no_grad():
            z1, z2 = self.target_projector(self.target_encoder.embed(both)).chunk(2)
        return byol_loss(p1, z2) + byol_loss(p2, z1)

    @torch.no_grad()
    def after_step(self, progress):
        """Move the target towards the online network; ``progress`` in [0, 1]."""
        decay = 1 - (1 - self.base_decay) * (torch.cos(torch.tensor(progress * torch.pi)) + 1) / 2
        decay = float(decay)
        for online, target in ((self.encoder, self.target_encoder),
                               (self.projector, self.target_projector)):  # fmt: skip
            for po, pt in zip(online.parameters(), target.parameters()):
                pt.mul_(decay).add_(po.detach(), alpha=1 - decay)
            for bo, bt in zip(online.buffers(), target.buffers()):
                bt.copy_(bo)

    def trainable_parameters(self):
        """The online network's parameters (the target is never optimized)."""
        for module in (self.encoder, self.projector, self.predictor):
            yield from module.parameters()


OBJECTIVES = {"simclr": SimCLR, "byol": BYOL}
