"""campaign.pretrain(): stored, resumable after a kill, reused by fits and cold starts."""

import numpy as np
import pytest
import torch

from skcryoal.campaign import Campaign
from skcryoal.pretraining import SubtomogramEmbedder

from ._helpers import tiny_clf

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def small_embedder(**kwargs):
    params = dict(width=4, max_epochs=2, batch_size=8, random_state=0, progress=False)
    params.update(kwargs)
    return SubtomogramEmbedder(**params)


def test_pretrain_is_recorded_and_used_by_fits(make_campaign):
    c = make_campaign(n_seeds=6)
    assert c.embedder is None and c.status().pretrained is None
    emb = c.pretrain(small_embedder(), progress=False)
    record = c.status().pretrained
    assert record["method"] == "simclr" and record["n_epochs"] == 2
    assert record["n_particles"] == 30 and (c.path / record["file"]).is_file()
    assert "simclr, 2 epochs on 30 particles" in str(c.status())
    assert "no model fitted yet" in str(c.status())
    model = c.fit()
    assert c._store.models()[-1]["metrics"]["pretrained"] == record["key"]
    assert "the latest model starts from it" in str(c.status())
    assert model.encoder.endswith(record["encoder_file"].split("/")[-1])
    # fine-tuned gently, for enough steps, unless the estimator says otherwise
    assert model.encoder_lr == 1e-4 and model.min_steps == 400
    own = make_campaign(n_seeds=6, name="own", estimator=tiny_clf(encoder_lr=1e-3, min_steps=5))
    own.pretrain(small_embedder(), progress=False)
    assert own.fit().encoder_lr == 1e-3 and own.fit().min_steps == 5
    # reopened: the embedder comes back from its checksummed file, same embedding
    d = Campaign.open(c.path)
    np.testing.assert_array_equal(
        d.embedder.transform(d._volumes[:4]), emb.transform(c._volumes[:4])
    )
    assert d.status().pretrained["key"] == record["key"]
    assert "pretrain_history" in d._store.meta()


def test_the_classifier_starts_from_the_stored_encoder(make_campaign):
    c = make_campaign(n_seeds=6)
    emb = c.pretrain(small_embedder(), progress=False)
    captured = {}
    original = type(c._template).initialize_module

    def spy(self):
        out = original(self)
        captured["conv1"] = self.module_.conv1.weight.detach().clone()
        return out

    type(c._template).initialize_module = spy
    try:
        c.fit()
    finally:
        type(c._template).initialize_module = original
    assert torch.equal(captured["conv1"], emb.encoder_.conv1.weight)


def test_a_killed_pretraining_resumes(make_campaign, monkeypatch):
    c = make_campaign(n_seeds=6)
    whole = make_campaign(n_seeds=6, name="other").pretrain(
        small_embedder(max_epochs=3), progress=False
    )
    original = SubtomogramEmbedder._save_checkpoint
    calls = {"n": 0}

    def die_after_epoch_2(self, *args):
        original(self, *args)
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(SubtomogramEmbedder, "_save_checkpoint", die_after_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        c.pretrain(small_embedder(max_epochs=3), progress=False)
    assert c.status().pretrained is None  # nothing recorded before it finished
    monkeypatch.setattr(SubtomogramEmbedder, "_save_checkpoint", original)
    emb = c.pretrain(small_embedder(max_epochs=3), progress=False)
    assert [h["epoch"] for h in emb.history_] == [1, 2, 3]
    np.testing.assert_array_equal(emb.transform(c._volumes[:5]), whole.transform(c._volumes[:5]))


@pytest.mark.parametrize("strategy", ["typiclust", "probcover"])
def test_embedding_strategies_pick_the_first_labels(tmp_path, pool, strategy):
    X, y = pool
    c = Campaign.create(
        tmp_path / "c", X, [0, 1, 2], strategy=strategy, estimator=tiny_clf(), annotator="ana"
    )
    cold = c.query(4)  # no labels, no pretraining: a random cold start
    assert c.rounds()["cold_start"].tolist() == [True]
    c.pretrain(small_embedder(), progress=False)
    ids = c.query(4)
    assert len(set(ids.tolist()) | set(cold.tolist())) == 8
    assert c.rounds()["cold_start"].tolist() == [True, False]


def test_a_bad_embedder_argument(make_campaign):
    c = make_campaign()
    with pytest.raises(TypeError, match="must be a SubtomogramEmbedder"):
        c.pretrain("simclr")


def test_a_changed_stored_embedder_is_refused(make_campaign):
    c = make_campaign()
    c.pretrain(small_embedder(), progress=False)
    path = c.path / c.status().pretrained["file"]
    path.write_bytes(path.read_bytes()[:-10])
    d = Campaign.open(c.path)
    with pytest.raises(RuntimeError, match=r"checksum that does not match.*pretrain\(\)"):
        d.embedder


def test_a_fitted_embedder_is_recorded_without_training(make_campaign):
    c = make_campaign(n_seeds=6)
    # pretrained on more particles than the pool: recorded as it is
    extra = np.concatenate([c._volumes[:], c._volumes[:]])
    fitted = small_embedder().fit(extra)
    before = {k: v.clone() for k, v in fitted.encoder_.state_dict().items()}
    emb = c.pretrain(fitted, progress=False)
    for k, v in emb.encoder_.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)  # not trained again
    record = c.status().pretrained
    assert record["trained_here"] is False and record["n_trained_on"] == 60
    assert record["key"].startswith("fitted-")
    assert not list((c.path / "pretrain").glob("training-*"))
    assert "60 particles, fitted elsewhere" in str(c.status())
    c.fit()
    assert c._store.models()[-1]["metrics"]["pretrained"] == record["key"]
    np.testing.assert_array_equal(
        Campaign.open(c.path).embedder.transform(c._volumes[:3]), fitted.transform(c._volumes[:3])
    )
    # a second fitted embedder gets its own key and files
    other = small_embedder(random_state=1).fit(extra)
    c.pretrain(other, progress=False)
    assert c.status().pretrained["key"] != record["key"]
    assert len(c._store.meta()["pretrain_history"]) == 2


def test_a_fitted_embedder_of_another_shape_is_refused(make_campaign):
    c = make_campaign(n_seeds=6)
    rng = np.random.default_rng(0)
    other = small_embedder().fit(rng.normal(size=(16, 1, 20, 20, 20)).astype(np.float32))
    with pytest.raises(ValueError, match=r"shape \(20, 20, 20\).*Pass an unfitted embedder"):
        c.pretrain(other, progress=False)
    assert c.status().pretrained is None
