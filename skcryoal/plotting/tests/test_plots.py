import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from skcryoal.datasets import make_subtomograms  # noqa: E402
from skcryoal.plotting import (  # noqa: E402
    plot_fourier_power,
    plot_orthoslices,
    plot_templates,
)


@pytest.fixture(scope="module")
def volumes():
    X, y = make_subtomograms(5, 3, size=16, voxel_size=20.0, random_state=0)
    return X, y


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("squeeze", [False, True])
def test_orthoslices_three_panels_per_volume(volumes, squeeze):
    X, y = volumes
    data = X[:, 0] if squeeze else X
    fig = plot_orthoslices(data, labels=[f"#{i}: class {c}" for i, c in enumerate(y)], n_cols=2)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 15
    assert fig.axes[1].get_title() == f"#0: class {y[0]}"
    assert [ax.get_xlabel() for ax in fig.axes[:3]] == ["XY", "XZ", "YZ"]


def test_orthoslices_single_volume(volumes):
    fig = plot_orthoslices(volumes[0][0, 0])
    assert len(fig.axes) == 3


def test_orthoslices_into_given_figure(volumes):
    fig = plt.figure()
    assert plot_orthoslices(volumes[0][:2], fig=fig) is fig
    assert len(fig.axes) == 6


def test_orthoslices_bad_input(volumes):
    X, _ = volumes
    with pytest.raises(ValueError, match=r"one channel, shape \(n_samples, 1, D, H, W\)"):
        plot_orthoslices(np.zeros((2, 2, 4, 4, 4)))
    with pytest.raises(ValueError, match=r"got \(4, 4\)"):
        plot_orthoslices(np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"one entry per volume \(5\); got 2"):
        plot_orthoslices(X, labels=[1, 2])
    with pytest.raises(ValueError, match="n_cols must be a positive integer"):
        plot_orthoslices(X, n_cols=0)


def test_fourier_power(volumes):
    fig = plot_fourier_power(volumes[0], tilt_range=(-60, 60))
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2  # the plot and its colorbar
    fig, ax = plt.subplots()
    assert plot_fourier_power(volumes[0][0], ax=ax) is fig


def test_fourier_power_shows_the_wedge():
    X, _ = make_subtomograms(4, 2, size=16, voxel_size=20.0, snr=float("inf"), random_state=0)
    fig = plot_fourier_power(X)
    image = fig.axes[0].images[0].get_array()
    # Shifted (kz, kx) slice: near the kz axis (missing) is far below near the kx axis.
    assert image[11, 9] < image[9, 11] - 3


def test_templates():
    fig = plot_templates([0, 1, 2, 3], size=16, voxel_size=20.0, n_cols=2)
    assert len(fig.axes) == 12
    assert "ring" in fig.axes[4].get_title()
    fig = plot_templates([5], size=16, voxel_size=20.0, views=("z",), labels=["filament"])
    assert len(fig.axes) == 1
    assert fig.axes[0].get_title() == "filament"


def test_templates_bad_input():
    with pytest.raises(ValueError, match="views must be"):
        plot_templates([0], views=("w",))
    with pytest.raises(ValueError, match="at least one template"):
        plot_templates([])
