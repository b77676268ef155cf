"""Files for people and RELION: batch sheets, label-sheet import, predictions."""

import re

import numpy as np
import pandas as pd
import pytest
import starfile

from skcryoal.campaign import Campaign

from ._helpers import labels_of


@pytest.fixture
def queued(make_campaign):
    c = make_campaign(n_seeds=6, strategy="random")
    return c, c.query(5)


def test_export_batch_writes_sheets_and_pages(queued, tmp_path):
    c, ids = queued
    files = c.export_batch(tmp_path / "batch", per_page=2)
    np.testing.assert_array_equal(files["particle_ids"], ids)
    assert [p.name for p in files["pages"]] == [f"batch-page-00{k}.png" for k in (1, 2, 3)]
    assert len(re.findall(rb"/Type\s*/Page[^s]", files["pdf"].read_bytes())) == 3
    sheet = pd.read_csv(files["csv"], keep_default_na=False)
    assert sheet.columns.tolist() == [
        "particle_id", "round", "rank", "skcryoal_file", "skcryoal_index", "label",
        "skcryoal_sheet",
    ]  # fmt: skip
    assert sheet["skcryoal_sheet"].str.startswith(f"{c.campaign_id}:").all()
    assert sheet["particle_id"].tolist() == ids.tolist() and set(sheet["label"]) == {""}
    star = starfile.read(files["star"])
    assert star["particle_id"].tolist() == ids.tolist()
    files = c.export_batch(tmp_path / "batch", per_page=24)  # fewer pages: stale ones go
    assert sorted(p.name for p in (tmp_path / "batch").glob("*.png")) == ["batch-page-001.png"]


def test_export_never_replaces_a_filled_sheet_silently(queued, tmp_path):
    c, ids = queued
    files = c.export_batch(tmp_path / "batch")
    sheet = pd.read_csv(files["csv"], keep_default_na=False)
    sheet.loc[1, "label"] = str(c.classes[0])  # a person's work, not imported yet
    sheet.to_csv(files["csv"], index=False)
    before = files["csv"].read_bytes()
    with pytest.raises(ValueError, match=r"batch.csv has labels filled in .* \(rows \[2\]\)"):
        c.export_batch(tmp_path / "batch")
    assert files["csv"].read_bytes() == before
    c.import_labels(files["csv"])  # once imported, the sheet may be replaced
    c.export_batch(tmp_path / "batch")
    sheet.to_csv(files["csv"], index=False)
    c.skip(ids[2:])
    c.query(2)
    c.export_batch(tmp_path / "batch", overwrite=True)


def test_export_reads_every_volume_before_writing_a_sheet(queued, tmp_path, monkeypatch):
    c, _ = queued

    class Broken:
        shape = c._volumes.shape

        def __getitem__(self, key):
            raise OSError("disk gone")

    monkeypatch.setattr(type(c), "_volumes", property(lambda self: Broken()))
    with pytest.raises(OSError, match="disk gone"):
        c.export_batch(tmp_path / "batch")
    assert not (tmp_path / "batch" / "batch.csv").exists()
    assert not (tmp_path / "batch" / "batch.star").exists()


def test_export_needs_a_queue(make_campaign, tmp_path):
    with pytest.raises(ValueError, match="nothing is queued"):
        make_campaign().export_batch(tmp_path / "b")


@pytest.mark.parametrize("fmt", ["csv", "star"])
def test_import_a_filled_sheet(queued, tmp_path, fmt):
    c, ids = queued
    files = c.export_batch(tmp_path / "batch")
    sheet = pd.read_csv(files["csv"], keep_default_na=False)
    sheet["label"] = ["2", "0", "", "1", ""]  # two left for later
    path = tmp_path / f"filled.{fmt}"
    sheet.to_csv(path, index=False) if fmt == "csv" else starfile.write(sheet, path)
    summary = c.import_labels(path, annotator="carol")
    assert summary["n_labeled"] == 3 and summary["n_empty"] == 2
    got = labels_of(c)
    assert [got[int(i)] for i in ids[[0, 1, 3]]] == [2, 0, 1]
    np.testing.assert_array_equal(c.queued(), ids[[2, 4]])
    assert set(c.labels().set_index("particle_id").loc[ids[[0, 1, 3]], "annotator"]) == {"carol"}
    again = c.import_labels(path, annotator="carol")  # nothing new to record
    assert again == {"action_id": None, "n_labeled": 0, "n_unchanged": 3, "n_empty": 2}
    undone = c.undo(annotator="carol")
    assert undone["kind"] == "import" and sorted(undone["particle_ids"]) == sorted(ids[[0, 1, 3]])


