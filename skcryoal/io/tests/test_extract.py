import numpy as np
import pandas as pd
import pytest
import starfile

from skcryoal.io import extract_particles, extract_subtomograms, read_particle_set


@pytest.fixture
def tomogram():
    # Every voxel holds a distinct value, so equal arrays mean equal positions.
    return np.arange(20 * 24 * 28, dtype=np.float32).reshape(20, 24, 28)  # (z, y, x)


def test_exact_boxes_from_xyz_array(tomogram):
    xyz = np.array([[10, 12, 8], [5.4, 4.6, 4.5], [23, 19, 15]])
    X, kept = extract_subtomograms(tomogram, xyz, size=6)
    assert X.shape == (3, 1, 6, 6, 6) and X.dtype == np.float32
    assert kept.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(X[0, 0], tomogram[5:11, 9:15, 7:13])
    # rounding half up: (5.4, 4.6, 4.5) -> x=5, y=5, z=5
    np.testing.assert_array_equal(X[1, 0], tomogram[2:8, 2:8, 2:8])
    np.testing.assert_array_equal(X[2, 0], tomogram[12:18, 16:22, 20:26])


def test_odd_size_is_centered(tomogram):
    X, _ = extract_subtomograms(tomogram, [[10, 11, 12]], size=5)
    assert X[0, 0, 2, 2, 2] == tomogram[12, 11, 10]


@pytest.mark.parametrize("fmt", ["relion", "plain", "upper"])
def test_tables_and_mrc_tomogram(tmp_path, tomogram, write_mrc, fmt):
    # rlnCoordinate* are voxels of this tomogram, even beside rlnTomoName (RELION 3)
    xyz = [[10, 12, 8], [20, 11, 9]]
    columns = {
        "relion": ["rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ"],
        "plain": ["x", "y", "z"],
        "upper": ["X", "Y", "Z"],
    }[fmt]
    df = pd.DataFrame(xyz, columns=columns).assign(rlnTomoName="TS_01")
    path = tmp_path / ("coords.star" if fmt == "relion" else "coords.csv")
    starfile.write(df, path) if fmt == "relion" else df.to_csv(path, index=False)
    write_mrc(tmp_path / "tomo.mrc", tomogram)
    expected, _ = extract_subtomograms(tomogram, xyz, size=4)
    for tomo in (tomogram, tmp_path / "tomo.mrc", str(tmp_path / "tomo.mrc")):
        for coordinates in (path, str(path), df):
            X, kept = extract_subtomograms(tomo, coordinates, size=4)
            np.testing.assert_array_equal(X, expected)


def test_warp_coordinates_are_angstrom_as_in_read_particle_set(tmp_path, tomogram, write_mrc):
    # M writes wrpCoordinate* in Angstrom from the first voxel: the same path as
    # read_particle_set, which divides them by the voxel size of the header
    xyz = np.array([[10, 12, 8], [20.4, 11, 9]])
    write_mrc(tmp_path / "tomo.mrc", tomogram, voxel_size=7.5)
    df = pd.DataFrame(xyz * 7.5, columns=["wrpCoordinateX1", "wrpCoordinateY1", "wrpCoordinateZ1"])
    df["wrpSourceName"] = "TS_01.tomostar"
    starfile.write(df, tmp_path / "m.star")
    expected, _ = extract_subtomograms(tomogram, xyz, size=4)
    for coordinates in (df, tmp_path / "m.star"):
        X, kept = extract_subtomograms(tmp_path / "tomo.mrc", coordinates, size=4)
        np.testing.assert_array_equal(X, expected)
    particles = read_particle_set(df, tomograms=tmp_path / "tomo.mrc")
    np.testing.assert_array_equal(extract_particles(particles, 4, standardize=False)[0], expected)
    # an array has no voxel size, and binning does not apply to Angstrom
    with pytest.raises(ValueError, match=r"in Angstrom and need the voxel size .* MRC file"):
        extract_subtomograms(tomogram, df, size=4)
    with pytest.raises(ValueError, match="binning must be 1; got binning=2"):
        extract_subtomograms(tmp_path / "tomo.mrc", df, size=4, binning=2)


