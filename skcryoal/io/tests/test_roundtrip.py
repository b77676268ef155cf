import pickle

import numpy as np
import pandas as pd
import pytest
import starfile

from skcryoal.io import LazySubtomograms, read_subtomograms, write_subtomograms


@pytest.mark.parametrize("fmt", ["star", "csv"])
@pytest.mark.parametrize(
    "y",
    [
        None,
        np.array([3, -1, 3, 0, 10**12]),
        np.array(["ribosome", "26S proteasome", 'a "quoted", #label', "nan", "é/ü\tx"]),
        ["1", "2", "1", "007", "<NA>"],
    ],
    ids=["unlabeled", "ints", "strings", "numeric-strings"],
)
def test_round_trip_is_exact(tmp_path, volumes, fmt, y):
    table = write_subtomograms(tmp_path, volumes, y, voxel_size=7.25, format=fmt)
    assert table == tmp_path / f"particles.{fmt}"
    X, y2, voxel = read_subtomograms(table, return_voxel_size=True)
    assert X.dtype == np.float32 and X.shape == volumes.shape
    np.testing.assert_array_equal(X, volumes)
    assert voxel == 7.25
    if y is None:
        assert y2 is None
    else:
        expected = np.asarray(y)
        assert y2.tolist() == expected.tolist()
        assert y2.dtype == np.int64 if expected.dtype.kind == "i" else y2.dtype.kind == "U"


def test_star_table_is_relion_style(tmp_path, volumes):
    table = write_subtomograms(tmp_path, volumes, np.array([5, 2, 5, 9, 2]), voxel_size=4.0)
    blocks = starfile.read(table, always_dict=True)
    assert blocks["optics"]["rlnImagePixelSize"].tolist() == [4.0]
    assert blocks["optics"]["rlnImageDimensionality"].tolist() == [3]
    particles = blocks["particles"]
    assert particles["rlnImageName"].tolist()[0] == "subtomo_000000.mrc"
    # RELION class numbers: 1-based positions in the sorted unique labels.
    assert particles["rlnClassNumber"].tolist() == [2, 1, 2, 3, 1]
    assert particles["skcryoalLabel"].tolist() == [5, 2, 5, 9, 2]


def test_four_dimensional_input_and_prefix(tmp_path, volumes):
    write_subtomograms(tmp_path, volumes[:, 0], prefix="p", format="csv")
    assert sorted(p.name for p in tmp_path.glob("*.mrc"))[0] == "p_000000.mrc"
    X, y = read_subtomograms(tmp_path / "particles.csv")
    np.testing.assert_array_equal(X, volumes)


def test_directory_read_is_sorted_and_unlabeled(tmp_path, volumes):
    write_subtomograms(tmp_path, volumes, [1, 2, 3, 4, 5])
    # Without its particle table, a directory is its MRC files, by name.
    (tmp_path / "particles.star").unlink()
    (tmp_path / "subtomo_000000.mrc").rename(tmp_path / "x.mrc")
    X, y = read_subtomograms(tmp_path)
    np.testing.assert_array_equal(X, volumes[[1, 2, 3, 4, 0]])
    assert y is None


def test_refuses_to_overwrite(tmp_path, volumes):
    write_subtomograms(tmp_path, volumes)
    before = (tmp_path / "subtomo_000000.mrc").read_bytes()
    with pytest.raises(FileExistsError, match="particles.star.*overwrite=True"):
        write_subtomograms(tmp_path, volumes + 1)
    assert (tmp_path / "subtomo_000000.mrc").read_bytes() == before
    write_subtomograms(tmp_path, volumes + 1, overwrite=True)
    np.testing.assert_array_equal(read_subtomograms(tmp_path / "particles.star")[0], volumes + 1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"format": "mrc"}, "format must be one of"),
        ({"voxel_size": 0}, "voxel_size must be a positive"),
        ({"prefix": "a/b"}, "prefix must be"),
    ],
)
def test_write_rejects_bad_parameters(tmp_path, volumes, kwargs, match):
    with pytest.raises(ValueError, match=match):
        write_subtomograms(tmp_path, volumes, **kwargs)


def test_write_rejects_bad_data(tmp_path, volumes):
    with pytest.raises(ValueError, match=r"got \(5, 2, 8, 10, 12\)"):
        write_subtomograms(tmp_path, np.concatenate([volumes, volumes], axis=1))
    bad = volumes.copy()
    bad[3, 0, 1, 1, 1] = np.nan
    with pytest.raises(ValueError, match=r"subtomograms \[3\]"):
        write_subtomograms(tmp_path, bad)
    with pytest.raises(ValueError, match="5 labels"):
        write_subtomograms(tmp_path, volumes, [1, 2])
    with pytest.raises(ValueError, match="integer or string labels; got dtype float64"):
        write_subtomograms(tmp_path, volumes, np.arange(5.0))
    with pytest.raises(ValueError, match=r"rows 2 \(''\)"):
        write_subtomograms(tmp_path, volumes, ["a", "b", "", "c", "d"])
    with pytest.raises(ValueError, match="only integers or only non-empty strings"):
        write_subtomograms(tmp_path, volumes, np.array(["a", 1, "b", "c", None], dtype=object))
    assert not list(tmp_path.iterdir())