def test_a_bad_sheet_imports_nothing_and_lists_every_problem(queued, tmp_path):
    c, ids = queued
    files = c.export_batch(tmp_path / "batch")
    sheet = pd.read_csv(files["csv"], keep_default_na=False)
    sheet["label"] = ["2", "ribosome", "1", "0", "1"]
    sheet.loc[3, "skcryoal_index"] = 999  # out of step with its particle id
    sheet = pd.concat([sheet, sheet.iloc[[0]]], ignore_index=True)  # a repeated particle
    sheet.loc[len(sheet)] = [77, 1, 0, "pool.npy", 78, "1", ""]  # not in the campaign
    path = tmp_path / "bad.csv"
    sheet.to_csv(path, index=False)
    before = c.history()
    with pytest.raises(ValueError) as info:
        c.import_labels(path)
    message = str(info.value)
    assert "4 problem(s), nothing was imported" in message and str(path) in message
    assert f"row 2 (particle {ids[1]}): unknown class 'ribosome'" in message
    assert f"row 4 (particle {ids[3]}): skcryoal_index is '999'" in message
    assert f"row 6: particle {ids[0]} is listed again (first in row 1)" in message
    assert "row 7: particle 77 is not in this campaign" in message
    assert c.history().equals(before)
    with pytest.raises(ValueError, match="needs the columns particle_id and label"):
        sheet.drop(columns="label").to_csv(path, index=False)
        c.import_labels(path)


def test_predict_writes_tables_and_one_star_per_class(queued, tmp_path):
    c, ids = queued
    files = c.predict(tmp_path / "pred")
    assert files["model_id"] == 1 and len(c._store.models()) == 1  # fitted first
    table = pd.read_csv(files["csv"], keep_default_na=False)
    assert table.columns.tolist() == [
        "particle_id", "skcryoal_file", "skcryoal_index", "label", "predicted_class",
        "probability", "mean_deviation", "final_class", "final_source", "model_id",
    ]  # fmt: skip
    assert len(table) == 30 and (table["probability"] >= 1 / 3 - 1e-9).all()
    assert (table["mean_deviation"] >= 0).all()
    seeds = labels_of(c)
    human = table[table["final_source"] == "label"]
    assert human["particle_id"].tolist() == sorted(seeds)
    assert [seeds[p] for p in human["particle_id"]] == human["final_class"].tolist()
    star = starfile.read(files["star"])
    np.testing.assert_allclose(star["probability"], table["probability"], rtol=1e-12)
    members = sum(len(starfile.read(p)) for p in files["classes"].values())
    assert members == 30
    model = c.model
    proba = model.predict_proba(c._volumes[:5])
    np.testing.assert_allclose(table["probability"][:5], proba.max(axis=1), rtol=1e-5)


def test_predict_needs_a_model(make_campaign, tmp_path):
    with pytest.raises(ValueError, match="no model is fitted yet"):
        make_campaign(n_seeds=1).predict(tmp_path / "p")


def test_a_provenance_column_named_like_ours_is_kept_apart(tmp_path, pool):
    from skcryoal.io import write_subtomograms

    X, _ = pool
    write_subtomograms(tmp_path, X[:6])
    table = tmp_path / "t.csv"
    names = [f"subtomo_{i:06d}.mrc" for i in range(6)]
    pd.DataFrame({"rlnImageName": names, "label": list("abcdef")}).to_csv(table, index=False)
    c = Campaign.create(tmp_path / "c", table, [0, 1])
    frame = c.particles()
    assert frame["label_table"].tolist() == list("abcdef") and frame["label"].isna().all()
    c.query(2)
    sheet = pd.read_csv(c.export_batch(tmp_path / "b")["csv"], keep_default_na=False)
    assert "label_table" in sheet and set(sheet["label"]) == {""}
