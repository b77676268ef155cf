"""CryoNetClassifier: a skorch 3D ResNet classifier carrying an EMA mean model."""

import copy
import warnings
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
from skorch import NeuralNetClassifier
from skorch.callbacks import LRScheduler
from skorch.dataset import unpack_data
from skorch.utils import TeeGenerator, is_dataset, to_tensor
from torch.optim.lr_scheduler import CosineAnnealingLR

from ..callbacks import ExponentialMovingAverage
from ..callbacks._ema import net_steps_per_epoch
from ..losses import EMARegularizedLoss
from ..nn import ResNet3D
from ..utils._batches import iter_batches
from ..utils._random import draw_seed, torch_seed_context
from ..utils._validation import (
    assert_all_finite_chunked,
    assert_finite_outputs,
    check_label_types,
    check_labels,
    check_volumes,
)
from ._augment import augment_batch
from ._dataset import VolumeDataset
from ._device import DeviceMixin, as_float32, device_name, resolve_device
from ._pretrained import load_encoder
from ._semi import UNLABELED, is_unlabeled_marker, split_unlabeled, unlabeled_loss
from ._unlabeled import UnlabeledStream
from ._views import rotate_reimpose_wedge

_MODELS = ("task", "mean")
#: parameters added after the first release, with their defaults (older pickles lack them)
_ADDED_PARAMS = {
    "augment_tilt_range": (-60, 60),
    "unlabeled_method": "consistency",
    "unlabeled_ratio": 1,
    "unlabeled_weight": 1.0,
    "pseudo_label_threshold": 0.95,
    "encoder": None,
    "freeze_encoder": False,
    "encoder_lr": None,
    "min_steps": None,
}


def _softmax(logits):
    # module-level (not a lambda) so that nets stay picklable
    return torch.softmax(logits, dim=-1)


