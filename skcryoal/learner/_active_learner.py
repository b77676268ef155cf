"""A modAL ActiveLearner that works with scikit-learn >= 1.8 and seeded bootstraps."""

import dataclasses

import numpy as np
import pandas as pd
import scipy.sparse as sp
from modAL.models import ActiveLearner as _ModALActiveLearner
from modAL.uncertainty import uncertainty_sampling
from modAL.utils.data import retrieve_rows
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state, check_X_y, get_tags

from ..query import EMADeviationQuery
from ..query._dask import is_dask_array


def _has_mean_model(estimator):
    """Whether the (final step of the) estimator carries an EMA mean model."""
    final = estimator[-1] if isinstance(estimator, Pipeline) and len(estimator) else estimator
    return hasattr(final, "forward_logits")


def default_query_strategy(estimator):
    """Return the query strategy an :class:`ActiveLearner` uses when given none.

    Parameters
    ----------
    estimator : estimator
        The learner's estimator (or a Pipeline ending in it).

    Returns
    -------
    strategy : callable
        ``EMADeviationQuery()`` for an estimator with an EMA mean model (such
        as :class:`~skcryoal.classifier.CryoNetClassifier`), otherwise modAL's
        ``uncertainty_sampling``, modAL's own default, so that modAL code
        written for other estimators keeps working.
    """
    return EMADeviationQuery() if _has_mean_model(estimator) else uncertainty_sampling


def _vstack(blocks):
    """Stack labeled data as modAL's ``data_vstack`` does, on current pandas.

    modAL 0.4.x stacks data frames with ``DataFrame.append``, removed in pandas 2.
    """
    first = blocks[0]
    if any(sp.issparse(b) for b in blocks):
        return sp.vstack(blocks)
    if isinstance(first, (pd.DataFrame, pd.Series)):
        return pd.concat(blocks)
    if isinstance(first, list):
        return np.concatenate(blocks).tolist()
    return np.concatenate([np.asarray(b) for b in blocks])


def _hstack(blocks):
    if len(blocks) == 1:
        return blocks[0]
    if any(sp.issparse(b) for b in blocks):
        return sp.hstack(blocks)
    if isinstance(blocks[0], pd.DataFrame):
        return pd.concat(blocks, axis=1)
    return np.hstack([np.asarray(b) for b in blocks])


def _describe(value):
    """Short text for a parameter value in ``repr``: arrays by type and shape."""
    if hasattr(value, "initialized_") or hasattr(value, "module"):  # a skorch net prints its module
        state = "fitted" if getattr(value, "initialized_", False) else "not fitted"
        return f"{type(value).__name__}(<{state}>)"
    shape = getattr(value, "shape", None)
    if shape is not None and not np.isscalar(value):
        return f"<{type(value).__name__} of shape {tuple(shape)}>"
    if isinstance(value, list) and len(value) > 6:
        return f"<list of length {len(value)}>"
    if callable(value) and getattr(value, "__name__", None) and not hasattr(value, "get_params"):
        return value.__name__
    return repr(value)


