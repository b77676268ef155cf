"""Budget schedules and the seeds of a campaign."""

import numbers
import zlib

import numpy as np
from sklearn.utils import check_random_state


def _count(value, n_pool, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a fraction of the pool (float in (0, 1]) or a count (int); "
            f"got {value!r}."
        )
    if isinstance(value, numbers.Integral):
        return int(value)
    if not 0.0 < value <= 1.0:
        raise ValueError(
            f"{name}={value!r} is a float, read as a fraction of the pool, which must lie in "
            f"(0, 1]; pass an int for an absolute count (e.g. {name}={int(value)})."
        )
    return int(round(value * n_pool))


def budget_schedule(n_pool, initial=0.10, step=0.05, final=0.40):
    """Return the number of labeled volumes at each cycle of a campaign.

    Parameters
    ----------
    n_pool : int
        Size of the pool (labeled and unlabeled volumes together).
    initial, step, final : float or int, default=0.10, 0.05, 0.40
        The initial labeled set, the labels added per cycle and the final
        budget: a float is a fraction of the pool (rounded to the nearest
        count), an int an absolute count. A fractional ``final`` is rounded to
        the nearest whole number of steps (30% of 4318 with steps of 5% gives
        432 + 4 x 216 = 1296). The paper's schedule is 10% + 5% per cycle up to
        40% (7 cycles).

    Returns
    -------
    n_labeled : list of int
        One entry per cycle, from ``initial`` to ``final`` by ``step``.

    Raises
    ------
    ValueError
        If the budget exceeds the pool, the initial set has fewer than 2
        volumes, or ``final - initial`` is not a multiple of ``step``.

    Examples
    --------
    >>> from skcryoal.benchmark import budget_schedule
    >>> budget_schedule(24000)
    [2400, 3600, 4800, 6000, 7200, 8400, 9600]
    >>> budget_schedule(1000, initial=100, step=50, final=300)
    [100, 150, 200, 250, 300]
    >>> budget_schedule(4318, final=0.30)
    [432, 648, 864, 1080, 1296]
    """
    n_pool = int(n_pool)
    n_initial = _count(initial, n_pool, "initial")
    n_step = _count(step, n_pool, "step")
    n_final = _count(final, n_pool, "final")
    if isinstance(final, float) and n_step >= 1 and n_final > n_initial:
        # independently rounded fractions rarely fit: snap to whole steps
        n_final = n_initial + int(round((final * n_pool - n_initial) / n_step)) * n_step
    if n_initial < 2:
        raise ValueError(
            f"The initial labeled set must hold at least 2 volumes to train; initial={initial!r} "
            f"gives {n_initial} of a pool of {n_pool}. Increase initial."
        )
    if n_final > n_pool:
        raise ValueError(
            f"The final budget ({n_final} labels, final={final!r}) is larger than the pool "
            f"({n_pool} volumes); lower final or use a larger pool."
        )
    if n_final < n_initial:
        raise ValueError(
            f"The final budget ({n_final}, final={final!r}) is smaller than the initial "
            f"labeled set ({n_initial}, initial={initial!r})."
        )
    if n_final == n_initial:
        return [n_initial]
    if n_step < 1:
        raise ValueError(
            f"step={step!r} gives {n_step} labels per cycle on a pool of {n_pool}; it must "
            "add at least 1. Increase step."
        )
    if (n_final - n_initial) % n_step:
        raise ValueError(
            f"The step does not fit the budget: from {n_initial} to {n_final} labels in "
            f"steps of {n_step} leaves a remainder of {(n_final - n_initial) % n_step}. "
            f"Choose final = {n_initial} + k x {n_step} (e.g. "
            f"{n_initial + (n_final - n_initial) // n_step * n_step}) or another step."
        )
    return list(range(n_initial, n_final + 1, n_step))


def derive_seed(*keys):
    """Return a seed in [0, 2**31) derived from ints and strings, stable across runs.

    Parameters
    ----------
    *keys : int or str
        E.g. ``(trial_seed, "fit", cycle)``; strings are hashed with CRC-32.

    Returns
    -------
    seed : int

    Examples
    --------
    >>> from skcryoal.benchmark._schedule import derive_seed
    >>> derive_seed(0, "fit", 1) == derive_seed(0, "fit", 1)
    True
    """
    entropy = [zlib.crc32(k.encode()) if isinstance(k, str) else int(k) % 2**32 for k in keys]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0] >> 1)


def trial_seeds(n_trials, random_state=0):
    """Return the seed of each trial.

    Parameters
    ----------
    n_trials : int
    random_state : int, RandomState instance or None, default=0
        An int gives the same seeds on every run (needed to resume a campaign).

    Returns
    -------
    seeds : list of int
    """
    if isinstance(n_trials, bool) or not isinstance(n_trials, numbers.Integral) or n_trials < 1:
        raise ValueError(f"n_trials must be a positive integer; got {n_trials!r}.")
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return [derive_seed(int(random_state), "trial", t) for t in range(n_trials)]
    rng = check_random_state(random_state)
    return [int(s) for s in rng.randint(0, 2**31 - 1, size=n_trials)]


def initial_labeled_indices(n_pool, n_initial, trial_seed):
    """Return the initial labeled set of a trial: the same for every strategy.

    Parameters
    ----------
    n_pool : int
    n_initial : int
    trial_seed : int
        Only the trial seed decides the set.

    Returns
    -------
    indices : ndarray of shape (n_initial,)
        Sorted pool indices.

    Examples
    --------
    >>> from skcryoal.benchmark import initial_labeled_indices
    >>> initial_labeled_indices(100, 5, trial_seed=1).tolist() == (
    ...     initial_labeled_indices(100, 5, trial_seed=1).tolist())
    True
    """
    rng = check_random_state(derive_seed(trial_seed, "initial"))
    return np.sort(rng.choice(int(n_pool), size=int(n_initial), replace=False))
