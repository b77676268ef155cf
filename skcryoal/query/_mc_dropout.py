"""Monte-Carlo dropout acquisitions (BALD, predictive entropy, variation ratio)."""

import copy
import numbers
import threading

import numpy as np
import torch
from scipy.special import softmax
from torch import nn

from ..utils._batches import iter_batches
from ..utils._random import draw_seed, torch_seed_context
from ..utils._validation import assert_all_finite_chunked, assert_finite_outputs
from ._base import BaseQueryStrategy
from ._uncertainty import posterior_entropy

_ACQUISITIONS = ("bald", "entropy", "variation_ratio")


def active_dropout_layers(module):
    """Return the dropout layers of ``module`` that drop something (``p > 0``).

    Parameters
    ----------
    module : torch.nn.Module

    Returns
    -------
    layers : list of torch.nn.Module
    """
    return [m for m in module.modules() if isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0]


def _output_logits(output):
    # modules may return (logits, extras...), e.g. with a loss-prediction head
    return output[0] if isinstance(output, (tuple, list)) else output


def _dropout_only_in_head(module, layers):
    # ResNet3D-like modules compute fc(drop(embed(x))): when ``drop`` holds every
    # active dropout layer, the embedding is deterministic and computed once
    parts = [getattr(module, name, None) for name in ("drop", "fc")]
    if not callable(getattr(module, "embed", None)) or not all(
        isinstance(p, nn.Module) for p in parts
    ):
        return False
    head = {id(m) for m in module.drop.modules()}
    return all(id(m) in head for m in layers)


def _head_reproduces_forward(module, xb):
    # a subclass may change forward(); check on one batch, dropout off, that
    # fc(drop(embed(x))) still gives its logits before taking the shortcut
    module.drop.eval()
    try:
        full = _output_logits(module(xb))
        head = module.fc(module.drop(module.embed(xb)))
    finally:
        module.drop.train()
    return full.shape == head.shape and torch.allclose(full, head, rtol=1e-4, atol=1e-5)


def mc_dropout_logits(module, xb, n_passes, head_only):
    """Return ``n_passes`` stochastic logits of a batch, dropout active.

    Parameters
    ----------
    module : torch.nn.Module
        Its dropout layers must already be in train mode and the rest in eval mode.
    xb : torch.Tensor of shape (n, C, D, H, W)
    n_passes : int
    head_only : bool
        Compute the embedding once and apply ``fc(drop(.))`` ``n_passes`` times
        (exact for :class:`~skcryoal.nn.ResNet3D`, whose logits are
        ``fc(drop(embed(x)))`` and whose only dropout is ``drop``); otherwise run
        ``n_passes`` full forward passes.

    Returns
    -------
    logits : torch.Tensor of shape (n_passes, n, n_classes)
    """
    if head_only:
        emb = module.embed(xb)
        n = emb.shape[0]
        # every row of the repeated embedding gets its own dropout mask
        rep = emb.unsqueeze(0).expand(n_passes, *emb.shape).reshape(n_passes * n, -1)
        return module.fc(module.drop(rep)).reshape(n_passes, n, -1)
    return torch.stack([_output_logits(module(xb)) for _ in range(n_passes)])


_SCORING_LOCK = threading.RLock()


def _batch_seed(seed, row):
    """The dropout seed of the batch starting at pool row ``row`` (None: unseeded)."""
    if seed is None:
        return None
    return int(np.random.SeedSequence([seed, row]).generate_state(1)[0] >> 1)


def mc_acquisition(proba, acquisition="bald"):
    """Score samples from Monte-Carlo posteriors.

    Parameters
    ----------
    proba : ndarray of shape (n_passes, n_samples, n_classes)
        Softmax outputs of the stochastic passes.
    acquisition : {"bald", "entropy", "variation_ratio"}, default="bald"
        See :class:`MCDropoutQuery`.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
    """
    proba = np.asarray(proba, dtype=np.float64)
    n_passes, _, n_classes = proba.shape
    mean = proba.mean(axis=0)
    if acquisition == "entropy":
        return posterior_entropy(mean)
    if acquisition == "bald":
        expected = np.mean([posterior_entropy(p) for p in proba], axis=0)
        return np.maximum(posterior_entropy(mean) - expected, 0.0)
    if acquisition == "variation_ratio":
        votes = np.eye(n_classes)[proba.argmax(axis=2)].sum(axis=0)  # (n_samples, n_classes)
        return 1.0 - votes.max(axis=1) / n_passes
    raise ValueError(f"acquisition must be one of {list(_ACQUISITIONS)}; got {acquisition!r}.")


