"""Core-set selection: greedy k-center on the task model's embedding."""

import numbers

import numpy as np
from sklearn.utils import check_random_state

from ._base import BaseQueryStrategy, EmbeddingMixin, rows


def _sq_norms(E):
    return np.einsum("ij,ij->i", E, E, dtype=np.float64)


def min_sq_distances(E, centers, block_size=1024):
    """Return the squared Euclidean distance of each row of ``E`` to its nearest center.

    Distances are computed in blocks of ``block_size`` rows and centers, so memory
    stays O(block_size**2) whatever the sizes.

    Parameters
    ----------
    E : ndarray of shape (n_samples, n_features)
    centers : ndarray of shape (n_centers, n_features)
    block_size : int, default=1024

    Returns
    -------
    sq_dist : ndarray of shape (n_samples,)
        ``inf`` everywhere when there is no center.
    """
    out = np.full(len(E), np.inf)
    c_norms = _sq_norms(centers)
    for i in range(0, len(E), block_size):
        rows = E[i : i + block_size].astype(np.float64)
        r_norms = _sq_norms(rows)
        for j in range(0, len(centers), block_size):
            cols = centers[j : j + block_size].astype(np.float64)
            d = r_norms[:, None] - 2.0 * rows @ cols.T + c_norms[None, j : j + block_size]
            np.minimum(out[i : i + block_size], d.min(axis=1), out=out[i : i + block_size])
    return np.maximum(out, 0.0)


def greedy_k_center(E, n_instances, min_sq_dist=None, first=None, block_size=1024):
    """Select rows of ``E`` by the greedy 2-approximation of the k-center problem.

    Each step adds the row farthest from its nearest center (the labeled set plus
    the rows already selected) and updates the nearest-center distances in
    O(n_samples * n_features), block by block.

    Parameters
    ----------
    E : ndarray of shape (n_samples, n_features)
        Embeddings of the candidates.
    n_instances : int
        Number of rows to select (at most ``n_samples``).
    min_sq_dist : ndarray of shape (n_samples,) or None, default=None
        Squared distance of each row to its nearest labeled center; ``None`` when
        there is no labeled set, in which case ``first`` is selected first.
    first : int or None, default=None
        Row selected first when ``min_sq_dist`` is None.
    block_size : int, default=1024
        Rows per block of the distance updates.

    Returns
    -------
    indices : ndarray of shape (n_instances,)
        Rows of ``E`` in selection order; ties go to the lower index.
    """
    n = len(E)
    # one float64 copy: exact distances, and a matrix-vector product per center
    # that is faster than mixing float32 rows with a float64 center
    E = np.asarray(E, dtype=np.float64)
    norms = _sq_norms(E)
    dist = np.full(n, np.inf) if min_sq_dist is None else np.array(min_sq_dist, np.float64)
    selected = np.empty(n_instances, dtype=np.intp)
    for k in range(n_instances):
        if k == 0 and min_sq_dist is None:
            idx = 0 if first is None else int(first)
        else:
            idx = int(np.argmax(dist))
        selected[k] = idx
        center = E[idx]
        c_norm = center @ center
        for i in range(0, n, block_size):
            d = norms[i : i + block_size] - 2.0 * (E[i : i + block_size] @ center) + c_norm
            np.minimum(dist[i : i + block_size], d, out=dist[i : i + block_size])
        # never pick a row twice, even when the remaining rows duplicate centers
        dist[selected[: k + 1]] = -np.inf
    return selected


