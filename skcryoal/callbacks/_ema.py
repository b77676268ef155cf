"""The exponential moving average of a network's weights (the "mean model")."""

import copy
import numbers

import torch
from skorch.callbacks import Callback


def ema_decay_at(step, decay, warmup=True):
    """Return the smoothing coefficient used at the ``step``-th EMA update.

    Parameters
    ----------
    step : int
        1-based index of the update within the current fit.
    decay : float
        The target coefficient ``a`` of Eq. (1), ``theta'_t = a theta'_{t-1} +
        (1 - a) theta_t``.
    warmup : bool, default=True
        If True, use ``a_t = min(decay, 1 - 1/step)``: the first update copies the
        task model and, until ``1 / (1 - decay)`` steps have passed, the mean model
        is the plain running average of all task-model iterates; after that it is
        the EMA of Eq. (1). If False, ``a_t = decay`` from the first step.

    Returns
    -------
    a_t : float

    Notes
    -----
    The authors' code uses ``min(1 - 1/(t+1), a)`` counting from ``t = 1``, which
    keeps the mean model's random initial weights in the average with weight
    ``1/(t+1)``. Starting at ``a_1 = 0`` instead drops those random weights, which
    otherwise dominate the mean model of the short trainings typical of active
    learning cycles.
    """
    if warmup:
        return min(float(decay), 1.0 - 1.0 / step)
    return float(decay)


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
    decay : float, default=0.999
        Smoothing coefficient ``a`` in [0, 1]. ``0`` makes the average equal the
        trained module after each step.
    warmup : bool, default=True
        Ramp the coefficient up as ``min(decay, 1 - 1/t)``; see :func:`ema_decay_at`.
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

    def __init__(self, decay=0.999, warmup=True, source="module_", target="ema_module_"):
        self.decay = decay
        self.warmup = warmup
        self.source = source
        self.target = target

    def initialize(self):
        """Reset the update counter and drop any privately held average."""
        if not isinstance(self.decay, numbers.Real) or not 0.0 <= self.decay <= 1.0:
            raise ValueError(f"decay must be a float in [0, 1]; got {self.decay!r}.")
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
        pairs = zip(
            [*target.parameters(), *target.buffers()], [*source.parameters(), *source.buffers()]
        )
        for t, s in pairs:
            if t.is_floating_point():
                avg_float.append(t)
                src_float.append(s)
            else:
                avg_other.append(t)
                src_other.append(s)
        return avg_float, src_float, avg_other, src_other

    def on_train_begin(self, net, **kwargs):
        """Collect the tensors to average (once per call to ``fit``)."""
        self._pairs = self._tensor_pairs(*self._modules(net))

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
        a = ema_decay_at(self.n_updates_, self.decay, self.warmup)
        avg_float, src_float, avg_other, src_other = pairs
        if avg_float:
            torch._foreach_lerp_(avg_float, src_float, 1.0 - a)
        for t, s in zip(avg_other, src_other):
            t.copy_(s)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_pairs"] = None  # references into the net's modules; rebuilt on demand
        return state
