"""Class-balanced selection: a score-based strategy's best volumes per predicted class."""

import copy
import numbers

import numpy as np

from ._base import BaseQueryStrategy, rows
from ._dask import DaskPool


def _sort_key(scores, order):
    return -scores if order == "highest" else scores


def balanced_select(scores, classes, n_instances, order="highest"):
    """Select the best-scored rows per class, round-robin over the classes.

    Round ``r`` takes the ``r``-th best row of every class that still has
    one; within the last, partial round the classes whose next row is best go
    first. So every class gets an equal quota, give or take one, and a class
    with too few rows leaves its remainder to the others.

    Parameters
    ----------
    scores : ndarray of shape (n_samples,)
    classes : ndarray of shape (n_samples,)
        The (predicted) class of each row; any hashable labels.
    n_instances : int
        At most ``n_samples``.
    order : {"highest", "lowest"}, default="highest"
        Which scores are best.

    Returns
    -------
    indices : ndarray of shape (n_instances,)
        Round by round, best first within a round; ties go to the lower index.

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal.query._balanced import balanced_select
    >>> scores = np.array([0.9, 0.8, 0.7, 0.6, 0.1])
    >>> balanced_select(scores, np.array([0, 0, 0, 0, 1]), 3)
    array([0, 4, 1])
    """
    scores = np.asarray(scores, dtype=np.float64)
    if np.isnan(scores).any():
        raise ValueError("The query scores contain NaN; the model output is not finite.")
    _, codes = np.unique(np.asarray(classes), return_inverse=True)
    key = _sort_key(scores, order)
    index = np.arange(len(scores))
    # best first within each class, then the rank of each row in its class
    by_class = np.lexsort((index, key, codes))
    starts = np.searchsorted(codes[by_class], codes[by_class], side="left")
    rank = np.empty(len(scores), dtype=np.intp)
    rank[by_class] = np.arange(len(scores)) - starts
    return np.lexsort((index, key, rank))[:n_instances]


def _ranks_by_a_score(strategy):
    # the selection of such a strategy is the top of score_samples; core-set,
    # BADGE and TypiClust override __call__ (a set, not a ranking)
    return (
        isinstance(strategy, BaseQueryStrategy)
        and type(strategy).__call__ is BaseQueryStrategy.__call__
        and callable(getattr(strategy, "_score", None))
    )


def _score_based_names():
    from ._registry import _strategy_class, available_strategies

    names = []
    for name in available_strategies():
        try:
            cls = _strategy_class(name)
        except ImportError:
            continue
        if issubclass(cls, BaseQueryStrategy) and cls.__call__ is BaseQueryStrategy.__call__:
            names.append(name)
    return names


def _predicted_classes(classifier, X, batch_size):
    if hasattr(classifier, "forward_logits"):
        (logits,) = classifier.forward_logits(X, models=("task",), batch_size=batch_size)
        return np.asarray(logits).argmax(axis=1)
    if hasattr(classifier, "predict"):
        return np.asarray(classifier.predict(X))
    raise TypeError(
        "ClassBalancedQuery needs a classifier with forward_logits() or predict() to "
        f"predict the class of each pool volume; got {type(classifier).__name__}."
    )


class _ScoresAndClasses:
    """The base strategy's scores and the predicted classes of one partition of a dask pool."""

    def __init__(self, base):
        self.base = base
        self.batch_size = getattr(base, "batch_size", None)

    def _frozen(self):
        return _ScoresAndClasses(self.base._frozen())

    def _check_pool(self, classifier, X):
        return self.base._check_pool(classifier, X)

    def _score_block(self, classifier, X, offset):
        scores = np.asarray(self.base._score_block(classifier, X, offset), dtype=np.float64)
        return scores, _predicted_classes(classifier, X, self.batch_size)