class CoreSetQuery(EmbeddingMixin, BaseQueryStrategy):
    """Query a core-set of the pool (Sener and Savarese, ICLR 2018).

    Greedy k-center on the task model's penultimate embedding
    (:meth:`CryoNetClassifier.embed`): starting from the labeled volumes as
    centers, repeatedly select the pool volume farthest (Euclidean distance)
    from its nearest center and make it a center. This is the greedy
    2-approximation of the k-center problem used by the paper's baseline (the
    mixed-integer refinement of Sener and Savarese is not implemented).

    The labeled set is, in order of precedence, the ``X_labeled`` keyword of
    the call (``learner.query(X_pool, n_instances=5, X_labeled=X_lab)`` forwards
    it), or the ``X_training`` of the modAL learner passed as ``learner``. With
    neither (a bare classifier, or an empty labeled set) the first center is a
    random pool volume drawn from ``random_state``, and it is selected.

    Unlike the score-based strategies the selection is a set, not a ranking by
    an independent per-volume score; :meth:`score_samples` returns the distance
    of each volume to its nearest labeled volume, which is the first step's
    criterion only.

    Parameters
    ----------
    batch_size : int or None, default=None
        Volumes per forward pass; ``None`` uses the classifier's ``batch_size``.
    block_size : int, default=1024
        Rows per block of the distance computations: beyond the embeddings
        (kept in float64, 400 MB for 1e5 volumes of 512 features), memory is
        O(block_size**2) for any pool and labeled set.
    subsample : int or None, default=None
        Select from a random subset of the pool of this size; ``None`` uses all.
    random_state : int, RandomState instance or None, default=None
        Draws the subset, and the first center when there is no labeled set.

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal import ActiveLearner, CryoNetClassifier
    >>> from skcryoal import CoreSetQuery
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 1, 16, 16, 16)).astype(np.float32)
    >>> y = np.arange(30) % 3
    >>> learner = ActiveLearner(
    ...     CryoNetClassifier(module__width=4, max_epochs=1, random_state=0),
    ...     query_strategy=CoreSetQuery(), X_training=X[:6], y_training=y[:6])
    >>> idx, X_query = learner.query(X[6:], n_instances=4)
    >>> idx.shape, X_query.shape
    ((4,), (4, 1, 16, 16, 16))
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

    def score_samples(self, estimator, X, X_labeled=None):
        """Return the distance of each volume to its nearest labeled volume.

        Parameters
        ----------
        estimator : CryoNetClassifier, Pipeline ending in one, or modAL learner
            A fitted model; a learner's ``X_training`` is the labeled set unless
            ``X_labeled`` is given.
        X : array-like of shape (n_samples, 1, D, H, W) or (n_samples, D, H, W)
            Volumes.
        X_labeled : array-like of shape (n_labeled, 1, D, H, W) or None, default=None
            The labeled volumes.

        Returns
        -------
        distances : ndarray of shape (n_samples,)
            Euclidean distances in the embedding space.
        """
        self._validate_params()
        classifier, X = self._prepare(estimator, X)
        centers = self._labeled_embedding(estimator, classifier, X_labeled)
        if centers is None:
            raise ValueError(
                "CoreSetQuery.score_samples needs a labeled set: pass X_labeled=..., or a "
                "modAL learner whose X_training is not empty."
            )
        E = self._embed(classifier, X)
        return np.sqrt(min_sq_distances(E, centers, self.block_size))

    def __call__(self, learner, X_pool, n_instances=1, X_labeled=None):
        """Select ``n_instances`` rows of ``X_pool`` by greedy k-center.

        Parameters
        ----------
        learner : modAL learner, CryoNetClassifier or Pipeline
            A fitted model. A learner's ``X_training`` gives the initial centers
            unless ``X_labeled`` is given.
        X_pool : array-like of shape (n_pool, 1, D, H, W) or (n_pool, D, H, W)
            Unlabeled volumes (ndarray, memory map or lazy array).
        n_instances : int, default=1
            Number of volumes to select.
        X_labeled : array-like of shape (n_labeled, 1, D, H, W) or None, default=None
            The labeled volumes (initial centers).

        Returns
        -------
        indices : ndarray of shape (n_instances,)
            Unique row indices into ``X_pool``, in greedy selection order.
        """
        self._validate_params()
        classifier, X = self._prepare(learner, X_pool)
        rng = check_random_state(self.random_state)
        candidates, n_instances = self._candidates(len(X), n_instances, rng)
        centers = self._labeled_embedding(learner, classifier, X_labeled)
        E = self._embed(classifier, rows(X, candidates))
        if centers is None:
            min_sq, first = None, int(rng.randint(len(E)))
        else:
            min_sq, first = min_sq_distances(E, centers, self.block_size), None
        selected = greedy_k_center(E, n_instances, min_sq, first, self.block_size)
        return selected if candidates is None else candidates[selected]
