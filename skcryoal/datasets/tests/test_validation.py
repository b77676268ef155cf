import pytest

from skcryoal.datasets import make_subtomograms

SMALL = dict(size=16, voxel_size=20.0)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n_samples=0), ValueError, r"n_samples must be an integer >= 1; got 0"),
        (dict(n_samples=2.5), TypeError, r"n_samples must be an integer"),
        (dict(n_classes=1), ValueError, r"n_classes must be an integer >= 2; got 1"),
        (dict(size=4), ValueError, r"size must be an integer >= 8; got 4"),
        (dict(snr=0), ValueError, r"snr must be > 0, or float\('inf'\)"),
        (dict(snr=-1.0), ValueError, r"snr must be > 0"),
        (dict(snr=float("nan")), ValueError, r"snr must be > 0"),
        (dict(snr="high"), TypeError, r"snr must be a number"),
        (dict(tilt_range=(60, -60)), ValueError, r"-90 < min_angle < max_angle < 90"),
        (dict(tilt_range=(-90, 60)), ValueError, r"-90 < min_angle < max_angle < 90"),
        (dict(tilt_range=60), ValueError, r"tilt_range must be a pair"),
        (dict(voxel_size=0), ValueError, r"voxel_size must be a finite number > 0"),
        (dict(defocus=0), ValueError, r"defocus must be a finite, non-zero"),
        (dict(max_shift=-1), ValueError, r"max_shift must be a finite number of voxels >= 0"),
        (dict(class_weights=[1, 2]), ValueError, r"one entry per class \(3\); got shape \(2,\)"),
        (dict(class_weights=[1, -1, 1]), ValueError, r"finite and non-negative"),
        (dict(class_weights=[0, 0, 0]), ValueError, r"positive sum"),
        (dict(class_weights=["a", "b", "c"]), ValueError, r"sequence of 3 non-negative"),
    ],
)
def test_bad_parameters_raise_with_a_clear_message(kwargs, error, match):
    params = dict(n_samples=4, n_classes=3, random_state=0, **SMALL)
    params.update(kwargs)
    with pytest.raises(error, match=match):
        make_subtomograms(**params)
