"""Warm-started fits: a round continues from the previous model's weights.

The paper re-initializes the network every round (a *cold* fit). A campaign
created with ``warm_start_epochs=N`` instead fine-tunes: the first fit is cold
(full ``max_epochs``), and every later fit starts from the weights of the
latest model the campaign recorded and trains ``N`` epochs.

A warm fit is a fresh clone of the campaign's estimator, seeded, configured
and initialized exactly as a cold fit of that round would be (with
``max_epochs=N``), into which a callback loads the previous model's weights
when training begins. So only the weights carry over; everything that
belongs to one fit starts anew:

* the optimizer (AdamW's moment buffers are not even checkpointed, see
  ``_drop_optimizer_state``) and the learning-rate schedule: a schedule that
  follows ``max_epochs`` (CryoNetClassifier's cosine decay) spans the ``N``
  warm epochs. skorch's own ``warm_start=True`` would instead keep the
  previous fit's history and schedule, whose cosine has decayed to a
  learning rate of zero by its last epoch;
* the history, so epochs count ``1..N`` (progress bars, metrics);
* the EMA callback. Both the task model and the mean model are loaded, and the
  mean model's warm-up rule decides what happens next. By default (``warmup``
  restarting each fit) the first update copies the task model: the mean model
  restarts from the warm task weights and averages this round's trajectory
  only, as after a cold fit, so that its deviation from the task model keeps
  measuring how unsettled the model is on this round's labels, not how much
  the new labels moved it. With ``ema_mode="authors"`` the update count goes
  on across rounds by design (``ema_step_offset``), so the mean model keeps
  averaging from the previous round's mean model.
"""

from __future__ import annotations

import numbers


def check_warm_start_epochs(value):
    """Return the setting as an int or None; raise for anything else."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(
            f"warm_start_epochs must be None (every fit re-initializes the model, the paper's "
            f"protocol) or a positive integer (the epochs of each fit after the first, which "
            f"continues from the previous model's weights); got {value!r}."
        )
    return int(value)


def skorch_net(estimator):
    """The skorch net of ``estimator`` (itself, or a pipeline's last step), or None."""
    from skorch import NeuralNet

    steps = getattr(estimator, "steps", None)
    net = steps[-1][1] if steps else estimator
    return net if isinstance(net, NeuralNet) else None


def check_warm_startable(template, epochs):
    """Raise unless a campaign with ``warm_start_epochs=epochs`` can warm-start ``template``."""
    if epochs is None:
        return
    net = skorch_net(template)
    if net is None or getattr(net, "callbacks", None) == "disable":
        raise ValueError(
            f"warm_start_epochs={epochs} needs a skorch estimator with callbacks (e.g. "
            f"CryoNetClassifier, or a Pipeline ending in one) whose weights carry over; got "
            f"{type(template).__name__}. Leave warm_start_epochs=None."
        )


def resolve_warm_start(setting, warm_start):
    """The epochs of this fit if it is to be warm, else None.

    ``warm_start`` is ``Campaign.fit``'s argument: None uses the campaign's
    ``setting``, False fits cold, a positive int warm-starts for that many
    epochs.
    """
    if warm_start is None:
        return setting
    if warm_start is False:
        return None
    if warm_start is True:
        raise ValueError(
            "fit(warm_start=True) does not say for how many epochs; pass the epochs "
            "(warm_start=5), None for the campaign's setting, or False for a cold fit."
        )
    return check_warm_start_epochs(warm_start)


def copy_weights(source, net):
    """Load the state of ``source``'s modules and criteria into ``net``'s, in place.

    In place, so that the optimizer and the callbacks keep referring to the
    tensors they were given.
    """
    import torch

    names = [*getattr(source, "_modules", ["module"]), *getattr(source, "_criteria", [])]
    for name in names:
        src, dst = getattr(source, f"{name}_", None), getattr(net, f"{name}_", None)
        if not isinstance(src, torch.nn.Module) or not isinstance(dst, torch.nn.Module):
            continue
        try:
            dst.load_state_dict(src.state_dict())
        except RuntimeError as exc:
            raise ValueError(
                f"cannot warm-start: the previous model's {name}_ does not fit this fit's "
                f"network (were module parameters changed with fit(params=...)?): {exc}. Fit "
                "cold with fit(warm_start=False)."
            ) from exc


def warm_start_callback(previous):
    """A skorch callback that loads ``previous``'s weights when training begins.

    Parameters
    ----------
    previous : estimator
        The fitted model to continue from (a skorch net or a pipeline ending
        in one), of the same architecture.

    Returns
    -------
    callback : skorch.callbacks.Callback
        For one fit: it lets go of ``previous`` once the weights are loaded.
    """
    from skorch.callbacks import Callback

    source = skorch_net(previous)
    if source is None or not getattr(source, "initialized_", False):
        raise ValueError(
            f"cannot warm-start from {type(previous).__name__}: it must be a fitted skorch "
            "net (or a pipeline ending in one). Fit cold with fit(warm_start=False)."
        )

    class WarmStart(Callback):
        def __init__(self, source):
            self.source = source

        def on_train_begin(self, net, **kwargs):
            # after the net's cold initialization (under its seed), before any step
            source, self.source = self.source, None
            if source is not None:
                copy_weights(source, net)

    return WarmStart(source)