class MCDropoutQuery(BaseQueryStrategy):
    r"""Query by Monte-Carlo dropout (Gal, Islam and Ghahramani, ICML 2017).

    Each pool volume is passed ``n_passes`` times through the task model with its
    dropout layers active (and everything else, batch norm included, in eval
    mode), giving posteriors :math:`p_t(c|x)`, :math:`t = 1..T`, and their mean
    :math:`\bar p(c|x)`. The acquisitions are

    - ``"bald"``: the mutual information between the prediction and the weights,
      :math:`H[\bar p] - \frac{1}{T}\sum_t H[p_t]`: high where the passes
      disagree, about 0 where dropout does not change the prediction;
    - ``"entropy"``: the predictive entropy :math:`H[\bar p]`;
    - ``"variation_ratio"``: :math:`1 - f_m / T`, with :math:`f_m` the number of
      passes voting for the modal class (the frequency definition of Gal's
      thesis; it takes ``T + 1`` values at most, so ties are frequent and broken
      by the lower pool index).

    For :class:`~skcryoal.nn.ResNet3D` (and subclasses), whose only dropout sits
    before the final linear layer, the embedding of a batch is computed once and
    the dropout + linear head is applied ``T`` times: exact, and about ``T``
    times cheaper than ``T`` full passes. Whether a module computes
    ``fc(drop(embed(x)))`` is checked on the first batch; other modules get
    ``T`` full forward passes.

    Parameters
    ----------
    n_passes : int, default=20
        Number ``T`` of stochastic passes (at least 2).
    acquisition : {"bald", "entropy", "variation_ratio"}, default="bald"
        The score, see above.
    subsample : int or None, default=None
        Score only a random subset of the pool of this size; ``None`` scores all.
    batch_size : int or None, default=None
        Volumes per forward pass; ``None`` uses the classifier's ``batch_size``.
    random_state : int, RandomState instance or None, default=None
        Draws the subset and seeds the dropout masks (torch's global RNG is
        forked, so the caller's torch random state is untouched). An int gives the
        same masks on every call; ``None`` draws them from torch's global RNG.

    Notes
    -----
    The classifier must have been built with dropout, e.g.
    ``CryoNetClassifier(module__dropout=0.3)``; a model without an active
    dropout layer raises ``ValueError``. Gal et al. also train with dropout,
    so the classifier's training and this query see the same model.

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal import CryoNetClassifier
    >>> from skcryoal import MCDropoutQuery
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 1, 16, 16, 16)).astype(np.float32)
    >>> clf = CryoNetClassifier(module__width=4, module__dropout=0.3, max_epochs=1,
    ...                         random_state=0)
    >>> clf = clf.fit(X[:6], np.arange(6) % 2)
    >>> query = MCDropoutQuery(n_passes=10, random_state=0)
    >>> idx = query(clf, X[6:], n_instances=3)
    >>> idx.shape, bool((query.score_samples(clf, X[6:]) >= 0).all())
    ((3,), True)
    """

    order = "highest"

    def __init__(
        self, n_passes=20, acquisition="bald", subsample=None, batch_size=None, random_state=None
    ):
        self.n_passes = n_passes
        self.acquisition = acquisition
        self.subsample = subsample
        self.batch_size = batch_size
        self.random_state = random_state

    def _validate_params(self):
        super()._validate_params()
        if (
            isinstance(self.n_passes, bool)
            or not isinstance(self.n_passes, numbers.Integral)
            or self.n_passes < 2
        ):
            raise ValueError(f"n_passes must be an integer >= 2; got {self.n_passes!r}.")
        if self.acquisition not in _ACQUISITIONS:
            raise ValueError(
                f"acquisition must be one of {list(_ACQUISITIONS)}; got {self.acquisition!r}."
            )

    def _frozen(self):
        frozen = copy.copy(self)
        frozen._mask_seed = draw_seed(self.random_state)  # drawn when _score would draw it
        return frozen

    def _score(self, classifier, X):
        return self._score_rows(classifier, X, draw_seed(self.random_state), 0)

    def _score_block(self, classifier, X, offset):
        return self._score_rows(classifier, X, self._mask_seed, offset)

    def _score_rows(self, classifier, X, seed, offset):
        """Score ``X``, whose first row is row ``offset`` of the scored pool.

        Each batch's dropout masks are seeded from ``seed`` and the pool row the
        batch starts at, so a pool scored in partitions (on dask workers) gets
        the masks, and the scores, of one pass over the whole pool. Dropout
        masks come from torch's global generator and the dropout layers are
        switched to train mode, so scoring holds a per-process lock: threads
        sharing the model (dask's threaded scheduler, a multi-threaded dask
        worker) score one partition at a time.
        """
        with _SCORING_LOCK:
            return self._score_rows_unlocked(classifier, X, seed, offset)

    def _score_rows_unlocked(self, classifier, X, seed, offset):
        module = getattr(classifier, "module_", None)
        if not isinstance(module, nn.Module):
            raise TypeError(
                "MCDropoutQuery needs a fitted torch classifier with a module_ attribute, "
                f"such as skcryoal.CryoNetClassifier; got {type(classifier).__name__}."
            )
        layers = active_dropout_layers(module)
        if not layers:
            received = getattr(module, "dropout", None)
            detail = f" (module__dropout={received!r})" if received is not None else ""
            raise ValueError(
                f"MCDropoutQuery needs dropout at inference, but the task model "
                f"{type(module).__name__} has no dropout layer with p > 0{detail}. Fit the "
                "classifier with dropout, e.g. CryoNetClassifier(module__dropout=0.3)."
            )
        head_only = _dropout_only_in_head(module, layers)
        device = getattr(classifier, "device_", None) or getattr(classifier, "device", "cpu")
        batch_size = classifier.batch_size if self.batch_size is None else self.batch_size
        was_training = {m: m.training for m in module.modules()}
        scores = np.empty(len(X), dtype=np.float64)
        try:
            module.eval()
            for layer in layers:
                layer.train()
            with torch.no_grad():
                for start, stop, batch in iter_batches(X, batch_size):
                    assert_all_finite_chunked(batch, name="X_pool", offset=start)
                    xb = torch.from_numpy(batch).to(device)
                    if head_only and start == 0:
                        head_only = _head_reproduces_forward(module, xb)
                    with torch_seed_context(_batch_seed(seed, offset + start), device):
                        logits = mc_dropout_logits(module, xb, self.n_passes, head_only)
                    assert_finite_outputs(  # (passes, n, classes) -> rows first
                        logits.float().cpu().numpy().swapaxes(0, 1),
                        what="MC-dropout logits",
                        offset=start,
                        inputs=batch,
                    )
                    proba = softmax(logits.double().cpu().numpy(), axis=2)
                    scores[start:stop] = mc_acquisition(proba, self.acquisition)
        finally:
            for m, flag in was_training.items():
                m.train(flag)
        return scores
