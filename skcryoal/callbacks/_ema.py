"""The exponential moving average of a network's weights (the "mean model")."""

import copy
import math
import numbers

import torch
from skorch.callbacks import Callback


def ema_decay_at(step, decay, warmup=True):
    """Return the smoothing coefficient used at the ``step``-th EMA update.

    Parameters
    ----------
    step : int
        1-based index of the update (within the current fit, or counted across
        fits for ``warmup="authors"`` with a step offset).
    decay : float
        The target coefficient ``a`` of Eq. (1), ``theta'_t = a theta'_{t-1} +
        (1 - a) theta_t``.
    warmup : {True, False, "authors"}, default=True
        If True, use ``a_t = min(decay, 1 - 1/step)``: the first update copies the
        task model and, until ``1 / (1 - decay)`` steps have passed, the mean model
        is the plain running average of all task-model iterates; after that it is
        the EMA of Eq. (1). If False, ``a_t = decay`` from the first step.
        ``"authors"`` is the released code's (and the mean teacher's)
        ``a_t = min(decay, 1 - 1/(step + 1))``, which keeps the mean model's
        random initial weights in the average.

    Returns
    -------
    a_t : float

    Examples
    --------
    >>> from skcryoal.callbacks import ema_decay_at
    >>> ema_decay_at(1, 0.999), ema_decay_at(1, 0.999, warmup="authors")
    (0.0, 0.5)

    Notes
    -----
    The authors' code uses ``min(1 - 1/(t+1), a)`` counting from ``t = 1``, which
    keeps the mean model's random initial weights in the average with weight
    ``1/(t+1)``. Starting at ``a_1 = 0`` instead drops those random weights, which
    otherwise dominate the mean model of the short trainings typical of active
    learning cycles.
    """
    if warmup == "authors":
        return min(float(decay), 1.0 - 1.0 / (step + 1))
    if warmup:
        return min(float(decay), 1.0 - 1.0 / step)
    return float(decay)


def resolve_ema_decay(decay, horizon, n_steps, min_steps=5):
    """Return the numeric EMA coefficient of a fit.

    Parameters
    ----------
    decay : float or "auto"
        A number is returned unchanged (exact). ``"auto"`` derives it from the
        fit's length: the EMA's time constant ``1 / (1 - a)`` is ``horizon``
        times the fit's optimizer steps, i.e. ``a = 1 - 1 / (horizon * n_steps)``,
        but at least ``min_steps`` steps, so that the mean model of a very short
        fit still differs from the task model (a time constant of one step
        would make them equal and every deviation score zero).
    horizon : float
        Time constant as a fraction of the fit, in (0, 1].
    n_steps : int
        Optimizer steps of the whole fit.
    min_steps : float, default=5
        The shortest time constant ``"auto"`` gives.

    Returns
    -------
    decay : float

    Examples
    --------
    >>> from skcryoal.callbacks import resolve_ema_decay
    >>> resolve_ema_decay("auto", 0.1, 1000)
    0.99
    >>> resolve_ema_decay(0.999, 0.1, 1000)
    0.999
    """
    if isinstance(decay, str):
        if decay != "auto":
            raise ValueError(f"decay must be a float in [0, 1] or 'auto'; got {decay!r}.")
        if not isinstance(horizon, numbers.Real) or not 0.0 < horizon <= 1.0:
            raise ValueError(f"horizon must be a float in (0, 1]; got {horizon!r}.")
        constant = max(float(horizon) * max(int(n_steps), 1), float(min_steps), 1.0)
        return 1.0 - 1.0 / constant
    if isinstance(decay, bool) or not isinstance(decay, numbers.Real) or not 0.0 <= decay <= 1.0:
        raise ValueError(f"decay must be a float in [0, 1] or 'auto'; got {decay!r}.")
    return float(decay)


def steps_per_epoch(n_samples, batch_size, drop_last=False):
    """Return the optimizer steps of one epoch over ``n_samples``."""
    if batch_size in (None, -1) or batch_size >= n_samples:
        return 1
    return n_samples // batch_size if drop_last else math.ceil(n_samples / batch_size)


