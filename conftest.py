"""Shared pytest fixtures: tiny, easy synthetic volumes and tiny classifiers."""

import os

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")


def pytest_configure(config):
    """Run the suite on one torch thread unless SKCRYOAL_TEST_THREADS says otherwise.

    torch's default (one thread per core) made the suite take 17-21 min instead
    of about a minute on a loaded 2-core machine: OpenMP threads spin against
    other processes. ``SKCRYOAL_TEST_THREADS=2 python -m pytest`` checks that
    no test hinges on the thread count. The variable also reaches subprocesses
    (command-line and crash tests) through ``OMP_NUM_THREADS``.
    """
    n = int(os.environ.get("SKCRYOAL_TEST_THREADS", "1"))
    os.environ["OMP_NUM_THREADS"] = str(n)
    import torch

    torch.set_num_threads(n)


def make_easy_volumes(n_samples=60, n_classes=3, size=16, noise=0.5, random_state=0):
    """Volumes whose class is the position of a bright cube: easy to learn."""
    rng = np.random.default_rng(random_state)
    y = np.arange(n_samples) % n_classes
    rng.shuffle(y)
    X = rng.normal(scale=noise, size=(n_samples, 1, size, size, size)).astype(np.float32)
    half = size // 2
    corners = [(z, yy, x) for z in (0, half) for yy in (0, half) for x in (0, half)]
    for c in range(n_classes):
        z, yy, x = corners[c % len(corners)]
        X[y == c, :, z : z + half, yy : yy + half, x : x + half] += 1.0
    return X, y


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a test module on one torch thread (opt in with ``usefixtures``).

    Tiny convolutions gain nothing from a second thread, and on a busy 2-core
    machine OpenMP's barriers made such tests 15x slower.
    """
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def easy_data():
    """Factory of easy synthetic volume sets (class = position of a bright cube)."""
    return make_easy_volumes


@pytest.fixture
def tiny_clf():
    """Factory of fast CryoNetClassifiers (width 4, few epochs)."""
    from skcryoal import CryoNetClassifier

    def factory(**kwargs):
        params = dict(module__width=4, max_epochs=3, batch_size=16, random_state=0)
        params.update(kwargs)
        return CryoNetClassifier(**params)

    return factory


def load_benchmark_script(name):
    """Import ``benchmarks/<name>.py`` as a module (the scripts are not a package)."""
    import importlib.util
    import sys
    from pathlib import Path

    folder = Path(__file__).resolve().parent / "benchmarks"
    spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(folder))  # as when run: scripts import their siblings
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    return module


@pytest.fixture(scope="session")
def benchmark_script():
    """Loader of a script of ``benchmarks/`` by name, as a module."""
    return load_benchmark_script


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    """A fresh cache of simulated data sets (``SKCRYOAL_DATA``) for one test."""
    monkeypatch.setenv("SKCRYOAL_DATA", str(tmp_path / "data"))
    return tmp_path / "data"
