"""Shared machinery of score-based query strategies."""

import numbers

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state

from ..utils._batches import RowSubset
from ..utils._validation import check_n_instances, check_volumes
from ._dask import DaskPool, unwrap_dask


def rows(X, candidates):
    """``X`` itself, or a lazy view of its ``candidates`` rows (None: all rows)."""
    if isinstance(X, DaskPool):
        return X.subset(candidates)
    return X if candidates is None else RowSubset(X, candidates)


def resolve_estimator(learner_or_estimator):
    """Split a learner / pipeline / classifier into (preprocessing, classifier).

    Parameters
    ----------
    learner_or_estimator : modAL learner, sklearn Pipeline or CryoNetClassifier
        A modAL learner is unwrapped to its ``estimator``; a Pipeline to its
        transformers and final step.

    Returns
    -------
    transform : Pipeline or None
        The pipeline without its last step (applied batch by batch), if any.
    classifier : estimator
        The final estimator.
    """
    est = learner_or_estimator
    if hasattr(est, "query_strategy") and hasattr(est, "estimator"):  # modAL learner
        est = est.estimator
    if isinstance(est, Pipeline):
        return (est[:-1] if len(est) > 1 else None), est[-1]
    return None, est


class _TransformedRows:
    """Lazy view applying a fitted transformer to the rows read from ``X``."""

    def __init__(self, X, transform):
        self.X, self.transform = X, transform
        probe = np.asarray(transform.transform(np.asarray(X[:1], dtype=np.float32)))
        self.shape = (len(X), *probe.shape[1:])
        self.dtype = probe.dtype
        self.ndim = len(self.shape)

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, key):
        rows = key[0] if isinstance(key, tuple) else key
        out = np.asarray(self.transform.transform(np.asarray(self.X[rows], dtype=np.float32)))
        return out[(slice(None), *key[1:])] if isinstance(key, tuple) else out


