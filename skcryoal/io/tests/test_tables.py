"""Particle-table parsing: STAR and CSV quirks, optics groups, label columns."""

import warnings

import numpy as np
import pandas as pd
import pytest
import starfile

from skcryoal.io import read_subtomograms, write_subtomograms


def test_star_parse_error_names_the_file(tmp_path, volumes):
    table = write_subtomograms(tmp_path, volumes, [1, 2, 3, 4, 5])
    table.write_text(table.read_text() + "\ndata_\n")
    with pytest.raises(ValueError, match=r"particles.star: could not parse the particle table"):
        read_subtomograms(table)


def test_star_reread_after_fix_is_never_stale(tmp_path, volumes):
    table = write_subtomograms(tmp_path, volumes, [1, 2, 3, 4, 5])
    good = table.read_text()
    table.write_text(good + "\ndata_\n")
    with pytest.raises(ValueError, match="particles.star"):
        read_subtomograms(table)
    # The corrected file (same size, likely the same mtime) with other labels.
    write_subtomograms(tmp_path, volumes, [1, 2, 3, 4, 7], overwrite=True)
    assert read_subtomograms(table)[1].tolist() == [1, 2, 3, 4, 7]
    write_subtomograms(tmp_path, volumes, [1, 2, 3, 4, 8], overwrite=True)
    assert read_subtomograms(table)[1].tolist() == [1, 2, 3, 4, 8]


def _star_with_optics(path, pixel_sizes, groups):
    optics = pd.DataFrame(
        {
            "rlnOpticsGroup": list(range(1, len(pixel_sizes) + 1)),
            "rlnImagePixelSize": pixel_sizes,
        }
    )
    names = [f"subtomo_{i:06d}.mrc" for i in range(len(groups))]
    particles = pd.DataFrame({"rlnImageName": names, "rlnOpticsGroup": groups})
    starfile.write({"optics": optics, "particles": particles}, path, overwrite=True)
    return path


def test_optics_groups_with_different_pixel_sizes(tmp_path, volumes):
    write_subtomograms(tmp_path, volumes, voxel_size=10.0)
    table = _star_with_optics(tmp_path / "t.star", [10.0, 12.0], [1, 1, 2, 2, 1])
    with pytest.raises(
        ValueError, match=r"t.star: .*different pixel sizes.*group 1: 10 A.*group 2: 12 A"
    ):
        read_subtomograms(table)


def test_optics_groups_with_equal_pixel_sizes_or_unused_group(tmp_path, volumes):
    write_subtomograms(tmp_path, volumes, voxel_size=10.0)
    table = _star_with_optics(tmp_path / "t.star", [10.0, 10.0], [1, 2, 1, 2, 1])
    X, y, voxel = read_subtomograms(table, return_voxel_size=True)
    assert voxel == 10.0 and y is None
    # A group that no particle uses does not matter.
    table = _star_with_optics(tmp_path / "t.star", [10.0, 12.0], [1, 1, 1, 1, 1])
    assert read_subtomograms(table, return_voxel_size=True)[2] == 10.0


def test_particle_pixel_size_column_must_be_unique(tmp_path, volumes):
    table = write_subtomograms(tmp_path, volumes, format="csv", voxel_size=5.0)
    df = pd.read_csv(table)
    df.loc[3, "rlnImagePixelSize"] = 6.0
    df.to_csv(table, index=False)
    with pytest.raises(ValueError, match=r"particles.csv: .*different pixel sizes.*5 A.*6 A"):
        read_subtomograms(table)


def test_csv_with_spaces_after_commas(tmp_path, volumes):
    write_subtomograms(tmp_path, volumes[:3])
    names = [f"subtomo_{i:06d}.mrc" for i in range(3)]
    lines = ["rlnImageName, skcryoalLabel , kind"]
    lines += [f"  {n} , {k} ,  {w} " for n, k, w in zip(names, [4, 5, 6], ["x", "y z", "w"])]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    X, y = read_subtomograms(tmp_path / "t.csv")
    np.testing.assert_array_equal(X, volumes[:3])
    assert y.tolist() == [4, 5, 6] and y.dtype == np.int64
    _, y = read_subtomograms(tmp_path / "t.csv", label_column="kind")
    assert y.tolist() == ["x", "y z", "w"]
    _, _, table = read_subtomograms(tmp_path / "t.csv", return_table=True)
    assert list(table.columns[:3]) == ["rlnImageName", "skcryoalLabel", "kind"]


def test_csv_text_labels_with_spaces_round_trip(tmp_path, volumes):
    labels = [" leading", "trailing ", "in side", "x", "y"]
    table = write_subtomograms(tmp_path, volumes, labels, format="csv")
    # Reformat the CSV by hand, with spaces after every comma.
    text = table.read_text().replace(",", ", ")
    table.write_text(text)
    assert read_subtomograms(table)[1].tolist() == labels


def test_csv_names_equal_after_stripping(tmp_path, volumes):
    write_subtomograms(tmp_path, volumes[:1])
    (tmp_path / "t.csv").write_text("rlnImageName,kind, kind\nsubtomo_000000.mrc,a,b\n")
    with pytest.raises(ValueError, match=r"t.csv: .*'kind'.*more than once"):
        read_subtomograms(tmp_path / "t.csv")


def _class_table(tmp_path, volumes, classes):
    write_subtomograms(tmp_path, volumes[: len(classes)])
    names = [f"subtomo_{i:06d}.mrc" for i in range(len(classes))]
    starfile.write(
        pd.DataFrame({"rlnImageName": names, "rlnClassNumber": classes}), tmp_path / "run.star"
    )
    return tmp_path / "run.star"


def test_class_number_labels_warn_when_picked_implicitly(tmp_path, volumes):
    table = _class_table(tmp_path, volumes, [1, 0, 2])
    with pytest.warns(UserWarning, match=r"run.star: labels taken from rlnClassNumber") as rec:
        _, y = read_subtomograms(table)
    message = str(rec[0].message)
    assert "not expert labels" in message and "0 is not a RELION class" in message
    assert "1 row" in message
    assert y.tolist() == [1, 0, 2]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, y = read_subtomograms(table, label_column="rlnClassNumber")
    assert y.tolist() == [1, 0, 2]


def test_written_tables_do_not_warn_about_class_numbers(tmp_path, volumes):
    table = write_subtomograms(tmp_path, volumes, [1, 2, 1, 2, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_subtomograms(table)[1].tolist() == [1, 2, 1, 2, 1]


def test_csv_stack_addressing_with_spaces(tmp_path, volumes, write_mrc):
    write_mrc(tmp_path / "stack.mrcs", volumes[:, 0])
    (tmp_path / "t.csv").write_text("rlnImageName\n 2 @ stack.mrcs \n5@stack.mrcs\n")
    X, y = read_subtomograms(tmp_path / "t.csv")
    np.testing.assert_array_equal(X, volumes[[1, 4]])
