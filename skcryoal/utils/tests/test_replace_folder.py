"""Replacing a folder whole, in one step (predict's output set)."""

import os
import sys

import pytest

from skcryoal.utils import _atomic
from skcryoal.utils._atomic import replace_folder


def make(folder, **files):
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def content(folder):
    return {p.name: p.read_text() for p in folder.iterdir()}


@pytest.mark.parametrize("exchange", [True, False])
def test_the_new_folder_takes_the_place_of_the_old(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(_atomic, "_exchange", lambda a, b: False)
    target = tmp_path / "out"
    replace_folder(make(tmp_path / ".out.1.new", a="1"), target)  # no target yet
    assert content(target) == {"a": "1"}
    replace_folder(make(tmp_path / ".out.2.new", b="2"), target)
    assert content(target) == {"b": "2"}  # the old files are gone with the old folder
    assert os.listdir(tmp_path) == ["out"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux's")
def test_linux_exchanges_the_two_folders_atomically(tmp_path):
    old, new = make(tmp_path / "out", a="old"), make(tmp_path / "new", a="new")
    assert _atomic._exchange(new, old)  # glibc >= 2.28 and a local file system
    assert content(old) == {"a": "new"} and content(new) == {"a": "old"}


def test_a_failed_second_rename_puts_the_old_folder_back(tmp_path, monkeypatch):
    monkeypatch.setattr(_atomic, "_exchange", lambda a, b: False)
    target, new = make(tmp_path / "out", a="old"), make(tmp_path / "new", a="new")
    rename = os.rename

    def failing(src, dst):
        if str(src) == str(new):
            raise OSError(28, "No space left on device", str(dst))
        rename(src, dst)

    monkeypatch.setattr(_atomic.os, "rename", failing)
    with pytest.raises(OSError, match="No space left"):
        replace_folder(new, target)
    assert content(target) == {"a": "old"} and content(new) == {"a": "new"}
    assert sorted(os.listdir(tmp_path)) == ["new", "out"]
