"""Variational adversarial active learning (VAAL, Sinha et al., ICCV 2019)."""

import math
import numbers

import numpy as np
import torch
from scipy.special import expit
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from torch.nn import functional as F

from ..nn._vaal import VAE3D, LatentDiscriminator, vae_loss
from ..utils._batches import RowSubset, iter_batches
from ..utils._random import draw_seed, torch_seed_context
from ..utils._validation import check_n_instances, check_volumes
from ._base import _TransformedRows, resolve_estimator, select_top

#: VAE and discriminator updates per training iteration, as in the authors' code
N_VAE_STEPS = 2
N_DISCRIMINATOR_STEPS = 1

# name: (accepted types, lower bound, lower bound inclusive, None allowed)
_PARAMETER_CONSTRAINTS = {
    "latent_dim": (numbers.Integral, 1, True, False),
    "width": (numbers.Integral, 1, True, False),
    "n_epochs": (numbers.Real, 0, False, False),
    "n_iterations": (numbers.Integral, 1, True, True),
    "batch_size": (numbers.Integral, 1, True, False),
    "lr": (numbers.Real, 0, False, False),
    "beta": (numbers.Real, 0, True, False),
    "adversary_param": (numbers.Real, 0, True, False),
    "subsample": (numbers.Integral, 1, True, True),
}


def _index_batches(n, batch_size, rng):
    """Yield sorted index batches forever, reshuffling each pass (last partial batch dropped)."""
    size = min(batch_size, n)
    while True:
        perm = rng.permutation(n)
        for start in range(0, n - size + 1, size):
            # sorted rows read sequentially from a memory map
            yield np.sort(perm[start : start + size])


def _read_rows(X, rows, device):
    # np.array copies: a writable in-memory batch even when X is a memory map
    return torch.from_numpy(np.array(X[rows], dtype=np.float32)).to(device)


