"""write_subtomograms writes everything or nothing."""

import os

import numpy as np
import pytest

from skcryoal.io import read_subtomograms, write_subtomograms


def _snapshot(directory):
    """Every file under ``directory`` with its bytes (None if it is missing)."""
    if not directory.exists():
        return None
    return {
        p.relative_to(directory): (p.read_bytes() if p.is_file() else "dir")
        for p in sorted(directory.rglob("*"))
    }


class _Volumes:
    """A minimal array-like (not an ndarray): its values are checked only when read."""

    def __init__(self, data):
        self.data = data
        self.shape = data.shape

    def __len__(self):
        return len(self.data)

    def __getitem__(self, key):
        return self.data[key]


@pytest.mark.parametrize("existing", [False, True])
def test_nan_in_last_volume_leaves_directory_as_before(tmp_path, volumes, existing):
    out = tmp_path / "out"
    if existing:
        write_subtomograms(out, volumes[:2] + 1, ["p", "q"], prefix="subtomo")
        (out / "notes.txt").write_text("mine")
    before = _snapshot(out)
    bad = volumes.copy()
    bad[-1, 0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"subtomogram 4 has NaN or infinite values; nothing"):
        write_subtomograms(out, _Volumes(bad), list("abcde"), overwrite=True)
    assert _snapshot(out) == before


def test_failure_writing_the_table_leaves_directory_as_before(tmp_path, volumes, monkeypatch):
    write_subtomograms(tmp_path, volumes[:1], [9])
    before = _snapshot(tmp_path)

    def broken_table_writer(*args, **kwargs):
        raise OSError("could not write particle table: disk full")

    monkeypatch.setattr("skcryoal.io._write.write_table", broken_table_writer)
    with pytest.raises(OSError, match="disk full"):
        write_subtomograms(tmp_path, volumes, list("abcde"), overwrite=True)
    assert _snapshot(tmp_path) == before


def test_failure_while_renaming_removes_what_was_created(tmp_path, volumes, monkeypatch):
    out = tmp_path / "new" / "deeper"
    real_replace = os.replace

    def replace(src, dst):
        if str(dst).endswith("particles.star"):
            raise PermissionError(13, "Permission denied", str(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(PermissionError):
        write_subtomograms(out, volumes, [1, 2, 3, 4, 5])
    assert not (tmp_path / "new").exists()


def test_target_that_is_a_directory_is_refused_before_writing(tmp_path, volumes):
    (tmp_path / "particles.star").mkdir()
    before = _snapshot(tmp_path)
    with pytest.raises(IsADirectoryError, match=r"particles.star is a directory"):
        write_subtomograms(tmp_path, volumes, overwrite=True)
    assert _snapshot(tmp_path) == before


def test_no_temporary_files_are_left_after_success(tmp_path, volumes):
    write_subtomograms(tmp_path, volumes, [1, 2, 3, 4, 5])
    write_subtomograms(tmp_path, volumes + 1, [1, 2, 3, 4, 5], overwrite=True)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["particles.star", *(f"subtomo_{i:06d}.mrc" for i in range(5))]
    np.testing.assert_array_equal(read_subtomograms(tmp_path)[0], volumes + 1)


def test_bad_label_leaves_existing_directory_as_before(tmp_path, volumes):
    write_subtomograms(tmp_path, volumes, [1, 2, 3, 4, 5])
    before = _snapshot(tmp_path)
    labels = np.array(["a", "b", "c", "d", None], dtype=object)
    with pytest.raises(ValueError, match=r"rows 4 \(None\)"):
        write_subtomograms(tmp_path, volumes + 1, labels, overwrite=True)
    assert _snapshot(tmp_path) == before


def test_memmap_with_nan_is_refused_without_leftovers(tmp_path, volumes):
    path = tmp_path / "pool.npy"
    pool = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=volumes.shape)
    pool[:] = volumes
    pool[2, 0, 0, 0, 0] = np.inf
    pool.flush()
    pool = np.load(path, mmap_mode="r")
    with pytest.raises(ValueError, match="subtomogram 2 has NaN or infinite values"):
        write_subtomograms(tmp_path / "out", pool)
    assert not (tmp_path / "out").exists()


def test_overwrite_with_fewer_volumes_removes_the_stale_ones(tmp_path, volumes):
    (tmp_path / "notes_000009.mrc").write_bytes(b"not ours")
    write_subtomograms(tmp_path, volumes[:3], ["a", "b", "c"])
    write_subtomograms(tmp_path, volumes[:1], ["a"], overwrite=True)
    names = sorted(p.name for p in tmp_path.iterdir())
    # Files the earlier call wrote go; a file it did not write stays.
    assert names == ["notes_000009.mrc", "particles.star", "subtomo_000000.mrc"]
    (tmp_path / "notes_000009.mrc").unlink()
    X, y = read_subtomograms(tmp_path)
    np.testing.assert_array_equal(X, volumes[:1])
    assert y.tolist() == ["a"]


def test_failed_overwrite_keeps_the_earlier_larger_set(tmp_path, volumes):
    write_subtomograms(tmp_path, volumes[:3], ["a", "b", "c"])
    before = _snapshot(tmp_path)
    bad = volumes[:1].copy()
    bad[0, 0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        write_subtomograms(tmp_path, _Volumes(bad), ["a"], overwrite=True)
    assert _snapshot(tmp_path) == before
