"""ProbCover: maximum coverage of the embedding by balls of radius delta (Yehuda et al. 2022)."""

import numbers

import numpy as np
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import normalize

from ._base import BaseQueryStrategy, EmbeddingMixin
from ._typiclust import cluster_embedding

#: radii tried by the purity search, on L2-normalized embeddings (distances in [0, 2]);
#: steps of 0.01: on a SimCLR embedding of subtomograms purity fell from 0.99 to 0.81
#: between 0.1 and 0.2, so a coarser grid misses the radius by half
_DELTAS = np.round(np.arange(0.01, 1.415, 0.01), 2)


def ball_graph(E, delta):
    """Return the sparse graph joining each row to every row within distance ``delta``.

    Parameters
    ----------
    E : ndarray of shape (n_samples, n_features)
    delta : float

    Returns
    -------
    graph : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        Boolean; row ``i`` lists the rows in the ball around ``i`` (``i`` included).
    """
    nn = NearestNeighbors(radius=float(delta)).fit(E)
    return nn.radius_neighbors_graph(E, mode="connectivity").astype(bool).tocsr()


def ball_purity(E, clusters, delta):
    """Return the fraction of rows whose ``delta``-ball holds rows of their own cluster only.

    Parameters
    ----------
    E : ndarray of shape (n_samples, n_features)
    clusters : ndarray of shape (n_samples,)
    delta : float

    Returns
    -------
    purity : float
    """
    graph = ball_graph(E, delta).tocoo()
    clusters = np.asarray(clusters)
    impure = np.zeros(len(E), dtype=bool)
    impure[graph.row[clusters[graph.row] != clusters[graph.col]]] = True
    return 1.0 - impure.mean()


def choose_delta(E, n_clusters, alpha=0.95, random_state=None):
    """Return the largest ball radius whose purity is at least ``alpha`` (ProbCover's rule).

    The rows are clustered by k-means into ``n_clusters`` (a proxy of the
    classes); purity falls as the radius grows, so the radii of ``_DELTAS``
    are searched by bisection.

    Parameters
    ----------
    E : ndarray of shape (n_samples, n_features)
        L2-normalized embedding.
    n_clusters : int
    alpha : float, default=0.95
    random_state : int, RandomState instance or None

    Returns
    -------
    delta : float
        The smallest radius tried (0.01) when none reaches ``alpha``.
    """
    clusters = cluster_embedding(E, min(n_clusters, len(E)), random_state)
    lo, hi = 0, len(_DELTAS) - 1
    if ball_purity(E, clusters, _DELTAS[lo]) < alpha:
        return float(_DELTAS[lo])
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ball_purity(E, clusters, _DELTAS[mid]) >= alpha:
            lo = mid
        else:
            hi = mid - 1
    return float(_DELTAS[lo])


def probcover_select(graph, is_labeled, n_instances, rng):
    """Greedy maximum coverage: repeatedly pick the row whose ball covers most uncovered rows.

    Rows in the balls of labeled rows start covered. Ties are broken at random
    (by ``rng``: a pool stored in class order must not give its first rows
    first); once every row is covered, the remaining picks are drawn at random
    (as in the reference code).

    Parameters
    ----------
    graph : csr_matrix of shape (n, n)
        From :func:`ball_graph`.
    is_labeled : ndarray of bool of shape (n,)
    n_instances : int
    rng : numpy.random.RandomState

    Returns
    -------
    indices : ndarray of shape (n_instances,)
        Unlabeled rows, in selection order.
    """
    graph = graph.astype(np.float64).tocsr()
    covered = np.asarray(graph[np.flatnonzero(is_labeled)].sum(axis=0)).ravel() > 0
    available = ~np.asarray(is_labeled, dtype=bool)
    selected = np.empty(n_instances, dtype=np.intp)
    for k in range(n_instances):
        gain = graph @ (~covered).astype(np.float64)
        gain[~available] = -1
        # gains are whole numbers: a jitter below 1 orders the ties at random
        pick = int(np.argmax(gain + 0.5 * rng.random_sample(len(gain))))
        if gain[pick] <= 0:
            pick = int(rng.choice(np.flatnonzero(available)))
        selected[k] = pick
        available[pick] = False
        covered[graph[pick].indices] = True
    return selected


