"""Self-supervised pretraining on a campaign's particles: stored, resumable, reused.

``campaign.pretrain()`` fits a :class:`~skcryoal.pretraining.SubtomogramEmbedder` on
every particle of the pool (no labels are used), or records one fitted elsewhere
(on more particles, or shared by several campaigns). While it trains, its state is
written after every epoch to ``pretrain/training-<key>.pt``, where ``<key>`` digests
the embedder's training parameters and the pool: the same call after a kill resumes
from the last epoch. When it ends, the fitted embedder is pickled atomically to
``pretrain/`` and its encoder's weights saved beside it, then recorded in the
campaign's metadata (``pretrained``, and ``pretrain_history`` for every run): a
recorded file is complete, and is loaded only if its size and checksum match.

Every later :meth:`Campaign.fit` of a classifier with an ``encoder`` parameter
(:class:`~skcryoal.CryoNetClassifier`) starts from the recorded encoder and
fine-tunes it gently (``encoder_lr=1e-4``, at least 400 optimizer steps, unless the
estimator sets them), and the
embedding strategies (``typiclust``, ``probcover``) select on the embedder, so they
can choose the first labels (a cold start).
"""

import copy
import hashlib
import json
import time
from pathlib import Path

from sklearn.base import clone

from ..utils._atomic import atomic_output
from ._checkpoint import CheckpointError, load_checkpoint, write_checkpoint
from ._store import now

PRETRAIN_DIR = "pretrain"
#: the encoder's learning rate of a campaign fit from a pretrained encoder, unless the
#: estimator sets one (fine-tuned at 3e-3, 50 labels gave 0.535; at 1e-4, 0.949)
PRETRAINED_ENCODER_LR = 1e-4
#: ... and trains for at least this many optimizer steps (20 epochs of 50 labels are 80)
PRETRAINED_MIN_STEPS = 400


#: how a campaign learns (``Campaign.create(recipe=...)``): "pretrained", the measured
#: best (an encoder learnt from the pool at the first fit, fine-tuned by every fit), or
#: "paper", the paper's (width 64, from scratch at every fit)
RECIPES = ("pretrained", "paper")
#: the width of the default classifier of each recipe (the pretrained recipe was measured
#: at width 16: pretraining width 64 on a CPU takes hours)
RECIPE_WIDTH = {"pretrained": 16, "paper": 64}
#: volumes the automatic pretraining shows the encoder: 30 epochs of 2,000 particles, as
#: measured (docs/benchmarks.md); a larger pool takes fewer epochs (20,000 particles for 3
#: epochs did better than 2,000 for 30), a smaller one at most 30
AUTO_PRETRAIN_VOLUMES = 60_000
AUTO_PRETRAIN_MAX_EPOCHS = 30


def check_recipe(recipe, estimator):
    """The recipe to record: "pretrained", "paper", or None (a given estimator, as it is)."""
    if recipe is not None and recipe not in RECIPES:
        raise ValueError(
            f"recipe must be one of {RECIPES} or None; got {recipe!r}. 'pretrained' learns "
            "an encoder from the pool at the first fit; 'paper' is the paper's recipe."
        )
    if recipe is None:
        return "pretrained" if estimator is None else None
    return recipe


def auto_epochs(n_particles):
    """Epochs of the automatic pretraining for a pool of ``n_particles``."""
    epochs = round(AUTO_PRETRAIN_VOLUMES / max(1, n_particles))
    return int(min(AUTO_PRETRAIN_MAX_EPOCHS, max(1, epochs)))


def pretrain_pending(campaign):
    """Whether the campaign's recipe pretrains and no embedder is recorded yet."""
    meta = campaign._store.meta()
    return meta.get("recipe") == "pretrained" and meta.get("pretrained") is None


def auto_pretrain(campaign, progress=True):
    """The recipe's pretraining, at a campaign's first fit: the default embedder, sized."""
    embedder = default_embedder(campaign)
    n = campaign.n_particles
    # a batch of contrasted pairs needs that many particles: a small pool, a smaller batch
    embedder.set_params(max_epochs=auto_epochs(n), batch_size=min(embedder.batch_size, n))
    return pretrain_campaign(campaign, embedder, progress=progress)


def default_embedder(campaign):
    """An embedder whose encoder fits the campaign's classifier (width and stem)."""
    from ..pretraining import SubtomogramEmbedder

    params = campaign._template.get_params() if hasattr(campaign._template, "get_params") else {}
    # a CryoNetClassifier (it has an encoder parameter): its ResNet3D's width, default 64
    width = params.get("module__width", 64) if "encoder" in params else 16
    return SubtomogramEmbedder(
        width=int(width),
        stem=params.get("module__stem", "imagenet"),
        random_state=campaign._meta.get("seed"),
    )


