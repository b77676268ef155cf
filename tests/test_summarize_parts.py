"""benchmarks/summarize_parts.py: the parts' primary endpoint over the joined family."""

import json

import pytest

from skcryoal.benchmark import declare_primary_endpoint


@pytest.fixture(scope="module")
def summarize_parts(benchmark_script):
    return benchmark_script("summarize_parts")


def _part(folder, strategies, **kwargs):
    folder.mkdir(parents=True)
    primary = dict(
        declare_primary_endpoint(strategies, **kwargs), declared="before the first cycle"
    )
    (folder / "config.json").write_text(json.dumps(dict(primary_endpoint=primary)))
    return folder


def test_the_joined_family_spans_the_parts(summarize_parts, tmp_path):
    a = _part(tmp_path / "part-a", ["random", "ema"])
    b = _part(tmp_path / "part-b", ["entropy", "badge"])
    joined = summarize_parts.joined_declaration([a, b], ["random", "ema", "entropy", "badge"])
    assert joined["comparisons"] == ["ema - random", "entropy - random", "badge - random"]
    assert joined["declared"] == "part-a: before the first cycle; part-b: before the first cycle"
    old = tmp_path / "old"
    old.mkdir()  # a part from before declarations
    joined = summarize_parts.joined_declaration([a, old], ["random", "ema"])
    assert joined["declared"].endswith("1 part(s) without a declaration")
    assert summarize_parts.joined_declaration([old], ["random", "ema"]) is None


def test_parts_with_other_endpoints_are_refused(summarize_parts, tmp_path):
    a = _part(tmp_path / "part-a", ["random", "ema"])
    b = _part(tmp_path / "part-b", ["badge"], endpoint="auc")
    with pytest.raises(SystemExit, match="different primary endpoints"):
        summarize_parts.joined_declaration([a, b], ["random", "ema", "badge"])
