"""The GPU path's options: precision, memory_format, device="auto", pinned loading.

Everything here runs on the CPU except the ``gpu``-marked tests at the end,
which are skipped without CUDA.
"""

import copy
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skcryoal import CryoNetClassifier, LearningLossClassifier
from skcryoal.classifier._device import resolve_device

pytestmark = pytest.mark.usefixtures("one_torch_thread")

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture
def data(easy_data):
    return easy_data(n_samples=48, n_classes=3)


@pytest.fixture
def fitted(tiny_clf, data):
    X, y = data
    return tiny_clf(max_epochs=2).fit(X, y)


def test_defaults_are_bitwise_explicit_float32(tiny_clf, data, fitted):
    X, y = data
    for params in (dict(precision=None, memory_format=None), dict(precision="32")):
        clf = tiny_clf(max_epochs=2, **params).fit(X, y)
        for model in ("task", "mean"):
            assert np.array_equal(
                clf.predict_proba(X, model=model), fitted.predict_proba(X, model=model)
            )


def test_bf16_inference_is_close_to_float32(fitted, data):
    X, _ = data
    p32 = fitted.predict_proba(X)
    fitted.set_params(precision="bf16")
    p16 = fitted.predict_proba(X)
    assert p16.dtype == np.float32
    # bfloat16 keeps 8 significant bits (relative rounding 2**-9 per operation);
    # over the network's layers that moves these probabilities by about 1e-3
    np.testing.assert_allclose(p16, p32, atol=0.02)


@pytest.mark.parametrize("cls", [CryoNetClassifier, LearningLossClassifier])
def test_bf16_training_on_cpu(cls, data, fitted):
    X, y = data
    clf = cls(module__width=4, max_epochs=2, batch_size=16, random_state=0, precision="bf16")
    clf.fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.dtype == np.float32
    assert clf.decision_function(X, model="mean").dtype == np.float32
    assert clf.embed(X[:4]).dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert all(p.dtype == torch.float32 for p in clf.module_.parameters())
    assert np.isfinite(clf.history[:, "train_loss"]).all()
    if cls is CryoNetClassifier:
        # not a rounding comparison: bfloat16 rounding changes every gradient step, so
        # the two trainings follow different paths (measured: up to 0.1 apart after
        # 2-3 epochs of this tiny model); they must still agree roughly
        np.testing.assert_allclose(proba, fitted.predict_proba(X), atol=0.3)
    else:
        assert clf.predict_loss(X[:4]).dtype == np.float32


def test_channels_last_matches_default(tiny_clf, data, fitted):
    X, y = data
    clf = tiny_clf(max_epochs=2, memory_format="channels_last_3d").fit(X, y)
    for module in (clf.module_, clf.ema_module_):
        assert module.conv1.weight.is_contiguous(memory_format=torch.channels_last_3d)
    # the same training in another summation order: float32 rounding, amplified a
    # little by two epochs of training (measured: 6e-4)
    for model in ("task", "mean"):
        np.testing.assert_allclose(
            clf.predict_proba(X, model=model), fitted.predict_proba(X, model=model), atol=5e-3
        )


def test_fp16_on_cpu_is_refused_with_the_fix(tiny_clf, data):
    X, y = data
    for device in ("cpu", "auto") if not torch.cuda.is_available() else ("cpu",):
        with pytest.raises(ValueError, match="precision='fp16' needs a CUDA device.*'bf16'"):
            tiny_clf(precision="fp16", device=device).fit(X, y)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(precision="16"), "'precision' parameter"),
        (dict(precision=16), "'precision' parameter"),
        (dict(precision="float16"), "'precision' parameter"),
        (dict(memory_format="channels_last"), "'memory_format' parameter"),
        (dict(memory_format=True), "'memory_format' parameter"),
        (dict(device=3), "'device' parameter"),
        (dict(device="gpu"), "device must be 'auto', 'cpu', 'cuda'.*got 'gpu'"),
    ],
)
def test_invalid_values_raise(tiny_clf, data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        tiny_clf(**params).fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only case")
def test_cuda_without_cuda_is_refused(tiny_clf, data):
    X, y = data
    with pytest.raises(ValueError, match="no CUDA device.*device='auto'"):
        tiny_clf(device="cuda").fit(X, y)


def test_device_auto_resolves_at_fit(tiny_clf, data):
    X, y = data
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto") == expected
    assert resolve_device("cpu") == "cpu"
    clf = tiny_clf(max_epochs=1, device="auto").fit(X, y)
    assert clf.device == "auto" and clf.device_ == expected
    assert next(clf.module_.parameters()).device.type == expected
    assert next(clf.ema_module_.parameters()).device.type == expected
    assert clone(clf).get_params()["device"] == "auto"
    assert clf.predict(X[:3]).shape == (3,)
    assert tiny_clf(max_epochs=1, device=torch.device("cpu")).fit(X, y).device_ == "cpu"


def test_pickled_model_keeps_working(tiny_clf, data):
    X, y = data
    # bf16 with channels_last_3d is not reproducible on the CPU (torch 2.13): one at a time
    clf = tiny_clf(max_epochs=1, device="auto", precision="bf16").fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    assert loaded.device == "auto" and loaded.device_ == clf.device_
    assert loaded.precision == "bf16" and loaded.memory_format is None
    channels_last = tiny_clf(max_epochs=1, memory_format="channels_last_3d").fit(X, y)
    assert pickle.loads(pickle.dumps(channels_last)).memory_format == "channels_last_3d"
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    loaded.partial_fit(X, y)  # the optimizer and both models came back
    assert len(loaded.history) == 2


def test_saved_params_load_with_device_auto(tiny_clf, data, tmp_path):
    X, y = data
    clf = tiny_clf(max_epochs=1, device="auto").fit(X, y)
    clf.save_params(f_params=tmp_path / "params.pt")
    new = tiny_clf(device="auto", classes=clf.classes_).initialize()
    new.load_params(f_params=tmp_path / "params.pt")
    assert new.device == "auto"
    np.testing.assert_array_equal(new.predict_proba(X), clf.predict_proba(X))


def test_model_pickled_before_the_options_loads(fitted, data):
    X, _ = data
    state = fitted.__getstate__()
    for name in ("precision", "memory_format", "device_"):
        state.pop(name)
    old = CryoNetClassifier.__new__(CryoNetClassifier)
    old.__setstate__(state)
    assert old.precision is None and old.memory_format is None and old.device_ == "cpu"
    np.testing.assert_array_equal(old.predict_proba(X), fitted.predict_proba(X))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only case")
@pytest.mark.parametrize("device", ["cuda", "auto"])
def test_model_saved_on_cuda_loads_on_the_cpu(fitted, data, device):
    # the state of a model fitted on a GPU, as unpickled where there is none
    X, _ = data
    state = dict(fitted.__getstate__(), device=device, device_="cuda")
    loaded = CryoNetClassifier.__new__(CryoNetClassifier)
    with pytest.warns(UserWarning, match="(?i)cuda"):
        loaded.__setstate__(state)
    assert loaded.device_ == "cpu"
    assert loaded.device == ("auto" if device == "auto" else torch.device("cpu"))
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))


