"""BADGE: k-means++ seeding on last-layer gradient embeddings (Ash et al. 2020)."""

import numbers

import numpy as np
import torch
from scipy.special import softmax
from sklearn.utils import check_random_state

from ._base import BaseQueryStrategy, rows
from ._dask import DaskPool
from ._mc_dropout import _output_logits


def _sq_norms(E):
    return np.einsum("ij,ij->i", E, E, dtype=np.float64)


def gradient_factors(proba, embedding):
    r"""Return the two factors of the last-layer gradient embeddings.

    The gradient of the cross-entropy at the predicted label
    :math:`\hat y = \arg\max_c p_c` with respect to the weights of the last
    linear layer is the outer product :math:`g = a \otimes h`, with
    :math:`a = p - \mathrm{onehot}(\hat y)` and :math:`h` the layer's input
    (the penultimate embedding). :math:`g` is never formed: the functions of
    this module work on ``(a, h)``.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        Softmax posteriors.
    embedding : ndarray of shape (n_samples, n_features)
        Penultimate embeddings.

    Returns
    -------
    a : ndarray of shape (n_samples, n_classes)
        ``proba - onehot(argmax proba)``, float64.
    h : ndarray of shape (n_samples, n_features)
        ``embedding`` as float64.
    """
    a = np.array(proba, dtype=np.float64)
    a[np.arange(len(a)), a.argmax(axis=1)] -= 1.0
    return a, np.asarray(embedding, dtype=np.float64)


def gradient_sq_distances(a, h, a_centers, h_centers, block_size=1024):
    r"""Return squared distances between gradient embeddings, without forming them.

    With :math:`g_i = a_i \otimes h_i`,
    :math:`\|g_i - g_j\|^2 = \|a_i\|^2\|h_i\|^2 + \|a_j\|^2\|h_j\|^2
    - 2 \langle a_i, a_j\rangle\langle h_i, h_j\rangle`, so memory is
    O(n_samples * (n_classes + n_features)) for the factors plus
    O(block_size * n_centers) per block, instead of
    O(n_samples * n_classes * n_features) for the embeddings.

    Parameters
    ----------
    a, h : ndarray of shape (n_samples, n_classes) and (n_samples, n_features)
        Factors of the rows (see :func:`gradient_factors`).
    a_centers, h_centers : ndarray of shape (n_centers, n_classes) and (n_centers, n_features)
        Factors of the centers.
    block_size : int, default=1024
        Rows per block.

    Returns
    -------
    sq_dist : ndarray of shape (n_samples, n_centers)
        Clipped at 0 (rounding can make equal embeddings slightly negative).
    """
    a, h = np.asarray(a, np.float64), np.asarray(h, np.float64)
    a_c, h_c = np.asarray(a_centers, np.float64), np.asarray(h_centers, np.float64)
    c_norms = _sq_norms(a_c) * _sq_norms(h_c)
    out = np.empty((len(a), len(a_c)))
    for i in range(0, len(a), block_size):
        ab, hb = a[i : i + block_size], h[i : i + block_size]
        r_norms = _sq_norms(ab) * _sq_norms(hb)
        cross = (ab @ a_c.T) * (hb @ h_c.T)
        out[i : i + block_size] = r_norms[:, None] + c_norms[None, :] - 2.0 * cross
    return np.maximum(out, 0.0)


def kmeans_pp_gradient(a, h, n_instances, random_state=None, block_size=1024):
    r"""Select rows by k-means++ seeding on the gradient embeddings a_i (x) h_i.

    The first row is the one of largest gradient norm
    :math:`\|g_i\| = \|a_i\|\|h_i\|` (as in the reference implementation
    of BADGE; ties go to the lower index); each next row is drawn with
    probability proportional to its squared distance to the nearest row
    already selected (:math:`D^2` sampling). A row is never drawn twice; when
    every remaining row coincides with a selected one, the next is drawn
    uniformly among the remaining rows.

    Parameters
    ----------
    a, h : ndarray of shape (n_samples, n_classes) and (n_samples, n_features)
        Factors of the gradient embeddings (see :func:`gradient_factors`).
    n_instances : int
        Number of rows to select (at most ``n_samples``).
    random_state : int, RandomState instance or None, default=None
        Draws the :math:`D^2` samples; ``None`` uses fresh entropy (not the
        global ``np.random`` state).
    block_size : int, default=1024
        Rows per block of the distance updates.

    Returns
    -------
    indices : ndarray of shape (n_instances,)
        Rows in selection order.
    """
    a, h = np.asarray(a, np.float64), np.asarray(h, np.float64)
    n = len(a)
    rng = np.random.RandomState() if random_state is None else check_random_state(random_state)
    norms = _sq_norms(a) * _sq_norms(h)
    dist = np.full(n, np.inf)
    available = np.ones(n, dtype=bool)
    selected = np.empty(n_instances, dtype=np.intp)
    for k in range(n_instances):
        if k == 0:
            idx = int(np.argmax(norms))
        else:
            weights = np.where(available, dist, 0.0)
            total = weights.sum()
            if total > 0 and np.isfinite(total):
                # inverse-CDF draw: one uniform per pick, reproducible for a seed
                cdf = np.cumsum(weights / total)
                idx = int(np.searchsorted(cdf, rng.uniform() * cdf[-1], side="right"))
                idx = min(idx, n - 1)
                if not available[idx]:  # rounding at a zero-weight boundary
                    idx = int(np.flatnonzero(available & (weights > 0))[0])
            else:
                idx = int(rng.choice(np.flatnonzero(available)))
        selected[k] = idx
        available[idx] = False
        d = gradient_sq_distances(a, h, a[idx : idx + 1], h[idx : idx + 1], block_size)[:, 0]
        np.minimum(dist, d, out=dist)
    return selected


