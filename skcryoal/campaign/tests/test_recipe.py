"""Campaign.create(recipe=...): the measured best by default, the paper's on request."""

import pytest

from skcryoal.campaign import Campaign, _pretrain

from ._helpers import sql, tiny_clf

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: a fit of the default (width-16) classifier that stays small in a test
QUICK = {"max_epochs": 1, "min_steps": 1, "batch_size": 8}


@pytest.fixture
def short_pretraining(monkeypatch):
    """The recipe's pretraining, one epoch long, and its fine-tuning 20 steps long."""
    monkeypatch.setattr(_pretrain, "AUTO_PRETRAIN_MAX_EPOCHS", 1)
    monkeypatch.setattr(_pretrain, "PRETRAINED_MIN_STEPS", 20)


def test_the_default_recipe_pretrains_at_the_first_fit(make_campaign, short_pretraining):
    c = make_campaign(estimator=None)
    assert c._store.meta()["recipe"] == "pretrained"
    assert c._template.module__width == 16  # the width the recipe was measured at
    assert "none yet: the first fit learns one from the unlabeled pool" in str(c.status())
    c.fit(params=QUICK)
    record = c.status().pretrained
    assert record is not None and record["trained_here"] and record["n_particles"] == 30
    assert record["n_epochs"] == 1
    assert c._store.models()[-1]["metrics"]["pretrained"] == record["key"]
    # once: a later fit (and a reopened campaign) reuse it
    c.fit(params=QUICK)
    Campaign.open(c.path).fit(params=QUICK)
    assert len(c._store.meta()["pretrain_history"]) == 1


def test_the_papers_recipe_does_not_pretrain(make_campaign):
    c = make_campaign(estimator=None, recipe="paper")
    assert c._store.meta()["recipe"] == "paper"
    assert c._template.module__width == 64
    c.fit(params=dict(QUICK, module__width=4))
    assert c.status().pretrained is None
    assert c._store.models()[-1]["metrics"]["pretrained"] is None


def test_a_given_estimator_is_used_as_it_is_unless_asked(make_campaign, short_pretraining):
    own = make_campaign(name="own")
    assert own._store.meta()["recipe"] is None
    own.fit()
    assert own.status().pretrained is None
    asked = make_campaign(name="asked", recipe="pretrained")
    asked.fit()
    assert asked.status().pretrained is not None
    assert asked._template.module__width == tiny_clf().module__width  # not changed


def test_a_campaign_from_before_recipes_keeps_its_behaviour(make_campaign, short_pretraining):
    c = make_campaign(estimator=None)
    # a folder written by the previous release has no recipe in its metadata
    sql(c.path, "DELETE FROM meta WHERE key = 'recipe'")
    old = Campaign.open(c.path)
    assert "recipe" not in old._store.meta()
    old.fit(params=dict(QUICK, module__width=4))
    assert old.status().pretrained is None
    assert "campaign.pretrain() learns an encoder" in str(old.status())


def test_a_warm_fit_keeps_its_length_after_pretraining(make_campaign, short_pretraining):
    c = make_campaign(recipe="pretrained", warm_start_epochs=1)
    first = c.fit()
    assert first.min_steps == 20  # cold, from the pretrained encoder: the recipe's steps
    warm = c.fit()
    assert warm.fit_epochs_ == 1 and warm.min_steps is None


def test_a_small_pool_pretrains_with_a_smaller_batch(tmp_path, short_pretraining):
    from conftest import make_easy_volumes

    X, y = make_easy_volumes(12, 3, 16, random_state=0)
    c = Campaign.create(
        tmp_path / "c", X, [0, 1, 2], y=[*y[:6], *[None] * 6], estimator=None, annotator="a"
    )
    c.fit(params=QUICK)
    assert c.embedder.batch_size == 12


def test_auto_epochs_follow_the_pool():
    assert _pretrain.auto_epochs(2000) == 30
    assert _pretrain.auto_epochs(20000) == 3
    assert _pretrain.auto_epochs(500) == 30
    assert _pretrain.auto_epochs(10**6) == 1


def test_an_unknown_recipe_says_which_exist(make_campaign):
    with pytest.raises(ValueError, match=r"recipe must be one of \('pretrained', 'paper'\)"):
        make_campaign(recipe="fast")