class BaseQueryStrategy:
    """Base class of score-based query strategies.

    A strategy is a callable with modAL's contract
    ``strategy(learner, X_pool, n_instances=1) -> indices``: it scores the pool
    (or a random subset of it) with :meth:`score_samples` and returns the
    indices of the ``n_instances`` best-scored rows of ``X_pool``. modAL's
    ``ActiveLearner.query`` then returns ``(indices, X_pool[indices])``.

    Subclasses implement ``_score(classifier, X)`` returning one
    float per row of ``X``, higher meaning more informative.

    Parameters
    ----------
    order : {"highest", "lowest"}, default="highest"
        Select the highest or the lowest scores.
    subsample : int or None, default=None
        Score only a random subset of this many pool volumes (the paper scores
        12000 of the unlabeled pool); ``None`` scores the whole pool.
    batch_size : int or None, default=None
        Volumes per forward pass; ``None`` uses the classifier's ``batch_size``.
    random_state : int, RandomState instance or None, default=None
        Draws the subset. An int gives the same subset for the same pool size.
    """

    #: whether querying needs a fitted model
    requires_fit = True

    def __init__(self, order="highest", subsample=None, batch_size=None, random_state=None):
        self.order = order
        self.subsample = subsample
        self.batch_size = batch_size
        self.random_state = random_state

    def _validate_params(self):
        if self.order not in ("highest", "lowest"):
            raise ValueError(f"order must be 'highest' or 'lowest'; got {self.order!r}.")
        for name in ("subsample", "batch_size"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1
            ):
                raise ValueError(f"{name} must be None or a positive integer; got {value!r}.")

    def _check_pool(self, classifier, X_pool):
        in_channels = getattr(getattr(classifier, "module_", None), "in_channels", 1)
        return check_volumes(
            X_pool,
            name="X_pool",
            n_channels=in_channels,
            check_finite=False,
            volume_shape=getattr(classifier, "volume_shape_", None),
        )

    def _prepare(self, estimator, X):
        transform, classifier = resolve_estimator(estimator)
        if hasattr(classifier, "_check_fitted"):
            classifier._check_fitted()
        dask_array = unwrap_dask(X)
        if dask_array is not None:  # scored partition by partition, on dask workers
            return classifier, DaskPool(dask_array, transform)
        if transform is not None:
            X = check_volumes(X, name="X_pool", check_finite=False)
            X = _TransformedRows(X, transform)
        return classifier, self._check_pool(classifier, X)

    def score_samples(self, estimator, X):
        """Return the informativeness score of each volume.

        Parameters
        ----------
        estimator : CryoNetClassifier, Pipeline ending in one, or modAL learner
            A fitted model.
        X : array-like of shape (n_samples, 1, D, H, W) or (n_samples, D, H, W)
            Volumes; memory maps are read batch by batch.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            A lazy ``dask.array`` of the same shape when ``X`` is a dask array
            (computed on the workers of a running ``distributed.Client``).
        """
        self._validate_params()
        classifier, X = self._prepare(estimator, X)
        if isinstance(X, DaskPool):
            return X.scores(self, classifier)
        return self._score(classifier, X)

    def _score_block(self, classifier, X, offset):
        """Score the rows of one partition of a dask pool; ``offset`` is its first row.

        The default ignores ``offset``; strategies whose randomness is drawn
        per batch (MC dropout) use it so that scores do not depend on how the
        pool is partitioned.
        """
        return self._score(classifier, X)

    def _frozen(self):
        """Return the strategy with its per-query random draws fixed, to ship to workers."""
        return self

    def _candidates(self, n_pool, n_instances, rng=None):
        """Return (the subsampled rows or None, ``n_instances`` checked against them).

        ``rng`` draws the subsample (default: a generator seeded from
        ``random_state``); a strategy that needs more draws passes its own.
        """
        candidates = None
        if self.subsample is not None and self.subsample < n_pool:
            rng = check_random_state(self.random_state) if rng is None else rng
            candidates = np.sort(rng.choice(n_pool, size=self.subsample, replace=False))
        n_candidates = n_pool if candidates is None else len(candidates)
        what = (
            "the pool"
            if candidates is None
            else f"the scored subsample (subsample={self.subsample})"
        )
        return candidates, check_n_instances(n_instances, n_candidates, what=what)

    def __call__(self, learner, X_pool, n_instances=1):
        """Select ``n_instances`` rows of ``X_pool`` to label.

        Parameters
        ----------
        learner : modAL learner, CryoNetClassifier or Pipeline
            A fitted model.
        X_pool : array-like of shape (n_pool, 1, D, H, W) or (n_pool, D, H, W)
            Unlabeled volumes (ndarray, memory map or lazy array).
        n_instances : int, default=1
            Number of volumes to select.

        Returns
        -------
        indices : ndarray of shape (n_instances,)
            Unique row indices into ``X_pool``, best first.
        """
        self._validate_params()
        classifier, X = self._prepare(learner, X_pool)
        candidates, n_instances = self._candidates(len(X), n_instances)
        if isinstance(X, DaskPool):
            selected = X.subset(candidates).top(self, classifier, n_instances, self.order)
            return selected if candidates is None else candidates[selected]
        scores = self._score(classifier, rows(X, candidates))
        selected = select_top(scores, n_instances, order=self.order)
        return selected if candidates is None else candidates[selected]

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"


