"""copick projects in and out: a small local project with blobs at known positions.

The tests that need copick skip where it is absent (it is an optional extra,
installed in CI's separate copick step); the ones that check skcryoal without
it run everywhere.
"""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from skcryoal.io import read_copick, read_copick_subtomograms, write_copick_picks

VS = 10.0  # Angstrom per voxel of the "wbp" tomograms
SHAPE = (24, 32, 40)  # (z, y, x)
# blob centres in voxels, (x, y, z), per run and object
BLOBS = {
    "TS_001": {"ribosome": [(10, 12, 8), (28, 20, 15)], "apoferritin": [(20, 8, 16)]},
    "TS_002": {"ribosome": [(30, 22, 12)], "apoferritin": [(12, 24, 10), (25, 10, 9)]},
}
# alice picks 2 Angstrom (0.2 voxel) off each centre
ALICE_OFFSET = np.array([2.0, -2.0, 1.0])


def _blobs(centres):
    z, y, x = np.indices(SHAPE, dtype=np.float32)
    vol = np.zeros(SHAPE, np.float32)
    for cx, cy, cz in centres:
        vol += np.exp(-((x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2) / (2 * 1.2**2))
    return vol


@pytest.fixture
def copick():
    return pytest.importorskip("copick")


@pytest.fixture
def project(copick, tmp_path):
    """Two runs, each with a "wbp" tomogram at 10 A; TS_001 also has a "denoised" one.

    Picks: alice (session "1") near every blob, curation (session "0", the truth)
    on every blob, and a "bob" pick set whose points carry a shift in their
    transformation.
    """
    from copick.models import PickableObject

    config = tmp_path / "copick.json"
    root = copick.new_config(
        str(config),
        str(tmp_path / "overlay"),
        pickable_objects=[
            PickableObject(name="ribosome", is_particle=True, label=1, radius=60),
            PickableObject(name="apoferritin", is_particle=True, label=2, radius=40),
            PickableObject(name="membrane", is_particle=False, label=3),
        ],
    )
    volumes = {}
    for run_name, objects in BLOBS.items():
        run = root.new_run(run_name)
        vs = run.new_voxel_spacing(VS)
        volumes[run_name] = _blobs([c for centres in objects.values() for c in centres])
        # two levels: 10 A and copick's 2x2x2 block mean at 20 A
        vs.new_tomogram("wbp").from_numpy(volumes[run_name], levels=2)
        if run_name == "TS_001":
            vs.new_tomogram("denoised").from_numpy(volumes[run_name], levels=1)
        for obj, centres in objects.items():
            angstrom = np.asarray(centres, float) * VS
            run.new_picks(obj, "1", "alice").from_numpy(
                angstrom + ALICE_OFFSET, scores=np.linspace(0.5, 0.9, len(centres))
            )
            run.new_picks(obj, "0", "curation").from_numpy(angstrom)
    return {"config": config, "root": root, "volumes": volumes}


def _centres(run, obj):
    return np.asarray(BLOBS[run][obj], float)


# --------------------------------------------------------------------------- read


def test_read_positions_in_voxels_of_the_tomogram(project):
    table = read_copick(project["config"], users="alice")
    assert len(table) == 6
    assert table.columns[:7].tolist() == [
        "skcryoal_tomogram",
        "skcryoal_tomogram_path",
        "skcryoal_voxel_size",
        "skcryoal_x",
        "skcryoal_y",
        "skcryoal_z",
        "skcryoal_convention",
    ]
    assert (table.skcryoal_convention == "copick").all()
    assert (table.skcryoal_voxel_size == VS).all()
    for (run, obj), rows in table.groupby(["copick_run", "copick_object"]):
        xyz = rows[["skcryoal_x", "skcryoal_y", "skcryoal_z"]].to_numpy()
        # exactly the Angstrom position over the voxel spacing...
        np.testing.assert_allclose(xyz, (_centres(run, obj) * VS + ALICE_OFFSET) / VS)
        # ...so within half a voxel of the blob centres
        assert np.abs(xyz - _centres(run, obj)).max() < 0.5
        np.testing.assert_allclose(rows.copick_score, np.linspace(0.5, 0.9, len(rows)))
        assert rows.copick_point_index.tolist() == list(range(len(rows)))
    # runs in name order, then pick sets by object name
    assert table.copick_run.tolist() == ["TS_001"] * 3 + ["TS_002"] * 3
    assert table.copick_object.tolist()[:3] == ["apoferritin", "ribosome", "ribosome"]
    assert (table.skcryoal_tomogram == table.copick_run).all()
    assert set(table.copick_user_id) == {"alice"} and set(table.copick_session_id) == {"1"}
    assert table.label.isna().all()


def test_tomogram_path_is_the_zarr_group_of_the_run(project):
    import zarr

    table = read_copick(project["config"], users="alice")
    for run, path in table.groupby("skcryoal_tomogram").skcryoal_tomogram_path.first().items():
        assert path.endswith(f"/ExperimentRuns/{run}/VoxelSpacing{VS:.3f}/wbp.zarr")
        np.testing.assert_array_equal(zarr.open(path, mode="r")["0"][:], project["volumes"][run])


def test_truth_picks_supply_labels(project):
    table = read_copick(project["config"], users="alice", truth_user="curation")
    truth = table.copick_user_id == "curation"
    assert truth.sum() == 6 and (~truth).sum() == 6
    assert (table.label[truth] == table.copick_object[truth]).all()
    assert table.label[~truth].isna().all()
    xyz = table.loc[truth, ["skcryoal_x", "skcryoal_y", "skcryoal_z"]].to_numpy()
    expected = [c for run in BLOBS for obj in sorted(BLOBS[run]) for c in BLOBS[run][obj]]
    np.testing.assert_array_equal(xyz, expected)
    # a session alone picks the truth too
    by_session = read_copick(project["config"], users="curation", truth_session="0")
    assert (by_session.label == by_session.copick_object).all()


def test_filters(project):
    config = project["config"]
    table = read_copick(config, objects="ribosome", runs=["TS_002"], sessions="0")
    assert table.copick_object.tolist() == ["ribosome"]
    assert table.copick_user_id.tolist() == ["curation"]
    assert len(read_copick(config)) == 12  # every user and session
    denoised = read_copick(config, runs="TS_001", tomo_type="denoised", voxel_spacing=10.0)
    assert denoised.skcryoal_tomogram_path.str.endswith("denoised.zarr").all()


def test_transformation_shift_moves_the_centre(project):
    run = project["root"].get_run("TS_002")
    shift = np.array([30.0, -20.0, 10.0])  # Angstrom
    transforms = np.tile(np.eye(4), (1, 1, 1))
    transforms[0, :3, 3] = shift
    transforms[0, :3, :3] = [[0, -1, 0], [1, 0, 0], [0, 0, 1]]
    centre = _centres("TS_002", "ribosome")[0] * VS
    run.new_picks("ribosome", "1", "bob").from_numpy((centre - shift)[None], transforms)
    row = read_copick(project["config"], users="bob").iloc[0]
    xyz = row[["skcryoal_x", "skcryoal_y", "skcryoal_z"]].to_numpy(float)
    np.testing.assert_allclose(xyz, centre / VS)
    location = row[["copick_location_x", "copick_location_y", "copick_location_z"]]
    np.testing.assert_allclose(location.to_numpy(float), centre - shift)
    assert row.copick_transformation_03 == 30.0 and row.copick_transformation_01 == -1.0


def test_open_project_is_accepted(project, copick):
    root = copick.from_file(str(project["config"]))
    pd.testing.assert_frame_equal(read_copick(root), read_copick(project["config"]))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"objects": "proteasome"}, r"unknown pickable object\(s\) \['proteasome'\].*copick.json"),
        ({"runs": "TS_009"}, r"unknown run\(s\) \['TS_009'\].*'TS_001', 'TS_002'"),
        ({"users": ["alice", "carol"]}, r"users: .* from users \['carol'\].*'alice', 'curation'"),
        ({"truth_user": "curator"}, r"truth_user: .*\['curator'\]"),
        ({"objects": "membrane"}, r"no picks of objects \['membrane'\]"),
        ({"tomo_type": "denoised"}, r"run 'TS_002' has no tomogram 'denoised'.*'wbp'"),
        ({"voxel_spacing": 20.0}, r"no tomogram 'wbp' at voxel spacing 20.0 A.*10.0 A"),
        ({"voxel_spacing": -1}, r"voxel_spacing must be a positive number"),
    ],
)
def test_read_errors(project, kwargs, message):
    with pytest.raises(ValueError, match=message):
        read_copick(project["config"], **kwargs)


