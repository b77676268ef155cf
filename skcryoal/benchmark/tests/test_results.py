"""The results CSV survives an interruption at any byte: torn header, torn row, kill."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import skcryoal
from skcryoal.benchmark import COLUMNS, decode_indices, read_results
from skcryoal.benchmark._results import ResultsWriter

HEADER = ",".join(COLUMNS) + "\n"


def make_row(cycle, n_queried=3, dataset="été"):
    return dict(
        dataset=dataset,
        strategy="ema",
        strategy_name="ema",
        trial=0,
        trial_seed=7,
        cycle=cycle,
        n_labeled=10 + cycle,
        fraction=0.25,
        accuracy=0.5,
        macro_f1=0.25,
        train_seconds=1.5,
        query_seconds=0.0,
        n_pool=40,
        n_test=10,
        semi_supervised=False,
        added="1 2",
        queried=" ".join(str(i) for i in range(n_queried)),
    )


def written(rows, tmp_path):
    """The bytes of a results file holding ``rows``, as the writer writes them."""
    path = tmp_path / "reference.csv"
    writer = ResultsWriter(path)
    for row in rows:
        writer.append(row)
    data = path.read_bytes()
    path.unlink()
    return data


def row_lines(data):
    return data.splitlines(keepends=True)[1:]


@pytest.mark.parametrize(
    "cut, n_whole",
    [
        ("empty", 0),
        ("half-header", 0),
        ("header", 0),
        ("header-and-half-row", 0),
        ("rows-and-half-row", 2),
        ("row-without-newline", 2),
        ("inside-a-multibyte-character", 2),
    ],
)
def test_torn_file_reads_back_its_whole_rows_and_takes_new_ones(tmp_path, cut, n_whole):
    full = written([make_row(c) for c in range(3)], tmp_path)
    header_end = full.index(b"\n") + 1
    third = full.index(row_lines(full)[2])  # where the third row starts
    data = {
        "empty": b"",
        "half-header": full[: header_end // 2],
        "header": full[:header_end],
        "header-and-half-row": full[: header_end + 20],
        "rows-and-half-row": full[: third + 30],
        "row-without-newline": full[:-1],
        # the dataset cell, "été", starts every row with a two-byte character
        "inside-a-multibyte-character": full[: third + 1],
    }[cut]
    path = tmp_path / "results.csv"
    path.write_bytes(data)

    before = read_results(path)
    assert list(before.columns) == list(COLUMNS)
    assert before["cycle"].tolist() == list(range(n_whole))

    ResultsWriter(path).append(make_row(n_whole))
    after = read_results(path)
    assert after["cycle"].tolist() == list(range(n_whole + 1))
    assert after["dataset"].tolist() == ["été"] * (n_whole + 1)
    assert path.read_bytes() == full[: header_end + sum(map(len, row_lines(full)[: n_whole + 1]))]


def test_header_is_created_in_one_step(tmp_path, monkeypatch):
    import skcryoal.utils._atomic as atomic

    replaced = []
    real_replace = os.replace

    def spy(src, dst):
        # the header is complete in the temporary file when it takes the final name
        replaced.append((Path(dst).name, Path(src).read_text()))
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", spy)
    path = tmp_path / "sub" / "results.csv"
    ResultsWriter(path).append(make_row(0))
    assert replaced == [("results.csv", HEADER)]
    assert len(read_results(path)) == 1


# The child imports the writer without running the package __init__ files: they import
# torch (seconds), the writer needs only pandas.
_CHILD_PRELUDE = """
import os, signal, sys, types
root = sys.argv[1]
for name in ("skcryoal", "skcryoal.utils", "skcryoal.benchmark"):
    package = types.ModuleType(name)
    package.__path__ = [os.path.join(root, *name.split(".")[1:])]
    sys.modules[name] = package
from skcryoal.benchmark import _results
from skcryoal.utils import _atomic
"""

# rows of ~200 kB, so that a kill may land inside one
_APPEND_LOOP = """
path = sys.argv[2]
writer = _results.ResultsWriter(path)
row = dict((c, 0) for c in _results.COLUMNS)
for cycle in range(300):
    writer.append(dict(row, cycle=cycle, queried=" ".join(["123456"] * 30_000)))
    if cycle == 2:
        print("running", flush=True)
"""

# a real SIGKILL half-way through a write, at a chosen byte: after half of the data of
# the `n_writes`-th write (the header is the first)
_KILL_MID_WRITE = """
path, n_writes = sys.argv[2], int(sys.argv[3])
count = [0]

