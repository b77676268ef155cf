"""Selection by the loss predicted by LL4AL's loss-prediction head."""

from ._base import BaseQueryStrategy, resolve_estimator


class LearningLossQuery(BaseQueryStrategy):
    """Query the volumes with the highest predicted loss (Yoo & Kweon, CVPR 2019).

    The score of a volume is the output of the loss-prediction head of a
    fitted :class:`~skcryoal.classifier.LearningLossClassifier`
    (:meth:`~skcryoal.classifier.LearningLossClassifier.predict_loss`), computed in eval
    mode, without gradients, batch by batch.

    Parameters
    ----------
    subsample : int or None, default=None
        Score only a random subset of the pool of this size; ``None`` scores all.
    batch_size : int or None, default=None
        Volumes per forward pass; ``None`` uses the classifier's ``batch_size``.
    random_state : int, RandomState instance or None, default=None
        Draws the subset.

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal import ActiveLearner, LearningLossClassifier, LearningLossQuery
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 16, 16, 16)).astype(np.float32)
    >>> y = np.arange(30) % 3
    >>> learner = ActiveLearner(
    ...     LearningLossClassifier(module__width=4, max_epochs=1, classes=[0, 1, 2],
    ...                            random_state=0),
    ...     query_strategy=LearningLossQuery(), X_training=X[:6], y_training=y[:6])
    >>> idx, X_query = learner.query(X[6:], n_instances=4)
    >>> idx.shape, X_query.shape
    ((4,), (4, 16, 16, 16))
    """

    def __init__(self, subsample=None, batch_size=None, random_state=None):
        super().__init__(
            order="highest", subsample=subsample, batch_size=batch_size, random_state=random_state
        )

    def _prepare(self, estimator, X):
        _, classifier = resolve_estimator(estimator)
        if not hasattr(classifier, "predict_loss"):
            raise TypeError(
                "LearningLossQuery needs a classifier with a loss-prediction head; got "
                f"{type(classifier).__name__}. Use skcryoal.LearningLossClassifier."
            )
        return super()._prepare(estimator, X)

    def _score(self, classifier, X):
        return classifier.predict_loss(X, batch_size=self.batch_size)
