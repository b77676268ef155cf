import os

import pytest
import torch

from skcryoal.cli import main
from skcryoal.utils import _threads, available_cpus, set_num_threads


def _cgroup_v2(tmp_path, limits):
    """A fake cgroup v2 tree: /a/b with cpu.max files given per level."""
    root = tmp_path / "cg"
    (root / "a" / "b").mkdir(parents=True)
    for level, text in limits.items():
        (root / level / "cpu.max").write_text(text)
    proc = tmp_path / "cgroup"
    proc.write_text("0::/a/b\n")
    return root, proc


def test_cgroup_v2_quota_takes_the_tightest_level(tmp_path):
    root, proc = _cgroup_v2(tmp_path, {"a": "150000 100000\n", "a/b": "max 100000\n"})
    assert _threads._cgroup_v2_limit(root, proc) == 1.5
    root, proc = _cgroup_v2(tmp_path / "x", {"a/b": "max 100000\n"})
    assert _threads._cgroup_v2_limit(root, proc) is None


def test_cgroup_v1_quota(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("300000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert _threads._cgroup_v1_limit(tmp_path) == 3.0
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")  # no limit
    assert _threads._cgroup_v1_limit(tmp_path) is None


def test_available_cpus_is_the_smallest_of_affinity_and_quota(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setattr(_threads, "_cgroup_v2_limit", lambda: 2.5)
    assert available_cpus() == 2  # a quota of 2.5 CPUs: 2 threads never throttle
    monkeypatch.setattr(_threads, "_cgroup_v2_limit", lambda: None)
    monkeypatch.setattr(_threads, "_cgroup_v1_limit", lambda: None)
    assert available_cpus() == 4
    monkeypatch.setattr(_threads, "_cgroup_v1_limit", lambda: 0.5)
    assert available_cpus() == 1  # never 0


def test_auto_is_capped_by_omp_num_threads(monkeypatch):
    monkeypatch.setattr(_threads, "available_cpus", lambda: 8)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert _threads.resolve_num_threads("auto") == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert _threads.resolve_num_threads("auto") == 8
    assert _threads.resolve_num_threads(5) == 5
    for bad in (0, -1, 1.5, True, "two"):
        with pytest.raises(ValueError, match="positive integer or 'auto'"):
            _threads.resolve_num_threads(bad)


def test_set_num_threads_sets_torch():
    before = torch.get_num_threads()
    try:
        assert set_num_threads(2) == 2 and torch.get_num_threads() == 2
        assert set_num_threads(1) == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_cli_threads_option(tmp_path, capsys):
    before = torch.get_num_threads()
    try:
        args = ["simulate", str(tmp_path / "d"), "--n-samples", "2", "--n-classes", "2"]
        args += ["--size", "16", "--seed", "0"]
        assert main([*args, "--threads", "2"]) == 0
        assert torch.get_num_threads() == 2
        assert main(["simulate", "--threads", "0", str(tmp_path / "e")]) == 2
        assert "expected a positive integer or 'auto'" in capsys.readouterr().err
    finally:
        torch.set_num_threads(before)
