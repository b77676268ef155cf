"""A modAL ActiveLearner that works with scikit-learn >= 1.8 and seeded bootstraps."""

import numpy as np
import pandas as pd
import scipy.sparse as sp
from modAL.models import ActiveLearner as _ModALActiveLearner
from modAL.utils.data import data_vstack
from sklearn.utils import check_random_state, check_X_y

from ..query import EMADeviationQuery


class ActiveLearner(_ModALActiveLearner):
    """modAL's ``ActiveLearner``, made to work on scikit-learn >= 1.8.

    A subclass, so existing modAL code keeps working: the fit / query / teach
    loop, ``X_training`` / ``y_training``, modAL's own query strategies
    (``uncertainty_sampling``, ``margin_sampling``, ``entropy_sampling``).

    modAL 0.4.x validates data with ``check_X_y(force_all_finite=...)``, an
    argument scikit-learn 1.8 removed, so its ``fit`` and ``teach`` raise
    ``TypeError``. This class replaces only the three methods that validate
    (``fit``, ``_add_training_data``, ``_fit_on_new``) and keeps modAL's loop.
    Bootstrapping draws from ``random_state`` instead of NumPy's global RNG.

    Parameters
    ----------
    estimator : estimator
        Usually a :class:`~skcryoal.classifier.CryoNetClassifier` or a Pipeline ending in one.
    query_strategy : callable, default=EMADeviationQuery()
        ``strategy(learner, X_pool, n_instances=1) -> indices``.
    X_training, y_training : array-like or None, default=None
        Initial labeled set; if given, the estimator is fitted on it right away
        (modAL's behaviour).
    bootstrap_init : bool, default=False
        Fit the initial model on a bootstrap sample.
    on_transformed : bool, default=False
        modAL option, passed through.
    force_all_finite : bool, default=True
        Reject NaN and infinite values in labeled data.
    random_state : int, RandomState instance or None, default=None
        Draws bootstrap samples.
    **fit_kwargs
        Passed to the estimator's ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal import ActiveLearner, CryoNetClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 1, 16, 16, 16)).astype(np.float32)
    >>> y = np.arange(20) % 2
    >>> clf = CryoNetClassifier(module__width=4, max_epochs=1, classes=[0, 1], random_state=0)
    >>> learner = ActiveLearner(clf, X_training=X[:4], y_training=y[:4])
    >>> idx, _ = learner.query(X[4:], n_instances=2)
    >>> learner.teach(X[4:][idx], y[4:][idx])
    >>> len(learner.y_training)
    6
    """

    def __init__(
        self,
        estimator,
        query_strategy=None,
        X_training=None,
        y_training=None,
        bootstrap_init=False,
        on_transformed=False,
        force_all_finite=True,
        random_state=None,
        **fit_kwargs,
    ):
        if not isinstance(force_all_finite, bool):
            raise TypeError(f"force_all_finite must be a bool; got {force_all_finite!r}.")
        if query_strategy is None:
            query_strategy = EMADeviationQuery()
        if not callable(query_strategy):
            raise TypeError(
                "query_strategy must be callable as strategy(learner, X_pool, n_instances); "
                f"got {query_strategy!r}."
            )
        # set before modAL's __init__, which may fit right away
        self.force_all_finite = force_all_finite
        self.random_state = random_state
        super().__init__(
            estimator,
            query_strategy,
            X_training,
            y_training,
            bootstrap_init,
            on_transformed,
            **fit_kwargs,
        )
        self.force_all_finite = force_all_finite

    def _check_X_y(self, X, y):
        check_X_y(
            X,
            y,
            accept_sparse=True,
            ensure_2d=False,
            allow_nd=True,
            multi_output=True,
            dtype=None,
            ensure_all_finite=self.force_all_finite,
        )

    def _bootstrap(self, n):
        return check_random_state(self.random_state).choice(n, n, replace=True)

    def _add_training_data(self, X, y):
        """Append labeled data to ``X_training`` / ``y_training`` without refitting."""
        self._check_X_y(X, y)
        if self.X_training is None:
            self.X_training, self.y_training = X, y
            return
        if np.shape(X)[1:] != np.shape(self.X_training)[1:]:
            raise ValueError(
                f"The new volumes have shape {np.shape(X)[1:]} per sample but the labeled set "
                f"has {np.shape(self.X_training)[1:]}; they must agree."
            )
        self.X_training = data_vstack((self.X_training, X))
        self.y_training = data_vstack((self.y_training, y))

    def _fit_to_known(self, bootstrap=False, **fit_kwargs):
        """Fit the estimator on all labeled data seen so far."""
        if not bootstrap:
            self.estimator.fit(self.X_training, self.y_training, **fit_kwargs)
        else:
            idx = self._bootstrap(len(self.X_training))
            self.estimator.fit(self.X_training[idx], self.y_training[idx], **fit_kwargs)
        return self

    def _fit_on_new(self, X, y, bootstrap=False, **fit_kwargs):
        """Fit the estimator on the given data only."""
        self._check_X_y(X, y)
        if bootstrap:
            idx = self._bootstrap(len(X))
            X, y = X[idx], y[idx]
        self.estimator.fit(X, y, **fit_kwargs)
        return self

    def query(self, X_pool, *query_args, **query_kwargs):
        """Ask the query strategy for the volumes to label next.

        modAL's ``query``, extended to pools that modAL cannot index: a
        :class:`~skcryoal.io.LazySubtomograms` from
        ``read_subtomograms(..., mmap=True)`` (or any array-like supporting
        ``X[indices]``) returns its selected volumes read from disk.

        Parameters
        ----------
        X_pool : array-like of shape (n_pool, ...)
            The unlabeled pool: ndarray, memmap, list, or a lazy array.
        *query_args, **query_kwargs
            Passed to the query strategy, e.g. ``n_instances=10``.

        Returns
        -------
        query_idx : ndarray of shape (n_instances,)
            Positions in ``X_pool`` of the volumes to label.
        X_query : array-like of shape (n_instances, ...)
            Those volumes.
        """
        if isinstance(X_pool, (np.ndarray, list, pd.DataFrame)) or sp.issparse(X_pool):
            return super().query(X_pool, *query_args, **query_kwargs)  # modAL can index these
        query_idx = self.query_strategy(self, X_pool, *query_args, **query_kwargs)
        if isinstance(query_idx, tuple):  # a strategy of the pre-0.4.1 kind, as in modAL
            return query_idx
        if not hasattr(X_pool, "__getitem__"):
            raise TypeError(
                f"Cannot take the selected volumes from a pool of type {type(X_pool).__name__}; "
                "pass an ndarray, a memmap or a LazySubtomograms."
            )
        return query_idx, X_pool[np.asarray(query_idx)]

    def fit(self, X, y, bootstrap=False, **fit_kwargs):
        """Replace the labeled set by ``(X, y)`` and fit the estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : array-like of shape (n_samples,)
        bootstrap : bool, default=False
            Fit on a bootstrap sample of ``(X, y)``.
        **fit_kwargs
            Passed to the estimator's ``fit``.

        Returns
        -------
        self : ActiveLearner
        """
        self._check_X_y(X, y)
        self.X_training, self.y_training = X, y
        return self._fit_to_known(bootstrap=bootstrap, **fit_kwargs)