class VAALQuery:
    """Query the volumes a VAAL discriminator is most sure are unlabeled.

    Variational adversarial active learning (Sinha, Ebrahimi & Darrell, ICCV
    2019) learns a latent space with a VAE (:class:`~skcryoal.nn.VAE3D`) on
    both the labeled and the unlabeled volumes, while a discriminator
    (:class:`~skcryoal.nn.LatentDiscriminator`) learns to tell the latent
    means ``mu`` of labeled volumes from those of unlabeled ones, and the VAE
    learns to fool it. The unlabeled volumes the discriminator finds least
    like the labeled set (lowest probability of "labeled") are selected: they
    represent what the labeled set does not yet cover.

    Each call trains a fresh VAE and discriminator from scratch (as the
    authors re-create both every cycle) and keeps them as ``vae_`` and
    ``discriminator_``. One training iteration follows the authors' loop:

    * ``N_VAE_STEPS`` (2) VAE updates, each on a fresh labeled batch and a
      fresh unlabeled batch, minimizing
      ``vae_loss(labeled) + vae_loss(unlabeled) + adversary_param *
      [BCE(D(mu_labeled), 1) + BCE(D(mu_unlabeled), 1)]``, where
      ``vae_loss`` is the voxel-mean squared reconstruction error plus
      ``beta`` times the KL divergence per voxel (see
      :func:`~skcryoal.nn.vae_loss`, which explains why per voxel): the VAE
      tries to make every volume look labeled;
    * one discriminator update on the same batches,
      ``BCE(D(mu_labeled), 1) + BCE(D(mu_unlabeled), 0)``, with ``mu``
      detached.

    Both use Adam with learning rate ``lr``.

    VAAL is task-agnostic: it uses the data only, never the classifier's
    outputs, so the learner need not be fitted (``requires_fit = False``). It
    does need a non-empty labeled set: the learner's ``X_training``, or
    ``X_labeled=`` passed to the call (modAL's ``learner.query(X_pool,
    n_instances=5, X_labeled=X_lab)`` forwards it). When the learner's
    estimator is a :class:`~sklearn.pipeline.Pipeline`, its (fitted)
    transformers are applied to both sets, batch by batch, so the VAE sees
    what the classifier sees. Volumes should be standardized (for instance
    z-scored): the reconstruction loss is a squared error on raw values.

    Parameters
    ----------
    latent_dim : int, default=32
        Dimension of the VAE's latent space.
    width : int, default=32
        Channels of the first encoder stage (``width * (1, 2, 4)`` in all).
    n_epochs : float, default=1
        Training length in passes over the unlabeled volumes (the pool, or
        the subsample): ``ceil(n_epochs * n_unlabeled / batch_size)``
        iterations. Ignored when ``n_iterations`` is set. The authors trained
        100 epochs on a GPU; see Notes for the cost on a CPU.
    n_iterations : int or None, default=None
        Fixed number of training iterations, overriding ``n_epochs``; caps
        the cost independently of the pool size.
    batch_size : int, default=32
        Volumes per labeled and per unlabeled batch (a smaller labeled set is
        used whole), and per batch when scoring.
    lr : float, default=5e-4
        Adam learning rate of the VAE and the discriminator.
    beta : float, default=1.0
        Weight of the KL term of the VAE loss.
    adversary_param : float, default=1.0
        Weight of the adversarial (fool-the-discriminator) term of the VAE loss.
    subsample : int or None, default=None
        Train on and score only a random subset of this many pool volumes;
        ``None`` uses the whole pool.
    device : str, torch.device or None, default=None
        Where to train; ``None`` uses the classifier's ``device`` when it has
        one, else ``"cpu"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the subset, the batch order, the weight initialization and the
        reparameterization noise. An int gives the same selection for the
        same data on every call (deterministic on the CPU); ``None`` draws
        fresh entropy. The global numpy and torch random states are never
        used or changed.

    Attributes
    ----------
    vae_ : VAE3D
        The VAE of the last query, in eval mode.
    discriminator_ : LatentDiscriminator
        The discriminator of the last query, in eval mode.
    volume_shape_ : tuple of int
        Spatial shape of the volumes of the last query.
    n_iterations_ : int
        Training iterations run by the last query.
    history_ : dict of ndarray
        ``"vae_loss"`` (mean over the iteration's VAE steps) and
        ``"discriminator_loss"``, one entry per iteration of the last query.

    Notes
    -----
    Training dominates the cost: an iteration runs ``N_VAE_STEPS`` forward
    and backward passes of ``2 * batch_size`` volumes (a labeled and an
    unlabeled batch) through the VAE, so the cost grows with the pool size
    through ``n_epochs``. Measured with the defaults on 32^3 volumes on a
    shared 2-core CPU (one torch thread): a pool of 500 volumes (16
    iterations) took 41 s, one of 3000 volumes (94 iterations) 6 minutes,
    scoring included (1 s and 9 s of it). Set ``n_iterations`` or
    ``subsample`` to bound the cost on larger pools; raise ``n_epochs`` on a
    GPU. The paper's appendix reports VAAL as 10 times slower than the EMA
    method on a GPU (16.06 h against 1.6 h for a full run).

    Memory is O(``batch_size``) beyond the scores: the pool, which may be a
    memory map, is read batch by batch, in random batches while training and
    in order while scoring. Non-finite values raise ``ValueError`` before
    training (the pool is checked in chunks).

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal import VAALQuery
    >>> rng = np.random.default_rng(0)
    >>> X_labeled = rng.normal(size=(8, 16, 16, 16)).astype(np.float32)
    >>> X_pool = rng.normal(size=(20, 16, 16, 16)).astype(np.float32)
    >>> query = VAALQuery(latent_dim=8, width=4, n_iterations=2, batch_size=8, random_state=0)
    >>> idx = query(None, X_pool, n_instances=3, X_labeled=X_labeled)
    >>> idx.shape, query.score_samples(None, X_pool).shape
    ((3,), (20,))
    """

    #: whether querying needs a fitted model
    requires_fit = False

    def __init__(
        self,
        latent_dim=32,
        width=32,
        n_epochs=1,
        n_iterations=None,
        batch_size=32,
        lr=5e-4,
        beta=1.0,
        adversary_param=1.0,
        subsample=None,
        device=None,
        random_state=None,
    ):
        self.latent_dim = latent_dim
        self.width = width
        self.n_epochs = n_epochs
        self.n_iterations = n_iterations
        self.batch_size = batch_size
        self.lr = lr
        self.beta = beta
        self.adversary_param = adversary_param
        self.subsample = subsample
        self.device = device
        self.random_state = random_state

    # ------------------------------------------------------------ validation
    def _validate_params(self):
        for name, (kind, low, inclusive, none_ok) in _PARAMETER_CONSTRAINTS.items():
            value = getattr(self, name)
            if value is None and none_ok:
                continue
            ok = (
                not isinstance(value, bool)
                and isinstance(value, kind)
                and (value >= low if inclusive else value > low)
                and math.isfinite(value)
            )
            if not ok:
                what = "an integer" if kind is numbers.Integral else "a finite number"
                rule = f"{what} {'>=' if inclusive else '>'} {low}"
                if none_ok:
                    rule = f"None or {rule}"
                raise ValueError(f"{name} must be {rule}; got {value!r}.")

    @staticmethod
    def _labeled_volumes(learner, X_labeled):
        if X_labeled is None:
            X_labeled = getattr(learner, "X_training", None)
        if X_labeled is None or len(X_labeled) == 0:
            raise ValueError(
                "VAALQuery needs a non-empty labeled set to contrast the pool with; got "
                + ("none" if X_labeled is None else "an empty one")
                + ". Teach the learner some labeled volumes first, or pass them as "
                "X_labeled=, e.g. learner.query(X_pool, n_instances=5, X_labeled=X_lab)."
            )
        return X_labeled

    @staticmethod
    def _apply_transform(X, transform, name):
        if transform is None:
            return X
        return _TransformedRows(check_volumes(X, name=name, check_finite=False), transform)

    def _device(self, classifier):
        if self.device is not None:
            return torch.device(self.device)
        return torch.device(
            getattr(classifier, "device_", None) or getattr(classifier, "device", None) or "cpu"
        )

    # ----------------------------------------------------------------- query
    def __call__(self, learner, X_pool, n_instances=1, *, X_labeled=None):
        """Train VAAL on the labeled set and the pool; select ``n_instances`` pool rows.

        Parameters
        ----------
        learner : modAL learner, CryoNetClassifier, Pipeline or None
            Supplies the labeled set (``X_training``) unless ``X_labeled`` is
            given, the preprocessing of a Pipeline and the default device.
            Need not be fitted.
        X_pool : array-like of shape (n_pool, C, D, H, W) or (n_pool, D, H, W)
            Unlabeled volumes (ndarray, memory map or lazy array).
        n_instances : int, default=1
            Number of volumes to select.
        X_labeled : array-like of shape (n_labeled, C, D, H, W) or \
(n_labeled, D, H, W), default=None
            Labeled volumes; overrides ``learner.X_training``.

        Returns
        -------
        indices : ndarray of shape (n_instances,)
            Unique row indices into ``X_pool``, the most surely unlabeled first.
        """
        self._validate_params()
        transform, classifier = resolve_estimator(learner)
        X_lab = self._labeled_volumes(learner, X_labeled)
        X_lab = self._apply_transform(X_lab, transform, "X_labeled")
        X_lab = check_volumes(X_lab, name="X_labeled", n_channels=_n_channels(X_lab))
        X_pool = self._apply_transform(X_pool, transform, "X_pool")
        X_pool = check_volumes(X_pool, name="X_pool", n_channels=X_lab.shape[1])
        _check_same_shape(X_pool, X_lab.shape[2:], "X_pool", "the labeled volumes")

        # None: fresh entropy rather than sklearn's global RandomState
        rng = (
            np.random.RandomState()
            if self.random_state is None
            else check_random_state(self.random_state)
        )
        candidates = None
        if self.subsample is not None and self.subsample < len(X_pool):
            candidates = np.sort(rng.choice(len(X_pool), size=self.subsample, replace=False))
        what = "the pool" if candidates is None else f"the subsample (subsample={self.subsample})"
        n_unlabeled = len(X_pool) if candidates is None else len(candidates)
        n_instances = check_n_instances(n_instances, n_unlabeled, what=what)
        X_unl = X_pool if candidates is None else RowSubset(X_pool, candidates)

        device = self._device(classifier)
        with torch_seed_context(draw_seed(rng), device):
            self._train(X_lab, X_unl, rng, device)
        selected = select_top(-self._logits(X_unl), n_instances)
        return selected if candidates is None else candidates[selected]

    def _train(self, X_lab, X_unl, rng, device):
        vae = VAE3D(
            X_lab.shape[2:],
            in_channels=X_lab.shape[1],
            latent_dim=self.latent_dim,
            width=self.width,
        ).to(device)
        disc = LatentDiscriminator(self.latent_dim).to(device)
        opt_vae = torch.optim.Adam(vae.parameters(), lr=self.lr)
        opt_disc = torch.optim.Adam(disc.parameters(), lr=self.lr)
        n_iter = self.n_iterations
        if n_iter is None:
            n_iter = max(1, math.ceil(self.n_epochs * len(X_unl) / self.batch_size))
        lab_batches = _index_batches(len(X_lab), self.batch_size, rng)
        unl_batches = _index_batches(len(X_unl), self.batch_size, rng)
        history = np.empty((n_iter, 2))
        vae.train()
        disc.train()
        for it in range(n_iter):
            vae_losses = []
            for _ in range(N_VAE_STEPS):
                x_l = _read_rows(X_lab, next(lab_batches), device)
                x_u = _read_rows(X_unl, next(unl_batches), device)
                n_l = len(x_l)
                # one pass over both sets, so batch norm normalizes them alike
                recon, _, mu, logvar = vae(torch.cat([x_l, x_u]))
                loss = vae_loss(x_l, recon[:n_l], mu[:n_l], logvar[:n_l], self.beta)
                loss = loss + vae_loss(x_u, recon[n_l:], mu[n_l:], logvar[n_l:], self.beta)
                fool = torch.ones(len(mu), device=device)
                logits = disc(mu)
                adversarial = F.binary_cross_entropy_with_logits(
                    logits[:n_l], fool[:n_l]
                ) + F.binary_cross_entropy_with_logits(logits[n_l:], fool[n_l:])
                loss = loss + self.adversary_param * adversarial
                opt_vae.zero_grad()
                loss.backward()
                opt_vae.step()
                vae_losses.append(loss.item())
            for _ in range(N_DISCRIMINATOR_STEPS):
                with torch.no_grad():
                    mu, _ = vae.encode(torch.cat([x_l, x_u]))
                logits = disc(mu)
                target = torch.zeros(len(mu), device=device)
                target[:n_l] = 1.0
                d_loss = F.binary_cross_entropy_with_logits(
                    logits[:n_l], target[:n_l]
                ) + F.binary_cross_entropy_with_logits(logits[n_l:], target[n_l:])
                opt_disc.zero_grad()  # also drops the VAE step's gradients
                d_loss.backward()
                opt_disc.step()
            history[it] = np.mean(vae_losses), d_loss.item()
        self.vae_ = vae.eval()
        self.discriminator_ = disc.eval()
        self.volume_shape_ = tuple(int(s) for s in X_lab.shape[2:])
        self.n_iterations_ = n_iter
        self.history_ = {"vae_loss": history[:, 0], "discriminator_loss": history[:, 1]}

    def _logits(self, X):
        """Return the discriminator's "labeled" logit of each volume, batched, without grad."""
        device = next(self.vae_.parameters()).device
        out = np.empty(len(X), np.float64)
        with torch.no_grad():
            for start, stop, batch in iter_batches(X, self.batch_size):
                mu, _ = self.vae_.encode(torch.from_numpy(batch).to(device))
                out[start:stop] = self.discriminator_(mu).double().cpu().numpy()
        return out

    # ----------------------------------------------------------------- score
    def score_samples(self, estimator, X):
        """Return the last query's discriminator probability that each volume is unlabeled.

        ``1 - p_labeled``, from the VAE and discriminator trained by the last
        call; higher means less like the labeled set (more informative to VAAL).
        Nothing is trained here.

        Parameters
        ----------
        estimator : modAL learner, CryoNetClassifier, Pipeline or None
            Only a Pipeline's transformers are used (applied to ``X`` as in
            the query); pass the same learner as to the query, or ``None``.
        X : array-like of shape (n_samples, C, D, H, W) or (n_samples, D, H, W)
            Volumes of the shape of the last query; memory maps are read
            batch by batch.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Probabilities in [0, 1].

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If no query has been run yet.
        """
        if not hasattr(self, "vae_"):
            raise NotFittedError(
                "This VAALQuery has no trained VAE and discriminator yet: they are "
                "trained by a query. Call it first, e.g. learner.query(X_pool) or "
                "query(learner, X_pool, X_labeled=X_lab)."
            )
        transform, _ = resolve_estimator(estimator)
        X = self._apply_transform(X, transform, "X")
        X = check_volumes(X, name="X", n_channels=self.vae_.in_channels)
        _check_same_shape(X, self.volume_shape_, "X", "the volumes of the last query")
        return expit(-self._logits(X))

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({params})"


def _n_channels(X):
    shape = X.shape if hasattr(X, "shape") else np.shape(X)
    return int(shape[1]) if len(shape) == 5 else 1


def _check_same_shape(X, volume_shape, name, other):
    spatial = tuple(int(s) for s in X.shape[2:])
    if spatial != tuple(volume_shape):
        raise ValueError(
            f"{name} holds volumes of shape {spatial} but {other} have shape "
            f"{tuple(volume_shape)}; VAAL needs one volume shape, so resample or crop "
            "them to match."
        )
