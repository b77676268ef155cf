"""Reproducible torch randomness without touching the caller's global state."""

import contextlib

import numpy as np
import torch
from sklearn.utils import check_random_state

_MAX_SEED = np.iinfo(np.int32).max


def draw_seed(random_state):
    """Draw an integer seed from ``random_state``, or ``None`` for ``None``.

    Parameters
    ----------
    random_state : int, RandomState instance or None
        As in scikit-learn. An int always yields the same seed; a RandomState
        instance yields a new seed on each call.

    Returns
    -------
    seed : int or None
    """
    if random_state is None:
        return None
    return int(check_random_state(random_state).randint(_MAX_SEED))


@contextlib.contextmanager
def torch_seed_context(seed, device="cpu"):
    """Run a block under a seeded torch RNG, restoring the global state after.

    Weight initialisation, dropout and data shuffling in torch all draw from the
    global generators; forking them keeps runs reproducible for a given ``seed``
    while leaving the user's own torch random state exactly as it was.

    Parameters
    ----------
    seed : int or None
        ``None`` runs the block on the current global state, unforked.
    device : str or torch.device, default="cpu"
        The device whose generator is forked as well when it is a CUDA device.
    """
    if seed is None:
        yield
        return
    devices = []
    dev = torch.device(device)
    if dev.type == "cuda" and torch.cuda.is_available():
        devices = [dev.index if dev.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
