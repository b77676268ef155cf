"""How many CPU threads torch should use: the CPUs this process may actually use."""

import math
import os
from pathlib import Path

_CGROUP = Path("/sys/fs/cgroup")


def _cgroup_v2_limit(cgroup_root=_CGROUP, proc_cgroup=Path("/proc/self/cgroup")):
    """CPU quota (in CPUs) of this process's cgroup v2 and its ancestors, or None."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    relative = next((ln.split(":", 2)[2] for ln in lines if ln.startswith("0::")), None)
    if relative is None:
        return None
    limits = []
    path = cgroup_root / relative.lstrip("/")
    while True:
        try:
            quota, period = (path / "cpu.max").read_text().split()[:2]
            if quota != "max":
                limits.append(int(quota) / int(period))
        except (OSError, ValueError):
            pass
        if path == cgroup_root or cgroup_root not in path.parents:
            break
        path = path.parent
    return min(limits) if limits else None


def _cgroup_v1_limit(cgroup_root=_CGROUP):
    """CPU quota (in CPUs) from cgroup v1's CFS settings, or None."""
    for folder in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        try:
            quota = int((cgroup_root / folder / "cpu.cfs_quota_us").read_text())
            period = int((cgroup_root / folder / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            continue
        if quota > 0 and period > 0:
            return quota / period
    return None


def available_cpus():
    """Return the number of CPUs this process may actually use.

    The smallest of: the CPUs in the process's affinity mask (``taskset``,
    ``numactl``, a batch scheduler's binding) and the CPU quota of its
    control group (cgroup v2 ``cpu.max`` or v1 ``cpu.cfs_quota_us``: Docker's
    ``--cpus``, Kubernetes limits, SLURM with cgroup enforcement), rounded
    down, at least 1. The node's core count (``os.cpu_count()``) counts only
    when neither is available.

    Returns
    -------
    n_cpus : int

    Examples
    --------
    >>> from skcryoal.utils import available_cpus
    >>> available_cpus() >= 1
    True
    """
    if hasattr(os, "sched_getaffinity"):
        n = len(os.sched_getaffinity(0))
    else:  # macOS, Windows
        n = os.cpu_count() or 1
    quota = _cgroup_v2_limit()
    if quota is None:
        quota = _cgroup_v1_limit()
    if quota is not None:
        n = min(n, math.floor(quota))
    return max(1, n)


def resolve_num_threads(n_threads="auto"):
    """Return the number of torch threads that ``n_threads`` means.

    Parameters
    ----------
    n_threads : int or "auto", default="auto"
        A positive count is returned as is. ``"auto"`` gives
        :func:`available_cpus`, capped by ``OMP_NUM_THREADS`` when that
        environment variable holds a positive integer (a batch job's setting
        wins).

    Returns
    -------
    n_threads : int
    """
    if n_threads == "auto":
        n = available_cpus()
        env = os.environ.get("OMP_NUM_THREADS", "").strip()
        if env.isdigit() and int(env) > 0:
            n = min(n, int(env))
        return n
    if isinstance(n_threads, bool) or not isinstance(n_threads, int) or n_threads < 1:
        raise ValueError(f"n_threads must be a positive integer or 'auto'; got {n_threads!r}.")
    return n_threads


def set_num_threads(n_threads="auto"):
    """Set how many CPU threads torch uses for one operation (intra-op threads).

    torch starts one thread per physical core of the node, whatever this
    process is allowed: on a shared node, in a container with a CPU quota or
    in a batch job given a few cores, its OpenMP threads then spin, waiting on
    each other while other processes hold the cores, and training slows down
    many times over (measured on the performance page of the documentation).
    The ``skcryoal`` command line calls this with ``--threads`` (default
    ``"auto"``); in Python, call it once before training.

    Parameters
    ----------
    n_threads : int or "auto", default="auto"
        Threads to use; ``"auto"`` uses the CPUs this process may actually
        use (:func:`available_cpus`), capped by ``OMP_NUM_THREADS`` if set.

    Returns
    -------
    n_threads : int
        The number of threads set.

    Examples
    --------
    >>> import torch
    >>> from skcryoal.utils import set_num_threads
    >>> before = torch.get_num_threads()
    >>> set_num_threads(1)
    1
    >>> torch.get_num_threads()
    1
    >>> _ = set_num_threads(before)
    """
    import torch

    n = resolve_num_threads(n_threads)
    torch.set_num_threads(n)
    return n