class ActiveLearner(_ModALActiveLearner):
    """modAL's ``ActiveLearner``, made to work on scikit-learn >= 1.8.

    A subclass, so existing modAL code keeps working: the fit / query / teach
    loop, ``X_training`` / ``y_training``, modAL's own query strategies
    (``uncertainty_sampling``, ``margin_sampling``, ``entropy_sampling``),
    ``on_transformed`` with pipelines, sparse matrices and pandas data frames
    (modAL stacks those with ``DataFrame.append``, removed in pandas 2).

    It also behaves as a scikit-learn estimator: ``repr``, ``get_params`` and
    :func:`sklearn.base.clone` work (a clone has the same parameters and
    labeled set and an unfitted copy of the estimator: nothing is trained
    until ``fit`` or ``teach``), and a learner wrapping a classifier is a
    classifier for scikit-learn (``is_classifier``, ``classes_``), so
    ``ConfusionMatrixDisplay.from_estimator(learner, X, y)`` and the scorers
    accept it.

    modAL 0.4.x validates data with ``check_X_y(force_all_finite=...)``, an
    argument scikit-learn 1.8 removed, so its ``fit`` and ``teach`` raise
    ``TypeError``. This class replaces only the three methods that validate
    (``fit``, ``_add_training_data``, ``_fit_on_new``) and keeps modAL's loop.
    Bootstrapping draws from ``random_state`` instead of NumPy's global RNG.

    Parameters
    ----------
    estimator : estimator
        Usually a :class:`~skcryoal.classifier.CryoNetClassifier` or a Pipeline ending in one.
    query_strategy : callable or None, default=None
        ``strategy(learner, X_pool, n_instances=1) -> indices``. ``None``
        picks :func:`default_query_strategy`: ``EMADeviationQuery()`` when
        the estimator has an EMA mean model (a
        :class:`~skcryoal.classifier.CryoNetClassifier`), else modAL's
        ``uncertainty_sampling`` (modAL's default), so modAL code written for
        other estimators and 2-D data keeps working. The attribute
        ``query_strategy`` holds the strategy chosen.
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
            query_strategy = default_query_strategy(estimator)
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
        self.bootstrap_init = bootstrap_init
        self.force_all_finite = force_all_finite

    # ------------------------------------------------------ sklearn estimator
    def __repr__(self, N_CHAR_MAX=700):
        defaults = {"bootstrap_init": False, "on_transformed": False, "force_all_finite": True}
        parts = []
        for name, value in self.get_params(deep=False).items():
            if value is None or (name in defaults and value == defaults[name]):
                continue
            parts.append(f"{name}={_describe(value)}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def _repr_html_(self):
        # sklearn's diagram would print the labeled volumes; the text is clearer
        from html import escape

        return f"<pre>{escape(repr(self))}</pre>"

    def _repr_mimebundle_(self, **kwargs):
        return {"text/plain": repr(self), "text/html": self._repr_html_()}

    def __sklearn_clone__(self):
        """Same parameters and labeled set, unfitted estimator; trains nothing."""
        params = self.get_params(deep=False)
        X_training, y_training = params.pop("X_training"), params.pop("y_training")
        params = {k: clone(v, safe=False) for k, v in params.items()}
        new = type(self)(**params)
        new.X_training = clone(X_training, safe=False)
        new.y_training = clone(y_training, safe=False)
        return new

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            inner = get_tags(self.estimator)
        except (TypeError, AttributeError, ValueError):  # not an sklearn estimator
            return tags
        return dataclasses.replace(
            tags,
            estimator_type=inner.estimator_type,
            classifier_tags=inner.classifier_tags,
            regressor_tags=inner.regressor_tags,
            target_tags=inner.target_tags,
        )

    @property
    def classes_(self):
        """Ndarray of shape (n_classes,): the estimator's class labels."""
        try:
            return self.estimator.classes_
        except AttributeError:
            raise AttributeError(
                f"{type(self).__name__} has no classes_ yet: its estimator "
                f"{type(self.estimator).__name__} is not fitted (or is not a classifier)."
            ) from None

    def transform_without_estimating(self, X):
        """Apply the estimator's pipeline without its final step (``on_transformed``).

        modAL's own version returns None for pandas data frames.

        Parameters
        ----------
        X : array-like
            Data as given to the estimator.

        Returns
        -------
        Xt : array-like
            ``X`` transformed by every pipeline step but the last; ``X``
            itself when the estimator is not a pipeline.
        """
        pipes = getattr(self.estimator, "estimators_", None) or [self.estimator]
        Xt = [
            pipe[:-1].transform(X) if len(pipe) > 1 else X
            for pipe in pipes
            if isinstance(pipe, Pipeline)
        ]
        return _hstack(Xt) if Xt else X

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
        self.X_training = _vstack((self.X_training, X))
        self.y_training = _vstack((self.y_training, y))

    def _fit_to_known(self, bootstrap=False, **fit_kwargs):
        """Fit the estimator on all labeled data seen so far."""
        if not bootstrap:
            self.estimator.fit(self.X_training, self.y_training, **fit_kwargs)
        else:
            idx = self._bootstrap(len(self.X_training))
            self.estimator.fit(
                retrieve_rows(self.X_training, idx),
                retrieve_rows(self.y_training, idx),
                **fit_kwargs,
            )
        return self

    def _fit_on_new(self, X, y, bootstrap=False, **fit_kwargs):
        """Fit the estimator on the given data only."""
        self._check_X_y(X, y)
        if bootstrap:
            idx = self._bootstrap(len(X))
            X, y = retrieve_rows(X, idx), retrieve_rows(y, idx)
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
        selected = X_pool[np.asarray(query_idx)]
        if is_dask_array(selected):  # a few volumes: read them now (on the cluster, if one runs)
            selected = selected.compute()
        return query_idx, selected

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
