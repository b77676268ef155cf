"""Directories with a particle table, partial labels and the returned table."""

import warnings

import numpy as np
import pandas as pd
import pytest
import starfile

from skcryoal.io import read_subtomograms, write_subtomograms


@pytest.mark.parametrize("fmt", ["star", "csv"])
def test_directory_with_its_table_returns_labels(tmp_path, volumes, fmt):
    write_subtomograms(tmp_path, volumes, ["a", "b", "a", "c", "b"], format=fmt)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X, y = read_subtomograms(tmp_path)
    np.testing.assert_array_equal(X, volumes)
    assert y.tolist() == ["a", "b", "a", "c", "b"]
    X, y = read_subtomograms(tmp_path, mmap=True)
    np.testing.assert_array_equal(X[:], volumes)


def test_directory_with_several_tables_warns_and_reads_files(tmp_path, volumes):
    write_subtomograms(tmp_path, volumes, [1, 2, 3, 4, 5])
    write_subtomograms(tmp_path, volumes, [5, 4, 3, 2, 1], format="csv", overwrite=True)
    with pytest.warns(UserWarning, match=r"2 particle tables .*particles.csv.*particles.star"):
        X, y = read_subtomograms(tmp_path)
    np.testing.assert_array_equal(X, volumes)
    assert y is None


def test_directory_whose_table_lists_other_files_warns(tmp_path, volumes, write_mrc):
    write_subtomograms(tmp_path, volumes[:4], [1, 2, 3, 4])
    write_mrc(tmp_path / "zz_extra.mrc", volumes[4, 0])
    with pytest.warns(UserWarning, match=r"particles.star does not list .*zz_extra.mrc"):
        X, y = read_subtomograms(tmp_path)
    np.testing.assert_array_equal(X, volumes)
    assert y is None


def test_directory_label_column_needs_a_table(tmp_path, volumes):
    write_subtomograms(tmp_path, volumes, [1, 2, 3, 4, 5])
    _, y = read_subtomograms(tmp_path, label_column="rlnClassNumber")
    assert y.tolist() == [1, 2, 3, 4, 5]
    (tmp_path / "particles.star").unlink()
    with pytest.raises(ValueError, match="label_column='rlnClassNumber' needs a particle table"):
        read_subtomograms(tmp_path, label_column="rlnClassNumber")


def _partial_table(tmp_path, volumes, fmt, column, values):
    write_subtomograms(tmp_path, volumes)
    names = [f"subtomo_{i:06d}.mrc" for i in range(len(values))]
    df = pd.DataFrame({"rlnImageName": names, "rlnCoordinateX": [1.5] * len(values)})
    df[column] = values
    path = tmp_path / f"t.{fmt}"
    if fmt == "star":
        starfile.write(df, path)
    else:
        df.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("fmt", ["star", "csv"])
def test_partial_labels(tmp_path, volumes, fmt):
    path = _partial_table(tmp_path, volumes, fmt, "skcryoalLabel", ["3", "", "-5", "nan", "1"])
    with pytest.raises(ValueError, match="has no label in rows 1, 3"):
        read_subtomograms(path)
    X, y = read_subtomograms(path, partial_labels=True)
    np.testing.assert_array_equal(X, volumes)
    assert y.dtype == object and y.tolist() == [3, None, -5, None, 1]
    assert all(type(v) is int for v in y[[0, 2, 4]])


@pytest.mark.parametrize("fmt", ["star", "csv"])
def test_partial_text_labels(tmp_path, volumes, fmt):
    path = _partial_table(
        tmp_path, volumes, fmt, "skcryoalLabelText", ["26S%20proteasome", "<NA>", "", "7", "a"]
    )
    _, y = read_subtomograms(path, partial_labels=True)
    assert y.dtype == object and y.tolist() == ["26S proteasome", None, None, "7", "a"]
    assert all(type(v) is str for v in y[[0, 3, 4]])


def test_partial_labels_when_all_or_none_are_labeled(tmp_path, volumes):
    table = write_subtomograms(tmp_path, volumes, [1, 2, 3, 4, 5])
    _, y = read_subtomograms(table, partial_labels=True)
    assert y.dtype == object and y.tolist() == [1, 2, 3, 4, 5]
    table = write_subtomograms(tmp_path / "u", volumes)
    assert read_subtomograms(table, partial_labels=True)[1] is None


@pytest.mark.parametrize("fmt", ["star", "csv"])
def test_return_table(tmp_path, volumes, write_mrc, fmt):
    write_mrc(tmp_path / "stack.mrcs", volumes[:, 0], voxel_size=3.0)
    write_mrc(tmp_path / "single.mrc", volumes[0, 0], voxel_size=3.0)
    names = ["3@stack.mrcs", "single.mrc", "1@stack.mrcs", "5@stack.mrcs"]
    df = pd.DataFrame(
        {
            "rlnImageName": names,
            "rlnCoordinateX": [10.5, 20.0, 30.0, 40.0],
            "rlnTomoName": ["TS_01", "TS_01", "TS_02", "TS_02"],
            "skcryoalLabel": ["1", "", "2", ""],
        }
    )
    path = tmp_path / f"t.{fmt}"
    starfile.write(df, path) if fmt == "star" else df.to_csv(path, index=False)
    X, y, voxel, table = read_subtomograms(
        path, partial_labels=True, return_voxel_size=True, return_table=True
    )
    np.testing.assert_array_equal(X, volumes[[2, 0, 0, 4]])
    assert y.tolist() == [1, None, 2, None] and voxel == 3.0
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == [*df.columns, "skcryoal_file", "skcryoal_index"]
    assert table["rlnImageName"].tolist() == names
    assert table["rlnCoordinateX"].tolist() == [10.5, 20.0, 30.0, 40.0]
    assert table["rlnTomoName"].tolist() == ["TS_01", "TS_01", "TS_02", "TS_02"]
    stack, single = str((tmp_path / "stack.mrcs").absolute()), str(tmp_path / "single.mrc")
    assert table["skcryoal_file"].tolist() == [stack, single, stack, stack]
    assert table["skcryoal_index"].tolist() == [3, 1, 1, 5]
    assert table.index.tolist() == [0, 1, 2, 3]

    X, y, table = read_subtomograms(path, mmap=True, partial_labels=True, return_table=True)
    assert len(table) == len(X) == 4


def test_return_table_for_directory_and_mrc_file(tmp_path, volumes, write_mrc):
    write_mrc(tmp_path / "a_stack.mrcs", volumes[:2, 0])
    write_mrc(tmp_path / "b.mrc", volumes[2, 0])
    X, y, table = read_subtomograms(tmp_path, return_table=True)
    assert y is None and list(table.columns) == ["skcryoal_file", "skcryoal_index"]
    assert [f.rsplit("/", 1)[-1] for f in table["skcryoal_file"]] == ["a_stack.mrcs"] * 2 + [
        "b.mrc"
    ]
    assert table["skcryoal_index"].tolist() == [1, 2, 1]
    X, y, table = read_subtomograms(tmp_path / "a_stack.mrcs", return_table=True)
    assert table["skcryoal_index"].tolist() == [1, 2] and len(X) == 2
