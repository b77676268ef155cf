"""A table pool that changed under its campaign: followed when re-sorted, refused otherwise."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import starfile

import skcryoal
from skcryoal.campaign import Campaign
from skcryoal.io import write_subtomograms

from ._helpers import labels_of, sql, tiny_clf

#: the release before tables were fingerprinted
PREVIOUS_RELEASE = "7eea086"


def table_pool(folder, X):
    """A STAR table of MRC subtomograms with tomograms and coordinates."""
    table = write_subtomograms(folder, X, voxel_size=13.5)
    blocks = starfile.read(table, always_dict=True)
    particles = blocks["particles"]
    particles["rlnTomoName"] = [f"TS_{i % 2:02d}" for i in range(len(particles))]
    particles["rlnCoordinateX"] = np.arange(len(particles)) * 10.25
    starfile.write(blocks, table, overwrite=True)
    return table


def later(path):
    """Make ``path`` look modified a second later (file times may be coarser than a test)."""
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def rewrite(table, change):
    """Rewrite the particles of a STAR table in place, as RELION tools and scripts do."""
    blocks = starfile.read(table, always_dict=True)
    blocks["particles"] = change(blocks["particles"])
    starfile.write(blocks, table, overwrite=True)
    later(table)


@pytest.fixture
def table_campaign(tmp_path, pool):
    X, _ = pool
    table = table_pool(tmp_path / "data", X)
    c = Campaign.create(tmp_path / "c", table, [0, 1, 2], estimator=tiny_clf(), annotator="ana")
    c.label([0, 7], [2, 1])
    c.close()
    return c.path, table


def test_a_resorted_table_is_followed_particle_by_particle(table_campaign, pool):
    X, _ = pool
    folder, table = table_campaign
    rewrite(table, lambda p: p.iloc[::-1].reset_index(drop=True))
    with pytest.warns(UserWarning, match=r"another order.*particle 0 \('subtomo_000000.mrc'\) is "):
        c = Campaign.open(folder)  # checked at open: the table changed
    for pid in (0, 7, 29):
        np.testing.assert_array_equal(c.volume(pid), X[pid, 0])
    assert labels_of(c) == {0: 2, 7: 1}
    batch = np.asarray(c._volumes[np.array([7, 0])])
    np.testing.assert_array_equal(batch[:, 0], X[[7, 0], 0])


def _edit_coordinate(p):
    p.loc[3, "rlnCoordinateX"] = 999.5
    return p


@pytest.mark.parametrize(
    "change, match",
    [
        (
            _edit_coordinate,
            r"particle 3 \('subtomo_000003.mrc'\): rlnCoordinateX is 999.5 \(was 30.75\)",
        ),
        (
            lambda p: p.drop(index=[5]).reset_index(drop=True),
            r"holds 29 particles but this campaign has 30.*\n.*particle 5 "
            r"\('subtomo_000005.mrc'\) is no longer in it",
        ),
        (
            lambda p: p.assign(
                rlnImageName=p["rlnImageName"].replace("subtomo_000005.mrc", "other.mrc")
            ),
            r"particle 5 \('subtomo_000005.mrc'\) is no longer in it.*\n.*row 5 \('other.mrc'\)"
            r" is not a particle of this campaign",
        ),
    ],
    ids=["edited", "row removed", "row replaced"],
)
def test_a_changed_table_is_refused_on_open(table_campaign, change, match):
    folder, table = table_campaign
    shutil.copy(table.parent / "subtomo_000004.mrc", table.parent / "other.mrc")
    before = sql(folder, "SELECT * FROM events")
    rewrite(table, change)
    with pytest.raises(ValueError, match=match) as info:
        Campaign.open(folder)
    assert str(table) in str(info.value) and "create a new campaign" in str(info.value)
    assert sql(folder, "SELECT * FROM events") == before


def test_changed_volume_files_are_refused_on_open(table_campaign, pool):
    X, _ = pool
    folder, table = table_campaign
    other = write_subtomograms(table.parent.parent / "other", X[1:2] * 2, voxel_size=13.5)
    shutil.copy(other.parent / "subtomo_000000.mrc", table.parent / "subtomo_000000.mrc")
    later(table.parent / "subtomo_000000.mrc")
    with pytest.raises(ValueError, match=r"volume files changed.*particle 0 \('subtomo_000000"):
        Campaign.open(folder)


def test_a_touched_table_is_checked_once(table_campaign, pool, recwarn):
    X, _ = pool
    folder, table = table_campaign
    later(table)  # saved again unchanged
    c = Campaign.open(folder)
    assert c._volumes_ is not None  # read and checked at open
    assert not [w for w in recwarn if "order" in str(w.message)]
    assert Campaign.open(folder)._volumes_ is None  # recorded: later opens stay lazy
    np.testing.assert_array_equal(c.volume(3), X[3, 0])


def _as_previous_release(folder):
    """Strip what the previous release did not write from a campaign's metadata."""
    meta = dict(sql(folder, "SELECT key, value FROM meta"))
    pool = json.loads(meta["pool"])
    pool.pop("source_fingerprint")
    sql(folder, "UPDATE meta SET value = ? WHERE key = 'pool'", (json.dumps(pool),))
    sql(folder, "DELETE FROM meta WHERE key = 'campaign_id'")


