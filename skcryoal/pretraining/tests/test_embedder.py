"""SubtomogramEmbedder: seeded, resumable, sklearn-shaped; classifiers start from it."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skcryoal import CryoNetClassifier
from skcryoal.pretraining import SubtomogramEmbedder

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def small(**kwargs):
    params = dict(width=4, max_epochs=2, batch_size=8, progress=False, random_state=0)
    params.update(kwargs)
    return SubtomogramEmbedder(**params)


@pytest.fixture
def volumes(easy_data):
    return easy_data(24, 3)


@pytest.mark.parametrize("method", ["simclr", "byol"])
def test_fit_transform_is_seeded(volumes, method):
    X, _ = volumes
    a = small(method=method).fit(X)
    b = small(method=method).fit(X)
    E = a.transform(X)
    assert E.shape == (24, 32) and E.dtype == np.float32 and np.isfinite(E).all()
    np.testing.assert_array_equal(E, b.transform(X))
    assert [h["epoch"] for h in a.history_] == [1, 2] and a.n_epochs_ == 2
    assert not np.array_equal(E, small(method=method, random_state=1).fit(X).transform(X))
    assert a.get_feature_names_out()[:2].tolist() == ["embedding0", "embedding1"]


def test_composes_with_pipelines_and_clone_and_pickle(volumes):
    X, y = volumes
    pipe = make_pipeline(small(views="half-turns"), PCA(5), LogisticRegression(max_iter=500))
    pipe.fit(X, y)
    assert pipe.predict(X).shape == (24,)
    copy = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(copy.predict_proba(X), pipe.predict_proba(X))
    fresh = clone(pipe)
    assert not hasattr(fresh.steps[0][1], "encoder_")


def test_resumes_after_a_kill_as_if_never_interrupted(volumes, tmp_path, monkeypatch):
    X, _ = volumes
    whole = small(max_epochs=3).fit(X)
    path = tmp_path / "pretrain.pt"
    calls = {"n": 0}
    original = SubtomogramEmbedder._save_checkpoint

    def save_then_die(self, *args):
        original(self, *args)
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # killed right after epoch 2 was written

    monkeypatch.setattr(SubtomogramEmbedder, "_save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        small(max_epochs=3, checkpoint=path).fit(X)
    monkeypatch.setattr(SubtomogramEmbedder, "_save_checkpoint", original)
    resumed = small(max_epochs=3, checkpoint=path).fit(X)
    assert [h["epoch"] for h in resumed.history_] == [1, 2, 3]
    np.testing.assert_array_equal(resumed.transform(X), whole.transform(X))
    # a finished checkpoint: fit returns at once with the same weights
    again = small(max_epochs=3, checkpoint=path).fit(X)
    np.testing.assert_array_equal(again.transform(X), whole.transform(X))


def test_checkpoint_of_other_parameters_is_refused(volumes, tmp_path):
    X, _ = volumes
    path = tmp_path / "pretrain.pt"
    small(checkpoint=path).fit(X)
    with pytest.raises(ValueError, match=r"other training parameters \(width: 4 there, 8 here"):
        small(checkpoint=path, width=8).fit(X)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a SubtomogramEmbedder checkpoint"):
        small(checkpoint=path).fit(X)


def test_bad_inputs(volumes):
    X, _ = volumes
    with pytest.raises(ValueError, match="at least batch_size=64 volumes; got 24"):
        small(batch_size=64).fit(X)
    with pytest.raises(ValueError, match="method"):
        small(method="mae").fit(X)
    with pytest.raises(Exception, match="not fitted"):
        small().transform(X)


def test_classifier_starts_from_the_encoder(volumes, tmp_path):
    X, y = volumes
    emb = small(checkpoint=tmp_path / "enc.pt").fit(X)
    clf = CryoNetClassifier(
        module__width=4, max_epochs=1, random_state=0, classes=[0, 1, 2], encoder=emb
    )
    clf.initialize()
    for name, value in emb.encoder_.state_dict().items():
        if not name.startswith("fc."):
            assert torch.equal(clf.module_.state_dict()[name], value), name
            assert torch.equal(clf.ema_module_.state_dict()[name], value), name
    # the same from the encoder module (survives clone), a state dict and the checkpoint file
    for source in (emb.encoder_, emb.encoder_.state_dict(), tmp_path / "enc.pt"):
        other = clone(CryoNetClassifier(module__width=4, classes=[0, 1, 2], encoder=source))
        other.initialize()
        w = other.module_.conv1.weight
        assert torch.equal(w, emb.encoder_.conv1.weight)
    clf.fit(X, y)
    assert clf.predict(X).shape == (24,)


def test_frozen_encoder_trains_the_last_layer_only(volumes):
    X, y = volumes
    emb = small().fit(X)
    clf = CryoNetClassifier(
        module__width=4, max_epochs=2, random_state=0, encoder=emb.encoder_, freeze_encoder=True
    ).fit(X, y)
    state = clf.module_.state_dict()
    for name, value in emb.encoder_.state_dict().items():
        if not name.startswith("fc."):
            assert torch.equal(state[name], value), name  # weights and batch-norm statistics


def test_encoder_errors(volumes):
    X, y = volumes
    with pytest.raises(ValueError, match="unfitted SubtomogramEmbedder"):
        CryoNetClassifier(module__width=4, encoder=small()).fit(X, y)
    emb = small().fit(X)
    with pytest.raises(ValueError, match="module__width=8"):
        CryoNetClassifier(module__width=8, encoder=emb).fit(X, y)
    with pytest.raises(ValueError, match="freeze_encoder=True needs a pretrained encoder"):
        CryoNetClassifier(module__width=4, freeze_encoder=True).fit(X, y)
    with pytest.raises(FileNotFoundError, match="no file"):
        CryoNetClassifier(module__width=4, encoder="/nonexistent/enc.pt").fit(X, y)


def test_encoder_lr_splits_the_optimizer(volumes):
    X, y = volumes
    emb = small().fit(X)
    clf = CryoNetClassifier(
        module__width=4, classes=[0, 1, 2], encoder=emb.encoder_, encoder_lr=1e-4, lr=3e-3
    ).initialize()
    groups = clf.optimizer_.param_groups
    assert [g["lr"] for g in groups] == [1e-4, 3e-3]
    fc = {id(p) for p in clf.module_.fc.parameters()}
    assert {id(p) for p in groups[1]["params"]} == fc
    n = sum(1 for p in clf.module_.parameters())
    assert sum(len(g["params"]) for g in groups) == n
    clf.fit(X, y)  # the cosine schedule scales both groups
    assert clf.optimizer_.param_groups[0]["lr"] < 1e-4
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    assert isinstance(copy.encoder, torch.nn.Module)


KILLED = """
    import sys, time
    import numpy as np
    from skcryoal.pretraining import SubtomogramEmbedder

    checkpoint, log_path = sys.argv[1], sys.argv[2]
    X = np.load(checkpoint + ".X.npy")
    original = SubtomogramEmbedder._save_checkpoint

    def save_and_say(self, path, objective, optimizer, scheduler, epoch, *rest):
        original(self, path, objective, optimizer, scheduler, epoch, *rest)
        with open(log_path, "a") as log:
            log.write(f"saved {epoch}\\n")
        if epoch == 2:
            time.sleep(600)  # killed here, between epochs 2 and 3

    SubtomogramEmbedder._save_checkpoint = save_and_say
    SubtomogramEmbedder(width=4, max_epochs=4, batch_size=8, progress=False, random_state=0,
                        checkpoint=checkpoint).fit(X)
"""


def test_resumes_after_a_sigkill(volumes, tmp_path):
    import signal

    from skcryoal.campaign.tests._helpers import spawn, wait_for_line

    X, _ = volumes
    path = tmp_path / "pretrain.pt"
    np.save(str(path) + ".X.npy", X)
    log = tmp_path / "log.txt"
    worker = spawn(tmp_path, "worker", KILLED, path, log)
    wait_for_line(log, "saved 2", worker)
    worker.send_signal(signal.SIGKILL)
    assert worker.wait(timeout=30) == -signal.SIGKILL
    resumed = small(max_epochs=4, checkpoint=path).fit(X)
    assert [h["epoch"] for h in resumed.history_] == [1, 2, 3, 4]
    whole = small(max_epochs=4).fit(X)
    np.testing.assert_allclose(resumed.transform(X), whole.transform(X), rtol=1e-5, atol=1e-6)
