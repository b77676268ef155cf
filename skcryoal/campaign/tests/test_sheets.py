"""Label sheets: the campaign they belong to, class names like missing values, stale rows."""

import re

import numpy as np
import pandas as pd
import pytest
import starfile

from skcryoal.campaign import Campaign

from ._helpers import labels_of, sql, tiny_clf


def fill(path, labels):
    """Write ``labels`` into the label column of an exported sheet (CSV or STAR)."""
    if path.suffix == ".csv":
        sheet = pd.read_csv(path, dtype=str, keep_default_na=False)
        sheet["label"] = labels
        sheet.to_csv(path, index=False)
        return
    blocks = starfile.read(path, always_dict=True)
    blocks["particles"]["label"] = labels
    starfile.write(blocks, path, overwrite=True)


@pytest.mark.parametrize("fmt", ["csv", "star"])
def test_a_sheet_of_another_campaign_is_refused(make_campaign, tmp_path, fmt):
    a = make_campaign(name="a", strategy="random")
    b = make_campaign(name="b", strategy="random")
    assert a.campaign_id != b.campaign_id
    np.testing.assert_array_equal(a.query(3), b.query(3))  # the same ids: nothing else differs
    sheet = b.export_batch(tmp_path / "b-batch")[fmt]
    fill(sheet, ["0", "1", "2"])
    before = a.history()
    pattern = rf"exported by another campaign \(id {b.campaign_id}; "
    with pytest.raises(ValueError, match=pattern) as info:
        a.import_labels(sheet)
    assert f"{a.path}, has id {a.campaign_id}" in str(info.value) and str(sheet) in str(info.value)
    assert "Nothing was imported" in str(info.value)
    assert a.history().equals(before)
    assert b.import_labels(sheet)["n_labeled"] == 3  # where it belongs


def test_a_sheet_without_a_campaign_id_is_imported_with_a_warning(make_campaign, tmp_path):
    c = make_campaign(strategy="random")
    ids = c.query(3)
    path = c.export_batch(tmp_path / "batch")["csv"]
    sheet = pd.read_csv(path, dtype=str, keep_default_na=False).drop(columns="skcryoal_sheet")
    sheet["label"] = ["0", "1", ""]
    sheet.to_csv(path, index=False)  # as sheets were before they were stamped
    with pytest.warns(UserWarning, match="has no skcryoal_sheet column.*cannot be checked"):
        assert c.import_labels(path, annotator="ana")["n_labeled"] == 2
    assert labels_of(c)[int(ids[1])] == 1


def test_an_altered_stamp_is_refused(make_campaign, tmp_path):
    c = make_campaign(strategy="random")
    c.query(2)
    path = c.export_batch(tmp_path / "batch")["csv"]
    sheet = pd.read_csv(path, dtype=str, keep_default_na=False)
    sheet.loc[1, "skcryoal_sheet"] = "edited"
    sheet["label"] = "0"
    sheet.to_csv(path, index=False)
    pattern = r"altered skcryoal_sheet column.*Nothing was imported.\n  - row 2: .* is 'edited'"
    with pytest.raises(ValueError, match=pattern):
        c.import_labels(path)


@pytest.mark.parametrize("name", ["None", "nan", "NaN", "<NA>", "?", ".", " nan"])
def test_class_names_that_read_as_missing_values_are_refused(tmp_path, pool, name):
    X, _ = pool
    with pytest.raises(ValueError, match=r"class names .* read as a missing value.*Nothing was"):
        Campaign.create(tmp_path / "c", X, ["ribosome", name.strip() or name, "junk"])
    assert not (tmp_path / "c").exists()


@pytest.fixture
def odd_classes(tmp_path, pool):
    """A campaign of an earlier release, whose classes 'None' and '?' look like missing values."""
    X, _ = pool
    c = Campaign.create(tmp_path / "c", X, ["a", "b", "c"], estimator=tiny_clf(), strategy="random")
    c.close()
    sql(c.path, "UPDATE classes SET name = 'None' WHERE name = 'b'")
    sql(c.path, "UPDATE classes SET name = '?' WHERE name = 'c'")
    return Campaign.open(c.path, annotator="ana")


