"""Training-time augmentation that keeps the missing wedge and the handedness."""

import torch

#: the proper 180-degree rotations about the z, y and x axes, as pairs of flipped axes
#: of a (C, D, H, W) volume: each flip maps the missing wedge onto itself, and two
#: flips make a rotation (a single flip would mirror the particle's handedness)
_HALF_TURNS = ((), (2, 3), (1, 3), (1, 2))


def augment_batch(X, max_shift=2):
    """Return a randomly rotated and shifted copy of a batch of volumes.

    Each volume is rotated by one of identity or 180 degrees about the z, y
    or x axis (uniformly) and rolled by a uniform integer shift in
    ``[-max_shift, max_shift]`` along each axis. Both keep the missing wedge
    where it is: a 180-degree turn about a coordinate axis is two axis flips,
    and the wedge is symmetric under the flip of any axis; a shift only
    changes Fourier phases. A 90-degree rotation would move the wedge and is
    never used. Draws from torch's global generator, which
    :meth:`CryoNetClassifier.fit` seeds from ``random_state``.

    Parameters
    ----------
    X : torch.Tensor of shape (n, C, D, H, W)
    max_shift : int, default=2

    Returns
    -------
    X_aug : torch.Tensor of shape (n, C, D, H, W)
    """
    n = X.shape[0]
    turns = [_HALF_TURNS[int(k)] for k in torch.randint(0, 4, (n,))]
    shifts = torch.randint(-max_shift, max_shift + 1, (n, 3)) if max_shift else None
    out = torch.empty_like(X)
    for i in range(n):
        v = X[i]
        if turns[i]:
            v = torch.flip(v, turns[i])
        if shifts is not None:
            v = torch.roll(v, [int(t) for t in shifts[i]], dims=(1, 2, 3))
        out[i] = v
    return out