class Torn:
    def __init__(self, file):
        self.file = file
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return self.file.__exit__(*exc)
    def __getattr__(self, name):
        return getattr(self.file, name)
    def write(self, data):
        count[0] += 1
        if count[0] == n_writes:
            self.file.write(data[: len(data) // 2])
            self.file.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        return self.file.write(data)

def torn_open(*args, **kwargs):
    return Torn(open(*args, **kwargs))

_results.open = _atomic.open = torn_open
writer = _results.ResultsWriter(path)
row = dict((c, 0) for c in _results.COLUMNS)
for cycle in range(10):
    writer.append(dict(row, cycle=cycle, queried="1 2 3"))
"""


def run_child(script, *args):
    root = os.path.dirname(skcryoal.__file__)
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD_PRELUDE + script, root, *map(str, args)],
        stdout=subprocess.PIPE,
    )


needs_sigkill = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


@needs_sigkill
@pytest.mark.parametrize("n_writes, n_rows", [(1, 0), (2, 0), (4, 2)])
def test_sigkill_in_the_middle_of_a_write_loses_only_that_row(tmp_path, n_writes, n_rows):
    path = tmp_path / "results.csv"
    child = run_child(_KILL_MID_WRITE, path, n_writes)
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    # killed while writing the header: no results file, only a hidden temporary one
    assert path.exists() == (n_writes > 1)
    writer = ResultsWriter(path)
    assert len(writer.existing()) == n_rows
    writer.append(make_row(n_rows))
    assert read_results(path)["cycle"].tolist() == list(range(n_rows + 1))


@needs_sigkill
def test_sigkill_of_a_writing_process_at_any_time_loses_at_most_the_torn_row(tmp_path):
    path = tmp_path / "results.csv"
    child = run_child(_APPEND_LOOP, path)
    try:
        assert child.stdout.readline() == b"running\n"
        time.sleep(0.2)
        n_seen = path.read_bytes().count(b"\n") - 1  # whole rows before the kill
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    results = read_results(path)
    n = len(results)
    assert n >= max(n_seen, 3)
    assert results["cycle"].tolist() == list(range(n))
    assert all(len(decode_indices(q)) == 30_000 for q in results["queried"])
    ResultsWriter(path).append(make_row(n))
    assert read_results(path)["cycle"].tolist() == list(range(n + 1))


def test_a_file_of_the_previous_release_is_resumed_without_recall(tmp_path):
    """Results written before the recall column existed: read, and appended to, as they are."""
    old_columns = [c for c in COLUMNS if c != "recall"]
    path = tmp_path / "results.csv"
    path.write_text(",".join(old_columns) + "\n")
    writer = ResultsWriter(path)
    writer.append(dict(make_row(0), recall="0:0.5 1:1"))
    lines = path.read_text().splitlines()
    assert lines[0] == ",".join(old_columns)  # the header is kept
    assert len(lines[1].split(",")) == len(old_columns)
    table = read_results(path)
    assert list(table.columns) == list(COLUMNS)
    assert table["recall"].tolist() == [""]
    # a new file gets the column
    new = tmp_path / "new.csv"
    ResultsWriter(new).append(dict(make_row(0), recall="0:0.5 1:1"))
    assert read_results(new)["recall"].tolist() == ["0:0.5 1:1"]


def test_recall_cells_round_trip():
    from skcryoal.benchmark import decode_recall, encode_recall

    text = encode_recall(["ribosome", "junk"], [0.123456789, 1.0])
    assert text == "ribosome:0.123457 junk:1"
    assert decode_recall(text) == {"ribosome": 0.123457, "junk": 1.0}
    assert decode_recall("") == {} and decode_recall(float("nan")) == {}


def test_summary_shows_each_class_recall_when_recorded():
    import pandas as pd

    from skcryoal.benchmark import summary_markdown

    rows = []
    for strategy in ("random", "ema"):
        for trial in (0, 1):
            for cycle, n in enumerate((10, 20)):
                row = make_row(cycle)
                row.update(strategy=strategy, strategy_name=strategy, trial=trial, n_labeled=n)
                row["recall"] = f"0:{0.5 + 0.1 * cycle + 0.1 * trial} 1:1"
                rows.append(row)
    results = pd.DataFrame(rows, columns=COLUMNS)
    text = summary_markdown(results, class_names={0: "0 4V5D", 1: "1 not a particle"})
    assert "## Per-class recall (secondary)" in text
    assert "| strategy | labels | 0 4V5D | 1 not a particle |" in text
    assert "| random | 10 | 0.550 | 1.000 |" in text and "| ema | 20 | 0.650 | 1.000 |" in text
    results["recall"] = ""
    assert "Per-class recall" not in summary_markdown(results)