def test_several_voxel_spacings_must_be_chosen(project):
    run = project["root"].get_run("TS_002")
    run.new_voxel_spacing(20.0).new_tomogram("wbp").from_numpy(np.zeros((12, 16, 20)), levels=1)
    with pytest.raises(ValueError, match=r"several voxel spacings \[10.0, 20.0\].*voxel_spacing="):
        read_copick(project["config"])
    table = read_copick(project["config"], runs="TS_002", voxel_spacing=20.0, users="curation")
    np.testing.assert_allclose(table.skcryoal_x, table.copick_location_x / 20.0)


def test_missing_config_file(copick, tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.json"):
        read_copick(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json is not a readable copick config"):
        read_copick(bad)
    with pytest.raises(TypeError, match="config must be the path of a copick config"):
        read_copick(42)


# -------------------------------------------------------------------------- write


def _predictions(config):
    table = read_copick(config, users="alice")
    table["predicted_class"] = np.where(table.index % 2 == 0, "ribosome", "apoferritin")
    table["probability"] = np.linspace(0.4, 0.95, len(table))
    return table


def test_write_round_trip(project, copick):
    config = project["config"]
    table = _predictions(config)
    summary = write_copick_picks(config, table)
    assert summary.columns.tolist() == ["run", "object", "user_id", "session_id", "n_points"]
    assert summary.n_points.sum() == len(table)
    assert set(summary.user_id) == {"skcryoal"} and set(summary.session_id) == {"0"}

    root = copick.from_file(str(config))  # read back with copick itself
    for (run, obj), rows in table.groupby(["skcryoal_tomogram", "predicted_class"]):
        (picks,) = root.get_run(run).get_picks(obj, user_id="skcryoal", session_id="0")
        assert picks.from_tool
        xyz = rows[["skcryoal_x", "skcryoal_y", "skcryoal_z"]].to_numpy()
        np.testing.assert_allclose(picks.full_positions(), xyz * VS)
        np.testing.assert_allclose(picks.scores(), rows.probability)
    again = read_copick(config, users="skcryoal")
    assert len(again) == len(table)
    merged = again.merge(table, on=["skcryoal_tomogram", "skcryoal_x", "skcryoal_y", "skcryoal_z"])
    assert (merged.copick_object_x == merged.predicted_class).all()


def test_write_keeps_transformations_and_labels(project, copick):
    config = project["config"]
    run = project["root"].get_run("TS_001")
    transforms = np.tile(np.eye(4), (2, 1, 1))
    transforms[:, :3, :3] = [[0, 0, 1], [0, 1, 0], [-1, 0, 0]]
    transforms[:, :3, 3] = [5.0, 0.0, -5.0]
    centres = _centres("TS_001", "ribosome") * VS
    run.new_picks("ribosome", "1", "bob").from_numpy(centres - transforms[:, :3, 3], transforms)
    table = read_copick(config, users="bob", truth_user="curation", runs="TS_001")
    summary = write_copick_picks(config, table, class_column="label", score_column=None)
    assert summary.n_points.sum() == 3  # bob's rows have no label: left out
    table["label"] = table.copick_object
    write_copick_picks(config, table, class_column="label", score_column=None, overwrite=True)
    root = copick.from_file(str(config))
    (picks,) = root.get_run("TS_001").get_picks("ribosome", user_id="skcryoal")
    positions, written = picks.numpy()
    assert len(positions) == 4 and (picks.scores() == 1.0).all()
    bob = table.copick_user_id.eq("bob").to_numpy()[table.copick_object.eq("ribosome").to_numpy()]
    np.testing.assert_allclose(written[bob], transforms)
    np.testing.assert_allclose(picks.full_positions()[bob], centres)


def test_write_unknown_class_names_it_and_the_config(project):
    table = _predictions(project["config"])
    table.loc[3, "predicted_class"] = "proteasome"
    with pytest.raises(ValueError, match=r"\['proteasome'\].*copick.json.*'ribosome'"):
        write_copick_picks(project["config"], table)


def test_write_refuses_to_replace_without_overwrite(project, copick):
    config = project["config"]
    table = _predictions(config)
    write_copick_picks(config, table[table.predicted_class == "ribosome"])
    table["probability"] = 0.5
    with pytest.raises(ValueError, match=r"already has picks by 'skcryoal'.*overwrite=True"):
        write_copick_picks(config, table)
    root = copick.from_file(str(config))
    assert not root.get_run("TS_001").get_picks("apoferritin", user_id="skcryoal")  # none written
    write_copick_picks(config, table, overwrite=True)
    (picks,) = (
        copick.from_file(str(config)).get_run("TS_001").get_picks("ribosome", user_id="skcryoal")
    )
    assert (picks.scores() == 0.5).all()


@pytest.mark.parametrize(
    "change, kwargs, message",
    [
        ({"skcryoal_tomogram": "TS_404"}, {}, r"run\(s\) \['TS_404'\].*run_column="),
        ({"probability": np.nan}, {}, r"scores \(probability\) must be finite.*\[0, 1, 2"),
        ({"skcryoal_voxel_size": 0.0}, {}, r"skcryoal_voxel_size must be positive"),
        ({}, {"score_column": "confidence"}, r"no column\(s\) \['confidence'\]"),
        ({}, {"user_id": "my_tool"}, r"user_id='my_tool'.*underscores.*'my-tool'"),
    ],
)
def test_write_errors(project, change, kwargs, message):
    table = _predictions(project["config"]).assign(**change)
    with pytest.raises(ValueError, match=message):
        write_copick_picks(project["config"], table, **kwargs)


# --------------------------------------------------------------------- extraction


def test_subtomograms_are_centred_on_the_blobs(project):
    X, y, table = read_copick_subtomograms(
        project["config"], size=8, users="alice", truth_user="curation", standardize=False
    )
    assert X.shape == (12, 1, 8, 8, 8) and X.dtype == np.float32
    assert y.dtype == object and y.tolist() == table.label.tolist()
    assert sum(v is None for v in y) == 6
    # the brightest voxel of each box is its centre, voxel size // 2
    peaks = [np.unravel_index(np.argmax(box[0]), box[0].shape) for box in X]
    assert all(p == (4, 4, 4) for p in peaks)
    _, y_none, _ = read_copick_subtomograms(project["config"], size=8, users="alice")
    assert y_none is None


@pytest.mark.parametrize("voxel_size", [None, 2 * VS, 1.5 * VS])
def test_subtomograms_at_another_voxel_size_stay_centred(project, voxel_size):
    # None: level "0" as is; 20 A: copick's level "1"; 15 A: Fourier-resampled level "0"
    X, _, table = read_copick_subtomograms(
        project["config"], size=8, users="curation", voxel_size=voxel_size, standardize=False
    )
    scale = (voxel_size or VS) / VS
    centre = table[["skcryoal_z", "skcryoal_y", "skcryoal_x"]].to_numpy() / scale
    # where the particle centre is in its box (box i starts at round(c) - size // 2)
    expected = 4 + centre - np.floor(centre + 0.5) if scale == 2 else np.full(centre.shape, 4.0)
    grid = np.indices((5, 5, 5)).reshape(3, -1) + 2
    for box, where in zip(X[:, 0], expected):
        # the centroid of the 5^3 voxels around the box centre, away from other blobs
        weights = np.clip(box[2:7, 2:7, 2:7], 0, None).ravel()
        centroid = grid @ weights / weights.sum()
        # within half a voxel; copick's block-mean level "1" sits a quarter voxel off
        # (its metadata gives no translation), resampling from level "0" is exact
        assert np.abs(centroid - where).max() < (0.3 if scale == 2 else 0.1), (centroid, where)


# ---------------------------------------------------------------- without copick


def test_importing_skcryoal_io_does_not_import_copick():
    code = "import sys, skcryoal.io; print('copick' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_copick_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "copick", None)  # import copick raises ImportError
    config = tmp_path / "copick.json"
    config.write_text(json.dumps({"config_type": "filesystem"}))
    with pytest.raises(ImportError, match=r"pip install 'skcryoal\[copick\]'"):
        read_copick(config)
    with pytest.raises(ImportError, match=r"skcryoal\[copick\]"):
        write_copick_picks(config, pd.DataFrame())


def test_tomograms_off_local_disk_are_refused():
    from types import SimpleNamespace

    from skcryoal.io._copick import _zarr_path

    remote = SimpleNamespace(
        read_only=True, fs_static=SimpleNamespace(protocol=("s3", "s3a")), static_path="b/wbp.zarr"
    )
    with pytest.raises(ValueError, match=r"not on the local filesystem \(storage \('s3', 's3a'\)"):
        _zarr_path(remote, "the copick project x.json")
