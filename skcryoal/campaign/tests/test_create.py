"""Creating and reopening campaigns: pool sources, provenance, seeds, bad input."""

import numpy as np
import pandas as pd
import pytest
import starfile

from skcryoal.campaign import Campaign
from skcryoal.io import write_subtomograms

from ._helpers import labels_of, tiny_clf


def star_pool(folder, X, y, labeled):
    """A RELION-style STAR of MRC subtomograms; only the rows in ``labeled`` keep a label."""
    table = write_subtomograms(folder, X, [f"class {v}" for v in y], voxel_size=13.5)
    blocks = starfile.read(table, always_dict=True)
    particles = blocks["particles"]
    n = len(particles)
    particles["rlnTomoName"] = [f"TS_{i % 3:02d}" for i in range(n)]
    particles["rlnCoordinateX"] = np.arange(n) * 10.25
    particles["rlnCoordinateY"] = np.arange(n) * 0.1 + 1e-7
    particles["rlnAngleRot"] = np.linspace(-180, 180, n)
    text = particles["skcryoalLabelText"].astype(str)
    particles["skcryoalLabelText"] = [t if i in labeled else "" for i, t in enumerate(text)]
    starfile.write(blocks, table, overwrite=True)
    return table, starfile.read(table, always_dict=True)["particles"]  # as written (6 decimals)


def test_array_pool_is_saved_once_and_memory_mapped(make_campaign, pool):
    X, _ = pool
    c = make_campaign()
    assert (c.path / "pool.npy").is_file()
    assert isinstance(c._volumes, np.memmap) and c._volumes.shape == (30, 1, 16, 16, 16)
    np.testing.assert_array_equal(c.volume(7), X[7, 0])
    assert c.volume(7).dtype == np.float32
    c2 = Campaign.open(c.path)
    np.testing.assert_array_equal(c2.volume(29), X[29, 0])
    frame = c2.particles()
    assert frame["skcryoal_file"].unique().tolist() == ["pool.npy"]
    assert frame["skcryoal_index"].tolist() == list(range(1, 31))


def test_table_pool_seeds_labels_and_keeps_every_column(tmp_path, pool):
    X, y = pool
    labeled = {0, 3, 4, 9}
    table, particles = star_pool(tmp_path / "data", X, y, labeled)
    classes = ["class 0", "class 1", "class 2"]
    c = Campaign.create(tmp_path / "c", table, classes, estimator=tiny_clf())
    assert c._meta["pool"]["kind"] == "path" and not (c.path / "pool.npy").exists()
    assert labels_of(c) == {i: f"class {y[i]}" for i in labeled}
    assert set(c.labels()["annotator"]) == {"table"}
    frame = Campaign.open(c.path).particles()
    for column in ("rlnImageName", "rlnTomoName", "rlnClassNumber", "skcryoalLabelText"):
        assert frame[column].astype(str).tolist() == particles[column].astype(str).tolist()
    for column in ("rlnCoordinateX", "rlnCoordinateY", "rlnAngleRot"):
        np.testing.assert_array_equal(frame[column].to_numpy(float), particles[column])
    files = frame["skcryoal_file"].tolist()
    assert files[5] == str((tmp_path / "data" / "subtomo_000005.mrc").absolute())
    assert frame["skcryoal_index"].tolist() == [1] * 30
    np.testing.assert_array_equal(Campaign.open(c.path).volume(5), X[5, 0])
    tomos = {r[0] for r in c._store._conn.execute("SELECT DISTINCT tomo_name FROM particles")}
    assert tomos == {"TS_00", "TS_01", "TS_02"}
    assert "optics" in c._meta["blocks"]


def test_relion_class_numbers_are_not_labels_unless_asked(tmp_path, pool):
    X, _ = pool
    table = tmp_path / "relion.star"
    write_subtomograms(tmp_path, X)
    starfile.write(
        pd.DataFrame(
            {
                "rlnImageName": [f"subtomo_{i:06d}.mrc" for i in range(30)],
                "rlnClassNumber": [1 + i % 3 for i in range(30)],
            }
        ),
        table,
    )
    c = Campaign.create(tmp_path / "c1", table, [1, 2, 3])
    assert len(c.labels()) == 0
    c = Campaign.create(tmp_path / "c2", table, [1, 2, 3], label_column="rlnClassNumber")
    assert len(c.labels()) == 30


def test_directory_pool(tmp_path, pool):
    X, _ = pool
    write_subtomograms(tmp_path / "data", X[:5])
    (tmp_path / "data" / "particles.star").unlink()
    c = Campaign.create(tmp_path / "c", tmp_path / "data", ["a", "b"])
    assert c.n_particles == 5 and c.particles()["skcryoal_index"].tolist() == [1] * 5
    np.testing.assert_array_equal(c.volume(4), X[4, 0])


