import numpy as np
import pandas as pd
import pytest
import starfile

from skcryoal.io import InvalidMRCError, read_subtomograms, write_subtomograms


@pytest.fixture
def table(tmp_path, volumes):
    return write_subtomograms(tmp_path, volumes, ["a", "b", "a", "b", "a"])


def test_missing_source(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.star"):
        read_subtomograms(tmp_path / "nope.star")


def test_row_pointing_nowhere(tmp_path, table):
    (tmp_path / "subtomo_000003.mrc").unlink()
    with pytest.raises(FileNotFoundError, match=r"row 3 .*subtomo_000003.mrc.*does not exist"):
        read_subtomograms(table)


@pytest.mark.parametrize("mmap", [False, True])
def test_truncated_file(tmp_path, table, mmap):
    path = tmp_path / "subtomo_000002.mrc"
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(InvalidMRCError, match=r"subtomo_000002.mrc: file is truncated"):
        read_subtomograms(table, mmap=mmap)
    with pytest.raises(InvalidMRCError, match=r"subtomo_000002.mrc: file is truncated"):
        read_subtomograms(tmp_path)


@pytest.mark.parametrize("content", [b"hello, I am a text file\n" * 100, b"hi"])
def test_non_mrc_file(tmp_path, table, content):
    (tmp_path / "subtomo_000001.mrc").write_bytes(content)
    with pytest.raises(InvalidMRCError, match="subtomo_000001.mrc: not a readable MRC2014 file"):
        read_subtomograms(table)


def test_image_stack_is_not_a_volume(tmp_path, write_mrc, volumes):
    import mrcfile

    with mrcfile.new(tmp_path / "images.mrcs") as mrc:
        mrc.set_data(volumes[0, 0])
        mrc.set_image_stack()
    with pytest.raises(InvalidMRCError, match="images.mrcs: it is a stack of 8 2D images"):
        read_subtomograms(tmp_path / "images.mrcs")


def test_mixed_volume_sizes(tmp_path, table, write_mrc, rng):
    write_mrc(tmp_path / "subtomo_000004.mrc", rng.normal(size=(8, 10, 10)))
    with pytest.raises(
        ValueError, match=r"differ in size: .*subtomo_000000.mrc is 8x10x12 .*subtomo_000004.mrc"
    ):
        read_subtomograms(table)


def test_mixed_voxel_sizes(tmp_path, table, write_mrc, volumes):
    write_mrc(tmp_path / "subtomo_000001.mrc", volumes[1, 0], voxel_size=12.0)
    with pytest.raises(ValueError, match=r"differ in voxel size: .*subtomo_000001.mrc has 12 A"):
        read_subtomograms(tmp_path)


def test_table_voxel_size_disagrees_with_headers(tmp_path, volumes):
    table = write_subtomograms(tmp_path, volumes, format="csv", voxel_size=5.0)
    df = pd.read_csv(table)
    df["rlnImagePixelSize"] = 6.0
    df.to_csv(table, index=False)
    with pytest.raises(ValueError, match="rlnImagePixelSize 6 A but the MRC headers say 5 A"):
        read_subtomograms(table)


@pytest.mark.parametrize("fmt", ["star", "csv"])
def test_partially_missing_labels(tmp_path, volumes, fmt):
    names = [f"subtomo_00000{i}.mrc" for i in range(5)]
    write_subtomograms(tmp_path, volumes)
    df = pd.DataFrame({"rlnImageName": names, "rlnClassNumber": ["1", "2", "", "1", "nan"]})
    path = tmp_path / f"t.{fmt}"
    if fmt == "star":
        starfile.write(df, path)
    else:
        df.to_csv(path, index=False)
    with pytest.raises(
        ValueError, match=rf"t.{fmt}: column 'rlnClassNumber' has no label in rows 2, 4"
    ):
        read_subtomograms(path)


def test_non_integer_class_numbers(tmp_path, volumes):
    write_subtomograms(tmp_path, volumes[:2], format="csv")
    df = pd.read_csv(tmp_path / "particles.csv")
    df["rlnClassNumber"] = ["1", "two"]
    df.to_csv(tmp_path / "particles.csv", index=False)
    with pytest.raises(ValueError, match="'rlnClassNumber' must hold integers; row 1 has 'two'"):
        read_subtomograms(tmp_path / "particles.csv")


@pytest.mark.parametrize(
    "name, match",
    [
        ("stack.mrcs", r"row 0 \('stack.mrcs'\) names a stack of 5 volumes; .*index@file"),
        ("6@stack.mrcs", r"row 0 \('6@stack.mrcs'\) asks for volume 6 but .*stack.mrcs holds 5"),
        ("0@stack.mrcs", r"row 0 has image name '0@stack.mrcs'; stack indices are 1-based"),
        ("x@stack.mrcs", r"row 0 has image name 'x@stack.mrcs'; expected 'file' or 'index@file'"),
    ],
)
def test_bad_stack_addressing(tmp_path, volumes, write_mrc, name, match):
    write_mrc(tmp_path / "stack.mrcs", volumes[:, 0])
    starfile.write(pd.DataFrame({"rlnImageName": [name]}), tmp_path / "t.star")
    with pytest.raises(ValueError, match=match):
        read_subtomograms(tmp_path / "t.star")


def test_table_without_image_column_or_unknown_suffix(tmp_path):
    pd.DataFrame({"a": [1]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(ValueError, match=r"t.csv: no image column; expected one of rlnImageName"):
        read_subtomograms(tmp_path / "t.csv")
    (tmp_path / "t.txt").write_text("x")
    with pytest.raises(ValueError, match=r"cannot read .*t.txt: expected a directory"):
        read_subtomograms(tmp_path / "t.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty holds no MRC files"):
        read_subtomograms(tmp_path / "empty")


def test_big_endian_file_reads_as_native_float32(tmp_path, volumes):
    import mrcfile

    with mrcfile.new(tmp_path / "be.mrc") as mrc:
        mrc.set_data(volumes[0, 0].astype(">f4"))
        mrc.voxel_size = 2.0
    X, _ = read_subtomograms(tmp_path / "be.mrc", mmap=True)
    assert X.dtype == np.float32
    np.testing.assert_array_equal(X[:], volumes[:1])
