"""The default classifier of a campaign: the right network for each strategy."""

import numbers

from ..classifier._device import resolve_device

RECIPES = {
    "adamw-cosine": (
        "AdamW, lr 3e-3, batch 16, cosine decay over the epochs (CryoNetClassifier's default)"
    ),
    "sgd-paper": (
        "the authors' recipe: SGD lr 0.1, momentum 0.9, weight decay 5e-4, lr x0.1 after "
        "80% of the epochs (epoch 80 of 100)"
    ),
}


class ClassifierFactory:
    """Build a fresh classifier for a strategy: ``factory(strategy_name, seed)``.

    The default ``classifier_factory`` of :func:`run_campaign`. ``"ll4al"``
    gets a :class:`~skcryoal.classifier.LearningLossClassifier`; ``"mc_dropout"`` and
    ``"bald"`` a :class:`~skcryoal.classifier.CryoNetClassifier` with ``module__dropout=dropout``
    (unless given); every other strategy a plain
    :class:`~skcryoal.classifier.CryoNetClassifier`.

    Which strategies train with the EMA regularizer follows the paper: the EMA
    method (``"ema"``, and a strategy instance, ``strategy_name=None``) trains
    with ``CE + reg_lambda * MSE(task, mean logits)``; the baselines and the
    full-pool ceiling train with plain cross-entropy (``reg_lambda=0``), as
    the paper's baselines do. ``regularize_baselines=True`` trains every
    strategy with the regularizer instead, so that learning curves differ by
    the selection rule alone. A strategy spec's ``clf.reg_lambda=...``
    overrides both.

    Parameters
    ----------
    width : int, default=16
        ResNet3D width (64 is ResNet-18 as in the paper).
    max_epochs : int, default=20
        Epochs per cycle (each cycle trains from scratch).
    batch_size : int, default=16
    recipe : {"adamw-cosine", "sgd-paper"}, default="adamw-cosine"
        The optimizer and learning-rate schedule; see ``RECIPES``.
        ``"adamw-cosine"`` gives random-sampling curves that rise with labels
        within 20 epochs on a CPU; ``"sgd-paper"`` is the authors' (REFERENCE.md
        section 2), meant for 100 epochs on a GPU.
    lr : float or None, default=None
        Overrides the recipe's learning rate.
    device : str, default="cpu"
        Torch device; ``"auto"`` picks ``"cuda"`` when available.
    dropout : float, default=0.3
        Dropout before the classifier layer for ``"mc_dropout"`` and ``"bald"``.
    regularize_baselines : bool, default=False
        Train the baselines (every strategy but ``"ema"``) and the ceiling with
        the EMA regularizer too. False is the paper's protocol.
    **params
        Any other classifier parameter (``reg_lambda``, ``ema_decay``,
        ``module__stem``...).

    Examples
    --------
    >>> from skcryoal.benchmark import ClassifierFactory
    >>> factory = ClassifierFactory(width=4, max_epochs=1)
    >>> type(factory("ll4al", seed=0)).__name__
    'LearningLossClassifier'
    >>> factory("mc_dropout", seed=0).module__dropout
    0.3
    >>> factory("ema", seed=0).reg_lambda, factory("entropy", seed=0).reg_lambda
    (0.03, 0.0)
    """

    def __init__(
        self,
        width=16,
        max_epochs=20,
        batch_size=16,
        recipe="adamw-cosine",
        lr=None,
        device="cpu",
        dropout=0.3,
        regularize_baselines=False,
        **params,
    ):
        self.width = width
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.recipe = recipe
        self.lr = lr
        self.device = device
        self.dropout = dropout
        self.regularize_baselines = regularize_baselines
        self.params = params

    def _recipe_params(self):
        if self.recipe not in RECIPES:
            raise ValueError(f"recipe must be one of {sorted(RECIPES)}; got {self.recipe!r}.")
        if self.recipe == "adamw-cosine":
            return {} if self.lr is None else {"lr": self.lr}
        import torch
        from skorch.callbacks import LRScheduler
        from torch.optim.lr_scheduler import MultiStepLR

        milestone = max(1, int(round(0.8 * self.max_epochs)))
        return {
            "optimizer": torch.optim.SGD,
            "lr": 0.1 if self.lr is None else self.lr,
            "optimizer__momentum": 0.9,
            "optimizer__weight_decay": 5e-4,
            "callbacks__lr_scheduler": LRScheduler(MultiStepLR, milestones=[milestone], gamma=0.1),
        }

    def warm_params(self, epochs):
        """Classifier parameters of a warm-started fit of ``epochs`` epochs.

        The recipe's learning-rate schedule restarts for each warm fit and
        must span its epochs: the cosine decay of ``"adamw-cosine"`` follows
        ``max_epochs`` by itself (``{}``); the step of ``"sgd-paper"`` moves
        to 80% of the warm fit.

        Parameters
        ----------
        epochs : int

        Returns
        -------
        params : dict
        """
        if self._recipe_params().get("callbacks__lr_scheduler") is None:
            return {}
        from skorch.callbacks import LRScheduler
        from torch.optim.lr_scheduler import MultiStepLR

        milestone = max(1, int(round(0.8 * epochs)))
        return {
            "callbacks__lr_scheduler": LRScheduler(MultiStepLR, milestones=[milestone], gamma=0.1)
        }

    def __call__(self, strategy_name, seed):
        """Return a new, unfitted classifier for ``strategy_name`` seeded by ``seed``.

        Parameters
        ----------
        strategy_name : str or None
            Registered strategy name (``None`` for a strategy instance).
        seed : int
            The classifier's ``random_state``.

        Returns
        -------
        classifier : CryoNetClassifier or LearningLossClassifier
        """
        from ..classifier import CryoNetClassifier, LearningLossClassifier

        for name in ("width", "max_epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}.")
        params = dict(
            module__width=self.width,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            device=resolve_device(self.device),
            random_state=seed,
        )
        params.update(self._recipe_params())
        params.update(self.params)
        if strategy_name is not None and strategy_name != "ema" and not self.regularize_baselines:
            params["reg_lambda"] = 0.0  # the paper's baselines train with plain cross-entropy
        if strategy_name == "ll4al":
            return LearningLossClassifier(**params)
        if strategy_name in ("mc_dropout", "bald"):
            params.setdefault("module__dropout", self.dropout)
        return CryoNetClassifier(**params)

    def __repr__(self):
        args = dict(
            width=self.width,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            recipe=self.recipe,
            lr=self.lr,
            device=self.device,
            dropout=self.dropout,
            regularize_baselines=self.regularize_baselines,
            **self.params,
        )
        return "ClassifierFactory(" + ", ".join(f"{k}={v!r}" for k, v in args.items()) + ")"
