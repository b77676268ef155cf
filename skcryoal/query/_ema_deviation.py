"""Selection by the deviation between the task model and its EMA mean model."""

import numpy as np
from scipy.special import log_softmax

from ._base import BaseQueryStrategy


def kl_deviation(task_logits, mean_logits):
    """Return ``KL(p_mean || p_task)`` per sample, from logits.

    Parameters
    ----------
    task_logits, mean_logits : ndarray of shape (n_samples, n_classes)

    Returns
    -------
    kl : ndarray of shape (n_samples,)
    """
    log_t = log_softmax(np.asarray(task_logits, np.float64), axis=1)
    log_m = log_softmax(np.asarray(mean_logits, np.float64), axis=1)
    return np.maximum((np.exp(log_m) * (log_m - log_t)).sum(axis=1), 0.0)


def mse_deviation(task_logits, mean_logits):
    """Return the mean squared logit difference per sample.

    Parameters
    ----------
    task_logits, mean_logits : ndarray of shape (n_samples, n_classes)

    Returns
    -------
    mse : ndarray of shape (n_samples,)
    """
    diff = np.asarray(task_logits, np.float64) - np.asarray(mean_logits, np.float64)
    return (diff**2).mean(axis=1)


_DISTANCES = {"kl": kl_deviation, "mse": mse_deviation}


class EMADeviationQuery(BaseQueryStrategy):
    r"""Query the volumes on which the task model deviates most from its mean model.

    The score of an unlabeled volume ``x`` is Eq. (3) of Wang et al. (2022),

    .. math:: D(x) = \mathrm{KL}\big(p_M(x) \,\|\, p_T(x)\big)
              = \sum_c p_M(c|x) \log \frac{p_M(c|x)}{p_T(c|x)},

    with ``p_T`` and ``p_M`` the softmax outputs of the task model and the EMA
    mean model of a :class:`~skcryoal.classifier.CryoNetClassifier` (the direction of the
    authors' code, ``F.kl_div(log_softmax(T(x)), softmax(M(x)))``). Both models
    score each batch in the same pass, in eval mode, without gradients.

    Parameters
    ----------
    distance : {"kl", "mse"}, default="kl"
        ``"mse"`` scores by the mean squared difference of the logits (the
        paper's ablation, Fig. 2 left).
    order : {"highest", "lowest"}, default="highest"
        ``"lowest"`` selects the least deviating volumes (ablation, Fig. 3 right).
    subsample : int or None, default=None
        Score only a random subset of the pool of this size (the authors scored
        12000); ``None`` scores all.
    batch_size : int or None, default=None
        Volumes per forward pass; ``None`` uses the classifier's ``batch_size``.
        Memory stays O(batch_size), so memory-mapped pools larger than RAM work.
    random_state : int, RandomState instance or None, default=None
        Draws the subset.

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal import ActiveLearner, CryoNetClassifier, EMADeviationQuery
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 16, 16, 16)).astype(np.float32)
    >>> y = np.arange(30) % 3
    >>> learner = ActiveLearner(
    ...     CryoNetClassifier(module__width=4, max_epochs=1, classes=[0, 1, 2], random_state=0),
    ...     query_strategy=EMADeviationQuery(), X_training=X[:6], y_training=y[:6])
    >>> idx, X_query = learner.query(X[6:], n_instances=4)
    >>> idx.shape, X_query.shape
    ((4,), (4, 16, 16, 16))
    """

    def __init__(
        self, distance="kl", order="highest", subsample=None, batch_size=None, random_state=None
    ):
        super().__init__(
            order=order, subsample=subsample, batch_size=batch_size, random_state=random_state
        )
        self.distance = distance

    def _validate_params(self):
        super()._validate_params()
        if self.distance not in _DISTANCES:
            raise ValueError(
                f"distance must be one of {sorted(_DISTANCES)}; got {self.distance!r}."
            )

    def _score(self, classifier, X):
        if not hasattr(classifier, "forward_logits"):
            raise TypeError(
                "EMADeviationQuery needs a classifier with a mean model, such as "
                f"skcryoal.CryoNetClassifier; got {type(classifier).__name__}."
            )
        task, mean = classifier.forward_logits(
            X, models=("task", "mean"), batch_size=self.batch_size
        )
        return _DISTANCES[self.distance](task, mean)