class _EmbedAndLogits:
    """``xb -> [embed(xb), logits(xb)]`` in one pass for :meth:`map_batches`.

    For :class:`~skcryoal.nn.ResNet3D`-like modules, whose logits are
    ``fc(drop(embed(x)))``, the head is applied to the embedding (checked on the
    first batch against ``forward``); other modules get a second forward pass.
    """

    output_name = "embeddings and logits"

    def __init__(self, module):
        self.module = module
        self.shortcut = None
        self.n_features = None

    def __call__(self, xb):
        m = self.module
        emb = m.embed(xb).flatten(1)
        self.n_features = emb.shape[1]
        has_head = all(callable(getattr(m, name, None)) for name in ("drop", "fc"))
        if self.shortcut is None:
            full = _output_logits(m(xb))
            head = m.fc(m.drop(emb)) if has_head else None
            self.shortcut = (
                head is not None
                and head.shape == full.shape
                and bool(torch.allclose(full, head, rtol=1e-4, atol=1e-5))
            )
            logits = full
        elif self.shortcut:
            logits = m.fc(m.drop(emb))
        else:
            logits = _output_logits(m(xb))
        return torch.cat([emb, logits.to(emb.dtype)], dim=1)


def embedding_and_proba(classifier, X, batch_size=None, strategy="BADGEQuery"):
    """Return the task model's penultimate embedding and softmax posterior, in one pass.

    Parameters
    ----------
    classifier : CryoNetClassifier
        A fitted classifier whose ``module_`` has an ``embed`` method.
    X : array-like of shape (n_samples, 1, D, H, W)
    batch_size : int or None, default=None
        Volumes per forward pass; ``None`` uses the classifier's ``batch_size``.
    strategy : str, default="BADGEQuery"
        Name used in error messages.

    Returns
    -------
    embedding : ndarray of shape (n_samples, n_features)
    proba : ndarray of shape (n_samples, n_classes)
        float64.
    """
    module = getattr(classifier, "module_", None)
    if not hasattr(classifier, "map_batches") or not callable(getattr(module, "embed", None)):
        raise TypeError(
            f"{strategy} needs a fitted classifier with map_batches() and a module_ with an "
            "embed() method, such as skcryoal.CryoNetClassifier with ResNet3D; got "
            f"{type(classifier).__name__}."
        )
    fn = _EmbedAndLogits(module)
    (both,) = classifier.map_batches(X, [fn], batch_size=batch_size)
    logits = both[:, fn.n_features :].astype(np.float64)
    return both[:, : fn.n_features], softmax(logits, axis=1)


