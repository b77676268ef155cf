"""LearningLossClassifier: a CryoNetClassifier that also learns to predict its loss (LL4AL)."""

import copy
import inspect
import numbers

import torch
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from ..losses._loss_prediction import loss_ranking_loss
from ..nn._loss_prediction import LossPredictionResNet3D
from ._augment import augment_batch
from ._cryonet import CryoNetClassifier


class LearningLossClassifier(CryoNetClassifier):
    """3D ResNet classifier with a loss-prediction head (Yoo & Kweon, CVPR 2019).

    The "learning loss" baseline (LL4AL) of Wang et al. (2022). The module
    returns ``(logits, predicted_loss)``; the training loss is

    .. code-block:: text

        L = mean_i CE(T(x_i), y_i) + reg_lambda * MSE(T(x), M(x))
            + loss_weight * L_rank(predicted_loss, CE_i)

    where ``L_rank`` is the margin ranking loss
    (:func:`~skcryoal.losses.loss_ranking_loss`) between the predicted losses
    and the per-sample cross-entropies of the labeled volumes, and the middle
    term is the EMA-consistency regularizer of
    :class:`~skcryoal.classifier.CryoNetClassifier` (``reg_lambda=0`` gives LL4AL as
    published). After ``detach_after * max_epochs`` epochs the head reads
    detached features, so the ranking loss stops shaping the backbone.
    :class:`~skcryoal.query.LearningLossQuery` then selects the volumes with the
    highest predicted loss (:meth:`predict_loss`).

    Parameters
    ----------
    module : torch module class or instance, default=LossPredictionResNet3D
        Its ``forward(x, detach_features=False)`` must return
        ``(logits, predicted_loss)``; ``module__lp_dim`` sets the head's width.
    loss_weight : float, default=1.0
        Weight of the ranking loss (the paper's lambda).
    detach_after : float, default=0.6
        Fraction of ``max_epochs`` after which the features fed to the head
        are detached: from epoch ``round(detach_after * max_epochs)`` (0-based,
        counted within each ``fit`` / ``partial_fit`` call) on. The paper's
        schedule is epoch 120 of 200. ``1.0`` never detaches, ``0.0`` always.
    margin : float, default=1.0
        Margin of the ranking loss.
    **kwargs
        Every parameter of :class:`~skcryoal.classifier.CryoNetClassifier` (``lr``,
        ``max_epochs``, ``batch_size``, ``ema_decay``, ``reg_lambda``,
        ``classes``, ``random_state``, ``module__width``...).

    Attributes
    ----------
    module_ : torch.nn.Module
        The task model with its loss-prediction head.
    ema_module_ : torch.nn.Module
        The EMA mean model, an average of the whole ``module_`` (head included).
    classes_ : ndarray of shape (n_classes,)
        Class labels, in output-unit order.
    volume_shape_ : tuple of int
        Spatial shape ``(D, H, W)`` of the training volumes.

    Notes
    -----
    The classification loss is the mean of the per-sample losses of
    ``criterion__task_loss`` (``reduction="none"``), which must therefore be a
    torch loss with a ``reduction`` attribute. The history records per batch
    ``task_loss`` (classification plus regularizer) and ``ranking_loss``, and
    per epoch ``loss_head_detached``. Unlike the authors' code, which trains
    the head with a second SGD optimizer, one optimizer trains both.

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal import LearningLossClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(12, 1, 16, 16, 16)).astype(np.float32)
    >>> y = np.arange(12) % 2
    >>> clf = LearningLossClassifier(module__width=4, max_epochs=2, random_state=0)
    >>> clf = clf.fit(X, y)
    >>> clf.predict_loss(X[:3]).shape
    (3,)
    >>> clf.predict_proba(X[:3], model="mean").shape
    (3, 2)
    """

    def __init__(
        self,
        module=LossPredictionResNet3D,
        *args,
        loss_weight=1.0,
        detach_after=0.6,
        margin=1.0,
        **kwargs,
    ):
        super().__init__(module, *args, **kwargs)
        self.loss_weight = loss_weight
        self.detach_after = detach_after
        self.margin = margin

    _detach_features = False
    _first_epoch = 0

    # ------------------------------------------------------------------ set-up
    def _validate_hyperparams(self):
        super()._validate_hyperparams()
        for name in ("loss_weight", "margin"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
                raise ValueError(f"{name} must be a non-negative float; got {value!r}.")
        value = self.detach_after
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
            raise ValueError(f"detach_after must be a float in [0, 1]; got {value!r}.")

    def initialize_module(self):
        """Create ``module_`` and ``ema_module_``; check that the module predicts losses."""
        super().initialize_module()
        params = inspect.signature(self.module_.forward).parameters
        if "detach_features" not in params:
            raise TypeError(
                f"{type(self).__name__} needs a module whose forward(x, detach_features=False) "
                f"returns (logits, predicted_loss), such as LossPredictionResNet3D; got "
                f"{type(self.module_).__name__}, whose forward has no detach_features argument."
            )
        return self

    def initialize_criterion(self):
        """Create ``criterion_``; its task loss must support ``reduction="none"``."""
        super().initialize_criterion()
        task_loss = self.criterion_.task_loss
        if getattr(task_loss, "reduction", None) is None:
            raise TypeError(
                f"{type(self).__name__} ranks per-sample losses, so criterion__task_loss must "
                "be a torch loss with a reduction attribute, e.g. "
                f"torch.nn.CrossEntropyLoss(label_smoothing=0.1); got {type(task_loss).__name__}."
            )
        return self

    def _detach_epoch(self):
        return int(round(self.detach_after * self._epochs_planned()))

    # ---------------------------------------------------------------- fitting
    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Remember where this call's epochs start in the history."""
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self._first_epoch = len(self.history)

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Start a history row; detach the head's features once past ``detach_after``."""
        super().on_epoch_begin(
            net, dataset_train=dataset_train, dataset_valid=dataset_valid, **kwargs
        )
        epoch = len(self.history) - 1 - self._first_epoch
        self._detach_features = epoch >= self._detach_epoch()
        self.history.record("loss_head_detached", self._detach_features)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Reset the detach flag (it only applies inside a training run)."""
        super().on_train_end(net, X=X, y=y, **kwargs)
        self._detach_features = False

    def train_step_single(self, batch, **fit_params):
        """Forward the batch, add the ranking loss to the regularized loss, backpropagate."""
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        Xi = self._input_to_device(Xi)
        if self.augment:
            Xi = augment_batch(Xi, self.augment_shift)
        X_all = Xi
        if self._unlabeled is not None:
            X_all = torch.cat([Xi, self._input_to_device(self._unlabeled.next_batch(len(Xi)))])
        y_pred = self.infer(X_all, detach_features=self._detach_features, **fit_params)
        task, ranking = self.loss_terms(y_pred, yi, X=X_all)
        loss = task + self.loss_weight * ranking
        self._backward(loss)
        self.history.record_batch("task_loss", task.item())
        self.history.record_batch("ranking_loss", ranking.item())
        return {"loss": loss, "y_pred": self._split_output(y_pred)[0][: len(Xi)]}

    def _split_output(self, output):
        if isinstance(output, (tuple, list)) and len(output) >= 2:
            return output[0], output[1]
        raise TypeError(
            f"{type(self).__name__} needs a module returning (logits, predicted_loss), such "
            f"as LossPredictionResNet3D; {type(self.module_).__name__} returned a single "
            "output."
        )

    def _per_sample_task_loss(self, logits, y_true):
        # a shallow copy shares the loss's weights; only its reduction differs
        per_sample = copy.copy(self.criterion_.task_loss)
        per_sample.reduction = "none"
        return per_sample(logits, y_true)

    def loss_terms(self, y_pred, y_true, X=None):
        """Return the regularized task loss and the ranking loss, separately.

        Parameters
        ----------
        y_pred : tuple of (torch.Tensor, torch.Tensor)
            The module's ``(logits, predicted_loss)`` for the rows of ``X``; rows
            beyond ``len(y_true)`` are unlabeled.
        y_true : torch.Tensor of shape (n_labeled,)
            Encoded labels.
        X : torch.Tensor or None, default=None
            The input rows, needed by the regularizer when ``reg_lambda > 0``.

        Returns
        -------
        task_loss : torch.Tensor (scalar)
            Mean per-sample task loss plus ``reg_lambda`` times the consistency term.
        ranking_loss : torch.Tensor (scalar)
            :func:`~skcryoal.losses.loss_ranking_loss` of the labeled rows'
            predicted losses against their (detached) task losses.
        """
        logits, predicted_loss = self._split_output(y_pred)
        y_true = to_tensor(y_true, device=self._target_device())
        n_labeled = len(y_true)
        per_sample = self._per_sample_task_loss(logits[:n_labeled], y_true)
        task = per_sample.mean() if n_labeled else logits.sum() * 0.0
        if self.criterion_.reg_lambda > 0:
            mean_logits = self._mean_logits(X)
            task = task + self.criterion_.reg_lambda * self.criterion_.consistency(
                logits, mean_logits
            )
        ranking = loss_ranking_loss(
            predicted_loss[:n_labeled], per_sample, margin=float(self.margin)
        )
        return task, ranking

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Return ``task_loss + loss_weight * ranking_loss`` (see :meth:`loss_terms`)."""
        task, ranking = self.loss_terms(y_pred, y_true, X=X)
        return task + self.loss_weight * ranking

    # -------------------------------------------------------------- inference
    def predict_loss(self, X, batch_size=None, model="task"):
        """Return the loss predicted for each volume by the loss-prediction head.

        Batched, without gradients, in eval mode; memory maps are read batch by
        batch.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1, D, H, W) or (n_samples, D, H, W)
            Volumes with the spatial shape seen during fit.
        batch_size : int or None, default=None
            Volumes per forward pass; ``None`` uses ``self.batch_size``.
        model : {"task", "mean"}, default="task"
            The task model's head or the EMA mean model's.

        Returns
        -------
        predicted_loss : ndarray of shape (n_samples,)
            Only the order is meaningful (the head is trained to rank).
        """
        self._check_fitted()
        module = self._resolve_model(model)
        predicted = self.map_batches(
            X, [lambda xb: self._split_output(module(xb))[1].reshape(-1)], batch_size=batch_size
        )
        return predicted[0]
