"""Where and in what precision a classifier runs.

:func:`resolve_device` turns ``"auto"`` into a concrete device;
:class:`DeviceMixin` gives :class:`~skcryoal.classifier.CryoNetClassifier` its
device, ``precision`` (autocast) and ``memory_format`` handling: moving batches
(pinned and asynchronous on CUDA), the autocast context, loss scaling for
float16, and the checks that say what a device cannot do.
"""

import contextlib

import torch
from skorch.utils import to_tensor

_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(device):
    """Return ``device``, with ``"auto"`` resolved to ``"cuda"`` when available, else ``"cpu"``.

    Parameters
    ----------
    device : str, torch.device or None
        Any other value than ``"auto"`` is returned unchanged.

    Returns
    -------
    device : str, torch.device or None

    Examples
    --------
    >>> from skcryoal.classifier._device import resolve_device
    >>> resolve_device("cpu")
    'cpu'
    """
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class DeviceMixin:
    """Device, precision and memory-format handling of a skorch net.

    Expects the parameters ``device``, ``precision`` and ``memory_format`` and,
    once initialized, the resolved ``device_``.
    """

    _grad_scaler = None

    @property
    def _channels_last(self):
        return isinstance(self.memory_format, str) and self.memory_format == "channels_last_3d"

    def _target_device(self):
        # device_ once the models exist (None is a valid value: no move)
        if "device_" in self.__dict__:
            return self.device_
        return resolve_device(self.device)

    def _device_type(self):
        device = self._target_device()
        try:
            return torch.device(device).type if device is not None else "cpu"
        except (RuntimeError, TypeError, ValueError):
            return "cpu"

    def _on_cuda(self):
        return self._device_type() == "cuda"

    def _autocast(self):
        """Return the autocast context of ``precision`` (a no-op for float32)."""
        dtype = _AUTOCAST_DTYPES.get(self.precision) if isinstance(self.precision, str) else None
        kind = self._device_type()
        if dtype is None or (dtype is torch.float16 and kind != "cuda"):
            # float32; an fp16 model loaded where there is no CUDA predicts in float32
            return contextlib.nullcontext()
        return torch.autocast(device_type=kind, dtype=dtype)

    def _input_to_device(self, x):
        """Move a batch to ``device_`` in ``memory_format``; pinned and asynchronous on CUDA."""
        device = self._target_device()
        if not isinstance(x, torch.Tensor):
            return to_tensor(x, device=device)
        if device is not None:
            if self._on_cuda() and x.device.type == "cpu":
                if not x.is_pinned():
                    x = x.pin_memory()
                x = x.to(device, non_blocking=True)
            else:
                x = x.to(device)
        if self._channels_last and x.dim() == 5:
            x = x.contiguous(memory_format=torch.channels_last_3d)
        return x

    @contextlib.contextmanager
    def _concrete_device(self):
        # skorch's own code places tensors on self.device, which cannot be "auto":
        # it sees the resolved device while it runs, the parameter is left as given
        requested = self.device
        self.device = self._target_device()
        try:
            yield
        finally:
            self.device = requested

    def load_params(self, *args, **kwargs):
        """Load saved parameters (skorch's :meth:`~skorch.NeuralNet.load_params`).

        With ``device="auto"`` they are loaded to the resolved device.
        """
        with self._concrete_device():
            return super().load_params(*args, **kwargs)

    def _check_device_options(self, device):
        if device is None:
            kind = "cpu"  # the modules stay where they were created
        else:
            try:
                kind = torch.device(device).type
            except (RuntimeError, TypeError, ValueError):
                raise ValueError(
                    "device must be 'auto', 'cpu', 'cuda', 'cuda:<index>' or another torch "
                    f"device; got {self.device!r}."
                ) from None
            if kind == "cuda" and not torch.cuda.is_available():
                raise ValueError(
                    f"device={self.device!r} asks for CUDA, but torch finds no CUDA device "
                    "(torch.cuda.is_available() is False). Use device='auto' (CUDA when there "
                    "is one, else the CPU) or device='cpu'."
                )
        if self.precision == "fp16" and kind != "cuda":
            where = f"{kind!r}" if self.device == device else f"{kind!r} (device={self.device!r})"
            raise ValueError(
                "precision='fp16' needs a CUDA device (float16 training needs loss scaling, "
                f"which torch provides for CUDA); this classifier would run on {where}. Use "
                "precision='bf16' (bfloat16 autocast, which works on the CPU) or "
                "precision=None (float32)."
            )

    def _backward(self, loss):
        if self._grad_scaler is None:
            loss.backward()
        else:
            self._grad_scaler.scale(loss).backward()


def device_name(device):
    # device_ is a plain string whatever form device was given in (skorch itself
    # sets a torch.device when it maps a model to the CPU)
    if device is None:
        return None
    try:
        return str(torch.device(device))
    except (RuntimeError, TypeError, ValueError):
        return device  # invalid: _validate_hyperparams says why


def as_float32(output):
    # autocast leaves half-precision outputs; everything downstream is float32
    if isinstance(output, torch.Tensor):
        return output.float() if output.is_floating_point() else output
    if isinstance(output, (tuple, list)):
        return type(output)(as_float32(o) for o in output)
    return output
