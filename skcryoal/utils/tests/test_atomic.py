import os
import signal
import subprocess
import sys
import time

import pytest

from skcryoal.utils._atomic import atomic_output, atomic_write_bytes, atomic_write_text


def test_write_text_and_bytes_replace_the_whole_file(tmp_path):
    path = tmp_path / "config.json"
    atomic_write_text(path, "{}\n")
    assert path.read_text() == "{}\n"
    atomic_write_bytes(path, b"[1, 2]\n")
    assert path.read_bytes() == b"[1, 2]\n"
    atomic_write_text(path, "données\n")
    assert path.read_bytes() == "données\n".encode()
    assert os.listdir(tmp_path) == ["config.json"]  # no temporary file left


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_new_file_gets_the_usual_permissions(tmp_path):
    # a temporary file from tempfile.mkstemp would make the result private (0600)
    reference = tmp_path / "reference"
    reference.write_text("x")
    atomic_write_text(tmp_path / "new", "x")
    assert (tmp_path / "new").stat().st_mode == reference.stat().st_mode


def test_failure_inside_the_block_keeps_the_old_file(tmp_path):
    path = tmp_path / "summary.md"
    path.write_text("old")
    with pytest.raises(RuntimeError, match="disk full"), atomic_output(path) as tmp:
        tmp.write_text("half of the n")
        raise RuntimeError("disk full")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["summary.md"]


def test_temporary_path_keeps_the_suffix_for_format_inference(tmp_path):
    path = tmp_path / "learning_curve.png"
    with atomic_output(path) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".png" and tmp.exists()
        assert tmp != path
        tmp.write_bytes(b"png")
    assert path.read_bytes() == b"png"


def test_missing_folder_is_an_error_naming_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"Cannot write '.*config\.json'"):
        atomic_write_text(tmp_path / "absent" / "config.json", "{}")


# The child loads the module from its file: it imports nothing else (no torch), so it starts fast.
_REWRITER = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("_atomic", sys.argv[1])
atomic = importlib.util.module_from_spec(spec)
spec.loader.exec_module(atomic)
path, i = sys.argv[2], 0
while True:
    atomic.atomic_write_bytes(path, (b"%d\\n" % (i % 2)) * 400_000)
    i += 1
    if i == 3:
        print("running", flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_while_rewriting_leaves_a_whole_file(tmp_path):
    import skcryoal.utils._atomic as module

    path = tmp_path / "config.json"
    versions = {b"0\n" * 400_000, b"1\n" * 400_000}
    for delay in (0.0, 0.05, 0.13):
        child = subprocess.Popen(
            [sys.executable, "-c", _REWRITER, module.__file__, str(path)],
            stdout=subprocess.PIPE,
        )
        try:
            assert child.stdout.readline() == b"running\n"
            time.sleep(delay)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        assert path.read_bytes() in versions  # the old or the new version, never a mix
    # a temporary file may survive a kill; it is hidden and never read back
    leftovers = [p.name for p in tmp_path.iterdir() if p != path]
    assert all(name.startswith(".config.") for name in leftovers)


def test_a_write_that_fails_names_the_file(tmp_path):
    import errno

    path = tmp_path / "model.pkl"
    with pytest.raises(OSError, match=r"Cannot write .*model.pkl.*No space left") as info:
        with atomic_output(path) as tmp, open(tmp, "wb"):
            raise OSError(errno.ENOSPC, "No space left on device")  # what a full disk gives
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(path)
    assert list(tmp_path.iterdir()) == []