def test_relion5_table_with_one_tomogram_file(tmp_path, tomogram, write_mrc):
    write_mrc(tmp_path / "tomo.mrc", tomogram, voxel_size=10.0)
    xyz = np.array([[10, 12, 8], [20, 11, 9]])
    centre = np.array(tomogram.shape[::-1]) / 2.0  # (x, y, z) of the file's centre
    df = pd.DataFrame(
        (xyz - centre) * 10.0,
        columns=[f"rlnCenteredCoordinate{a}Angst" for a in "XYZ"],
    ).assign(rlnTomoName="TS_01")
    X, _ = extract_subtomograms(tmp_path / "tomo.mrc", df, size=4)
    np.testing.assert_array_equal(X, extract_subtomograms(tomogram, xyz, size=4)[0])


def test_binning_divides_coordinates(tomogram):
    a, _ = extract_subtomograms(tomogram, [[20, 24, 16]], size=4, binning=2)
    b, _ = extract_subtomograms(tomogram, [[10, 12, 8]], size=4)
    np.testing.assert_array_equal(a, b)


def test_edge_raise_names_rows(tomogram):
    xyz = [[10, 12, 8], [1, 12, 8], [10, 12, 18], [10, 12, 8]]
    with pytest.raises(ValueError, match=r"2 particle\(s\): row 1 at .*; row 2 at .*edge='skip'"):
        extract_subtomograms(tomogram, xyz, size=6)


def test_edge_skip_returns_kept_rows(tomogram):
    xyz = [[10, 12, 8], [1, 12, 8], [10, 12, 18], [12, 12, 8]]
    X, kept = extract_subtomograms(tomogram, xyz, size=6, edge="skip")
    assert kept.tolist() == [0, 3] and kept.dtype == np.int64
    np.testing.assert_array_equal(X[1, 0], tomogram[5:11, 9:15, 9:15])


def test_edge_pad_uses_tomogram_mean(tomogram):
    X, kept = extract_subtomograms(tomogram, [[1, 12, 8]], size=6, edge="pad")
    assert kept.tolist() == [0]
    box = X[0, 0]
    # x from -2 to 4: columns 0 and 1 of the box are outside.
    np.testing.assert_array_equal(box[:, :, 2:], tomogram[5:11, 9:15, 0:4])
    assert np.all(box[:, :, :2] == np.float32(tomogram.mean(dtype=np.float64)))
    with pytest.raises(ValueError, match=r"center lies outside .*row 0 at \(x, y, z\) = \(-1"):
        extract_subtomograms(tomogram, [[-1, 12, 8]], size=6, edge="pad")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"edge": "wrap"}, "edge must be one of"),
        ({"size": 0}, "size must be a positive integer"),
        ({"binning": -1}, "binning must be a positive number"),
    ],
)
def test_bad_parameters(tomogram, kwargs, match):
    with pytest.raises(ValueError, match=match):
        extract_subtomograms(tomogram, [[10, 12, 8]], **kwargs)


def test_bad_coordinates(tmp_path, tomogram):
    with pytest.raises(ValueError, match=r"shape \(n_particles, 3\) in \(x, y, z\) order"):
        extract_subtomograms(tomogram, [10, 12, 8])
    with pytest.raises(ValueError, match=r"rows \[1\] have missing or non-finite coordinates"):
        extract_subtomograms(tomogram, [[10, 12, 8], [np.nan, 1, 1]])
    df = pd.DataFrame(
        {
            "rlnCoordinateX": [1, 2],
            "rlnCoordinateY": [1, 2],
            "rlnCoordinateZ": [1, 2],
            "rlnTomoName": ["a", "b"],
        }
    )
    with pytest.raises(ValueError, match="spans 2 tomograms"):
        extract_subtomograms(tomogram, df)
    pd.DataFrame({"u": [1]}).to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(ValueError, match=r"c.csv: no coordinate columns"):
        extract_subtomograms(tomogram, tmp_path / "c.csv")
    with pytest.raises(FileNotFoundError, match="missing.star"):
        extract_subtomograms(tomogram, tmp_path / "missing.star")
    with pytest.raises(ValueError, match=r"3D array \(z, y, x\); got shape \(4, 4\)"):
        extract_subtomograms(np.zeros((4, 4)), [[1, 1, 1]])
    (tmp_path / "tomo.mrc").write_text("not an mrc")
    with pytest.raises(ValueError, match="tomo.mrc: not a readable MRC2014 file"):
        extract_subtomograms(tmp_path / "tomo.mrc", [[1, 1, 1]])
