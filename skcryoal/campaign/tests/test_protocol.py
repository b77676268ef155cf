"""What reproducible simulations need: seeds per fit and per query, semi-supervised fits,
the labeled set for strategies that take it, and callbacks for one fit."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from skorch.callbacks import Callback

from skcryoal.campaign import Campaign, OracleAnnotator
from skcryoal.campaign._oracle import fit_step, query_step
from skcryoal.query import RandomQuery

from ._helpers import tiny_clf


class Recorder(ClassifierMixin, BaseEstimator):
    """A picklable classifier without random_state that records what its fit was given."""

    def __init__(self, classes=None):
        self.classes = classes

    def fit(self, X, y, X_unlabeled=None):
        self.classes_ = np.asarray(self.classes)
        self.n_labeled_ = len(X)
        self.unlabeled_ = None if X_unlabeled is None else X_unlabeled.indices.copy()
        self.unlabeled_first_ = None if X_unlabeled is None else np.asarray(X_unlabeled[:1])
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


class LabeledProbe:
    """A picklable strategy that saves the labeled set it is given, then takes the first rows."""

    requires_fit = True

    def __init__(self, log):
        self.log = log

    def __call__(self, learner, X_pool, n_instances=1, X_labeled=None):
        np.save(self.log, np.asarray(X_labeled))
        return np.arange(n_instances)


class EpochCounter(Callback):
    def initialize(self):
        self.epochs = 0
        return self

    def on_epoch_end(self, net, **kwargs):
        self.epochs += 1


def probabilities(model, X):
    return model.predict_proba(X[:6])


def test_fit_random_state_seeds_a_fresh_clone_and_is_recorded(make_campaign, pool):
    X, _ = pool
    c = make_campaign(n_seeds=6)
    first, again, default = c.fit(random_state=5), c.fit(random_state=5), c.fit()
    assert (first.random_state, again.random_state, default.random_state) == (5, 5, 0)
    assert c._template.random_state == 0  # the stored template is left alone
    np.testing.assert_allclose(probabilities(first, X), probabilities(again, X), rtol=1e-6)
    assert not np.allclose(probabilities(first, X), probabilities(default, X))
    metrics = [m["metrics"] for m in c._store.models()]
    assert [m["random_state"] for m in metrics] == [5, 5, 0]
    assert [m["semi_supervised"] for m in metrics] == [False] * 3


def test_fit_random_state_reaches_pipeline_steps_and_needs_one(make_campaign):
    from sklearn.pipeline import make_pipeline

    from skcryoal.preprocessing import SubtomogramStandardizer

    c = make_campaign(estimator=make_pipeline(SubtomogramStandardizer(), tiny_clf()))
    assert c.fit(random_state=3)[-1].random_state == 3
    d = make_campaign(name="recorder", estimator=Recorder())
    with pytest.raises(ValueError, match="no random_state parameter to set"):
        d.fit(random_state=3)
    assert d._store.models() == []
    d.fit()
    assert d._store.models()[0]["metrics"]["random_state"] is None


def test_semi_supervised_fit_gets_every_unlabeled_particle_as_a_lazy_view(make_campaign, pool):
    from skcryoal.utils._batches import RowSubset

    X, _ = pool
    c = make_campaign(n_seeds=6, estimator=Recorder(), strategy="random")
    c.query(3, random_state=0)  # queued particles are unlabeled too
    c.skip(29)  # and so are skipped ones
    model = c.fit(semi_supervised=True)
    np.testing.assert_array_equal(model.unlabeled_, np.arange(6, 30))
    np.testing.assert_array_equal(model.unlabeled_first_, X[6:7])
    assert model.n_labeled_ == 6 and c._store.models()[-1]["metrics"]["semi_supervised"]
    assert c.fit().unlabeled_ is None
    seen = {}
    real_fit = Recorder.fit

    def spy(self, X, y, X_unlabeled=None):
        seen["view"] = X_unlabeled
        return real_fit(self, X, y, X_unlabeled)

    Recorder.fit = spy
    try:
        c.fit(semi_supervised=True)
    finally:
        Recorder.fit = real_fit
    assert isinstance(seen["view"], RowSubset) and seen["view"].X is c._volumes  # no copy
    # a real network trains with it
    d = make_campaign(name="cryonet", n_seeds=6)
    d.fit(semi_supervised=True, random_state=1)
    assert d._store.models()[0]["metrics"]["semi_supervised"]


def test_semi_supervised_needs_an_estimator_taking_unlabeled_volumes(make_campaign):
    from sklearn.pipeline import make_pipeline

    from skcryoal.preprocessing import SubtomogramStandardizer

    c = make_campaign(estimator=make_pipeline(SubtomogramStandardizer(), tiny_clf()))
    with pytest.raises(ValueError, match="fit takes X_unlabeled"):
        c.fit(semi_supervised=True)


def test_query_random_state_seeds_the_round_and_is_recorded(make_campaign):
    c = make_campaign(n_seeds=6, strategy="random")
    ids = c.query(4, random_state=11)
    expected = RandomQuery(random_state=11)(None, np.zeros((24, 1, 2, 2, 2)), 4)
    np.testing.assert_array_equal(ids, np.arange(6, 30)[expected])
    assert c._store.rounds()[0]["seed"] == 11 and c.rounds()["seed"].tolist() == [11]
    other = make_campaign(name="other", n_seeds=6, strategy="random", random_state=99)
    np.testing.assert_array_equal(other.query(4, random_state=11), ids)  # the seed decides
    cold = make_campaign(name="cold", n_seeds=1)
    first = cold.query(3, random_state=4)
    assert cold._store.rounds()[0]["cold_start"] and cold._store.rounds()[0]["seed"] == 4
    expected = RandomQuery(random_state=4)(None, np.zeros((29, 1, 2, 2, 2)), 3)
    np.testing.assert_array_equal(first, np.arange(1, 30)[expected])


def test_a_stored_strategy_instance_gets_the_query_seed(make_campaign):
    c = make_campaign(n_seeds=0, strategy=RandomQuery())
    c.query(2, random_state=7)
    c.query(2)
    used = [r["strategy"]["used"] for r in c._store.rounds()]
    assert used == ["RandomQuery(random_state=7)", "RandomQuery(random_state=None)"]


def test_strategies_taking_x_labeled_get_the_labeled_volumes(make_campaign, pool, tmp_path):
    X, y = pool
    log = tmp_path / "seen.npy"
    c = make_campaign(n_seeds=0, strategy=LabeledProbe(str(log)))
    c.label([9, 2, 5], [int(y[9]), int(y[2]), int(y[5])])
    c.query(2)  # fits first: a strategy with requires_fit gets a model
    np.testing.assert_array_equal(np.load(log), X[[2, 5, 9]])


def test_callbacks_serve_one_fit_and_are_not_checkpointed(make_campaign):
    c = make_campaign(n_seeds=6)
    counter = EpochCounter()
    model = c.fit(callbacks=[("count", counter)])
    assert counter.epochs == 2
    assert "count" not in dict(model.callbacks_) and model.callbacks in (None, [])
    assert "count" not in dict(Campaign.open(c.path).model.callbacks_)
    with pytest.raises(TypeError, match=r"\(name, skorch callback\) pairs"):
        c.fit(callbacks=[counter])
    d = make_campaign(name="recorder", estimator=Recorder())
    with pytest.raises(ValueError, match="callbacks need a skorch estimator"):
        d.fit(callbacks=[("count", counter)])


def test_fit_step_and_query_step_make_one_cycle(make_campaign, pool):
    X, y = pool
    c = make_campaign(n_seeds=6)
    step = fit_step(c, X_test=X[:10], y_test=y[:10], random_state=4)
    assert step["model_id"] == 1 and step["n_labeled"] == 6 and step["model"].random_state == 4
    assert 0 <= step["accuracy"] <= 1 and 0 <= step["macro_f1"] <= 1
    assert step["fit_seconds"] >= step["train_seconds"] > 0
    ids, seconds = query_step(c, OracleAnnotator(y), 3, random_state=2)
    assert len(ids) == 3 and seconds > 0 and len(c.queued()) == 0
    (round_,) = c._store.rounds()
    assert round_["seed"] == 2 and round_["model_id"] == 1  # the model just fitted, no refit
    assert len(c._store.models()) == 1 and len(c.labels()) == 9
    assert np.isnan(fit_step(c)["accuracy"])  # no test set
    kept = fit_step(c, refit=False)
    assert kept["model_id"] == 2 and len(c._store.models()) == 2  # up to date: no new fit


def test_keep_checkpoints_deletes_older_model_files(make_campaign, pool):
    X, _ = pool
    c = make_campaign(n_seeds=6, keep_checkpoints=1)
    c.fit()
    c.label(10, 0)
    c.fit()
    last = c.fit(random_state=1)
    records = c._store.models()
    assert [(c.path / r["file"]).exists() for r in records] == [False, False, True]
    assert len(c.status().models) == 3  # the records and their metrics stay
    reopened = Campaign.open(c.path)
    assert reopened._latest_model()[1]["model_id"] == 3
    np.testing.assert_allclose(
        reopened.model.predict_proba(X[:3]), last.predict_proba(X[:3]), rtol=1e-5
    )
    assert sorted(p.name for p in (c.path / "models").iterdir()) == [records[-1]["file"][7:]]
    with pytest.raises(ValueError, match="keep_checkpoints must be None"):
        make_campaign(name="bad", keep_checkpoints=0)
