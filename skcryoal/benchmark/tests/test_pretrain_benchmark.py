"""run_campaign(pretrain=...): one encoder learned from the pool, shared by every campaign."""

import numpy as np
import pytest

from skcryoal.benchmark import ClassifierFactory, run_campaign
from skcryoal.campaign import Campaign
from skcryoal.pretraining import SubtomogramEmbedder

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def data(easy_data):
    X, y = easy_data(n_samples=56, n_classes=3, size=16)
    return X[:40], y[:40], X[40:], y[40:]


def embedder(**kwargs):
    params = dict(width=4, max_epochs=2, batch_size=8, random_state=0, progress=False)
    return SubtomogramEmbedder(**{**params, **kwargs})


def run(data, tmp_path, pretrain, **kwargs):
    params = dict(
        strategies=["random", "typiclust"],
        classifier_factory=ClassifierFactory(width=4, max_epochs=1, batch_size=8, min_steps=3),
        initial=6,
        step=6,
        final=12,
        results_file=tmp_path / "results.csv",
        campaigns_dir=tmp_path / "campaigns",
        pretrain=pretrain,
    )
    return run_campaign(*data, **{**params, **kwargs})


def test_the_pool_is_pretrained_once_and_every_campaign_starts_from_it(data, tmp_path):
    results = run(data, tmp_path, embedder(), ceiling=True)
    assert len(results) == 2 * 2 + 1
    (checkpoint,) = tmp_path.glob("pretrain-*.pt")  # beside the results file
    keys = set()
    for name in ("random-trial0", "typiclust-trial0"):
        c = Campaign.open(tmp_path / "campaigns" / name, pool=data[0])
        record = c.status().pretrained
        assert record["trained_here"] is False and record["n_trained_on"] == 40
        keys.add(record["key"])
        models = c._store.models()
        assert len(models) == 2 and all(m["metrics"]["pretrained"] == record["key"] for m in models)
        assert c.model.encoder_lr == 1e-4 and c.model.min_steps == 3
    assert len(keys) == 1  # the same encoder for every strategy
    # a second run (everything done) reads the finished checkpoint: no epoch is trained again
    stamp = checkpoint.stat().st_mtime_ns
    again = run(data, tmp_path, embedder(), ceiling=True)
    assert checkpoint.stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(again["accuracy"], results["accuracy"])


def test_a_fitted_embedder_is_used_as_it_is(data, tmp_path):
    fitted = embedder().fit(data[0])
    run(data, tmp_path, fitted, strategies=["probcover"])
    assert not list(tmp_path.glob("pretrain-*.pt"))
    c = Campaign.open(tmp_path / "campaigns" / "probcover-trial0", pool=data[0])
    np.testing.assert_array_equal(c.embedder.transform(data[0][:3]), fitted.transform(data[0][:3]))


def test_pretrain_must_be_an_embedder(data, tmp_path):
    with pytest.raises(TypeError, match="pretrain must be a SubtomogramEmbedder.*got str"):
        run(data, tmp_path, "simclr")


def test_training_estimate_counts_min_steps_and_pretraining():
    from skcryoal.benchmark import estimate_training_seconds

    rate = 250.0  # measured volumes per second of width 16 at 32^3 (CPU_THROUGHPUT)
    plain = estimate_training_seconds(1000, [20, 50], 1, 1, 20, width=16)
    assert plain == pytest.approx((20 + 50) * 20 / rate)
    # at least 400 steps of 16: 6400 volumes per fit, more than 20 epochs of 20 or 50 labels
    longer = estimate_training_seconds(1000, [20, 50], 1, 1, 20, width=16, min_steps=400)
    assert longer == pytest.approx(2 * 6400 / rate)
    # 30 epochs of pretraining on the pool, two views each
    pre = estimate_training_seconds(1000, [20, 50], 1, 1, 20, width=16, pretrain_epochs=30)
    assert pre - plain == pytest.approx(2 * 1000 * 30 / rate)
    # the ceiling trains on the whole pool, min_steps or not
    ceiling = estimate_training_seconds(1000, [20], 1, 1, 20, width=16, min_steps=400, ceiling=True)
    assert ceiling == pytest.approx((6400 + 1000 * 20) / rate)