@pytest.mark.parametrize("fmt", ["csv", "star"])
def test_a_class_named_like_a_missing_value_is_never_dropped(odd_classes, tmp_path, fmt):
    c = odd_classes
    assert c.classes == ["a", "None", "?"]
    ids = c.query(4)
    sheet = c.export_batch(tmp_path / "batch")[fmt]
    fill(sheet, ["None", "?", "", "a"])
    summary = c.import_labels(sheet)
    assert summary["n_labeled"] == 3 and summary["n_empty"] == 1
    assert labels_of(c) == {int(ids[0]): "None", int(ids[1]): "?", int(ids[3]): "a"}
    c.label(ids[2], "None")  # label() and import agree
    assert labels_of(c)[int(ids[2])] == "None"


def test_a_star_cell_read_as_nan_is_not_guessed(tmp_path, pool):
    X, _ = pool
    c = Campaign.create(tmp_path / "c", X, ["a", "b"], estimator=tiny_clf(), strategy="random")
    c.close()
    sql(c.path, "UPDATE classes SET name = 'nan' WHERE name = 'b'")
    c = Campaign.open(c.path)
    ids = c.query(2)
    files = c.export_batch(tmp_path / "batch")
    fill(files["star"], ["nan", "a"])  # the STAR reader cannot tell this 'nan' from no value
    with pytest.raises(ValueError, match=r"row 1 \(particle \d+\): the cell reads as a missing"):
        c.import_labels(files["star"])
    fill(files["csv"], ["nan", "a"])  # a CSV keeps it
    c.import_labels(files["csv"])
    assert labels_of(c) == {int(ids[0]): "nan", int(ids[1]): "a"}


@pytest.fixture
def imported(make_campaign, tmp_path):
    """A queued batch whose sheet ana filled in (two rows) and imported."""
    c = make_campaign(strategy="random")
    ids = c.query(5)
    path = c.export_batch(tmp_path / "batch")["csv"]
    fill(path, ["0", "1", "", "", ""])
    assert c.import_labels(path, annotator="ana")["n_labeled"] == 2
    return c, ids, path


def test_an_old_sheet_imported_again_does_not_revert_newer_labels(imported):
    c, ids, path = imported
    c.label(ids[0], 2, annotator="ana")  # a correction, after the sheet
    c.label(ids[1], 2, annotator="bob")  # another annotator: a disagreement, not a revert
    before = c.history()
    with pytest.raises(ValueError) as info:
        c.import_labels(path, annotator="ana")
    message = str(info.value)
    assert f"{path}: 1 row(s) would replace a label that ana gave after this sheet" in message
    assert f"row 1 (particle {ids[0]}): the sheet says 0, but ana labeled it 2 since" in message
    assert "nothing was imported" in message and "replace_newer=True" in message
    assert c.history().equals(before) and labels_of(c)[int(ids[0])] == 2
    # row 1 brought up to date; row 2 corrected in the sheet itself (imported from it): applied
    fill(path, ["2", "0", "1", "", ""])
    summary = c.import_labels(path, annotator="ana")
    assert (summary["n_labeled"], summary["n_unchanged"]) == (2, 1)
    assert [labels_of(c)[int(i)] for i in ids[:3]] == [2, 0, 1]
    assert c.disagreements()["particle_id"].unique().tolist() == [int(ids[1])]


def test_replace_newer_applies_the_sheet_and_says_what_it_replaced(imported):
    c, ids, path = imported
    c.label(ids[1], 2, annotator="ana")
    pattern = rf"replacing 1 label.*\n  - row 2 \(particle {ids[1]}\): the sheet says 1, but ana"
    with pytest.warns(UserWarning, match=pattern):
        c.import_labels(path, annotator="ana", replace_newer=True)
    assert labels_of(c)[int(ids[1])] == 1
    assert c.undo(annotator="ana")["kind"] == "import"
    assert labels_of(c)[int(ids[1])] == 2


def test_a_sheet_without_a_stamp_counts_every_own_label_as_newer(imported, tmp_path):
    c, ids, path = imported
    sheet = pd.read_csv(path, dtype=str, keep_default_na=False).drop(columns="skcryoal_sheet")
    sheet.loc[0, "label"] = "2"
    sheet.to_csv(path, index=False)
    with (
        pytest.warns(UserWarning, match="no skcryoal_sheet"),
        pytest.raises(
            ValueError, match=re.escape(f"row 1 (particle {ids[0]}): the sheet says 2, but ana")
        ),
    ):
        c.import_labels(path, annotator="ana")