class ClassBalancedQuery:
    """Balance a score-based strategy's batch over the predicted classes.

    The base strategy scores the pool (or its ``subsample``), the task model
    predicts the class of every scored volume, and the batch is filled
    round-robin: the best-scored volume of each predicted class, then the
    second best of each, and so on (best first within a round). Every class
    gets an equal quota, give or take one; a class predicted for too few
    volumes gives its remainder to the others. The base's ``order``
    (``"highest"`` or ``"lowest"``) says which scores are best.

    Useful when a few classes dominate the pool or the uncertainty: plain
    top-k of any score then spends the whole batch on them.

    Parameters
    ----------
    base : str or strategy instance, default="ema"
        A registered name (``"ema"``, ``"entropy"``, ``"margin"``,
        ``"least_confident"``, ``"mc_dropout"``, ``"bald"``, ``"ll4al"``) or an
        instance of a :class:`BaseQueryStrategy` that ranks volumes by
        :meth:`~BaseQueryStrategy.score_samples`. Set-selecting strategies
        (core-set, BADGE, TypiClust) and strategies without per-volume scores
        (random, VAAL, modAL's functions) raise a ``TypeError``.
    base_params : dict or None, default=None
        Constructor parameters of a base given by name, e.g.
        ``{"distance": "mse"}``.
    subsample : int or None, default=None
        When set, overrides the base's ``subsample`` (handy in a strategy
        spec: ``balanced:base=ema:subsample=12000``).
    random_state : int, RandomState instance or None, default=None
        When set, the base's ``random_state`` (it draws the base's subsample
        and any randomness of its score); an instance base is copied, never
        modified. The balancing itself is deterministic.

    Notes
    -----
    Cost: the base strategy's plus one inference pass for the predicted
    classes.

    In ``skcryoal benchmark`` the classifier is built for the name
    ``"balanced"``, i.e. as for a baseline: add ``clf.reg_lambda=0.03`` to
    train with the EMA regularizer as ``"ema"`` does, or
    ``clf.module__dropout=0.3`` for an MC-dropout base, e.g.
    ``ema-bal=balanced:base=ema:clf.reg_lambda=0.03``.

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal import CryoNetClassifier
    >>> from skcryoal.query import ClassBalancedQuery
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 1, 16, 16, 16)).astype(np.float32)
    >>> clf = CryoNetClassifier(module__width=4, max_epochs=1, random_state=0)
    >>> clf = clf.fit(X[:6], np.arange(6) % 2)
    >>> query = ClassBalancedQuery(base="entropy")
    >>> query(clf, X[6:], n_instances=4).shape
    (4,)
    """

    requires_fit = True

    def __init__(self, base="ema", base_params=None, subsample=None, random_state=None):
        self.base = base
        self.base_params = base_params
        self.subsample = subsample
        self.random_state = random_state

    def _base_strategy(self):
        from ._registry import get_strategy

        if self.base_params is not None and not isinstance(self.base_params, dict):
            raise TypeError(
                f"base_params must be a dict or None; got {self.base_params!r} of type "
                f"{type(self.base_params).__name__}."
            )
        params = dict(self.base_params or {})
        if "random_state" in params:
            raise ValueError(
                "Set random_state on ClassBalancedQuery, not in base_params; it is passed "
                "on to the base strategy."
            )
        if self.subsample is not None and (
            isinstance(self.subsample, bool)
            or not isinstance(self.subsample, numbers.Integral)
            or self.subsample < 1
        ):
            raise ValueError(
                f"subsample must be None or a positive integer; got {self.subsample!r}."
            )
        if isinstance(self.base, str):
            base = get_strategy(self.base, **params)  # validates the name and params
            if _ranks_by_a_score(base):
                if self.random_state is not None:
                    params["random_state"] = self.random_state
                if self.subsample is not None:
                    params["subsample"] = self.subsample
                base = get_strategy(self.base, **params)
        else:
            base = get_strategy(self.base, **params)  # an instance: no params allowed
            if _ranks_by_a_score(base):
                base = copy.copy(base)
                if self.random_state is not None:
                    base.random_state = self.random_state
                if self.subsample is not None:
                    base.subsample = self.subsample
        if not _ranks_by_a_score(base):
            raise TypeError(
                "ClassBalancedQuery needs a base strategy that ranks the pool by a per-volume "
                f"score, such as one of {_score_based_names()}; got {base!r}, which has no "
                "per-volume score (a set-selecting, random or external strategy)."
            )
        return base

    def score_samples(self, estimator, X):
        """Return the base strategy's score of each volume.

        Parameters
        ----------
        estimator : CryoNetClassifier, Pipeline ending in one, or modAL learner
            A fitted model.
        X : array-like of shape (n_samples, 1, D, H, W) or (n_samples, D, H, W)
            Volumes.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        return self._base_strategy().score_samples(estimator, X)

    def __call__(self, learner, X_pool, n_instances=1):
        """Select ``n_instances`` rows of ``X_pool``, balanced over the predicted classes.

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
            Unique row indices into ``X_pool``, round by round.
        """
        base = self._base_strategy()
        base._validate_params()
        classifier, X = base._prepare(learner, X_pool)
        candidates, n_instances = base._candidates(len(X), n_instances)
        X_scored = rows(X, candidates)
        if isinstance(X_scored, DaskPool):  # scored on the workers, (score, class) gathered
            scores, predicted = X_scored.map(_ScoresAndClasses(base), classifier, "_score_block")
        else:
            scores = base._score(classifier, X_scored)
            predicted = _predicted_classes(classifier, X_scored, getattr(base, "batch_size", None))
        selected = balanced_select(scores, predicted, n_instances, order=base.order)
        return selected if candidates is None else candidates[selected]

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"
