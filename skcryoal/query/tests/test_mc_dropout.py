import copy

import numpy as np
import pytest
import torch
from scipy.special import softmax
from torch import nn

from skcryoal import ActiveLearner, ResNet3D
from skcryoal.query._mc_dropout import MCDropoutQuery, mc_acquisition, mc_dropout_logits
from skcryoal.query._uncertainty import EntropyQuery

from ._fitted import N_TRAIN, fitted_classifier


@pytest.fixture(scope="module")
def fitted():
    clf, X, _ = fitted_classifier(dropout=0.5)
    return clf, X[N_TRAIN:]


class _Generic(nn.Module):
    """Hides ResNet3D so the query takes the generic path (T full forward passes)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.in_channels = inner.in_channels

    def forward(self, x):
        return self.inner(x)


class _Toy(nn.Module):
    """logits = (+w, -w) * dropout(mean voxel value): the passes disagree unless the mean is 0."""

    def __init__(self, w=10.0):
        super().__init__()
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(1, 2, bias=False)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[w], [-w]]))

    def forward(self, x):
        return self.fc(self.drop(x.mean(dim=(1, 2, 3, 4))[:, None]))


class _StubClassifier:
    def __init__(self, module):
        self.module_ = module
        self.batch_size = 2
        self.device = "cpu"


def _toy_pool():
    # mean voxel value 0 (ambiguous but certain), +1 and -1 (dropout flips the prediction)
    values = np.array([0.0, 1.0, 0.0, -1.0, 1.0])
    return np.broadcast_to(values[:, None, None, None, None], (5, 1, 2, 2, 2)).astype(np.float32)


def test_bald_is_high_where_passes_disagree_and_zero_where_they_agree():
    clf, pool = _StubClassifier(_Toy()), _toy_pool()
    bald = MCDropoutQuery(n_passes=400, random_state=0).score_samples(clf, pool)
    # the mask keeps the feature half the time: p_t = (1, 0) or (1/2, 1/2)
    expected = -(0.75 * np.log(0.75) + 0.25 * np.log(0.25)) - 0.5 * np.log(2)
    assert bald[[0, 2]] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(bald[[1, 3, 4]], expected, atol=0.03)
    assert set(MCDropoutQuery(n_passes=400, random_state=0)(clf, pool, 3)) == {1, 3, 4}
    # predictive entropy prefers the certain 50/50 volumes instead
    entropy = MCDropoutQuery(n_passes=400, acquisition="entropy", random_state=0)
    np.testing.assert_allclose(entropy.score_samples(clf, pool)[[0, 2]], np.log(2))
    assert set(entropy(clf, pool, 2)) == {0, 2}
    # votes: dropped -> tie -> class 0; kept -> class 1 for a negative mean only
    vr = MCDropoutQuery(n_passes=400, acquisition="variation_ratio", random_state=0)
    scores = vr.score_samples(clf, pool)
    assert scores[[0, 1, 2, 4]] == pytest.approx(0.0)
    assert scores[3] == pytest.approx(0.5, abs=0.07)


def test_acquisitions_on_hand_made_posteriors():
    proba = np.array(
        [
            [[1.0, 0.0], [0.5, 0.5], [0.9, 0.1]],
            [[0.0, 1.0], [0.5, 0.5], [0.9, 0.1]],
        ]
    )  # (n_passes=2, n_samples=3, n_classes=2)
    np.testing.assert_allclose(mc_acquisition(proba, "bald"), [np.log(2), 0.0, 0.0], atol=1e-12)
    h = -(0.9 * np.log(0.9) + 0.1 * np.log(0.1))
    np.testing.assert_allclose(mc_acquisition(proba, "entropy"), [np.log(2), np.log(2), h])
    np.testing.assert_allclose(mc_acquisition(proba, "variation_ratio"), [0.5, 0.0, 0.0])


@pytest.mark.parametrize("generic", [False, True])
def test_tiny_dropout_gives_eval_mode_posteriors(fitted, generic):
    # p ~ 0: every pass is the eval-mode model (batch norm with running statistics)
    clf, pool = fitted
    clf = copy.deepcopy(clf)
    clf.module_.drop.p = 1e-9
    expected = EntropyQuery().score_samples(clf, pool)
    if generic:
        clf.module_ = _Generic(clf.module_)
    mc = MCDropoutQuery(n_passes=3, acquisition="entropy", batch_size=5, random_state=0)
    np.testing.assert_allclose(mc.score_samples(clf, pool), expected, rtol=1e-4, atol=1e-6)
    bald = MCDropoutQuery(n_passes=3, random_state=0).score_samples(clf, pool)
    np.testing.assert_allclose(bald, 0.0, atol=1e-6)


class _Doubled(ResNet3D):
    """A subclass whose logits are not fc(drop(embed(x))): the shortcut must not be taken."""

    def forward(self, x):
        return 2.0 * super().forward(x)


def _count_forward_calls(module):
    calls = []
    module.register_forward_hook(lambda *args: calls.append(1))
    return calls


def test_shortcut_only_where_it_is_exact(fitted):
    clf, pool = fitted
    clf = copy.deepcopy(clf)
    clf.module_.drop.p = 1e-9
    calls = _count_forward_calls(clf.module_)
    MCDropoutQuery(n_passes=4, batch_size=10).score_samples(clf, pool)
    assert len(calls) == 1  # the check on the first batch; then embed + head only

    m = clf.module_
    doubled = _Doubled(m.n_classes, width=m.width, dropout=0.5)
    doubled.load_state_dict(m.state_dict())
    doubled.drop.p = 1e-9
    clf.module_ = doubled
    calls = _count_forward_calls(doubled)
    scores = MCDropoutQuery(n_passes=4, acquisition="entropy", batch_size=10).score_samples(
        clf, pool
    )
    assert len(calls) == 1 + 4 * 3  # the check, then 4 full passes for each of 3 batches
    np.testing.assert_allclose(scores, EntropyQuery().score_samples(clf, pool), rtol=1e-4)


def test_head_only_path_matches_full_passes_in_distribution(fitted):
    clf, pool = fitted
    module = copy.deepcopy(clf.module_).eval()
    module.drop.train()
    xb = torch.from_numpy(pool[:3])
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(0)
        fast = mc_dropout_logits(module, xb, 200, head_only=True)
        full = mc_dropout_logits(module, xb, 200, head_only=False)
    assert fast.shape == full.shape == (200, 3, 3)
    p_fast = softmax(fast.double().numpy(), axis=2)
    p_full = softmax(full.double().numpy(), axis=2)
    np.testing.assert_allclose(p_fast.mean(0), p_full.mean(0), atol=0.03)
    np.testing.assert_allclose(p_fast.std(0), p_full.std(0), atol=0.03)
    assert p_fast.std(0).max() > 1e-3  # the passes do differ


def test_reproducible_and_leaves_global_rng_and_modes_alone(fitted):
    clf, pool = fitted
    modes = [m.training for m in clf.module_.modules()]
    state = torch.get_rng_state()
    a = MCDropoutQuery(random_state=3).score_samples(clf, pool)
    b = MCDropoutQuery(random_state=3).score_samples(clf, pool)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, MCDropoutQuery(random_state=4).score_samples(clf, pool))
    assert torch.equal(state, torch.get_rng_state())
    assert [m.training for m in clf.module_.modules()] == modes


def test_through_a_learner(fitted):
    clf, pool = fitted
    learner = ActiveLearner(clf, query_strategy=MCDropoutQuery(n_passes=5, random_state=0))
    idx, X_q = learner.query(pool, n_instances=4)
    scores = MCDropoutQuery(n_passes=5, random_state=0).score_samples(clf, pool)
    np.testing.assert_array_equal(idx, np.argsort(-scores, kind="stable")[:4])
    np.testing.assert_array_equal(X_q, pool[idx])


def test_model_without_dropout_is_refused():
    clf, X, _ = fitted_classifier(dropout=0.0)
    with pytest.raises(ValueError, match=r"no dropout layer with p > 0 \(module__dropout=0.0\)"):
        MCDropoutQuery()(clf, X[N_TRAIN:], 2)
    with pytest.raises(ValueError, match=r"module__dropout=0.3"):
        MCDropoutQuery().score_samples(clf, X[N_TRAIN:])


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(n_passes=1), "n_passes must be an integer >= 2; got 1"),
        (dict(n_passes=2.5), "n_passes"),
        (dict(acquisition="max_entropy"), "acquisition must be one of"),
        (dict(batch_size=0), "batch_size"),
    ],
)
def test_bad_parameters(fitted, params, match):
    clf, pool = fitted
    with pytest.raises(ValueError, match=match):
        MCDropoutQuery(**params)(clf, pool, 1)


def test_needs_a_torch_module():
    with pytest.raises(TypeError, match="module_"):
        MCDropoutQuery()(object(), np.zeros((3, 1, 16, 16, 16), np.float32), 1)


def test_a_classifier_on_device_auto_is_scored_on_its_resolved_device():
    clf, X, _ = fitted_classifier(dropout=0.3)
    auto = copy.deepcopy(clf)
    auto.device, auto.device_ = "auto", "cpu"  # as fit(device="auto") leaves it on a CPU
    query = MCDropoutQuery(n_passes=3, random_state=0)
    np.testing.assert_array_equal(
        query.score_samples(auto, X[N_TRAIN:]), query.score_samples(clf, X[N_TRAIN:])
    )


def test_scores_do_not_depend_on_how_the_pool_is_split_into_calls():
    # masks are seeded per batch from the seed and the batch's first pool row
    clf, X, _ = fitted_classifier(dropout=0.3)
    pool = X[N_TRAIN:]
    query = MCDropoutQuery(n_passes=3, random_state=4, batch_size=8)
    whole = query.score_samples(clf, pool)
    frozen = query._frozen()
    parts = np.concatenate(
        [frozen._score_block(clf, pool[i : i + 8], i) for i in range(0, len(pool), 8)]
    )
    np.testing.assert_array_equal(parts, whole)
