import os

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


def _csv_table(tmp_path, volumes):
    """A CSV table of 5 MRC files; returns (path, lines)."""
    table = write_subtomograms(tmp_path, volumes, ["a", "b", "a", "b", "a"], format="csv")
    return table, table.read_text().splitlines()


@pytest.mark.parametrize("line", [2, 4])
def test_csv_row_with_an_extra_value_names_the_file_and_line(tmp_path, volumes, line):
    table, lines = _csv_table(tmp_path, volumes)
    lines[line - 1] += ",3"  # the first data row too: pandas made column 1 the index
    table.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError) as info:
        read_subtomograms(table)
    message = str(info.value)
    assert str(table) in message and f"line {line} has" in message and "more than" in message
    assert "'3'" not in message


def test_csv_row_with_a_missing_value_names_the_file_and_line(tmp_path, volumes):
    table, lines = _csv_table(tmp_path, volumes)
    lines[2] = lines[2].rsplit(",", 1)[0]
    table.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"particles.csv: line 3 has .* fewer than"):
        read_subtomograms(table)


def test_csv_trailing_commas_are_read(tmp_path, volumes):
    table, lines = _csv_table(tmp_path, volumes)
    expected_X, expected_y = read_subtomograms(table)
    for header in ("", ","):  # on the rows only (as spreadsheets export), or on every line
        table.write_text("\n".join([lines[0] + header] + [line + "," for line in lines[1:]]))
        X, y = read_subtomograms(table)
        np.testing.assert_array_equal(X, expected_X)
        np.testing.assert_array_equal(y, expected_y)


def test_a_device_is_not_reported_missing(tmp_path):
    from skcryoal.io import open_tomogram, read_particle_set

    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    for read, what in ((read_particle_set, "particle table"), (open_tomogram, "MRC file")):
        with pytest.raises(ValueError, match=f"/dev/zero is a character device.*{what}"):
            read("/dev/zero")
    folder = tmp_path / "dir.star"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match="is a directory, not a particle table"):
        read_particle_set(folder)
    table = tmp_path / "t.csv"
    table.write_text("rlnImageName\n/dev/zero\n")
    with pytest.raises(ValueError, match=r"row 0 \('/dev/zero'\) points to /dev/zero is a char"):
        read_subtomograms(table)
