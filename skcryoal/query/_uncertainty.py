"""Classic uncertainty sampling on the task model's posterior: entropy, margin, confidence."""

import numpy as np
from scipy.special import softmax

from ._base import BaseQueryStrategy


def _task_proba(classifier, X, batch_size, strategy):
    if not hasattr(classifier, "forward_logits"):
        raise TypeError(
            f"{strategy} needs a classifier with forward_logits(), such as "
            f"skcryoal.CryoNetClassifier; got {type(classifier).__name__}. For other "
            "scikit-learn classifiers use modAL's entropy_sampling / margin_sampling / "
            "uncertainty_sampling."
        )
    (logits,) = classifier.forward_logits(X, models=("task",), batch_size=batch_size)
    return softmax(np.asarray(logits, dtype=np.float64), axis=1)


def posterior_entropy(proba):
    """Return the Shannon entropy (in nats) of each row of ``proba``.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)

    Returns
    -------
    entropy : ndarray of shape (n_samples,)
    """
    proba = np.asarray(proba, dtype=np.float64)
    logp = np.log(np.where(proba > 0, proba, 1.0))
    return np.maximum(-(proba * logp).sum(axis=1), 0.0)


class _PosteriorQuery(BaseQueryStrategy):
    """Score-based strategy on the task model's softmax posterior (highest first)."""

    order = "highest"

    def __init__(self, subsample=None, batch_size=None, random_state=None):
        self.subsample = subsample
        self.batch_size = batch_size
        self.random_state = random_state

    def _score(self, classifier, X):
        proba = _task_proba(classifier, X, self.batch_size, type(self).__name__)
        return self._score_proba(proba)


class EntropyQuery(_PosteriorQuery):
    r"""Query the volumes whose predicted class distribution has the highest entropy.

    The score is :math:`H(x) = -\sum_c p(c|x) \log p(c|x)` of the task model's
    softmax posterior (eval mode, no gradients), the criterion of modAL's
    ``entropy_sampling``, computed batch by batch from the logits so memory-mapped
    pools and pipelines work the same as with :class:`EMADeviationQuery`.

    Parameters
    ----------
    subsample : int or None, default=None
        Score only a random subset of the pool of this size; ``None`` scores all.
    batch_size : int or None, default=None
        Volumes per forward pass; ``None`` uses the classifier's ``batch_size``.
    random_state : int, RandomState instance or None, default=None
        Draws the subset.

    See Also
    --------
    MarginQuery, LeastConfidentQuery, MCDropoutQuery

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal import CryoNetClassifier
    >>> from skcryoal.query import EntropyQuery
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 1, 16, 16, 16)).astype(np.float32)
    >>> clf = CryoNetClassifier(module__width=4, max_epochs=1, random_state=0)
    >>> clf = clf.fit(X[:6], np.arange(6) % 2)
    >>> EntropyQuery()(clf, X[6:], n_instances=3).shape
    (3,)
    """

    def _score_proba(self, proba):
        return posterior_entropy(proba)


class MarginQuery(_PosteriorQuery):
    r"""Query the volumes with the smallest margin between the two most probable classes.

    The margin is :math:`p(c_1|x) - p(c_2|x)` for the two most probable classes of
    the task model's posterior (modAL's ``margin_sampling``). :meth:`score_samples`
    returns ``1 - margin`` so that, as for every strategy, higher means more
    informative; the selection is the same.

    Parameters
    ----------
    subsample : int or None, default=None
        Score only a random subset of the pool of this size; ``None`` scores all.
    batch_size : int or None, default=None
        Volumes per forward pass; ``None`` uses the classifier's ``batch_size``.
    random_state : int, RandomState instance or None, default=None
        Draws the subset.

    See Also
    --------
    EntropyQuery, LeastConfidentQuery

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal import CryoNetClassifier
    >>> from skcryoal.query import MarginQuery
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 1, 16, 16, 16)).astype(np.float32)
    >>> clf = CryoNetClassifier(module__width=4, max_epochs=1, random_state=0)
    >>> clf = clf.fit(X[:6], np.arange(6) % 2)
    >>> scores = MarginQuery().score_samples(clf, X[6:])
    >>> bool(((scores >= 0) & (scores <= 1)).all())
    True
    """

    def _score_proba(self, proba):
        top2 = -np.partition(-proba, 1, axis=1)[:, :2]
        return 1.0 - (top2[:, 0] - top2[:, 1])


class LeastConfidentQuery(_PosteriorQuery):
    r"""Query the volumes whose most probable class has the lowest probability.

    The score is :math:`1 - \max_c p(c|x)` of the task model's posterior, the
    classification uncertainty of modAL's ``uncertainty_sampling``.

    Parameters
    ----------
    subsample : int or None, default=None
        Score only a random subset of the pool of this size; ``None`` scores all.
    batch_size : int or None, default=None
        Volumes per forward pass; ``None`` uses the classifier's ``batch_size``.
    random_state : int, RandomState instance or None, default=None
        Draws the subset.

    See Also
    --------
    EntropyQuery, MarginQuery

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal import CryoNetClassifier
    >>> from skcryoal.query import LeastConfidentQuery
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 1, 16, 16, 16)).astype(np.float32)
    >>> clf = CryoNetClassifier(module__width=4, max_epochs=1, random_state=0)
    >>> clf = clf.fit(X[:6], np.arange(6) % 2)
    >>> LeastConfidentQuery(subsample=8, random_state=0)(clf, X[6:], n_instances=2).shape
    (2,)
    """

    def _score_proba(self, proba):
        return 1.0 - proba.max(axis=1)
