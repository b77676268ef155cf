"""Uniform random selection, the baseline every strategy must beat."""

from sklearn.utils import check_random_state

from ..utils._validation import check_n_instances, check_volumes


class RandomQuery:
    """Select pool volumes uniformly at random, without replacement.

    Needs no fitted model, so it also serves for the initial labeled set.

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=None
        An int gives the same selection for the same pool size on every call;
        pass a ``numpy.random.RandomState`` for a reproducible stream of
        different selections across active-learning cycles.

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal import RandomQuery
    >>> RandomQuery(random_state=0)(None, np.zeros((10, 16, 16, 16)), n_instances=3)
    array([2, 8, 4])
    """

    requires_fit = False

    def __init__(self, random_state=None):
        self.random_state = random_state

    def __call__(self, learner, X_pool, n_instances=1):
        """Return ``n_instances`` unique random row indices of ``X_pool``.

        Parameters
        ----------
        learner : object
            Ignored (kept for modAL's call signature).
        X_pool : array-like of shape (n_pool, 1, D, H, W) or (n_pool, D, H, W)
        n_instances : int, default=1

        Returns
        -------
        indices : ndarray of shape (n_instances,)
        """
        X_pool = check_volumes(X_pool, name="X_pool", check_finite=False)
        n_instances = check_n_instances(n_instances, len(X_pool))
        rng = check_random_state(self.random_state)
        return rng.choice(len(X_pool), size=n_instances, replace=False)

    def __repr__(self):
        return f"RandomQuery(random_state={self.random_state!r})"
