"""SubtomogramEmbedder: a 3D ResNet encoder trained on unlabeled subtomograms."""

import hashlib
import json
import time
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions, validate_parameter_constraints
from sklearn.utils.validation import check_is_fitted

from ..classifier._augment import augment_batch
from ..classifier._views import rotate_reimpose_wedge
from ..nn import ResNet3D
from ..utils._atomic import atomic_output
from ..utils._batches import iter_batches
from ..utils._random import draw_seed, torch_seed_context
from ..utils._validation import check_volumes
from ._objectives import OBJECTIVES

#: the parameters a checkpoint must share with the estimator to be resumed
_TRAINING_PARAMS = (
    "method", "width", "stem", "max_epochs", "batch_size", "lr", "weight_decay",
    "temperature", "projection_dim", "base_decay", "views", "tilt_range", "max_shift",
    "noise_std",
)  # fmt: skip


class SubtomogramEmbedder(TransformerMixin, BaseEstimator):
    """Learn subtomogram embeddings without labels (self-supervised pretraining).

    Trains a :class:`~skcryoal.nn.ResNet3D` encoder on unlabeled volumes so that
    two random views of the same particle map close together: SimCLR's
    contrastive loss (``method="simclr"``) or BYOL's self-distillation from an
    EMA teacher (``method="byol"``). A view is what a subtomogram of the same
    particle in another pose looks like (``views="rotations"``): a uniformly
    random 3D rotation, the missing wedge of ``tilt_range`` re-imposed
    (:func:`~skcryoal.classifier.rotate_reimpose_wedge`), a 180-degree turn and
    a shift of up to ``max_shift`` voxels, and optionally Gaussian noise.
    ``transform`` returns the encoder's pooled features: inputs for
    :class:`~sklearn.decomposition.PCA`, :class:`~sklearn.cluster.KMeans`,
    :class:`~sklearn.linear_model.LogisticRegression`, the embedding-based query
    strategies, or the starting weights of a
    :class:`~skcryoal.classifier.CryoNetClassifier` (its ``encoder`` parameter).

    Parameters
    ----------
    method : {"simclr", "byol"}, default="simclr"
        The objective (see above).
    width : int, default=16
        Encoder width (as ``ResNet3D(width=...)``); a classifier that starts
        from this encoder must use the same ``module__width``.
    stem : {"imagenet", "cifar"}, default="imagenet"
        Encoder stem (``module__stem`` of the classifier).
    max_epochs : int, default=30
        Passes over ``X``.
    batch_size : int, default=64
        Volumes per step (each seen as two views). SimCLR contrasts each view
        with the other ``2 * batch_size - 2``.
    lr : float, default=1e-3
        AdamW learning rate, with cosine decay over the epochs.
    weight_decay : float, default=1e-4
    temperature : float, default=0.2
        SimCLR's softmax temperature.
    projection_dim : int, default=128
        Output size of the projection head (discarded after training).
    base_decay : float, default=0.99
        BYOL's initial target decay (rising to 1 along a cosine).
    views : {"rotations", "half-turns"}, default="rotations"
        ``"half-turns"`` leaves out the 3D rotation and the wedge (only the 4
        wedge-preserving orientations, as in the classifier's ``augment=True``).
    tilt_range : tuple of 2 floats, default=(-60, 60)
        The data's tilt range, for the wedge of the views.
    max_shift : int, default=2
        Largest shift of the views, in voxels.
    noise_std : float, default=0.0
        Standard deviation of Gaussian noise added to each view.
    checkpoint : str, path-like or None, default=None
        A file where the training state is written (atomically) after every
        epoch. A ``fit`` that finds it resumes from its last epoch, as if never
        interrupted (every epoch is seeded from ``random_state`` and its number);
        it must have been written with the same training parameters.
    progress : bool, default=True
        Show a progress bar over the epochs (tqdm).
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the order of the volumes and the views.
    device : str, default="cpu"
        Torch device.

    Attributes
    ----------
    encoder_ : ResNet3D
        The trained encoder (its classification layer is unused).
    embedding_dim_ : int
        ``8 * width``: the number of features ``transform`` returns.
    volume_shape_ : tuple of int
    n_samples_fit_ : int
        The number of volumes it was trained on.
    n_epochs_ : int
        Epochs trained (``max_epochs`` after a complete fit).
    history_ : list of dict
        Per epoch: ``epoch``, ``loss`` (mean over steps), ``seconds``.
    seed_ : int
        The seed every epoch's randomness derives from.

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal.pretraining import SubtomogramEmbedder
    >>> X = np.random.default_rng(0).normal(size=(16, 1, 16, 16, 16)).astype(np.float32)
    >>> emb = SubtomogramEmbedder(width=4, max_epochs=1, batch_size=8, progress=False,
    ...                           random_state=0)
    >>> emb.fit_transform(X).shape
    (16, 32)
    """

    _parameter_constraints = {
        "method": [StrOptions(set(OBJECTIVES))],
        "width": [Interval(Integral, 1, None, closed="left")],
        "stem": [StrOptions({"imagenet", "cifar"})],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 2, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "projection_dim": [Interval(Integral, 1, None, closed="left")],
        "base_decay": [Interval(Real, 0, 1, closed="both")],
        "views": [StrOptions({"rotations", "half-turns"})],
        "tilt_range": [tuple, list, None],
        "max_shift": [Interval(Integral, 0, None, closed="left")],
        "noise_std": [Interval(Real, 0, None, closed="left")],
        "checkpoint": [str, Path, None],
        "progress": ["boolean"],
        "random_state": ["random_state"],
        "device": [str],
    }

    def __init__(
        self,
        method="simclr",
        *,
        width=16,
        stem="imagenet",
        max_epochs=30,
        batch_size=64,
        lr=1e-3,
        weight_decay=1e-4,
        temperature=0.2,
        projection_dim=128,
        base_decay=0.99,
        views="rotations",
        tilt_range=(-60, 60),
        max_shift=2,
        noise_std=0.0,
        checkpoint=None,
        progress=True,
        random_state=None,
        device="cpu",
    ):
        self.method = method
        self.width = width
        self.stem = stem
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.temperature = temperature
        self.projection_dim = projection_dim
        self.base_decay = base_decay
        self.views = views
        self.tilt_range = tilt_range
        self.max_shift = max_shift
        self.noise_std = noise_std
        self.checkpoint = checkpoint
        self.progress = progress
        self.random_state = random_state
        self.device = device

    # ------------------------------------------------------------------ training
    def _objective(self):
        encoder = ResNet3D(n_classes=2, width=self.width, stem=self.stem)
        if self.method == "simclr":
            return OBJECTIVES["simclr"](encoder, self.projection_dim, self.temperature)
        return OBJECTIVES["byol"](encoder, self.projection_dim, self.base_decay)

    def _training_params(self):
        params = {name: getattr(self, name) for name in _TRAINING_PARAMS}
        params["tilt_range"] = None if self.tilt_range is None else list(self.tilt_range)
        return params

    def _training_key(self, **context):
        """Digest of what decides the training: parameters, seed and ``context``.

        ``context`` is e.g. the pool; the digest names a checkpoint that only the
        same training may resume.
        """
        params = dict(self._training_params(), **context)
        params["random_state"] = repr(self.random_state)
        return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]

    def _view(self, X):
        if self.views == "rotations":
            X = rotate_reimpose_wedge(X, tilt_range=self.tilt_range)
        X = augment_batch(X, self.max_shift)
        if self.noise_std > 0:
            X = X + self.noise_std * torch.randn_like(X)
        return X

    def _load_checkpoint(self, path, objective, optimizer, scheduler):
        try:
            state = torch.load(path, map_location=self.device, weights_only=False)
            saved = state["params"]
        except Exception as exc:
            raise ValueError(
                f"Cannot resume from the checkpoint {str(path)!r}: it is not a "
                f"SubtomogramEmbedder checkpoint ({type(exc).__name__}: {exc}). Move it away "
                "or pass another checkpoint=..."
            ) from None
        ours = self._training_params()
        changed = {k: (saved.get(k), v) for k, v in ours.items() if saved.get(k) != v}
        if changed:
            listed = ", ".join(f"{k}: {a!r} there, {b!r} here" for k, (a, b) in changed.items())
            raise ValueError(
                f"The checkpoint {str(path)!r} was written with other training parameters "
                f"({listed}); fit with the same parameters to resume, or pass another "
                "checkpoint=... to start anew."
            )
        if saved_shape := state.get("volume_shape"):
            self._check_shape_matches(tuple(saved_shape), path)
        objective.load_state_dict(state["objective"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        return state["epoch"], state["seed"], state["history"]

    def _check_shape_matches(self, saved_shape, path):
        if saved_shape != self._fit_shape:
            raise ValueError(
                f"The checkpoint {str(path)!r} was trained on volumes of shape {saved_shape}; "
                f"these are {self._fit_shape}."
            )

    def _save_checkpoint(self, path, objective, optimizer, scheduler, epoch, seed, history):
        state = dict(
            params=self._training_params(),
            volume_shape=list(self._fit_shape),
            objective=objective.state_dict(),
            optimizer=optimizer.state_dict(),
            scheduler=scheduler.state_dict(),
            epoch=epoch,
            seed=seed,
            history=history,
        )
        with atomic_output(path) as tmp:
            torch.save(state, tmp)

    def fit(self, X, y=None):
        """Train the encoder on volumes ``X`` (labels are not used).

        Parameters
        ----------
        X : array-like of shape (n_samples, 1, D, H, W) or (n_samples, D, H, W)
            Unlabeled volumes (ndarray or memory map; read batch by batch).
        y : ignored

        Returns
        -------
        self : SubtomogramEmbedder
        """
        validate_parameter_constraints(
            self._parameter_constraints, self.get_params(deep=False), type(self).__name__
        )
        X = check_volumes(X, min_side=ResNet3D.min_side)
        if len(X) < self.batch_size:
            raise ValueError(
                f"SubtomogramEmbedder needs at least batch_size={self.batch_size} volumes; got "
                f"{len(X)}. Lower batch_size or give more volumes."
            )
        self._fit_shape = tuple(int(s) for s in X.shape[2:])
        seed = draw_seed(self.random_state)
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        with torch_seed_context(seed):
            objective = self._objective().to(self.device)
        params = (
            list(objective.trainable_parameters())
            if hasattr(objective, "trainable_parameters")
            else list(objective.parameters())
        )
        optimizer = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=self.max_epochs)
        start, history = 0, []
        path = None if self.checkpoint is None else Path(self.checkpoint)
        if path is not None and path.exists():
            start, seed, history = self._load_checkpoint(path, objective, optimizer, scheduler)
        steps_per_epoch = len(X) // self.batch_size
        total = steps_per_epoch * self.max_epochs
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.max_epochs, initial=start, desc="pretraining", unit="epoch")
        try:
            for epoch in range(start, self.max_epochs):
                t0 = time.perf_counter()
                epoch_seed = int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])
                losses = []
                with torch_seed_context(epoch_seed):
                    objective.train()
                    order = torch.randperm(len(X)).numpy()
                    for step in range(steps_per_epoch):
                        rows = np.sort(order[step * self.batch_size : (step + 1) * self.batch_size])
                        batch = torch.from_numpy(np.asarray(X[rows], dtype=np.float32))
                        batch = batch.to(self.device)
                        loss = objective.loss(self._view(batch), self._view(batch))
                        if not torch.isfinite(loss):
                            raise FloatingPointError(
                                f"Pretraining diverged: the loss became {loss.item()} in epoch "
                                f"{epoch + 1}. Standardize the volumes "
                                "(skcryoal.preprocessing.SubtomogramStandardizer) or lower lr "
                                f"(now {self.lr})."
                            )
                        optimizer.zero_grad()
                        loss.backward()
                        optimizer.step()
                        objective.after_step((epoch * steps_per_epoch + step + 1) / total)
                        losses.append(loss.item())
                scheduler.step()
                history.append(
                    dict(
                        epoch=epoch + 1,
                        loss=float(np.mean(losses)),
                        seconds=round(time.perf_counter() - t0, 3),
                    )
                )
                if path is not None:
                    self._save_checkpoint(
                        path, objective, optimizer, scheduler, epoch + 1, seed, history
                    )
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{history[-1]['loss']:.3f}")
        finally:
            if bar is not None:
                bar.close()
        self.encoder_ = objective.encoder.eval()
        self.embedding_dim_ = int(self.encoder_.embedding_dim)
        self.volume_shape_ = self._fit_shape
        self.n_samples_fit_ = int(len(X))
        self.n_epochs_ = len(history)
        self.history_ = history
        self.seed_ = seed
        return self

    # ---------------------------------------------------------------- inference
    def transform(self, X, batch_size=None):
        """Return the encoder's embedding of each volume.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1, D, H, W) or (n_samples, D, H, W)
        batch_size : int or None, default=None
            Volumes per forward pass; None uses ``batch_size``.

        Returns
        -------
        embedding : ndarray of shape (n_samples, ``embedding_dim_``)
        """
        check_is_fitted(self, "encoder_")
        X = check_volumes(X, volume_shape=self.volume_shape_)
        out = np.empty((len(X), self.embedding_dim_), dtype=np.float32)
        encoder = self.encoder_.eval()
        with torch.no_grad():
            for start, stop, batch in iter_batches(X, batch_size or self.batch_size):
                xb = torch.from_numpy(batch).to(self.device)
                out[start:stop] = encoder.embed(xb).float().cpu().numpy()
        return out

    def get_feature_names_out(self, input_features=None):
        """Names of the embedding's features: ``embedding0``, ``embedding1``, ..."""
        check_is_fitted(self, "encoder_")
        return np.array([f"embedding{i}" for i in range(self.embedding_dim_)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        return tags