def test_scaled_step_matches_the_plain_step(fitted, data):
    # the fp16 step's gradient scaler, exercised on the CPU: the gradients the
    # optimizer and the on_grad_computed callbacks see must be the true ones
    X, y = data
    batch = (torch.from_numpy(X[:16]), torch.as_tensor(y[:16]))
    plain, scaled = copy.deepcopy(fitted), copy.deepcopy(fitted)
    scaled._grad_scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
    seen = []
    scaled.on_grad_computed = lambda net, named_parameters, **kw: seen.append(
        next(iter(named_parameters))[1].grad.clone()
    )
    plain.train_step(batch)
    scaled.train_step(batch)
    grads = [p.grad for p in plain.module_.parameters()]
    for g, h in zip(grads, (p.grad for p in scaled.module_.parameters())):
        torch.testing.assert_close(h, g)
    torch.testing.assert_close(seen[0], grads[0])
    for p, q in zip(plain.module_.parameters(), scaled.module_.parameters()):
        torch.testing.assert_close(q, p)


def test_training_iterator_pins_memory_only_on_cuda(fitted, data):
    X, y = data
    loader = fitted.get_iterator(fitted.get_dataset(X, y), training=True)
    assert loader.pin_memory is False
    if torch.cuda.is_available():
        fitted.device_ = "cuda"
        loader = fitted.get_iterator(fitted.get_dataset(X, y), training=True)
        assert loader.pin_memory is True


# --------------------------------------------------------------------- GPU only
@pytest.mark.gpu
@needs_cuda
def test_cuda_and_cpu_probabilities_agree(tiny_clf, data, monkeypatch):
    X, y = data
    clf = tiny_clf(max_epochs=2, device="cuda").fit(X, y)
    assert clf.device_ == "cuda"
    on_gpu = clf.predict_proba(X)
    blob = pickle.dumps(clf)
    # unpickled as on a machine without CUDA: skorch maps the tensors to the CPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(Warning, match="CUDA"):
        on_cpu = pickle.loads(blob)
    monkeypatch.undo()
    assert on_cpu.device_ == "cpu"
    on_cpu_proba = on_cpu.predict_proba(X)
    # cuDNN may use TF32 for float32 convolutions: about 1e-3 relative
    np.testing.assert_allclose(on_cpu_proba, on_gpu, atol=1e-2)
    assert (on_cpu_proba.argmax(1) == on_gpu.argmax(1)).mean() >= 0.95


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
@pytest.mark.parametrize("memory_format", [None, "channels_last_3d"])
def test_amp_trains_on_cuda(tiny_clf, data, precision, memory_format):
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bfloat16")
    X, y = data
    clf = tiny_clf(
        max_epochs=2, device="cuda", precision=precision, memory_format=memory_format
    ).fit(X, y)
    assert (clf._grad_scaler is not None) == (precision == "fp16")
    proba = clf.predict_proba(X)
    assert proba.dtype == np.float32 and np.isfinite(proba).all()
    reference = tiny_clf(max_epochs=2, device="cuda").fit(X, y).predict_proba(X)
    np.testing.assert_allclose(proba, reference, atol=0.3)  # see test_bf16_training_on_cpu
