"""read_particle_set: every bad input fails naming the file, the rows, the column or the fix."""

import mrcfile
import numpy as np
import pandas as pd
import pytest
import starfile

from skcryoal.io import InvalidMRCError, read_particle_set


def _relion5(names, x=0.0):
    return pd.DataFrame(
        {
            "rlnTomoName": names,
            "rlnCenteredCoordinateXAngst": x,
            "rlnCenteredCoordinateYAngst": 0.0,
            "rlnCenteredCoordinateZAngst": 0.0,
        }
    )


def _relion4(names, pixel=True):
    df = pd.DataFrame(
        {
            "rlnTomoName": names,
            "rlnCoordinateX": 40.0,
            "rlnCoordinateY": 40.0,
            "rlnCoordinateZ": 40.0,
        }
    )
    return df.assign(rlnTomoTiltSeriesPixelSize=5.0) if pixel else df


@pytest.fixture
def tomo(tmp_path, write_mrc):
    write_mrc(tmp_path / "TS_01.mrc", np.zeros((10, 12, 14), np.float32), voxel_size=20.0)
    return tmp_path / "TS_01.mrc"


def test_unknown_convention(tmp_path):
    pd.DataFrame({"a": [1], "b": [2]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(ValueError, match=r"t.csv: cannot tell the coordinate convention.*a, b"):
        read_particle_set(tmp_path / "t.csv")


def test_forced_convention_missing_columns(tomo):
    with pytest.raises(ValueError, match=r"convention 'warp' reads .*missing wrpCoordinateX1"):
        read_particle_set(_relion5(["TS_01"]), tomograms=tomo, convention="warp")
    with pytest.raises(ValueError, match=r"convention must be 'auto' or one of .*'relion6'"):
        read_particle_set(_relion5(["TS_01"]), tomograms=tomo, convention="relion6")


def test_bad_table_type_and_missing_file(tmp_path):
    with pytest.raises(TypeError, match="table must be a particle table .* got int"):
        read_particle_set(3)
    with pytest.raises(FileNotFoundError, match="nope.star"):
        read_particle_set(tmp_path / "nope.star")


def test_rows_without_coordinates(tmp_path, tomo):
    df = _relion5(["TS_01", "TS_01", "TS_01"]).astype({"rlnCenteredCoordinateXAngst": object})
    df.loc[1, "rlnCenteredCoordinateXAngst"] = "oops"
    df.loc[2, "rlnCenteredCoordinateXAngst"] = np.nan
    with pytest.raises(ValueError, match=r"particle table: rows \[1, 2\] have missing or non-"):
        read_particle_set(df, tomogram_dir=tomo.parent)


def test_rows_without_tomogram_name(tomo):
    df = _relion5(["TS_01", None, ""])
    with pytest.raises(ValueError, match=r"rlnTomoName has no tomogram name in rows \[1, 2\]"):
        read_particle_set(df, tomogram_dir=tomo.parent)


def test_relion5_needs_tomogram_names(tomo):
    df = _relion5(["TS_01"]).drop(columns="rlnTomoName")
    with pytest.raises(ValueError, match="a relion5 particle table needs the column rlnTomoName"):
        read_particle_set(df, tomograms=tomo)


def test_tomogram_not_found_names_it_rows_and_places(tmp_path, tomo):
    df = _relion5(["TS_01", "TS_09", "TS_09"])
    with pytest.raises(FileNotFoundError) as info:
        read_particle_set(df, tomogram_dir=tmp_path)
    message = str(info.value)
    assert "rows [1, 2]" in message and "tomogram 'TS_09'" in message
    assert "TS_09{.mrc,.rec,.zarr,.map}" in message and "tomogram_dir=" in message
    with pytest.raises(FileNotFoundError, match=r"no file found for tomogram 'TS_01'.*tomograms="):
        read_particle_set(df)
    with pytest.raises(FileNotFoundError, match=r"the keys of tomograms= \(TS_01\)"):
        read_particle_set(df, tomograms={"TS_01": tomo})
    with pytest.raises(FileNotFoundError, match=r"does not exist: .*gone.mrc"):
        read_particle_set(df.iloc[:1], tomograms={"TS_01": tmp_path / "gone.mrc"})


def test_one_tomogram_path_for_many_tomograms(tomo):
    with pytest.raises(FileNotFoundError, match="tomograms= is one file but the table lists"):
        read_particle_set(_relion5(["TS_01", "TS_02"]), tomograms=tomo)


def test_single_tomogram_table_without_tomogram(tmp_path):
    df = pd.DataFrame({"x": [1.0], "y": [2.0], "z": [3.0]})
    with pytest.raises(FileNotFoundError, match="Pass tomograms= the path of the tomogram"):
        read_particle_set(df)


def test_bad_tomograms_arguments(tmp_path, tomo):
    df = _relion5(["TS_01"])
    with pytest.raises(TypeError, match="tomograms must be a tomograms STAR file, a dict"):
        read_particle_set(df, tomograms=3)
    with pytest.raises(TypeError, match=r"tomograms\['TS_01'\] must be the path"):
        read_particle_set(df, tomograms={"TS_01": 3})
    with pytest.raises(FileNotFoundError, match="tomogram_dir is not a directory"):
        read_particle_set(df, tomogram_dir=tomo)
    starfile.write(pd.DataFrame({"a": [1]}), tmp_path / "tomograms.star")
    with pytest.raises(ValueError, match=r"tomograms.star: not a RELION tomograms STAR"):
        read_particle_set(df, tomograms=tmp_path / "tomograms.star")
    starfile.write({"global": pd.DataFrame({"rlnTomoName": ["TS_01"]})}, tmp_path / "t2.star")
    with pytest.raises(ValueError, match=r"t2.star: no column 'rlnDenoised'; the columns are"):
        read_particle_set(df, tomograms=tmp_path / "t2.star", tomogram_column="rlnDenoised")


def test_voxel_size_contradiction_between_header_and_tables(tmp_path, tomo):
    starfile.write(
        {
            "global": pd.DataFrame(
                {
                    "rlnTomoName": ["TS_01"],
                    "rlnTomoTiltSeriesPixelSize": [5.0],
                    "rlnTomoTomogramBinning": [6.0],  # 30 A, the header says 20 A
                    "rlnTomoReconstructedTomogram": [str(tomo)],
                }
            )
        },
        tmp_path / "tomograms.star",
    )
    with pytest.raises(ValueError, match=r"header says 20 A per voxel but the tomograms STAR"):
        read_particle_set(_relion4(["TS_01"]), tomograms=tmp_path / "tomograms.star")
    pytom = pd.DataFrame(
        {
            "rlnCoordinateX": [1],
            "rlnCoordinateY": [1],
            "rlnCoordinateZ": [1],
            "rlnLCCmax": [0.3],
            "rlnDetectorPixelSize": [13.5],
            "rlnMicrographName": ["TS_01"],
        }
    )
    with pytest.raises(ValueError, match=r"says 13.5 A\. Fix the header"):
        read_particle_set(pytom, tomogram_dir=tmp_path)


def test_unknown_voxel_size_where_the_convention_needs_it(tmp_path, write_mrc):
    write_mrc(tmp_path / "TS_01.mrc", np.zeros((10, 12, 14), np.float32), voxel_size=0.0)
    warp = pd.DataFrame(
        {
            "wrpCoordinateX1": [10.0],
            "wrpCoordinateY1": [1.0],
            "wrpCoordinateZ1": [1.0],
            "wrpSourceName": ["TS_01.tomostar"],
        }
    )
    with pytest.raises(ValueError, match=r"tomogram 'TS_01.tomostar' .*TS_01.mrc.*voxel size of"):
        read_particle_set(warp, tomogram_dir=tmp_path)
    # A pixel convention does not need it: 0.0 means unknown.
    plain = read_particle_set(
        pd.DataFrame({"x": [1.0], "y": [1.0], "z": [1.0]}), tomograms=tmp_path / "TS_01.mrc"
    )
    assert plain["skcryoal_voxel_size"].tolist() == [0.0]


def test_relion4_without_tilt_series_pixel_size(tomo):
    with pytest.raises(ValueError, match=r"no tilt-series pixel size \(rlnTomoTiltSeriesPixel"):
        read_particle_set(_relion4(["TS_01"], pixel=False), tomogram_dir=tomo.parent)


def test_rows_of_one_tomogram_disagree_on_voxel_size(tomo):
    df = pd.DataFrame(
        {
            "rlnCenteredCoordinateXAngst": [0.0, 0.0],
            "rlnCenteredCoordinateYAngst": 0.0,
            "rlnCenteredCoordinateZAngst": 0.0,
            "rlnLCCmax": 0.3,
            "rlnTomoTiltSeriesPixelSize": [20.0, 10.0],
            "rlnTomoName": "TS_01",
        }
    )
    with pytest.raises(ValueError, match=r"the rows give different voxel sizes \(10, 20 A\)"):
        read_particle_set(df, tomogram_dir=tomo.parent)


def test_tomogram_that_is_a_stack(tmp_path):
    with mrcfile.new(tmp_path / "TS_01.mrc") as mrc:
        mrc.set_data(np.zeros((2, 4, 4, 4), np.float32))
    with pytest.raises(InvalidMRCError, match="TS_01.mrc: a volume stack of 2"):
        read_particle_set(_relion5(["TS_01"]), tomogram_dir=tmp_path)


def test_tomogram_not_listed_in_the_tomograms_star_names_the_star_and_its_names(tmp_path, tomo):
    star = tmp_path / "tomograms.star"
    listed = pd.DataFrame(
        {
            "rlnTomoName": ["TS_01", "TS_02"],
            "rlnTomoTiltSeriesPixelSize": [5.0, 5.0],
            "rlnTomoTomogramBinning": [4.0, 4.0],
            "rlnTomoReconstructedTomogram": [str(tomo), str(tomo)],
        }
    )
    starfile.write({"global": listed}, star)
    with pytest.raises(FileNotFoundError) as info:
        read_particle_set(_relion4(["TS_01", "TS_9"]), tomograms=star)
    message = str(info.value)
    assert "tomogram 'TS_9'" in message and "rows [1]" in message
    assert f"{star} does not list 'TS_9'" in message
    assert "its rlnTomoName entries are: TS_01, TS_02" in message
    # not the advice to do what the user did
    assert "Pass tomograms= a RELION tomograms STAR" not in message


@pytest.mark.parametrize(
    "pixel, binning, bad",
    [(5.0, -4.0, "rlnTomoTomogramBinning"), (5.0, 0.0, "rlnTomoTomogramBinning"),
     (-5.0, 4.0, "rlnTomoTiltSeriesPixelSize")],
)  # fmt: skip
def test_non_positive_binning_or_pixel_size_in_the_tomograms_star_is_invalid(
    tmp_path, write_mrc, pixel, binning, bad
):
    write_mrc(tmp_path / "TS_01.mrc", np.zeros((10, 12, 14), np.float32), voxel_size=0.0)
    star = tmp_path / "tomograms.star"
    listed = {
        "rlnTomoName": ["TS_01"],
        "rlnTomoTiltSeriesPixelSize": [pixel],
        "rlnTomoTomogramBinning": [binning],
        "rlnTomoReconstructedTomogram": [str(tmp_path / "TS_01.mrc")],
    }
    starfile.write({"global": pd.DataFrame(listed)}, star)
    value = pixel if bad == "rlnTomoTiltSeriesPixelSize" else binning
    with pytest.raises(ValueError) as info:
        read_particle_set(_relion4(["TS_01"], pixel=False), tomograms=star)
    message = str(info.value)
    assert f"{star}: {bad} must be a positive number" in message, message
    assert f"'TS_01' has {value:g}" in message
    assert "no tilt-series pixel size" not in message and "unknown" not in message


def test_non_positive_pixel_size_in_the_particle_table_is_invalid(tmp_path, tomo):
    df = _relion4(["TS_01"]).assign(rlnTomoTiltSeriesPixelSize=-5.0)
    df.to_csv(tmp_path / "picks.csv", index=False)
    with pytest.raises(ValueError) as info:
        read_particle_set(tmp_path / "picks.csv", tomogram_dir=tmp_path)
    message = str(info.value)
    assert "picks.csv: rows [0] have rlnTomoTiltSeriesPixelSize -5" in message, message
    assert "must be a positive number" in message and "no tilt-series" not in message
    pytom = pd.DataFrame(
        {
            "rlnCoordinateX": [1], "rlnCoordinateY": [1], "rlnCoordinateZ": [1],
            "rlnLCCmax": [0.3], "rlnDetectorPixelSize": [-5.0], "rlnMicrographName": ["TS_01"],
        }
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"rlnDetectorPixelSize is -5 A; a pixel size must be"):
        read_particle_set(pytom, tomogram_dir=tmp_path)


def test_negative_voxel_size_in_a_particle_set_is_invalid_not_unknown(tomo):
    from skcryoal.io import extract_particles

    particle_set = read_particle_set(_relion4(["TS_01"]), tomogram_dir=tomo.parent)
    bad = particle_set.assign(skcryoal_voxel_size=-5.0)
    with pytest.raises(ValueError, match=r"rows \[0\] have a negative voxel size .*-5\)"):
        extract_particles(bad, 4, voxel_size=20.0, edge="pad")