def test_a_campaign_of_the_previous_release_is_fingerprinted_on_first_open(table_campaign, pool):
    X, _ = pool
    folder, table = table_campaign
    _as_previous_release(folder)
    with pytest.warns(UserWarning, match="recorded no fingerprint.*Nothing in the campaign was"):
        c = Campaign.open(folder)
    assert labels_of(c) == {0: 2, 7: 1}
    assert "volumes" in c._meta["pool"]["source_fingerprint"]
    c.close()
    other = write_subtomograms(table.parent.parent / "other", X[1:2] * 2, voxel_size=13.5)
    shutil.copy(other.parent / "subtomo_000000.mrc", table.parent / "subtomo_000000.mrc")
    later(table.parent / "subtomo_000000.mrc")
    with pytest.raises(ValueError, match="volume files changed"):
        Campaign.open(folder)


def test_a_previous_release_campaign_on_a_resorted_table_is_followed(table_campaign, pool):
    X, _ = pool
    folder, table = table_campaign
    _as_previous_release(folder)
    rewrite(table, lambda p: p.iloc[::-1].reset_index(drop=True))
    with (
        pytest.warns(UserWarning, match="another order"),
        pytest.warns(UserWarning, match="recorded no fingerprint"),
    ):
        c = Campaign.open(folder)
    np.testing.assert_array_equal(c.volume(0), X[0, 0])


def _previous_release_source():
    root = Path(skcryoal.__file__).resolve().parents[1]
    if not (root / ".git").exists() or shutil.which("git") is None:
        return None, root
    found = subprocess.run(
        ["git", "-C", str(root), "cat-file", "-e", f"{PREVIOUS_RELEASE}^{{commit}}"],
        capture_output=True,
    )
    return (root if found.returncode == 0 else None), root


def test_a_folder_made_by_the_previous_release_opens(tmp_path, pool):
    """A campaign folder written by the release before fingerprints, with its own code."""
    source, root = _previous_release_source()
    if source is None:
        pytest.skip(f"needs the git history (commit {PREVIOUS_RELEASE}) of {root}")
    old = tmp_path / "previous"
    old.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", PREVIOUS_RELEASE, "skcryoal"],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    X, _ = pool
    table = table_pool(tmp_path / "data", X)
    script = textwrap.dedent(
        """
        import sys
        import skcryoal
        assert skcryoal.__file__.startswith(sys.argv[1]), skcryoal.__file__
        from skcryoal import CryoNetClassifier
        from skcryoal.campaign import Campaign
        clf = CryoNetClassifier(module__width=4, max_epochs=1, batch_size=8, random_state=0)
        c = Campaign.create(sys.argv[2], sys.argv[3], [0, 1, 2], estimator=clf)
        c.label([0, 7], [2, 1], annotator="ana")
        c.query(3, fit=False)
        files = c.export_batch(sys.argv[4])
        """
    )
    env = dict(os.environ, PYTHONPATH=str(old), OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    done = subprocess.run(
        [sys.executable, "-c", script, str(old), tmp_path / "c", table, tmp_path / "batch"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    with pytest.warns(UserWarning, match="recorded no fingerprint.*Nothing in the campaign was"):
        c = Campaign.open(tmp_path / "c")
    assert labels_of(c) == {0: 2, 7: 1} and len(c.queued()) == 3
    np.testing.assert_array_equal(c.volume(7), X[7, 0])
    with pytest.warns(UserWarning, match="no skcryoal_sheet column"):
        c.import_labels(tmp_path / "batch" / "batch.csv")  # its old sheet, still blank
    c.close()
    rewrite(table, lambda p: p.iloc[::-1].reset_index(drop=True))
    with pytest.warns(UserWarning, match="another order"):
        np.testing.assert_array_equal(Campaign.open(tmp_path / "c").volume(7), X[7, 0])