def select_top(scores, n_instances, order="highest"):
    """Return the indices of the ``n_instances`` highest (or lowest) scores.

    Ties are broken by the lower index, so the result is deterministic.

    Parameters
    ----------
    scores : ndarray of shape (n_samples,)
    n_instances : int
    order : {"highest", "lowest"}, default="highest"

    Returns
    -------
    indices : ndarray of shape (n_instances,)
        Best first.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if np.isnan(scores).any():
        raise ValueError("The query scores contain NaN; the model output is not finite.")
    key = -scores if order == "highest" else scores
    return np.argsort(key, kind="stable")[:n_instances]


class EmbeddingMixin:
    """Embedding of the pool and of the labeled set, for set-selecting strategies.

    Needs ``batch_size`` and either a classifier with ``embed`` (such as
    :class:`~skcryoal.classifier.CryoNetClassifier`) or, where the strategy has
    an ``embedder`` parameter, a fitted transformer (such as
    :class:`~skcryoal.pretraining.SubtomogramEmbedder`): then the embedding is
    ``embedder.transform`` of the volumes as given, and no fitted classifier is
    needed (``requires_fit`` is False: the strategy can pick a campaign's first
    labels).
    """

    @property
    def requires_fit(self):
        """Whether querying needs a fitted model: not with a pretrained ``embedder``."""
        return getattr(self, "embedder", None) is None

    def _prepare(self, estimator, X):
        embedder = getattr(self, "embedder", None)
        if embedder is None:
            return super()._prepare(estimator, X)
        if not hasattr(embedder, "transform"):
            raise TypeError(
                f"embedder must be a fitted transformer such as SubtomogramEmbedder; got "
                f"{type(embedder).__name__}."
            )
        classifier = None if estimator is None else resolve_estimator(estimator)[1]
        dask_array = unwrap_dask(X)
        if dask_array is not None:
            return classifier, DaskPool(dask_array, None)
        shape = getattr(embedder, "volume_shape_", None)
        return classifier, check_volumes(X, name="X_pool", check_finite=False, volume_shape=shape)

    def _embed(self, classifier, X):
        if isinstance(X, DaskPool):  # embedded on the workers, gathered here
            return X.map(self, classifier, "_embed_block")
        embedder = getattr(self, "embedder", None)
        if embedder is not None:
            return np.asarray(embedder.transform(X))
        if not hasattr(classifier, "embed"):
            raise TypeError(
                f"{type(self).__name__} needs a classifier with an embed() method, such as "
                f"skcryoal.CryoNetClassifier; got {type(classifier).__name__}."
            )
        return np.asarray(classifier.embed(X, batch_size=self.batch_size))

    def _seeded_rng(self):
        """A RandomState from ``random_state``; None: fresh entropy, not the global state."""
        if self.random_state is None:
            return np.random.RandomState()
        return check_random_state(self.random_state)

    def _stacked_embedding(self, learner, classifier, X, candidates, X_labeled):
        """Return ``(E, n_labeled)``: the labeled set's embedding above the candidates'."""
        E_lab = self._labeled_embedding(learner, classifier, X_labeled)
        E_pool = self._embed(classifier, rows(X, candidates))
        if E_lab is None:
            return E_pool, 0
        return np.concatenate([E_lab, E_pool]), len(E_lab)

    def _embed_block(self, classifier, X, offset):
        return self._embed(classifier, X)

    def _labeled_embedding(self, learner, classifier, X_labeled):
        """The embedding of ``X_labeled`` (default: the learner's ``X_training``), or None."""
        if X_labeled is None:
            X_labeled = getattr(learner, "X_training", None)
        if X_labeled is None or len(X_labeled) == 0:
            return None
        if getattr(self, "embedder", None) is not None:
            X_labeled = check_volumes(
                X_labeled,
                name="X_labeled",
                volume_shape=getattr(self.embedder, "volume_shape_", None),
                check_finite=False,
            )
            return self._embed(classifier, X_labeled)
        transform, _ = resolve_estimator(learner)
        X_labeled = check_volumes(X_labeled, name="X_labeled", check_finite=False)
        if transform is not None:
            X_labeled = _TransformedRows(X_labeled, transform)
        X_labeled = check_volumes(
            X_labeled,
            name="X_labeled",
            n_channels=getattr(getattr(classifier, "module_", None), "in_channels", 1),
            volume_shape=getattr(classifier, "volume_shape_", None),
            check_finite=False,
        )
        return self._embed(classifier, X_labeled)