def _key(embedder, campaign):
    return embedder._training_key(pool=[campaign.n_particles, list(campaign.volume_shape)])


def pretrain_campaign(campaign, embedder=None, *, progress=True):
    """Fit an embedder on the campaign's pool, record it, return it; see Campaign.pretrain."""
    import torch

    from ..pretraining import SubtomogramEmbedder

    if embedder is None:
        embedder = default_embedder(campaign)
    elif not isinstance(embedder, SubtomogramEmbedder):
        raise TypeError(
            f"embedder must be a SubtomogramEmbedder (its parameters are used; it is fitted "
            f"here); got {type(embedder).__name__}."
        )
    fitted = hasattr(embedder, "encoder_")
    folder = Path(campaign.path) / PRETRAIN_DIR
    folder.mkdir(exist_ok=True)
    if fitted:
        shape = tuple(campaign.volume_shape)
        if tuple(embedder.volume_shape_) != shape:
            raise ValueError(
                f"The fitted embedder was trained on volumes of shape {embedder.volume_shape_}; "
                f"this campaign's particles are {shape}. Pass an unfitted embedder to train "
                "one on the pool."
            )
        embedder = copy.deepcopy(embedder)
        embedder.set_params(checkpoint=None)
        trained = json.dumps([_key(embedder, campaign), embedder.seed_, embedder.history_])
        key = "fitted-" + hashlib.sha256(trained.encode()).hexdigest()[:16]
        seconds = 0.0
    else:
        embedder = clone(embedder)
        key = _key(embedder, campaign)
        training = folder / f"training-{key}.pt"
        embedder.set_params(checkpoint=training, progress=progress)
        start = time.perf_counter()
        embedder.fit(campaign._volumes)
        seconds = time.perf_counter() - start
        embedder.set_params(checkpoint=None)  # the stored embedder refers to no file
    encoder_file = folder / f"encoder-{key}.pt"
    with atomic_output(encoder_file) as tmp:
        torch.save(embedder.encoder_.state_dict(), tmp)
    record = write_checkpoint(campaign.path, embedder, directory=PRETRAIN_DIR, prefix="embedder")
    params = {
        k: (v if isinstance(v, (int, float, str, bool, type(None))) else repr(v))
        for k, v in embedder.get_params().items()
    }
    record.update(
        key=key,
        encoder_file=f"{PRETRAIN_DIR}/{encoder_file.name}",
        time=now(),
        annotator=campaign.annotator,
        method=embedder.method,
        n_epochs=embedder.n_epochs_,
        n_particles=campaign.n_particles,
        # the volumes it was trained on: the pool's, or others' for a fitted embedder
        trained_here=not fitted,
        n_trained_on=getattr(embedder, "n_samples_fit_", None),
        train_seconds=round(sum(h["seconds"] for h in embedder.history_), 1),
        call_seconds=round(seconds, 1),
        final_loss=embedder.history_[-1]["loss"] if embedder.history_ else None,
        params=params,
    )
    history = list(campaign._store.meta().get("pretrain_history", []))
    campaign._store.set_meta("pretrain_history", [*history, record])
    campaign._store.set_meta("pretrained", record)
    campaign._meta = campaign._store.meta()
    campaign._embedder_cache = (record["sha256"], embedder)
    return embedder


def pretrained_record(campaign):
    """The campaign's recorded pretraining (a dict), or None."""
    return campaign._store.meta().get("pretrained")


def load_embedder(campaign):
    """The recorded embedder (checked against its checksum), or None; cached."""
    record = pretrained_record(campaign)
    if record is None:
        return None
    cache = getattr(campaign, "_embedder_cache", None)
    if cache is not None and cache[0] == record["sha256"]:
        return cache[1]
    try:
        embedder = load_checkpoint(campaign.path, record)
    except CheckpointError as exc:
        raise CheckpointError(
            f"{exc} Run campaign.pretrain() (or `skcryoal campaign pretrain`) again to replace it."
        ) from None
    campaign._embedder_cache = (record["sha256"], embedder)
    return embedder


def encoder_path(campaign):
    """The absolute path of the recorded encoder weights, or None."""
    record = pretrained_record(campaign)
    if record is None:
        return None
    path = Path(campaign.path) / record["encoder_file"]
    if not path.is_file():
        raise CheckpointError(
            f"the pretrained encoder {path} is missing; run campaign.pretrain() again."
        )
    return str(path)


def with_embedder(campaign, strategy):
    """Give an embedding strategy without an embedder the campaign's, if it has one."""
    if hasattr(strategy, "embedder") and strategy.embedder is None:
        embedder = load_embedder(campaign)
        if embedder is not None:
            strategy.embedder = embedder
    return strategy