def net_steps_per_epoch(net, n_samples):
    """The optimizer steps of one epoch of skorch ``net`` over ``n_samples`` volumes.

    Reads the training iterator's batch size and ``drop_last``; a lone last
    volume (``n_samples % batch_size == 1``) is dropped, as CryoNetClassifier's
    iterator does (batch normalization cannot train on one volume).
    """
    train = net.get_params_for("iterator_train")
    batch = train.get("batch_size", getattr(net, "batch_size", None))
    drop = train.get("drop_last", False) or (
        batch not in (None, -1) and n_samples > 1 and n_samples % batch == 1
    )
    return steps_per_epoch(n_samples, batch, drop)


class ExponentialMovingAverage(Callback):
    """Keep an exponential moving average of a skorch net's module weights.

    After every optimizer step (``on_batch_end`` with ``training=True``) the
    averaged module ``M`` is moved towards the trained module ``T``:
    ``M <- a_t M + (1 - a_t) T`` for every parameter and every floating-point
    buffer (batch-norm running statistics), in one fused ``torch._foreach_lerp_``
    call; integer buffers are copied. The averaged module never receives
    gradients.

    Parameters
    ----------
    decay : float or "auto", default=0.999
        Smoothing coefficient ``a`` in [0, 1]. ``0`` makes the average equal the
        trained module after each step. ``"auto"`` sets it at the start of each
        fit so that the average's time constant ``1 / (1 - a)`` is ``horizon``
        times the fit's optimizer steps (``max_epochs`` times the batches per
        epoch); see :func:`resolve_ema_decay`.
    warmup : {True, False, "authors"}, default=True
        Ramp the coefficient up as ``min(decay, 1 - 1/t)``; see :func:`ema_decay_at`.
    horizon : float, default=0.1
        The time constant as a fraction of the fit, for ``decay="auto"``.
    buffers : bool, default=True
        Average the floating-point buffers (batch-norm running statistics) too.
        False averages the parameters only, as the mean teacher and the
        authors' code do; the averaged module's buffers then come from its own
        forward passes.
    step_offset : int, default=0
        Updates counted before this fit, for the warm-up: the authors never
        reset their step counter across active-learning cycles.
    source : str, optional
        Attribute of the net holding the trained module; ``"module_"`` by default.
    target : str, optional
        Attribute of the net holding the averaged module; ``"ema_module_"`` by
        default. If the net has no such attribute (a plain skorch net), the
        callback creates a copy of the trained module at the start of training
        and keeps it as ``averaged_module_``.

    Attributes
    ----------
    n_updates_ : int
        Number of EMA updates since the callback was (re-)initialized, i.e. since
        the last cold ``fit``.
    decay_ : float
        The coefficient in use (``decay`` itself, or what ``"auto"`` resolved to
        at the start of the last fit).
    averaged_module_ : torch.nn.Module or None
        The averaged module when the net has no ``target`` attribute.

    Notes
    -----
    Batch-norm running statistics are averaged like the weights (as in timm's
    ``ModelEmaV2``), so ``decay=0`` yields a mean model identical to the task model,
    buffers included. :class:`~skcryoal.classifier.CryoNetClassifier` runs its mean model in
    training mode with batch-norm momentum 0 for the regularizer: it normalises with
    batch statistics like the task model, and its running statistics change only
    through this average.

    Examples
    --------
    >>> import torch
    >>> from skorch import NeuralNetClassifier
    >>> from skcryoal.callbacks import ExponentialMovingAverage
    >>> ema = ExponentialMovingAverage(decay=0.99)
    >>> net = NeuralNetClassifier(
    ...     torch.nn.Linear(4, 2), criterion=torch.nn.CrossEntropyLoss,
    ...     train_split=None, max_epochs=2, verbose=0, callbacks=[ema])
    >>> X, y = torch.randn(16, 4), torch.arange(16) % 2
    >>> _ = net.fit(X, y)
    >>> ema.n_updates_, isinstance(ema.averaged_module_, torch.nn.Linear)
    (2, True)
    """

    def __init__(
        self,
        decay=0.999,
        warmup=True,
        source="module_",
        target="ema_module_",
        horizon=0.1,
        buffers=True,
        step_offset=0,
    ):
        self.decay = decay
        self.warmup = warmup
        self.source = source
        self.target = target
        self.horizon = horizon
        self.buffers = buffers
        self.step_offset = step_offset

    def initialize(self):
        """Reset the update counter and drop any privately held average."""
        self.decay_ = resolve_ema_decay(self.decay, self.horizon, 1)
        if not (self.warmup is True or self.warmup is False or self.warmup == "authors"):
            raise ValueError(f"warmup must be True, False or 'authors'; got {self.warmup!r}.")
        offset = self.step_offset
        if isinstance(offset, bool) or not isinstance(offset, numbers.Integral) or offset < 0:
            raise ValueError(f"step_offset must be a non-negative integer; got {offset!r}.")
        self.n_updates_ = 0
        self.averaged_module_ = None
        self._pairs = None
        return self

    def _modules(self, net):
        source = getattr(net, self.source, None)
        if not isinstance(source, torch.nn.Module):
            raise AttributeError(
                f"ExponentialMovingAverage averages net.{self.source}, but the net has no "
                f"torch module there; set source= to the attribute holding the trained module."
            )
        target = getattr(net, self.target, None)
        if target is None:
            if self.averaged_module_ is None:
                self.averaged_module_ = copy.deepcopy(source).requires_grad_(False)
            target = self.averaged_module_
        return source, target

    def _tensor_pairs(self, source, target):
        names_s = [n for n, _ in source.named_parameters()] + [n for n, _ in source.named_buffers()]
        names_t = [n for n, _ in target.named_parameters()] + [n for n, _ in target.named_buffers()]
        if names_s != names_t:
            raise ValueError(
                "The averaged module does not have the same parameters and buffers as the "
                "trained module; both must be instances of the same architecture."
            )
        avg_float, src_float, avg_other, src_other = [], [], [], []
        if self.buffers:
            pairs = zip(
                [*target.parameters(), *target.buffers()],
                [*source.parameters(), *source.buffers()],
            )
        else:  # parameters only: the buffers follow the averaged module's own passes
            pairs = zip(target.parameters(), source.parameters())
        for t, s in pairs:
            if t.is_floating_point():
                avg_float.append(t)
                src_float.append(s)
            else:
                avg_other.append(t)
                src_other.append(s)
        return avg_float, src_float, avg_other, src_other

    def on_train_begin(self, net, X=None, **kwargs):
        """Collect the tensors to average and resolve ``decay`` (once per ``fit``)."""
        self._pairs = self._tensor_pairs(*self._modules(net))
        n_steps = 1
        if X is not None:
            try:
                n = len(X)
            except TypeError:
                n = None
            if n:
                # a CryoNetClassifier's fit_epochs_ (min_steps may lengthen a fit)
                epochs = net.__dict__.get("fit_epochs_", getattr(net, "max_epochs", 1))
                n_steps = net_steps_per_epoch(net, n) * int(epochs)
        self.decay_ = resolve_ema_decay(self.decay, self.horizon, n_steps)

    def on_train_end(self, net, **kwargs):
        """Release the references to the net's tensors."""
        self._pairs = None

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        """Update the average after an optimizer step."""
        if training:
            self.update(net)

    @torch.no_grad()
    def update(self, net):
        """Apply one EMA step: ``M <- a_t M + (1 - a_t) T``.

        Parameters
        ----------
        net : skorch.NeuralNet
            The net holding the trained and averaged modules.
        """
        pairs = self._pairs if self._pairs is not None else self._tensor_pairs(*self._modules(net))
        self.n_updates_ += 1
        decay = getattr(self, "decay_", None)
        if decay is None:
            decay = resolve_ema_decay(self.decay, self.horizon, 1)
        a = ema_decay_at(self.step_offset + self.n_updates_, decay, self.warmup)
        avg_float, src_float, avg_other, src_other = pairs
        if avg_float:
            torch._foreach_lerp_(avg_float, src_float, 1.0 - a)
        for t, s in zip(avg_other, src_other):
            t.copy_(s)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_pairs"] = None  # references into the net's modules; rebuilt on demand
        return state
