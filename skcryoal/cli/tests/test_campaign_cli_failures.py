"""``skcryoal campaign`` on damaged, read-only or changed folders: an error line, no traceback."""

import os

import pytest
import starfile

from skcryoal.campaign import Campaign
from skcryoal.campaign._store import Store

from .test_campaign_cli import CLASSES, N_SEEDED, TINY, cli, fill, table  # noqa: F401

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def folder(tmp_path, capsys, table):  # noqa: F811
    path, _ = table
    folder = tmp_path / "camp"
    assert cli(capsys, "new", folder, "--pool", path, "--classes", ",".join(CLASSES), *TINY)[0] == 0
    return folder


@pytest.mark.parametrize(
    "name, words",
    [
        ("campaign.sqlite", "is not a readable campaign database"),
        ("estimator.pkl", "cannot be read back (UnpicklingError"),
    ],
)
def test_a_damaged_file_is_named_without_a_traceback(folder, capsys, name, words):
    (folder / name).write_bytes(b"not what the campaign wrote" * 100)
    for command in ("status", "fit"):
        code, _, err = cli(capsys, command, folder)
        assert code == 1 and str(folder / name) in err and words in err, err
        assert "Traceback" not in err


def test_a_damaged_database_is_replaced_only_when_asked(folder, capsys, table):  # noqa: F811
    path, _ = table
    (folder / "campaign.sqlite").write_bytes(b"garbage" * 100)
    args = ("new", folder, "--pool", path, "--classes", ",".join(CLASSES), *TINY)
    code, _, err = cli(capsys, *args)
    assert code == 1 and "restore it from a backup" in err and "--overwrite" in err
    assert (folder / "campaign.sqlite").read_bytes() == b"garbage" * 100
    assert cli(capsys, *args, "--overwrite")[0] == 0


def test_a_read_only_folder_is_said(folder, capsys, monkeypatch):
    connect = Store.connect

    def read_only(self):  # what SQLite says in a read-only folder (chmod is moot as root)
        conn = connect(self)
        conn.execute("PRAGMA query_only = 1")
        return conn

    monkeypatch.setattr(Store, "connect", read_only)
    code, _, err = cli(capsys, "query", folder, "-n", "3", "--no-fit")
    assert code == 1 and "Traceback" not in err
    assert f"{folder / 'campaign.sqlite'}: the database or its folder is read-only" in err
    assert f"chmod -R u+w {folder}" in err and "Nothing of the step in progress" in err
    monkeypatch.undo()
    assert Campaign.open(folder).status().n_rounds == 0


def test_an_unknown_device_creates_nothing(tmp_path, capsys, table):  # noqa: F811
    path, _ = table
    folder = tmp_path / "camp"
    args = ("new", folder, "--pool", path, "--classes", ",".join(CLASSES), *TINY)
    code, _, err = cli(capsys, *args, "--device", "foo")
    assert code == 2 and "device='foo' is not a torch device" in err and "Traceback" not in err
    assert not (folder / "campaign.sqlite").exists() and not (folder / "estimator.pkl").exists()


def test_an_old_sheet_imported_again_is_refused_then_applied_on_request(folder, capsys, table):  # noqa: F811
    _, y = table
    assert cli(capsys, "query", folder, "-n", "4", "--no-fit")[0] == 0
    assert cli(capsys, "export", folder, folder / "b")[0] == 0
    sheet = folder / "b" / "batch.csv"
    frame = fill(sheet, y)
    assert cli(capsys, "import", folder, sheet, "--annotator", "ana")[0] == 0
    pid = int(frame.loc[0, "particle_id"])
    other = next(c for c in CLASSES if c != frame.loc[0, "label"])
    Campaign.open(folder).label(pid, other, annotator="ana")  # corrected since
    code, _, err = cli(capsys, "import", folder, sheet, "--annotator", "ana")
    assert code == 2 and f"row 1 (particle {pid}): the sheet says" in err
    assert "--replace-newer" in err and "Traceback" not in err
    code, out, err = cli(capsys, "import", folder, sheet, "--annotator", "ana", "--replace-newer")
    assert code == 0 and "1 labels applied" in out
    assert "Warning: " in err and f"particle {pid}" in err
    labels = Campaign.open(folder).labels().set_index("particle_id")["label"]
    assert labels[pid] == frame.loc[0, "label"]


def test_a_sheet_of_another_campaign_is_refused(folder, tmp_path, capsys, table):  # noqa: F811
    path, y = table
    twin = tmp_path / "twin"
    assert cli(capsys, "new", twin, "--pool", path, "--classes", ",".join(CLASSES), *TINY)[0] == 0
    for f in (folder, twin):
        assert cli(capsys, "query", f, "-n", "4", "--no-fit")[0] == 0
    assert cli(capsys, "export", twin, twin / "b")[0] == 0
    fill(twin / "b" / "batch.csv", y)
    code, _, err = cli(capsys, "import", folder, twin / "b" / "batch.csv")
    assert code == 2 and "exported by another campaign" in err and "Traceback" not in err
    assert Campaign.open(folder).status().n_labeled == N_SEEDED


def test_a_changed_table_is_refused_before_any_work(folder, capsys, table):  # noqa: F811
    path, _ = table
    blocks = starfile.read(path, always_dict=True)
    blocks["particles"].loc[4, "rlnCoordinateX"] = 1.5
    starfile.write(blocks, path, overwrite=True)
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    for command in ("status", "query"):
        code, _, err = cli(capsys, command, folder)
        assert code == 2 and str(path) in err and "Traceback" not in err
        assert "particle 4 ('subtomo_000004.mrc'): rlnCoordinateX is 1.5 (was 41.0)" in err
