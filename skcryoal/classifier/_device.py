"""Where a classifier runs: the ``"auto"`` device."""


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
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return device