class ProbCoverQuery(EmbeddingMixin, BaseQueryStrategy):
    r"""Query the volumes whose neighbourhoods cover most of the embedding (ProbCover).

    Yehuda et al. (NeurIPS 2022) show that at low budgets the best labeled set
    covers the data: every unlabeled volume should lie within a distance
    ``delta`` of a labeled one, in an embedding where such balls are pure
    (hold one class). The embedding is L2-normalized, the ``delta``-ball graph
    is built, balls of the labeled volumes count as covered, and the volume
    whose ball covers most uncovered volumes is picked, ``n_instances`` times.
    ``delta=None`` takes the largest radius at which ``alpha`` of the balls are
    pure with respect to a k-means clustering into ``n_clusters`` clusters.

    The embedding is a pretrained ``embedder``'s (a fitted
    :class:`~skcryoal.pretraining.SubtomogramEmbedder`, as the paper uses
    SimCLR): then no fitted classifier is needed, and the strategy picks the
    first labels of a campaign (a cold start). Without one, the task model's
    penultimate layer (:meth:`CryoNetClassifier.embed`) is used.

    Parameters
    ----------
    delta : float or None, default=None
        Ball radius on the normalized embedding (distances lie in [0, 2]).
    alpha : float, default=0.95
        Purity the automatic ``delta`` must reach.
    n_clusters : int or None, default=None
        Clusters of the purity proxy; None uses the classifier's number of
        classes, else 10.
    embedder : fitted transformer or None, default=None
        Gives the embedding (``embedder.transform(X)``) instead of the classifier.
        The pool is passed to it as given (a learner's preprocessing is not applied).
    batch_size : int or None, default=None
    subsample : int or None, default=None
        Select from a random subset of the pool of this size.
    random_state : int, RandomState instance or None, default=None
        Seeds the subset, the k-means of the automatic ``delta`` and the random
        picks once all is covered.

    Attributes
    ----------
    delta_ : float
        The radius used by the last call.

    References
    ----------
    O. Yehuda, A. Dekel, G. Hacohen and D. Weinshall, "Active learning through a
    covering lens", NeurIPS 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal.pretraining import SubtomogramEmbedder
    >>> from skcryoal.query import ProbCoverQuery
    >>> X = np.random.default_rng(0).normal(size=(40, 1, 16, 16, 16)).astype(np.float32)
    >>> emb = SubtomogramEmbedder(width=4, max_epochs=1, batch_size=8, progress=False,
    ...                           random_state=0).fit(X)
    >>> first = ProbCoverQuery(embedder=emb, n_clusters=3, random_state=0)(None, X, 5)
    >>> len(set(first.tolist()))
    5
    """

    order = "highest"

    def __init__(
        self,
        delta=None,
        alpha=0.95,
        n_clusters=None,
        embedder=None,
        batch_size=None,
        subsample=None,
        random_state=None,
    ):
        self.delta = delta
        self.alpha = alpha
        self.n_clusters = n_clusters
        self.embedder = embedder
        self.batch_size = batch_size
        self.subsample = subsample
        self.random_state = random_state

    def _validate_params(self):
        super()._validate_params()
        if self.delta is not None and (
            isinstance(self.delta, bool)
            or not isinstance(self.delta, numbers.Real)
            or not 0 < self.delta <= 2
        ):
            raise ValueError(f"delta must be None or a float in (0, 2]; got {self.delta!r}.")
        if (
            isinstance(self.alpha, bool)
            or not isinstance(self.alpha, numbers.Real)
            or not (0 < self.alpha <= 1)
        ):
            raise ValueError(f"alpha must be a float in (0, 1]; got {self.alpha!r}.")
        if self.n_clusters is not None and (
            isinstance(self.n_clusters, bool)
            or not isinstance(self.n_clusters, numbers.Integral)
            or self.n_clusters < 2
        ):
            raise ValueError(
                f"n_clusters must be None or an integer >= 2; got {self.n_clusters!r}."
            )

    def score_samples(self, estimator, X):
        """Not available: ProbCover selects a set, it does not score volumes.

        Raises
        ------
        TypeError
            Always.
        """
        raise TypeError(
            "ProbCoverQuery has no per-volume score: coverage depends on the labeled set and on "
            "the volumes already selected; call the strategy to select volumes."
        )

    def _n_clusters(self, classifier):
        if self.n_clusters is not None:
            return self.n_clusters
        classes = getattr(classifier, "classes_", None)
        if classes is None:
            classes = getattr(classifier, "classes", None)
        return len(classes) if classes is not None and len(classes) >= 2 else 10

    def __call__(self, learner, X_pool, n_instances=1, X_labeled=None):
        """Select ``n_instances`` rows of ``X_pool`` by ProbCover.

        Parameters
        ----------
        learner : modAL learner, CryoNetClassifier, Pipeline or None
            A fitted model; None (or an unfitted one) with an ``embedder``.
        X_pool : array-like of shape (n_pool, 1, D, H, W) or (n_pool, D, H, W)
        n_instances : int, default=1
        X_labeled : array-like or None, default=None
            The labeled volumes; default: the learner's ``X_training``.

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
        E = normalize(np.asarray(E, dtype=np.float64))
        delta = self.delta
        if delta is None:
            delta = choose_delta(E, self._n_clusters(classifier), self.alpha, rng)
        self.delta_ = float(delta)
        is_labeled = np.arange(len(E)) < n_labeled
        selected = probcover_select(ball_graph(E, delta), is_labeled, n_instances, rng)
        selected = selected - n_labeled
        return selected if candidates is None else candidates[selected]