class CryoNetClassifier(DeviceMixin, NeuralNetClassifier):
    """3D ResNet subtomogram classifier with an EMA mean model (Wang et al., 2022).

    A :class:`skorch.NeuralNetClassifier` whose module (the task model ``T``,
    ``module_``) is trained with the regularized criterion of Eq. (4)::

        L = CE(T(x), y) + reg_lambda * MSE(T(x), M(x))

    while the mean model ``M`` (``ema_module_``) follows the exponential moving
    average of ``T``'s weights after every optimizer step. The deviation between
    the two models is the query score of :class:`~skcryoal.query.EMADeviationQuery`.

    Parameters
    ----------
    module : torch module class or instance, default=ResNet3D
        The task model. A class is instantiated with ``module__*`` parameters; its
        ``n_classes`` is set from the classes seen at ``fit`` (or ``classes``)
        unless ``module__n_classes`` is given. The mean model is a second,
        independently initialized instance. An instance is deep-copied and its
        parameters reset at every cold ``fit``.
    criterion : class, default=EMARegularizedLoss
        Must be :class:`~skcryoal.losses.EMARegularizedLoss` or a subclass; pass a
        different task loss with ``criterion__task_loss``.
    optimizer : torch optimizer class, default=torch.optim.AdamW
    lr : float, default=3e-3
    max_epochs : int, default=30
    min_steps : int or None, default=None
        Train for at least this many optimizer steps: a fit whose labeled set
        is too small for ``max_epochs`` epochs to give them trains for more
        epochs (the learning-rate decay and the mean model's horizon follow;
        ``fit_epochs_`` says how many). With a few dozen labels, 20 epochs are
        a few dozen steps; fine-tuning a pretrained encoder on 20-50 labels
        was measured with ``min_steps=400`` (docs/benchmarks.md, "Fewer
        labels"). None trains ``max_epochs`` epochs whatever the set's size.
    batch_size : int, default=16
        Training batch size; also the inference batch size.
    train_split : callable or None, default=None
        No internal validation split by default: a stratified split fails on the
        few samples per class typical of active learning.
    verbose : int, default=0
        skorch's per-epoch table is off by default (active learning fits often).
    ema_decay : float or "auto", default="auto"
        EMA coefficient ``a`` of Eq. (1), with warm-up ``min(a, 1 - 1/t)``
        (see :class:`~skcryoal.callbacks.ExponentialMovingAverage`). ``"auto"``
        scales the mean model's horizon with the fit: ``a = 1 - 1 / (ema_horizon
        * n_steps)``, where ``n_steps`` is the fit's number of optimizer steps, so
        that a CPU-sized fit of a few hundred steps and a paper-sized one of
        thousands keep the same ratio. A number is used exactly; the paper's
        0.999 is a 1000-step horizon, longer than a whole CPU-sized fit, where
        the deviation score then carries no information about the task
        model's errors (measured: docs/benchmarks.md).
    ema_horizon : float, default=0.1
        The mean model's time constant ``1 / (1 - a)`` as a fraction of the fit's
        optimizer steps, used when ``ema_decay="auto"``. 0.1 is the longest
        horizon at which the deviation score kept its information in our
        measurements (0.02-0.1 gave the same AUROC for the task model's errors;
        0.2 less; 0.5 and more none).
    ema_mode : {"default", "authors"}, default="default"
        ``"authors"`` reproduces the released code's mean model: the average
        keeps the mean model's random initial weights (warm-up
        ``min(a, 1 - 1/(t + 1))``), covers the parameters only (the mean model's
        batch-norm statistics come from its own forward passes in training mode,
        made on every batch even when ``reg_lambda=0``), and counts ``t`` from
        ``ema_step_offset``. See the user guide's method page.
    ema_step_offset : int, default=0
        EMA updates made before this fit, for the warm-up (the authors never
        reset their step counter across cycles; the benchmark sets it).
    augment : bool or {"half-turns", "rotations"}, default=False
        Augment training batches with transforms that keep the missing-wedge
        geometry and the particles' handedness. ``True`` (or ``"half-turns"``):
        identity or a 180-degree rotation about the z, y or x axis, and a
        circular shift of up to ``augment_shift`` voxels along each axis (see
        :func:`~skcryoal.classifier.augment_batch`; a 90-degree rotation would
        move the wedge and is not used). ``"rotations"``: first a uniformly
        random 3D rotation with the missing wedge of ``augment_tilt_range``
        re-imposed (:func:`~skcryoal.classifier.rotate_reimpose_wedge`), then
        the same. Off by default so that the estimator assumes nothing about the
        data; for subtomograms in random poses the half turns are the single
        largest gain of a supervised fit we measured (docs/benchmarks.md).
    augment_shift : int, default=2
        Largest shift, in voxels, of ``augment``.
    augment_tilt_range : tuple of 2 floats, default=(-60, 60)
        Tilt range of the data in degrees (tilt axis y), for the wedge of
        ``augment="rotations"`` and of the strong views of semi-supervised
        training.
    unlabeled_method : {"consistency", "mean-teacher", "fixmatch"}, default="consistency"
        How unlabeled volumes (rows of ``y`` marked ``-1`` or ``None``, or
        ``X_unlabeled``) are learned from. ``"consistency"``: the paper's
        regularizer on the volumes as they are (needs ``reg_lambda > 0``).
        ``"mean-teacher"``: the squared distance between the task model's
        posterior on a strong view (another 3D orientation, see
        :meth:`strong_views`) and the mean model's on a weak view (half turn
        and shift). ``"fixmatch"``: cross-entropy of the strong view against
        the model's own prediction on the weak view, where that prediction's
        probability reaches ``pseudo_label_threshold``. See the user guide,
        "Learning from the unlabeled pool".
    unlabeled_ratio : int, default=1
        Unlabeled volumes drawn per labeled volume in each training batch: the
        cost of an epoch is bounded whatever the size of the pool.
    unlabeled_weight : float, default=1.0
        Weight of the ``"mean-teacher"`` or ``"fixmatch"`` loss.
    pseudo_label_threshold : float, default=0.95
        Confidence a ``"fixmatch"`` pseudo-label needs.
    encoder : SubtomogramEmbedder, torch module, state dict, path or None, default=None
        Pretrained weights for every layer of the task and mean model but the
        classification layer (``fc``), copied at each cold ``fit``: a fitted
        :class:`~skcryoal.pretraining.SubtomogramEmbedder`, its ``encoder_``,
        a state dict, or the path of a file holding one (or an embedder
        checkpoint). The module must have the same architecture (width, stem).
        ``clone`` keeps a module, state dict or path, but makes a fitted
        embedder unfitted: pass ``embedder.encoder_`` where the classifier is
        cloned.
    freeze_encoder : bool, default=False
        Train the classification layer only, the pretrained encoder (weights
        and batch-norm statistics) staying as loaded.
    encoder_lr : float or None, default=None
        Learning rate of every layer but the classification layer (e.g. a
        smaller one to fine-tune a pretrained encoder gently); None: ``lr``.
    predict_with : {"task", "mean"}, default="task"
        The model used by ``predict``, ``predict_proba`` and the other
        inference methods when their ``model`` argument is not given; the query
        strategies name their models explicitly.
    reg_lambda : float, default=0.03
        Weight of the consistency regularizer; ``0`` gives plain cross-entropy
        training (the paper's "noema" ablation; the mean model is still kept).
    classes : array-like or None, default=None
        All class labels (any type: ints, strings). Set it in active learning, where
        the labeled set may lack some classes: the output layer then has
        ``len(classes)`` units. ``None`` infers the classes from ``y`` at ``fit``.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and unlabeled sampling for
        each ``fit`` (torch's global RNG is forked, so the caller's state is left
        untouched). ``None`` uses torch's global RNG.
    device : str, torch.device or None, default="cpu"
        Where both models train and predict (skorch's parameter): ``"cpu"``,
        ``"cuda"``, ``"cuda:1"``... ``"auto"`` is resolved when the models are
        created (``fit`` or ``initialize``) to ``"cuda"`` if
        ``torch.cuda.is_available()``, else ``"cpu"``; the result is kept in
        ``device_``, which every later prediction and query uses, while
        ``device`` itself stays ``"auto"`` (so a clone resolves it again).
        On CUDA, training batches come from a ``DataLoader`` with
        ``pin_memory=True`` (unless ``iterator_train__pin_memory`` is given),
        inference batches are copied into pinned memory, both go to the GPU
        with ``non_blocking=True``, and inference reads the next batch of a
        memory map while the GPU computes the current one. A model fitted on
        CUDA and unpickled where there is none is loaded on the CPU (skorch's
        rule, with a ``DeviceWarning``): ``device_`` is then ``"cpu"``, and
        so is ``device`` unless it is ``"auto"``.
    precision : {None, "32", "bf16", "fp16"}, default=None
        Numerical precision of the forward passes. ``None`` and ``"32"`` are
        plain float32, exactly as without this option. ``"bf16"`` and
        ``"fp16"`` run the forward passes of training (task and mean model)
        and of inference (:meth:`map_batches`, so every prediction and query
        strategy) under ``torch.autocast`` with bfloat16 or float16; the
        weights, the EMA average and the loss stay float32, and every output
        returned is float32. ``"bf16"`` works on the CPU and on recent GPUs
        (Ampere and later) and needs no loss scaling. ``"fp16"`` trains with a
        :class:`torch.amp.GradScaler` and needs a CUDA device: ``fit`` on
        another device raises a ValueError (a model fitted with ``"fp16"`` and
        loaded on a CPU predicts in float32).
    memory_format : {None, "channels_last_3d"}, default=None
        ``"channels_last_3d"`` stores both models' 3D convolution weights and
        every input batch in ``torch.channels_last_3d`` order, which lets
        cuDNN pick other kernels (on tensor-core GPUs often faster ones, above
        all with ``precision="bf16"`` or ``"fp16"``; ``benchmarks/gpu_check.sh``
        measures whether they are). The results equal those of the default to
        float32 rounding (the summation order changes). ``None`` keeps torch's
        default (contiguous) layout.
    **kwargs
        Any other :class:`skorch.NeuralNet` parameter (``module__width``,
        ``callbacks``, ``iterator_train__*``...).

    Attributes
    ----------
    module_ : torch.nn.Module
        The task model ``T``.
    ema_module_ : torch.nn.Module
        The mean model ``M``; never in the optimizer, never receives gradients.
    classes_ : ndarray of shape (n_classes,)
        Class labels, in output-unit order.
    volume_shape_ : tuple of int
        Spatial shape ``(D, H, W)`` of the training volumes.
    fit_epochs_ : int
        Epochs of the last ``fit`` or ``partial_fit``: ``max_epochs``, or more
        where ``min_steps`` asked for them.
    device_ : str or None
        The device the models live on: ``device`` with ``"auto"`` resolved
        (``"cpu"``, ``"cuda"``, ``"cuda:1"``...).

    Notes
    -----
    Each cold ``fit`` re-initializes both models (Algorithm 1, line 3). The
    default recipe, AdamW (lr 3e-3, batch 16) with cosine learning-rate decay
    over ``max_epochs`` (``callbacks__lr_scheduler=None`` disables the decay),
    trains useful models from a few dozen labeled volumes, where active learning
    starts: on simulated 10-class subtomograms (32^3, SNR 0.5, width 16) it
    reached 89% test accuracy from 300 labels where lr 1e-3 with batch 32 reached
    72%, and 96% vs 95% from 1000 labels. The paper's SGD recipe is available
    through ``optimizer=torch.optim.SGD, lr=0.1, optimizer__momentum=0.9``.

    The mean model runs in training mode on each batch (for the regularizer) with
    batch-norm momentum 0, so it normalises with batch statistics like the task
    model while its running statistics change only through the EMA. When
    ``reg_lambda=0`` the mean model is not evaluated during training at all.

    With the defaults (``precision=None``, ``memory_format=None``) the CPU
    results are bit for bit those of the classifier before these options
    existed. The GPU options and what they buy are measured by
    ``benchmarks/gpu_check.sh`` (docs/performance.md, "The GPU path").

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal import CryoNetClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(12, 1, 16, 16, 16)).astype(np.float32)
    >>> y = np.array(["ribosome", "proteasome"] * 6)
    >>> clf = CryoNetClassifier(module__width=4, max_epochs=2, random_state=0)
    >>> clf = clf.fit(X, y)
    >>> clf.predict_proba(X[:2], model="mean").shape
    (2, 2)
    >>> clf.classes_.tolist()
    ['proteasome', 'ribosome']
    """

    # Checked at fit (declaratively, the scikit-learn way): NaN and infinity are
    # rejected where a finite number is needed.
    _parameter_constraints = {
        "lr": [Interval(Real, 0, np.inf, closed="neither")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "min_steps": [Interval(Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1})],
        "ema_decay": [Interval(Real, 0, 1, closed="both"), StrOptions({"auto"})],
        "ema_horizon": [Interval(Real, 0, 1, closed="right")],
        "ema_mode": [StrOptions({"default", "authors"})],
        "ema_step_offset": [Interval(Integral, 0, None, closed="left")],
        "augment": ["boolean", StrOptions({"half-turns", "rotations"})],
        "augment_tilt_range": [tuple, list, None],
        "augment_shift": [Interval(Integral, 0, None, closed="left")],
        "predict_with": [StrOptions({"task", "mean"})],
        "unlabeled_method": [StrOptions({"consistency", "mean-teacher", "fixmatch"})],
        "unlabeled_ratio": [Interval(Integral, 1, None, closed="left")],
        "unlabeled_weight": [Interval(Real, 0, np.inf, closed="left")],
        "pseudo_label_threshold": [Interval(Real, 0, 1, closed="both")],
        "freeze_encoder": ["boolean"],
        "encoder_lr": [Interval(Real, 0, None, closed="neither"), None],
        "reg_lambda": [Interval(Real, 0, np.inf, closed="left")],
        "classes": ["array-like", None],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "device": [str, torch.device, None],
        "precision": [StrOptions({"32", "bf16", "fp16"}), None],
        "memory_format": [StrOptions({"channels_last_3d"}), None],
    }

    def __init__(
        self,
        module=ResNet3D,
        *args,
        criterion=EMARegularizedLoss,
        optimizer=torch.optim.AdamW,
        lr=3e-3,
        max_epochs=30,
        batch_size=16,
        train_split=None,
        verbose=0,
        iterator_train__shuffle=True,
        min_steps=None,
        ema_decay="auto",
        reg_lambda=0.03,
        classes=None,
        random_state=None,
        ema_horizon=0.1,
        ema_mode="default",
        ema_step_offset=0,
        augment=False,
        augment_shift=2,
        augment_tilt_range=(-60, 60),
        predict_with="task",
        unlabeled_method="consistency",
        unlabeled_ratio=1,
        unlabeled_weight=1.0,
        pseudo_label_threshold=0.95,
        encoder=None,
        freeze_encoder=False,
        encoder_lr=None,
        precision=None,
        memory_format=None,
        **kwargs,
    ):
        super().__init__(
            module,
            *args,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            verbose=verbose,
            iterator_train__shuffle=iterator_train__shuffle,
            classes=classes,
            **kwargs,
        )
        self.min_steps = min_steps
        self.ema_decay = ema_decay
        self.reg_lambda = reg_lambda
        self.random_state = random_state
        self.ema_horizon = ema_horizon
        self.ema_mode = ema_mode
        self.ema_step_offset = ema_step_offset
        self.augment = augment
        self.augment_shift = augment_shift
        self.augment_tilt_range = augment_tilt_range
        self.predict_with = predict_with
        self.unlabeled_method = unlabeled_method
        self.unlabeled_ratio = unlabeled_ratio
        self.unlabeled_weight = unlabeled_weight
        self.pseudo_label_threshold = pseudo_label_threshold
        self.encoder = encoder
        self.freeze_encoder = freeze_encoder
        self.encoder_lr = encoder_lr
        self.precision = precision
        self.memory_format = memory_format

    def __setattr__(self, name, attr):
        if name == "encoder":
            # a plain parameter, not one of the net's torch components: skorch would
            # refuse a module outside initialize() and move it with the net
            object.__setattr__(self, name, attr)
            return
        super().__setattr__(name, attr)

    # ------------------------------------------------------------------ set-up
    @property
    def _default_callbacks(self):
        callbacks = list(super()._default_callbacks)
        extra = [
            ("lr_scheduler", LRScheduler(CosineAnnealingLR, T_max=self._epochs_planned())),
            ("ema", self._ema_callback()),
        ]
        # keep print_log last so it reports what the other callbacks recorded
        return callbacks[:-1] + extra + callbacks[-1:]

    def _epochs_planned(self):
        # the epochs of the fit being set up (fit_epochs_ is set before initialize)
        return self.__dict__.get("fit_epochs_", self.max_epochs)

    def _epochs_for(self, n_labeled):
        """Epochs of a fit on ``n_labeled`` volumes: ``max_epochs``, more for ``min_steps``."""
        epochs = int(self.max_epochs)
        if self.min_steps is None:
            return epochs
        per_epoch = net_steps_per_epoch(self, n_labeled)
        return max(epochs, -(-int(self.min_steps) // per_epoch))

    @property
    def _authors_mean_model(self):
        # any value may sit in a parameter until fit validates it (sklearn's checks
        # set arrays): compare strings only
        return isinstance(self.ema_mode, str) and self.ema_mode == "authors"

    def _ema_callback(self):
        authors = self._authors_mean_model
        return ExponentialMovingAverage(
            decay=self.ema_decay,
            horizon=self.ema_horizon,
            warmup="authors" if authors else True,
            buffers=not authors,
            step_offset=self.ema_step_offset,
        )

    def _new_module(self, kwargs):
        if isinstance(self.module, torch.nn.Module):
            module = copy.deepcopy(self.module)
            for m in module.modules():
                if hasattr(m, "reset_parameters"):
                    m.reset_parameters()
            return module
        return self.module(**kwargs)

    def _module_kwargs(self):
        kwargs = self.get_params_for("module")
        if isinstance(self.module, torch.nn.Module):
            return kwargs
        n_classes = self._n_classes()
        if "n_classes" in kwargs:
            if n_classes is not None and kwargs["n_classes"] != n_classes:
                raise ValueError(
                    f"module__n_classes={kwargs['n_classes']} does not match the "
                    f"{n_classes} classes of the classifier (classes_={list(self.classes_)}); "
                    "drop module__n_classes or make them agree."
                )
        elif n_classes is None:
            raise ValueError(
                "The number of output classes is unknown: call fit(X, y), or pass "
                "classes=[...] or module__n_classes=... before initialize()."
            )
        else:
            kwargs["n_classes"] = n_classes
        return kwargs

    def _n_classes(self):
        try:
            return len(self.classes_)
        except AttributeError:
            return None

    def initialize_module(self):
        """Create the task model ``module_`` and the mean model ``ema_module_``.

        The mean model is a second, independently initialized instance of the
        same architecture with gradients disabled and batch-norm momentum 0
        (its running statistics are averaged with the weights); with
        ``ema_mode="authors"`` its batch norm keeps its momentum and learns its
        statistics from its own forward passes.
        """
        kwargs = self._module_kwargs()
        module = self._new_module(kwargs)
        ema = self._new_module(kwargs).requires_grad_(False)
        if not self._authors_mean_model:
            for m in ema.modules():
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                    m.momentum = 0.0
        if self.encoder is not None:
            load_encoder(module, self.encoder)
            load_encoder(ema, self.encoder)
        if self.freeze_encoder:
            if self.encoder is None:
                raise ValueError(
                    "freeze_encoder=True needs a pretrained encoder (encoder=...); a frozen "
                    "random encoder would train the classification layer alone."
                )
            for name, param in module.named_parameters():
                if not name.startswith("fc."):
                    param.requires_grad_(False)
        if self._channels_last:
            # skorch's move to the device afterwards keeps the memory format
            module = module.to(memory_format=torch.channels_last_3d)
            ema = ema.to(memory_format=torch.channels_last_3d)
        self.module_ = module
        self.ema_module_ = ema
        return self

    def initialize(self):
        """Resolve the device into ``device_`` and create the models, criterion and optimizer.

        Returns
        -------
        self : CryoNetClassifier
        """
        self.device_ = device_name(resolve_device(self.device))
        with self._concrete_device():
            super().initialize()
        return self

    def __setstate__(self, state):
        requested = state.get("device")
        if isinstance(requested, str) and requested == "auto":
            # skorch maps the saved tensors to the device they were on (or to the
            # CPU when there is no CUDA): give it the resolved one
            state["device"] = state.get("device_") or resolve_device("auto")
        # models pickled before these options existed
        state.setdefault("precision", None)
        state.setdefault("memory_format", None)
        # ... and before augment_tilt_range, the unlabeled losses and pretrained encoders
        for name, value in _ADDED_PARAMS.items():
            state.setdefault(name, value)
        super().__setstate__(state)
        if "device_" in self.__dict__ or "module_" in self.__dict__:
            self.device_ = device_name(self.device)  # where skorch put the tensors
        if isinstance(requested, str) and requested == "auto":
            self.device = requested

    def initialize_criterion(self):
        """Create ``criterion_`` with ``reg_lambda`` taken from the classifier."""
        kwargs = self.get_params_for("criterion")
        if "reg_lambda" in kwargs and kwargs["reg_lambda"] != self.reg_lambda:
            raise ValueError(
                "Set the regularizer weight with reg_lambda=..., not criterion__reg_lambda; "
                f"got reg_lambda={self.reg_lambda} and criterion__reg_lambda="
                f"{kwargs['reg_lambda']}."
            )
        kwargs["reg_lambda"] = self.reg_lambda
        criterion = self.criterion
        if isinstance(criterion, torch.nn.Module):
            if not isinstance(criterion, EMARegularizedLoss):
                raise TypeError(
                    "criterion must be EMARegularizedLoss (or a subclass); got "
                    f"{type(criterion).__name__}. Pass another task loss with "
                    "criterion__task_loss=..., e.g. torch.nn.CrossEntropyLoss(label_smoothing=0.1)."
                )
            criterion = copy.deepcopy(criterion)
            criterion.reg_lambda = float(self.reg_lambda)
        else:
            if not (isinstance(criterion, type) and issubclass(criterion, EMARegularizedLoss)):
                raise TypeError(
                    "criterion must be EMARegularizedLoss (or a subclass); got "
                    f"{criterion!r}. Pass another task loss with criterion__task_loss=..., "
                    "e.g. torch.nn.CrossEntropyLoss(label_smoothing=0.1)."
                )
            criterion = criterion(**kwargs)
        self.criterion_ = criterion
        return self

    def initialize_optimizer(self, *args, **kwargs):
        """Create the optimizer; with ``encoder_lr``, the encoder's layers get that rate.

        Every parameter group of the optimizer (skorch's ``optimizer__param_groups``
        included) is split in two: the classification layer (``fc``) keeps the
        group's rate, the rest of the task model gets ``encoder_lr``.
        """
        super().initialize_optimizer(*args, **kwargs)
        if self.encoder_lr is None:
            return self
        head = {id(p) for name, p in self.module_.named_parameters() if name.startswith("fc.")}
        if not head:
            raise ValueError(
                f"encoder_lr needs a module whose classification layer is named 'fc' (as "
                f"ResNet3D's); {type(self.module_).__name__} has none."
            )
        optimizer = self.optimizer_
        groups = []
        for group in optimizer.param_groups:
            options = {k: v for k, v in group.items() if k != "params"}
            body = [p for p in group["params"] if id(p) not in head]
            top = [p for p in group["params"] if id(p) in head]
            if body:
                groups.append({**options, "params": body, "lr": float(self.encoder_lr)})
            if top:
                groups.append({**options, "params": top})
        optimizer.param_groups.clear()  # nothing is in the optimizer's state yet
        for group in groups:
            optimizer.add_param_group(group)
        return self

    def get_all_learnable_params(self):
        """Yield the task model's parameters only (the mean model is never optimized)."""
        for name, param in super().get_all_learnable_params():
            if any(param is p for p in self.ema_module_.parameters()):
                continue
            if self.freeze_encoder and not param.requires_grad:
                continue
            yield name, param

    def _get_param_names(self):
        # skorch lists every attribute not ending in "_", private state included;
        # private names are not constructor parameters (sklearn's clone and
        # set_params would otherwise receive them)
        return [k for k in super()._get_param_names() if not k.startswith("_")]

    def check_data(self, X, y):
        """Do nothing: inputs are validated in :meth:`fit` (y arrives encoded)."""

    def get_iterator(self, dataset, training=False):
        """Return the batch iterator; a lone last training batch is dropped.

        Batch normalization cannot train on a batch of one volume, which a
        labeled set of ``k * batch_size + 1`` volumes would end with. In that
        case the last (shuffled, so each epoch another) volume is left out of the
        epoch; every other size trains on all volumes. On a CUDA device the
        batches are collated into pinned memory (``pin_memory=True``, unless the
        ``iterator_train__pin_memory`` or ``iterator_valid__pin_memory``
        parameter says otherwise), so that their copy to the GPU is asynchronous.
        """
        prefix = "iterator_train" if training else "iterator_valid"
        kwargs = self.get_params_for(prefix)
        iterator = self.iterator_train if training else self.iterator_valid
        kwargs.setdefault("batch_size", self.batch_size)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        n = len(dataset)
        batch = kwargs["batch_size"]
        lone_last = training and batch is not None and n > 1 and n % batch == 1
        if lone_last and "drop_last" not in kwargs:
            kwargs["drop_last"] = True
        elif lone_last and not kwargs["drop_last"]:
            raise ValueError(
                f"{prefix}__drop_last=False with {n} training volumes and batch_size={batch} "
                "ends each epoch on a batch of one volume, which batch normalization cannot "
                f"train on; leave {prefix}__drop_last unset (one volume, another each epoch, is "
                "then left out of the epoch) or choose a batch_size that does not leave one "
                f"volume over ({n} % batch_size != 1)."
            )
        if self._on_cuda():
            kwargs.setdefault("pin_memory", True)
        return iterator(dataset, **kwargs)

    def get_dataset(self, X, y=None):
        """Wrap arrays in a dataset that reads one volume at a time (memmap-friendly)."""
        if is_dataset(X):
            return super().get_dataset(X, y)
        return VolumeDataset(X, y)

    def _get_predict_nonlinearity(self):
        if self.predict_nonlinearity == "auto":
            return _softmax
        return super()._get_predict_nonlinearity()

    # ---------------------------------------------------------------- fitting
    def _validate_hyperparams(self):
        params = {name: getattr(self, name) for name in self._parameter_constraints}
        validate_parameter_constraints(
            self._parameter_constraints, params, caller_name=type(self).__name__
        )
        self._check_device_options(resolve_device(self.device))

    def _module_spec(self):
        module = self.module
        if isinstance(module, torch.nn.Module):
            return getattr(module, "in_channels", 1), getattr(module, "min_side", None)
        kwargs = self.get_params_for("module")
        return kwargs.get("in_channels", 1), getattr(module, "min_side", None)

    def _resolve_classes(self, y, *, refit):
        if self.classes is not None:
            check_label_types(self.classes, name="classes")
            classes = np.asarray(self.classes)
            if classes.ndim != 1 or len(classes) < 2:
                raise ValueError(
                    f"classes must list at least two class labels; got {self.classes!r}."
                )
            if len(np.unique(classes)) != len(classes):
                raise ValueError(f"classes must not repeat a label; got {list(classes)}.")
        elif refit or not hasattr(self, "classes_inferred_"):
            classes = np.unique(y)
            if len(classes) < 2:
                raise ValueError(
                    f"y holds a single class ({classes[0]!r}); a classifier needs at least two. "
                    "If the other classes are simply not labeled yet, pass classes=[...]."
                )
            self.classes_inferred_ = classes
        else:
            classes = self.classes_inferred_
        known = np.isin(y, classes)
        if not known.all():
            unknown = np.unique(y[~known])
            raise ValueError(
                f"y contains labels not in classes_: {list(unknown)[:10]}; known classes are "
                f"{list(classes)[:20]}. Pass the full list with classes=[...]."
            )
        return classes

    def _encode(self, y, classes):
        sorter = np.argsort(classes, kind="stable")
        return sorter[np.searchsorted(classes, y, sorter=sorter)].astype(np.int64)

    def _prepare(self, X, y, X_unlabeled, *, refit):
        self._validate_hyperparams()
        in_channels, min_side = self._module_spec()
        X = check_volumes(X, n_channels=in_channels, min_side=min_side)
        X, y, X_unlabeled = split_unlabeled(X, y, X_unlabeled)
        if self.classes is not None and is_unlabeled_marker(self.classes).any():
            raise ValueError(
                f"classes must not contain {UNLABELED!r} or None: they mark unlabeled rows of y "
                f"(scikit-learn's convention); got classes={list(self.classes)}."
            )
        if not refit and hasattr(self, "volume_shape_"):
            X = check_volumes(X, volume_shape=self.volume_shape_, check_finite=False)
        if len(X) < 2:
            raise ValueError(
                f"At least 2 labeled volumes are needed to train (batch normalization); got "
                f"{len(X)}."
            )
        y = check_labels(y, len(X))
        y_enc = self._encode(y, self._resolve_classes(y, refit=refit))
        if X_unlabeled is not None:
            X_unlabeled = check_volumes(
                X_unlabeled,
                name="X_unlabeled",
                n_channels=in_channels,
                volume_shape=X.shape[2:],
            )
            if self.unlabeled_method == "consistency" and self.reg_lambda == 0:
                warnings.warn(
                    f"{len(X_unlabeled)} unlabeled volumes are given but nothing is learned from "
                    "them: unlabeled_method='consistency' uses them only through the "
                    "regularizer, and reg_lambda=0. Set reg_lambda > 0, or "
                    "unlabeled_method='mean-teacher' or 'fixmatch'.",
                    UserWarning,
                    stacklevel=3,
                )
        # torch needs float32; a float32 array or memory map is used without a copy
        X = np.asarray(X, dtype=np.float32)
        return X, y_enc, X_unlabeled

    def _run(self, X, y_enc, X_unlabeled, initialize, **fit_params):
        if initialize or "device_" not in self.__dict__:
            self.device_ = device_name(resolve_device(self.device))
        with (
            torch_seed_context(draw_seed(self.random_state), self.device_ or "cpu"),
            self._concrete_device(),
        ):
            self.fit_epochs_ = self._epochs_for(len(X))
            if initialize:
                self.initialize()
            self.volume_shape_ = tuple(int(s) for s in X.shape[2:])
            self._unlabeled = None if X_unlabeled is None else UnlabeledStream(X_unlabeled)
            if self.precision != "fp16":
                self._grad_scaler = None
            elif initialize or self._grad_scaler is None:
                self._grad_scaler = torch.amp.GradScaler("cuda")
            try:
                fit_params.setdefault("epochs", self.fit_epochs_)
                NeuralNetClassifier.partial_fit(self, X, y_enc, **fit_params)
            finally:
                self._unlabeled = None
        return self

    def fit(self, X, y, X_unlabeled=None, **fit_params):
        """Initialize both models and train on labeled volumes.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1, D, H, W) or (n_samples, D, H, W)
            Labeled volumes, axis order (z, y, x).
        y : array-like of shape (n_samples,)
            Class labels (any type).
        X_unlabeled : array-like of shape (n_unlabeled, 1, D, H, W) or None
            Unlabeled volumes for the semi-supervised variant: each training
            batch is joined by as many unlabeled volumes, on which only the
            consistency term ``reg_lambda * MSE(T(x), M(x))`` is applied.
            Memory maps are read batch by batch.
        **fit_params : dict
            Passed on to skorch.

        Returns
        -------
        self : CryoNetClassifier
        """
        refit = not self.warm_start or not self.initialized_
        X, y_enc, X_unlabeled = self._prepare(X, y, X_unlabeled, refit=refit)
        return self._run(X, y_enc, X_unlabeled, refit, **fit_params)

    def partial_fit(self, X, y, classes=None, X_unlabeled=None, **fit_params):
        """Continue training without re-initializing (a warm start).

        Parameters
        ----------
        X, y, X_unlabeled
            As in :meth:`fit`.
        classes : None
            Unused; set ``classes`` in the constructor instead.
        **fit_params : dict
            Passed on to skorch.

        Returns
        -------
        self : CryoNetClassifier
        """
        refit = not self.initialized_
        X, y_enc, X_unlabeled = self._prepare(X, y, X_unlabeled, refit=refit)
        return self._run(X, y_enc, X_unlabeled, refit, **fit_params)

    def train_step(self, batch, **fit_params):
        """Take one optimizer step; with ``precision="fp16"`` through the gradient scaler.

        The scaled loss is backpropagated, the gradients are unscaled before
        the ``on_grad_computed`` callbacks see them (so that gradient clipping
        works on true gradients), and the step is skipped when they are not
        finite. Every other precision is skorch's own step.
        """
        scaler = self._grad_scaler
        if scaler is None:
            return super().train_step(batch, **fit_params)
        step_accumulator = self.get_train_step_accumulator()
        self._zero_grad_optimizer()
        step = self.train_step_single(batch, **fit_params)
        step_accumulator.store_step(step)
        optimizers = [getattr(self, name + "_") for name in self._optimizers]
        for optimizer in optimizers:
            scaler.unscale_(optimizer)
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(self.get_all_learnable_params()),
            batch=batch,
            training=True,
        )
        for optimizer in optimizers:
            scaler.step(optimizer)
        scaler.update()
        return step_accumulator.get_step()

    def train_step_single(self, batch, **fit_params):
        """Forward the labeled batch (and an unlabeled batch) and backpropagate."""
        self._set_training(True)
        if self.freeze_encoder:
            # a frozen encoder keeps its batch-norm statistics too
            for m in self.module_.modules():
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                    m.eval()
        Xi, yi = unpack_data(batch)
        Xi = self._input_to_device(Xi)
        if self.augment:
            Xi = self.augment_views(Xi)
        method = None if self._unlabeled is None else self.unlabeled_method
        U = None
        if method is not None:
            U = self._input_to_device(self._unlabeled.next_batch(len(Xi) * self.unlabeled_ratio))
        if method in (None, "consistency"):
            # supervised, or the paper's semi-supervised variant: the regularizer also on
            # the unlabeled volumes as they are
            X_all = Xi if U is None else torch.cat([Xi, U])
            y_pred = self.infer(X_all, **fit_params)
            loss = self.get_loss(y_pred, yi, X=X_all, training=True)
        else:
            y_pred, loss = self._two_view_loss(Xi, yi, U, method, **fit_params)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"Training diverged: the loss became {loss.item()} in epoch "
                f"{len(self.history)} of {type(self).__name__}.fit. Check that the volumes are "
                "standardized (skcryoal.preprocessing.SubtomogramStandardizer) and lower lr "
                f"(now {self.lr}) or reg_lambda (now {self.reg_lambda})."
            )
        self._backward(loss)
        return {"loss": loss, "y_pred": y_pred[: len(Xi)]}

    def _two_view_loss(self, Xi, yi, U, method, **fit_params):
        """Labeled loss plus the Mean Teacher or FixMatch loss of unlabeled ``U``."""
        weak = augment_batch(U, self.augment_shift)
        strong = self.strong_views(U)
        n = len(Xi)
        if method == "fixmatch":
            # one pass over labeled, weak and strong views (batch norm sees them together)
            out = _logits(self.infer(torch.cat([Xi, weak, strong]), **fit_params))
            y_pred, teacher, student = out[:n], out[n : n + len(U)].detach(), out[n + len(U) :]
        else:
            out = _logits(self.infer(torch.cat([Xi, strong]), **fit_params))
            y_pred, student = out[:n], out[n:]
            teacher = self._mean_logits(weak)
        loss_u, used = unlabeled_loss(
            method, student, teacher, threshold=self.pseudo_label_threshold
        )
        self.history.record_batch("unlabeled_used", used)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        return y_pred, loss + self.unlabeled_weight * loss_u

    def augment_views(self, X):
        """Return a randomly augmented copy of a batch, as ``augment`` says.

        ``True`` or ``"half-turns"``: :func:`~skcryoal.classifier.augment_batch`
        (a 180-degree turn about a coordinate axis and a shift). ``"rotations"``:
        :func:`~skcryoal.classifier.rotate_reimpose_wedge` (a uniformly random 3D
        rotation, then the missing wedge of ``augment_tilt_range`` re-imposed),
        followed by the same half turns and shift.

        Parameters
        ----------
        X : torch.Tensor of shape (n, C, D, H, W)

        Returns
        -------
        X_aug : torch.Tensor of shape (n, C, D, H, W)
        """
        if isinstance(self.augment, str) and self.augment == "rotations":
            return self.strong_views(X)
        return augment_batch(X, self.augment_shift)

    def strong_views(self, X):
        """Return the strongly augmented views of unlabeled volumes (semi-supervised).

        A uniformly random 3D rotation with the missing wedge of
        ``augment_tilt_range`` re-imposed (:func:`~skcryoal.classifier.rotate_reimpose_wedge`),
        then a half turn and a shift (:func:`~skcryoal.classifier.augment_batch`):
        a realistic subtomogram of the same particle in another pose. The weak
        view is the half turn and shift alone.

        Parameters
        ----------
        X : torch.Tensor of shape (n, C, D, H, W)

        Returns
        -------
        views : torch.Tensor of shape (n, C, D, H, W)
        """
        views = rotate_reimpose_wedge(X, tilt_range=self.augment_tilt_range)
        return augment_batch(views, self.augment_shift)

    def infer(self, x, **fit_params):
        """Forward a batch through the task model (under autocast with ``precision``).

        Parameters
        ----------
        x : torch.Tensor of shape (n, C, D, H, W)
            Moved to ``device_`` (asynchronously from pinned memory on CUDA) and
            into ``memory_format``.
        **fit_params : dict
            Passed to the module's ``forward``.

        Returns
        -------
        output : torch.Tensor or tuple of torch.Tensor
            The module's output, floating-point tensors in float32.
        """
        x = self._input_to_device(x)
        with self._autocast():
            if isinstance(x, Mapping):
                output = self.module_(**x, **fit_params)
            else:
                output = self.module_(x, **fit_params)
        return as_float32(output)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Return the regularized loss; rows of ``y_pred`` beyond ``y_true`` are unlabeled."""
        y_true = to_tensor(y_true, device=self._target_device())
        mean_logits = None
        if self.criterion_.reg_lambda > 0 or (training and self._authors_mean_model):
            # the authors' mean model learns its batch-norm statistics from these passes
            mean_logits = self._mean_logits(X)
        if self.criterion_.reg_lambda == 0:
            mean_logits = None
        # outside autocast, on float32 logits: the loss is computed in float32
        return self.criterion_(y_pred, y_true, mean_logits)

    def _mean_logits(self, X):
        """Return the mean model's float32 logits for a batch, without gradients."""
        with torch.no_grad(), self._autocast():
            return _logits(self.ema_module_(self._input_to_device(X))).float()

    _unlabeled = None

    # -------------------------------------------------------------- inference
    def _check_fitted(self):
        if not getattr(self, "initialized_", False) or not hasattr(self, "module_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(X, y) before "
                "predicting or querying."
            )

    def _resolve_model(self, model):
        if model is None:
            model = self.predict_with
        if model not in _MODELS:
            raise ValueError(f"model must be 'task' or 'mean'; got {model!r}.")
        return self.module_ if model == "task" else self.ema_module_

    def map_batches(self, X, functions, batch_size=None):
        """Apply torch functions to batches of volumes, without gradients, in eval mode.

        The shared inference loop of the classifier and the query strategies:
        validates ``X`` against the fitted volume shape, reads it batch by batch
        (memory maps stay lazy; non-finite values are reported with their row),
        evaluates every function on each batch while it is in memory and
        collects the results.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1, D, H, W) or (n_samples, D, H, W)
        functions : sequence of callable
            Each maps a float32 tensor batch on ``device_`` (in ``memory_format``)
            to a tensor whose first axis is the batch; they run under autocast
            when ``precision`` is ``"bf16"`` or ``"fp16"``.
        batch_size : int or None, default=None
            Volumes per batch; ``None`` uses ``self.batch_size``.

        Returns
        -------
        outputs : tuple of ndarray
            One float32 array of shape (n_samples, ...) per function.
        """
        self._check_fitted()
        in_channels, _ = self._module_spec()
        X = check_volumes(
            X,
            n_channels=in_channels,
            volume_shape=getattr(self, "volume_shape_", None),
            check_finite=False,
        )
        batch_size = self.batch_size if batch_size is None else batch_size
        self._set_training(False)
        outputs = None
        batches = iter_batches(X, batch_size)
        following = next(batches, None)
        with torch.no_grad():
            while following is not None:
                start, stop, batch = following
                assert_all_finite_chunked(batch, offset=start)
                xb = self._input_to_device(torch.from_numpy(batch))
                with self._autocast():
                    pending = [fn(xb) for fn in functions]
                # on a GPU the next batch is read (from a memory map) while this one computes
                following = next(batches, None)
                results = [p.float().cpu().numpy() for p in pending]
                for r, fn in zip(results, functions):
                    what = getattr(fn, "output_name", getattr(fn, "__name__", "outputs"))
                    assert_finite_outputs(r, what=what, offset=start, inputs=batch)
                if outputs is None:
                    outputs = [np.empty((len(X), *r.shape[1:]), np.float32) for r in results]
                for out, r in zip(outputs, results):
                    out[start:stop] = r
        return tuple(outputs)

    def forward_logits(self, X, models=("task", "mean"), batch_size=None):
        """Return the logits of several models, computed in one batched pass.

        Both models see each batch while it is in memory, so a memory-mapped pool
        is read once; memory is O(batch_size) beyond the returned logits.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1, D, H, W) or (n_samples, D, H, W)
            Volumes with the spatial shape seen during fit. Memory maps and lazy
            arrays are read batch by batch.
        models : sequence of {"task", "mean"}, default=("task", "mean")
            Which models to evaluate.
        batch_size : int or None, default=None
            Volumes per forward pass; ``None`` uses ``self.batch_size``.

        Returns
        -------
        logits : tuple of ndarray of shape (n_samples, n_classes)
            One float32 array per entry of ``models``.
        """
        self._check_fitted()
        modules = [self._resolve_model(m) for m in models]
        return self.map_batches(X, [_LogitsOf(m) for m in modules], batch_size=batch_size)

    def decision_function(self, X, model=None):
        """Return the logits of the task or the mean model.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1, D, H, W) or (n_samples, D, H, W)
        model : {"task", "mean"} or None, default=None
            None uses ``predict_with``.

        Returns
        -------
        logits : ndarray of shape (n_samples, n_classes)
        """
        return self.forward_logits(X, models=(model,))[0]

    def predict_proba(self, X, model=None):
        """Return class probabilities (softmax of the logits).

        Parameters
        ----------
        X : array-like of shape (n_samples, 1, D, H, W) or (n_samples, D, H, W)
            Volumes, axis order (z, y, x). A torch/skorch ``Dataset`` is passed to
            skorch's own prediction loop (used by skorch's scoring callbacks).
        model : {"task", "mean"} or None, default=None
            The task model ``T`` or the EMA mean model ``M``; None uses
            ``predict_with``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        if is_dataset(X):
            return super().predict_proba(X)
        logits = torch.from_numpy(self.decision_function(X, model=model))
        return self._get_predict_nonlinearity()(logits).numpy()

    def predict_log_proba(self, X, model=None):
        """Return the log of the class probabilities (log-softmax of the logits).

        Parameters
        ----------
        X : array-like of shape (n_samples, 1, D, H, W) or (n_samples, D, H, W)
        model : {"task", "mean"} or None, default=None
            None uses ``predict_with``.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        logits = torch.from_numpy(self.decision_function(X, model=model))
        return torch.log_softmax(logits, dim=-1).numpy()

    def predict(self, X, model=None):
        """Return the most probable class label for each volume.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1, D, H, W) or (n_samples, D, H, W)
        model : {"task", "mean"} or None, default=None
            None uses ``predict_with``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        if is_dataset(X):
            return super().predict(X)
        best = self.decision_function(X, model=model).argmax(axis=1)
        return self.classes_[best]

    def embed(self, X, batch_size=None):
        """Return the task model's penultimate embedding (used by core-set).

        Parameters
        ----------
        X : array-like of shape (n_samples, 1, D, H, W) or (n_samples, D, H, W)
        batch_size : int or None, default=None

        Returns
        -------
        embedding : ndarray of shape (n_samples, n_features)
        """
        self._check_fitted()
        if not hasattr(self.module_, "embed"):
            raise TypeError(
                f"The module {type(self.module_).__name__} has no embed() method; "
                "use ResNet3D or add one returning the penultimate features."
            )
        return self.map_batches(
            X, [_Named(self.module_.embed, "embeddings")], batch_size=batch_size
        )[0]


class _LogitsOf:
    """``xb -> logits of module(xb)``, named for error messages."""

    output_name = "logits"

    def __init__(self, module):
        self.module = module

    def __call__(self, xb):
        return _logits(self.module(xb))


class _Named:
    """A batch function with a name for error messages."""

    def __init__(self, fn, output_name):
        self.fn, self.output_name = fn, output_name

    def __call__(self, xb):
        return self.fn(xb)


def _logits(output):
    # modules may return (logits, extras...), e.g. a loss-prediction head
    return output[0] if isinstance(output, (tuple, list)) else output