def test_volume_stack_file_and_index_at_file(tmp_path, volumes, write_mrc):
    write_mrc(tmp_path / "stack.mrcs", volumes[:, 0], voxel_size=3.0)
    X, y, voxel = read_subtomograms(tmp_path / "stack.mrcs", return_voxel_size=True)
    np.testing.assert_array_equal(X, volumes)
    assert y is None and voxel == 3.0

    # RELION addressing, 1-based, any order, mixed with a single-volume file.
    write_mrc(tmp_path / "single.mrc", volumes[0, 0], voxel_size=3.0)
    names = ["3@stack.mrcs", "single.mrc", "1@stack.mrcs", "5@stack.mrcs"]
    starfile.write(
        pd.DataFrame({"rlnImageName": names, "rlnClassNumber": [2, 1, 2, 3]}),
        tmp_path / "t.star",
    )
    with pytest.warns(UserWarning, match="labels taken from rlnClassNumber"):
        X, y = read_subtomograms(tmp_path / "t.star")
    np.testing.assert_array_equal(X, volumes[[2, 0, 0, 4]])
    assert y.tolist() == [2, 1, 2, 3] and y.dtype == np.int64


def test_label_column_option(tmp_path, volumes):
    df = pd.DataFrame({"filename": [f"v{i}.mrc" for i in range(2)], "kind": ["x", "y"]})
    write_subtomograms(tmp_path, volumes[:2], prefix="v")
    for i in range(2):
        (tmp_path / f"v_00000{i}.mrc").rename(tmp_path / f"v{i}.mrc")
    df.to_csv(tmp_path / "t.csv", index=False)
    X, y = read_subtomograms(tmp_path / "t.csv")
    assert y is None
    X, y = read_subtomograms(tmp_path / "t.csv", label_column="kind")
    assert y.tolist() == ["x", "y"]
    with pytest.raises(ValueError, match="label_column='klass' is not a column"):
        read_subtomograms(tmp_path / "t.csv", label_column="klass")


def test_mmap_single_stack_is_readonly_memmap(tmp_path, volumes, write_mrc):
    write_mrc(tmp_path / "stack.mrcs", volumes[:, 0])
    X, _ = read_subtomograms(tmp_path / "stack.mrcs", mmap=True)
    assert isinstance(X, np.memmap) and not X.flags.writeable
    assert X.shape == volumes.shape and X.dtype == np.float32
    np.testing.assert_array_equal(X[1:3], volumes[1:3])


def test_mmap_many_files_is_lazy_and_equal(tmp_path, volumes):
    table = write_subtomograms(tmp_path, volumes, [0, 1, 0, 1, 0])
    X, y = read_subtomograms(table, mmap=True)
    assert isinstance(X, LazySubtomograms)
    assert X.shape == volumes.shape and X.dtype == np.float32 and len(X) == 5 and X.ndim == 5
    assert y.tolist() == [0, 1, 0, 1, 0]
    np.testing.assert_array_equal(X[2], volumes[2])
    np.testing.assert_array_equal(X[-1], volumes[-1])
    np.testing.assert_array_equal(X[1:4], volumes[1:4])
    np.testing.assert_array_equal(X[::2], volumes[::2])
    np.testing.assert_array_equal(X[[4, 0, 4]], volumes[[4, 0, 4]])
    mask = np.array([True, False, False, True, False])
    np.testing.assert_array_equal(X[mask], volumes[mask])
    np.testing.assert_array_equal(X[1:3, 0, 2], volumes[1:3, 0, 2])
    np.testing.assert_array_equal(np.asarray(X), volumes)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(X))[3], volumes[3])
    with pytest.raises(IndexError, match="out of bounds"):
        X[5]
    # Only the indexed files are read.
    (tmp_path / "subtomo_000004.mrc").unlink()
    np.testing.assert_array_equal(X[:2], volumes[:2])
    with pytest.raises(ValueError, match="subtomo_000004.mrc: could not read"):
        X[3:]
    write_subtomograms(tmp_path, volumes, overwrite=True)
    # Re-written as a lazy pool, it stays equal.
    write_subtomograms(tmp_path / "copy", X)
    np.testing.assert_array_equal(read_subtomograms(tmp_path / "copy")[0], volumes)


def test_single_particle_star_simple_block(tmp_path, volumes, write_mrc):
    write_mrc(tmp_path / "one.mrc", volumes[0, 0])
    (tmp_path / "one.star").write_text(
        "data_particle\n\n_rlnImageName one.mrc\n_rlnClassNumber 4\n"
    )
    X, y = read_subtomograms(tmp_path / "one.star", label_column="rlnClassNumber")
    np.testing.assert_array_equal(X, volumes[:1])
    assert y.tolist() == [4]
