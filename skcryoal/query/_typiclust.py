"""TypiClust: the most typical volume of each uncovered cluster (Hacohen et al. 2022)."""

import numbers

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.neighbors import NearestNeighbors

from ._base import BaseQueryStrategy, EmbeddingMixin

#: above this many clusters MiniBatchKMeans replaces KMeans (as in the reference code)
MINIBATCH_ABOVE = 50
_MINIBATCH_SIZE = 5000


def mean_neighbor_distances(E, n_neighbors):
    """Return each row's mean Euclidean distance to its ``n_neighbors`` nearest other rows.

    Parameters
    ----------
    E : ndarray of shape (n_samples, n_features)
    n_neighbors : int
        At most ``n_samples - 1``.

    Returns
    -------
    distances : ndarray of shape (n_samples,)
    """
    E = np.asarray(E, dtype=np.float64)
    nn = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(E)
    dist, _ = nn.kneighbors(E)
    # column 0 is a zero distance: the row itself, or a duplicate of it (same value)
    return dist[:, 1:].mean(axis=1)


def typicality(E, n_neighbors=20):
    r"""Return TypiClust's typicality of each row: the inverse mean distance to its neighbours.

    :math:`\mathrm{Typicality}(x) = \big(\frac{1}{K}\sum_{x_i \in
    \mathrm{KNN}(x)} \|x - x_i\|_2\big)^{-1}`, with ``K = min(n_neighbors,
    n_samples // 2)`` (the reference code's cap for small clusters, at least 1).

    Parameters
    ----------
    E : ndarray of shape (n_samples, n_features)
        At least two rows.
    n_neighbors : int, default=20

    Returns
    -------
    typicality : ndarray of shape (n_samples,)
        ``inf`` for a row whose neighbours all coincide with it.
    """
    k = max(1, min(n_neighbors, len(E) // 2))
    with np.errstate(divide="ignore"):
        return 1.0 / mean_neighbor_distances(E, k)


def cluster_embedding(E, n_clusters, random_state=None):
    """Cluster rows with k-means (mini-batch k-means above ``MINIBATCH_ABOVE`` clusters).

    Parameters
    ----------
    E : ndarray of shape (n_samples, n_features)
    n_clusters : int
        At most ``n_samples``.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    labels : ndarray of shape (n_samples,)
        Cluster of each row, in ``[0, n_clusters)``.
    """
    E = np.asarray(E, dtype=np.float64)
    if n_clusters <= MINIBATCH_ABOVE:
        km = KMeans(n_clusters=n_clusters, random_state=random_state)
    else:
        km = MiniBatchKMeans(
            n_clusters=n_clusters, batch_size=_MINIBATCH_SIZE, random_state=random_state
        )
    return km.fit_predict(E)


def typiclust_select(E, clusters, is_labeled, n_instances, n_neighbors=20, min_cluster_size=5):
    """Pick the most typical unlabeled row of the largest uncovered cluster, repeatedly.

    At each step the cluster is the one with the fewest labeled or already
    selected rows, then the most rows (labeled included), then the lowest id,
    among the clusters that still hold an unselected unlabeled row; clusters
    with fewer than ``min_cluster_size`` rows come only after every larger one
    is exhausted. Its unselected unlabeled row of highest :func:`typicality`
    (computed among those rows, ties to the lower index) is selected.

    Parameters
    ----------
    E : ndarray of shape (n_samples, n_features)
        Embedding of the labeled and unlabeled rows.
    clusters : ndarray of shape (n_samples,)
        Non-negative cluster ids (see :func:`cluster_embedding`).
    is_labeled : ndarray of bool of shape (n_samples,)
    n_instances : int
        At most the number of unlabeled rows.
    n_neighbors : int, default=20
        ``K`` of the typicality.
    min_cluster_size : int, default=5
        Smaller clusters are used last.

    Returns
    -------
    indices : ndarray of shape (n_instances,)
        Rows of ``E`` (never labeled ones), in selection order.
    """
    clusters = np.asarray(clusters, dtype=np.intp)
    is_labeled = np.asarray(is_labeled, dtype=bool)
    n_clusters = int(clusters.max()) + 1
    sizes = np.bincount(clusters, minlength=n_clusters)
    covered = np.bincount(clusters[is_labeled], minlength=n_clusters)
    remaining = np.bincount(clusters[~is_labeled], minlength=n_clusters)
    available = ~is_labeled
    small = sizes < min_cluster_size
    ids = np.arange(n_clusters)
    selected = np.empty(n_instances, dtype=np.intp)
    for k in range(n_instances):
        open_ = remaining > 0
        # lexsort: last key first -> large clusters, then fewest covered, then by id
        order = np.lexsort((ids, -sizes, covered, small))
        cluster = order[open_[order]][0]
        rows = np.flatnonzero(available & (clusters == cluster))
        if len(rows) == 1:
            pick = rows[0]
        else:
            k_nn = max(1, min(n_neighbors, len(rows) // 2))
            pick = rows[int(np.argmin(mean_neighbor_distances(E[rows], k_nn)))]
        selected[k] = pick
        available[pick] = False
        covered[cluster] += 1
        remaining[cluster] -= 1
    return selected


class TypiClustQuery(EmbeddingMixin, BaseQueryStrategy):
    r"""Query the most typical volume of each uncovered cluster (Hacohen et al., ICML 2022).

    TypiClust targets the low-budget regime, where typical examples teach a
    model more than uncertain ones. The labeled volumes and the pool are
    embedded and clustered into ``min(n_labeled + n_instances, max_clusters)``
    clusters by k-means (:class:`~sklearn.cluster.MiniBatchKMeans` above 50
    clusters, as in the authors' code). Then, ``n_instances`` times, the
    cluster with the fewest labeled or selected volumes (ties: the largest) gives
    its most typical unselected pool volume, typicality being the inverse
    mean Euclidean distance to the ``K = min(n_neighbors, m // 2)`` nearest
    of the cluster's ``m`` unselected pool volumes. Clusters of fewer than
    ``min_cluster_size`` volumes are used only once the others are exhausted.

    The paper embeds with a self-supervised model (SimCLR) trained on the
    whole pool: pass one as ``embedder`` (a fitted
    :class:`~skcryoal.pretraining.SubtomogramEmbedder`), and the strategy
    needs no fitted classifier, so it can pick a campaign's first labels (a
    cold start). Without it the embedding is the task model's penultimate
    layer (:meth:`CryoNetClassifier.embed`, as core-set uses).

    The labeled set is, in order of precedence, the ``X_labeled`` keyword of
    the call, or the ``X_training`` of the modAL learner passed as
    ``learner``; with neither, the pool alone is clustered into
    ``min(n_instances, max_clusters)`` clusters.

    Parameters
    ----------
    n_neighbors : int, default=20
        ``K`` of the typicality (the paper's 20).
    max_clusters : int, default=500
        Cap on the number of clusters (the paper's 500); beyond it several
        volumes come from the same cluster.
    min_cluster_size : int, default=5
        Clusters smaller than this are used last (the authors' code ignores
        clusters of 5 volumes or fewer).
    batch_size : int or None, default=None
        Volumes per forward pass; ``None`` uses the classifier's ``batch_size``.
    subsample : int or None, default=None
        Select from a random subset of the pool of this size; ``None`` uses
        all. The whole labeled set is clustered with it.
    random_state : int, RandomState instance or None, default=None
        Draws the subset and seeds k-means; ``None`` uses fresh entropy.
    embedder : fitted transformer or None, default=None
        Gives the embedding (``embedder.transform(X)``, on the volumes as given:
        a learner's preprocessing is not applied) instead of the classifier.

    See Also
    --------
    CoreSetQuery : covers the embedding instead of sampling its dense regions.

    Notes
    -----
    Cost: one inference pass over the labeled set and the pool, k-means on
    the embeddings, and a nearest-neighbour search within one cluster per
    selected volume.

    References
    ----------
    G. Hacohen, A. Dekel and D. Weinshall, "Active learning on a budget:
    opposite strategies suit high and low budgets", ICML 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal import ActiveLearner, CryoNetClassifier
    >>> from skcryoal.query import TypiClustQuery
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 1, 16, 16, 16)).astype(np.float32)
    >>> y = np.arange(30) % 3
    >>> learner = ActiveLearner(
    ...     CryoNetClassifier(module__width=4, max_epochs=1, random_state=0),
    ...     query_strategy=TypiClustQuery(random_state=0), X_training=X[:6], y_training=y[:6])
    >>> idx, X_query = learner.query(X[6:], n_instances=4)
    >>> idx.shape, len(set(idx))
    ((4,), 4)
    """

    order = "highest"

    def __init__(
        self,
        n_neighbors=20,
        max_clusters=500,
        min_cluster_size=5,
        batch_size=None,
        subsample=None,
        random_state=None,
        embedder=None,
    ):
        self.n_neighbors = n_neighbors
        self.max_clusters = max_clusters
        self.min_cluster_size = min_cluster_size
        self.embedder = embedder
        self.batch_size = batch_size
        self.subsample = subsample
        self.random_state = random_state

    def _validate_params(self):
        super()._validate_params()
        for name in ("n_neighbors", "max_clusters", "min_cluster_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}.")

    def score_samples(self, estimator, X):
        """Not available: TypiClust selects a set, it does not score volumes.

        Raises
        ------
        TypeError
            Always.
        """
        raise TypeError(
            "TypiClustQuery has no per-volume score: typicality depends on the clustering "
            "of the labeled set and the pool; call the strategy to select volumes."
        )

    def __call__(self, learner, X_pool, n_instances=1, X_labeled=None):
        """Select ``n_instances`` rows of ``X_pool`` by TypiClust.

        Parameters
        ----------
        learner : modAL learner, CryoNetClassifier, Pipeline or None
            A fitted model (None, or an unfitted one, with an ``embedder``). A
            learner's ``X_training`` is the labeled set unless ``X_labeled`` is given.
        X_pool : array-like of shape (n_pool, 1, D, H, W) or (n_pool, D, H, W)
            Unlabeled volumes (ndarray, memory map or lazy array).
        n_instances : int, default=1
            Number of volumes to select.
        X_labeled : array-like of shape (n_labeled, 1, D, H, W) or None, default=None
            The labeled volumes.

        Returns
        -------
        indices : ndarray of shape (n_instances,)
            Unique row indices into ``X_pool``, in selection order.
        """
        self._validate_params()
        classifier, X = self._prepare(learner, X_pool)
        rng = self._seeded_rng()
        candidates, n_instances = self._candidates(len(X), n_instances, rng)
        E, n_labeled = self._stacked_embedding(learner, classifier, X, candidates, X_labeled)
        n_clusters = min(n_labeled + n_instances, self.max_clusters, len(E))
        clusters = cluster_embedding(E, n_clusters, rng)
        is_labeled = np.arange(len(E)) < n_labeled
        selected = typiclust_select(
            E, clusters, is_labeled, n_instances, self.n_neighbors, self.min_cluster_size
        )
        selected = selected - n_labeled
        return selected if candidates is None else candidates[selected]