class BADGEQuery(BaseQueryStrategy):
    r"""Query by batch active learning by diverse gradient embeddings (Ash et al., ICLR 2020).

    Each pool volume is represented by the gradient of the cross-entropy at
    the task model's own prediction :math:`\hat y = \arg\max_c p_c` with
    respect to the weights of the last linear layer,

    .. math:: g = (p - \mathrm{onehot}(\hat y)) \otimes h,

    where :math:`p` is the softmax posterior and :math:`h` the penultimate
    embedding (:meth:`CryoNetClassifier.embed`). Its norm grows with the
    model's uncertainty (:math:`\|p - \mathrm{onehot}(\hat y)\|`) and its
    direction encodes the volume's features, so k-means++ seeding on the
    :math:`g` picks a batch that is both uncertain and diverse. The first
    volume is the one of largest gradient norm, as in the authors' reference
    code (k-means++ proper draws it uniformly); each next one is drawn with
    probability proportional to its squared distance to the nearest volume
    already selected, from ``random_state``.

    Embedding and posterior come from one pass over the pool (for
    :class:`~skcryoal.nn.ResNet3D`, the head is applied to the embedding). The
    gradient embeddings, of dimension ``n_classes * n_features``, are never
    formed: their squared distances factorize as
    :math:`\|a_i\|^2\|h_i\|^2 + \|a_j\|^2\|h_j\|^2 - 2\langle a_i, a_j\rangle
    \langle h_i, h_j\rangle` with :math:`a = p - \mathrm{onehot}(\hat y)`, so
    memory is O(n_pool * (n_classes + n_features)) and each selected volume
    costs one O(n_pool * (n_classes + n_features)) update.

    Parameters
    ----------
    batch_size : int or None, default=None
        Volumes per forward pass; ``None`` uses the classifier's ``batch_size``.
    block_size : int, default=1024
        Rows per block of the distance computations.
    subsample : int or None, default=None
        Select from a random subset of the pool of this size; ``None`` uses all.
    random_state : int, RandomState instance or None, default=None
        Draws the subset and the :math:`D^2` samples. An int gives the same
        selection for the same pool and model; ``None`` uses fresh entropy.

    See Also
    --------
    CoreSetQuery : diversity alone, on the embedding :math:`h`.

    Notes
    -----
    Unlike the score-based strategies the selection is a set, not a ranking by
    an independent per-volume score; :meth:`score_samples` returns the gradient
    norm :math:`\|g\|`, the criterion of the first pick only.

    References
    ----------
    J. T. Ash, C. Zhang, A. Krishnamurthy, J. Langford and A. Agarwal, "Deep
    batch active learning by diverse, uncertain gradient lower bounds", ICLR
    2020.

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal import ActiveLearner, CryoNetClassifier
    >>> from skcryoal.query import BADGEQuery
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 1, 16, 16, 16)).astype(np.float32)
    >>> y = np.arange(30) % 3
    >>> learner = ActiveLearner(
    ...     CryoNetClassifier(module__width=4, max_epochs=1, random_state=0),
    ...     query_strategy=BADGEQuery(random_state=0), X_training=X[:6], y_training=y[:6])
    >>> idx, X_query = learner.query(X[6:], n_instances=4)
    >>> idx.shape, len(set(idx))
    ((4,), 4)
    """

    order = "highest"

    def __init__(self, batch_size=None, block_size=1024, subsample=None, random_state=None):
        self.batch_size = batch_size
        self.block_size = block_size
        self.subsample = subsample
        self.random_state = random_state

    def _validate_params(self):
        super()._validate_params()
        value = self.block_size
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"block_size must be a positive integer; got {value!r}.")

    def _factors(self, classifier, X):
        if isinstance(X, DaskPool):  # computed on the workers; k-means++ runs here
            return X.map(self, classifier, "_factors_block")
        embedding, proba = embedding_and_proba(classifier, X, self.batch_size, "BADGEQuery")
        return gradient_factors(proba, embedding)

    def _factors_block(self, classifier, X, offset):
        return self._factors(classifier, X)

    def score_samples(self, estimator, X):
        r"""Return the norm of each volume's last-layer gradient embedding.

        Parameters
        ----------
        estimator : CryoNetClassifier, Pipeline ending in one, or modAL learner
            A fitted model.
        X : array-like of shape (n_samples, 1, D, H, W) or (n_samples, D, H, W)
            Volumes.

        Returns
        -------
        norms : ndarray of shape (n_samples,)
            :math:`\|p - \mathrm{onehot}(\hat y)\| \, \|h\|`.
        """
        self._validate_params()
        classifier, X = self._prepare(estimator, X)
        a, h = self._factors(classifier, X)
        return np.sqrt(_sq_norms(a) * _sq_norms(h))

    def __call__(self, learner, X_pool, n_instances=1):
        """Select ``n_instances`` rows of ``X_pool`` by k-means++ on gradient embeddings.

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
            Unique row indices into ``X_pool``, in selection order.
        """
        self._validate_params()
        classifier, X = self._prepare(learner, X_pool)
        # None: fresh entropy rather than the global np.random state
        rng = (
            np.random.RandomState()
            if self.random_state is None
            else check_random_state(self.random_state)
        )
        candidates, n_instances = self._candidates(len(X), n_instances, rng)
        a, h = self._factors(classifier, rows(X, candidates))
        selected = kmeans_pp_gradient(a, h, n_instances, rng, self.block_size)
        return selected if candidates is None else candidates[selected]