@pytest.mark.parametrize("leftover", ["no database", "empty database", "uncommitted"])
def test_leftovers_of_an_interrupted_create_are_replaced(make_campaign, tmp_path, leftover):
    import sqlite3

    folder = tmp_path / "campaign"
    folder.mkdir()
    (folder / "pool.npy").write_bytes(b"half a pool")
    (folder / "estimator.pkl").write_bytes(b"")
    if leftover == "empty database":
        (folder / "campaign.sqlite").write_bytes(b"")
    elif leftover == "uncommitted":  # the creating transaction never committed
        sqlite3.connect(folder / "campaign.sqlite").execute("CREATE TABLE meta (k, v)")
    c = make_campaign()  # no overwrite=True needed: nothing of value was there
    assert c.n_particles == 30 and len(labels_of(c)) == 6


def test_existing_campaign_needs_overwrite(make_campaign, pool):
    c = make_campaign()
    c.label(20, 1)
    with pytest.raises(FileExistsError, match="already holds a campaign.*overwrite=True"):
        make_campaign()
    assert labels_of(Campaign.open(c.path))[20] == 1  # untouched
    (c.path / "notes.txt").write_text("mine")
    c2 = make_campaign(overwrite=True, n_seeds=1)
    assert list(labels_of(c2)) == [0] and (c.path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"classes": [0]}, ValueError, "at least two classes"),
        ({"classes": [0, 0, 1]}, ValueError, "must not repeat"),
        ({"classes": [0, "a"]}, ValueError, "all integers or all non-empty strings"),
        ({"y": [5] + [None] * 29}, ValueError, r"'5' \(row 0\).*Nothing was created"),
        ({"y": [0, 1]}, ValueError, "one entry per particle"),
        ({"strategy": "entropi"}, ValueError, "did you mean 'entropy'"),
        ({"strategy": "ema:subsampel=5"}, TypeError, "subsample"),
        ({"strategy": "ema:random_state=3"}, ValueError, "random_state"),
        ({"strategy": lambda learner, X, n_instances: [0]}, TypeError, "cannot be pickled"),
        ({"estimator": tiny_clf(classes=[0, 1])}, ValueError, "differ from the campaign"),
        ({"estimator": tiny_clf(device="foo")}, ValueError, "device='foo' is not a torch device"),
        ({"random_state": "zero"}, TypeError, "random_state must be"),
        ({"pool": np.zeros((4, 16, 16))}, ValueError, r"shape \(n_particles, 1, D, H, W\)"),
    ],
)
def test_bad_input_creates_nothing(tmp_path, pool, kwargs, error, match):
    X, _ = pool
    args = {"classes": [0, 1, 2], "pool": X, "estimator": tiny_clf(), **kwargs}
    with pytest.raises(error, match=match):
        Campaign.create(tmp_path / "c", args.pop("pool"), args.pop("classes"), **args)
    assert not (tmp_path / "c").exists()


def test_nan_volumes_are_refused_before_the_pool_is_in_place(tmp_path, pool):
    X, _ = pool
    X = X.copy()
    X[3, 0, 1, 2, 3] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinite values in volume\(s\) \[3\]"):
        Campaign.create(tmp_path / "c", X, [0, 1, 2])
    assert not (tmp_path / "c").exists()


def test_reopen_with_a_different_pool(tmp_path, pool):
    X, y = pool
    table, _ = star_pool(tmp_path / "data", X, y, set())
    c = Campaign.create(tmp_path / "c", table, ["class 0", "class 1", "class 2"])
    moved = tmp_path / "moved"
    (tmp_path / "data").rename(moved)
    c2 = Campaign.open(c.path, pool=moved / "particles.star")
    np.testing.assert_array_equal(c2.volume(2), X[2, 0])
    small = tmp_path / "small"
    write_subtomograms(small, X[:, :, :8, :8, :8])
    with pytest.raises(ValueError, match=r"volumes of shape \(8, 8, 8\).*\(16, 16, 16\)"):
        Campaign.open(c.path, pool=small / "particles.star")
    write_subtomograms(tmp_path / "fewer", X[:10])
    with pytest.raises(ValueError, match="holds 10 particles but this campaign has 30"):
        Campaign.open(c.path, pool=tmp_path / "fewer" / "particles.star")


def test_reopen_an_array_campaign_with_other_arrays(make_campaign, pool):
    X, _ = pool
    c = make_campaign()
    with pytest.raises(ValueError, match=r"shape \(8, 8, 8\)"):
        Campaign.open(c.path, pool=X[:, :, :8, :8, :8])
    np.testing.assert_array_equal(Campaign.open(c.path, pool=X).volume(3), X[3, 0])


def test_open_a_folder_without_a_campaign(tmp_path):
    with pytest.raises(FileNotFoundError, match="no campaign in"):
        Campaign.open(tmp_path)


def test_the_estimator_and_strategy_are_stored(tmp_path, pool, make_campaign):
    c = make_campaign(estimator=tiny_clf(lr=0.0123), strategy="margin", random_state=7)
    c2 = Campaign.open(c.path)
    assert c2._template.lr == 0.0123 and c2._template.classes == [0, 1, 2]
    assert c2._meta["strategy"] == {"name": "margin", "params": {}}
    assert c2._meta["seed"] == 7
    d = make_campaign(name="default", estimator=None)
    assert type(d._template).__name__ == "CryoNetClassifier"
    assert d._template.classes == [0, 1, 2] and d._template.random_state == 0
    assert d._template.augment is True  # particles in random poses
