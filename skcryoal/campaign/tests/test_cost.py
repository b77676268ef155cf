"""What the labels cost: decision times stored with labels, rates, projections."""

import math

import pandas as pd
import pytest

from skcryoal.campaign import AnnotationCost, Campaign

from ._helpers import sql


def test_timed_labels_and_skips_give_rates_per_annotator(make_campaign):
    c = make_campaign(n_seeds=6)
    c.label([10, 11, 12], [0, 1, 2], annotator="ana", seconds=[4.0, 6.0, 8.0])
    c.skip([13], annotator="ana", seconds=6.0)
    c.label([14, 15], 1, annotator="bob", seconds=[30.0, None])  # the second one untimed
    cost = c.annotation_cost()
    assert isinstance(cost, AnnotationCost)
    table = cost.per_annotator.set_index("annotator")
    assert list(table.index) == ["ana", "bob", "all"]  # seeds are not annotation work
    assert table.loc["ana", "n_labels"] == 3 and table.loc["ana", "n_skips"] == 1
    assert table.loc["ana", "n_timed"] == 4
    # 3 labels in 24 s of looking (the skip's 6 s included): 450 labels per hour
    assert table.loc["ana", "labels_per_hour"] == pytest.approx(3600 * 3 / 24)
    assert table.loc["ana", "median_seconds"] == pytest.approx(6.0)
    assert table.loc["bob", "n_labels"] == 2 and table.loc["bob", "n_timed"] == 1
    assert table.loc["bob", "labels_per_hour"] == pytest.approx(120.0)
    assert table.loc["all", "hours"] == pytest.approx(54 / 3600)
    assert cost.labels_per_hour == pytest.approx(3600 * 4 / 54)
    assert "ana 450/h" in cost.summary() and "bob 120/h" in cost.summary()
    # the status says it too, with the time to a budget
    status = c.status(budget=20)
    assert status.n_labeled == 11
    assert "5 decisions timed in 0.9 min" in status.annotation
    assert "to 20 labels: 2.0 min more (9 labels)" in status.annotation
    assert "annotation" in str(status)
    assert c.annotation_cost(budget=20).projected_hours == pytest.approx(9 / (3600 * 4 / 54))
    assert c.annotation_cost(budget=5).projected_hours == 0.0
    assert c.annotation_cost().projected_hours is None


def test_undone_decisions_still_count_as_work(make_campaign):
    c = make_campaign(n_seeds=6)
    c.label([10], 0, annotator="ana", seconds=5.0)
    c.undo()
    table = c.annotation_cost().per_annotator.set_index("annotator")
    assert table.loc["ana", "n_labels"] == 1
    assert table.loc["ana", "hours"] == pytest.approx(5 / 3600)
    assert c.status().n_labeled == 6


def test_imported_labels_are_counted_untimed_with_their_sheet(make_campaign, tmp_path):
    c = make_campaign(n_seeds=6, strategy="random")
    c.query(3)
    path = c.export_batch(tmp_path / "batch")["csv"]
    sheet = pd.read_csv(path, dtype=str, keep_default_na=False)
    sheet["label"] = ["0", "1", "2"]
    sheet.to_csv(path, index=False)
    c.import_labels(path, annotator="cy")
    table = c.annotation_cost().per_annotator.set_index("annotator")
    assert table.loc["cy", "n_imported"] == 3 and table.loc["cy", "n_sheets"] == 1
    assert table.loc["cy", "n_labels"] == 0 and table.loc["cy", "n_timed"] == 0
    assert math.isnan(table.loc["cy", "labels_per_hour"])
    assert "3 labels imported from 1 sheet(s), untimed" in c.status().annotation
    assert "no decision timed yet" in c.status().annotation


def test_a_folder_from_before_timing_reads_and_times_from_then_on(make_campaign):
    c = make_campaign(n_seeds=6)
    c.label([10], 0, annotator="ana")  # untimed: the table is not made
    assert not sql(c.path, "SELECT name FROM sqlite_master WHERE name = 'decision_seconds'")
    old = Campaign.open(c.path)
    assert old.annotation_cost().per_annotator.set_index("annotator").loc["ana", "n_labels"] == 1
    old.label([11], 1, annotator="ana", seconds=3.0)
    assert sql(c.path, "SELECT seconds FROM decision_seconds") == [(3.0,)]
    assert "1 decisions timed in 0.1 min" in old.status().annotation


@pytest.mark.parametrize(
    "seconds, match",
    [
        (-1.0, r"finite numbers >= 0.*got -1.0"),
        ([1.0, 2.0, 3.0], r"one number or one per particle \(2\)"),
        ("fast", r"numbers >= 0 \(or None\); got 'fast'"),
    ],
)
def test_bad_times_record_nothing(make_campaign, seconds, match):
    c = make_campaign(n_seeds=6)
    with pytest.raises(ValueError, match=match):
        c.label([10, 11], 0, seconds=seconds)
    assert c.status().n_labeled == 6


def test_a_bad_budget_is_refused(make_campaign):
    c = make_campaign(n_seeds=6)
    with pytest.raises(ValueError, match="budget must be a positive number of labels; got 0"):
        c.annotation_cost(budget=0)
