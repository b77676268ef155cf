"""What a campaign stores of its strategy and estimator, and how it rebuilds them."""

from __future__ import annotations

import inspect
import numbers
import pickle
import warnings

import numpy as np
from sklearn.base import clone

from ..utils._atomic import atomic_write_bytes

DEFAULT_STRATEGY = "ema"
STRATEGY_FILE = "strategy.pkl"
ESTIMATOR_FILE = "estimator.pkl"
#: the stream of a round's seed that draws its scored subset
_SUBSAMPLE_STREAM = 0x5B5A


# ------------------------------------------------------------------ specs
def resolve_seed(random_state):
    """Return the campaign's integer seed (recorded, so that it is reproducible)."""
    if random_state is None:
        return int(np.random.SeedSequence().entropy % (2**31 - 1))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if not 0 <= random_state < 2**32:
            raise ValueError(f"random_state must be in [0, 2**32); got {random_state}.")
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    raise TypeError(
        "random_state must be an int, a numpy RandomState or None (a seed drawn now and "
        f"recorded); got {random_state!r}."
    )


def round_seed(seed, round_number):
    """Seed of one query round: different each round, reproducible from the campaign seed."""
    return int(np.random.SeedSequence([seed, round_number]).generate_state(1)[0] % (2**31 - 1))


def _takes(fn, name):
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def strategy_spec(strategy):
    """Validate ``strategy`` and return ``(spec, pickled_bytes or None)``.

    ``spec`` is JSON-ready: ``{"name", "params"}`` for a registered strategy,
    ``{"pickle", "repr"}`` for a callable.
    """
    from ..query import get_strategy

    if strategy is None:
        strategy = DEFAULT_STRATEGY
    if isinstance(strategy, tuple) and len(strategy) == 2 and isinstance(strategy[0], str):
        name, params = strategy[0], dict(strategy[1] or {})
    elif isinstance(strategy, str):
        from ..benchmark._specs import parse_strategy_spec

        parsed = parse_strategy_spec(strategy)
        if parsed.classifier_params or parsed.semi_supervised is not None:
            raise ValueError(
                f"strategy {strategy!r}: 'clf.*' and 'semi' options belong to benchmarks; "
                "configure the campaign's estimator=... instead."
            )
        name, params = parsed.name, dict(parsed.params)
    elif callable(strategy) and not isinstance(strategy, type):
        try:
            data = pickle.dumps(strategy, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise TypeError(
                f"strategy {strategy!r} cannot be pickled ({exc}); the campaign stores it in "
                "its folder. Use a module-level function or a strategy instance, not a lambda "
                "or closure, or pass a registered name such as 'ema'."
            ) from exc
        return {"pickle": STRATEGY_FILE, "repr": repr(strategy)[:500]}, data
    else:
        raise TypeError(
            "strategy must be a registered name ('ema', 'entropy', ...), a spec string "
            "('ema:subsample=500'), a (name, params) pair or a picklable callable; got "
            f"{strategy!r}."
        )
    if "random_state" in params:
        raise ValueError(
            "Do not set the strategy's random_state: the campaign derives one per round "
            "from its own random_state."
        )
    get_strategy(name, **params)  # raises for an unknown name or parameter
    return {"name": name, "params": params}, None


def check_subsample(subsample, strategy=None, spec=None):
    """Validate the campaign's ``subsample`` against its strategy; return it (int or None).

    The campaign draws the rows a round scores; a strategy that draws its own
    subset as well would score a subset of the subset, so both together are
    refused.

    Parameters
    ----------
    subsample : int or None
    strategy : object or None, default=None
        A callable strategy (its ``subsample`` attribute is checked).
    spec : dict or None, default=None
        A registered strategy's spec (its ``subsample`` parameter is checked).
    """
    if subsample is None:
        return None
    if isinstance(subsample, bool) or not isinstance(subsample, numbers.Integral) or subsample < 1:
        raise ValueError(
            "subsample must be None (each round scores every unlabeled particle) or a "
            f"positive integer (the particles a round scores, drawn afresh); got {subsample!r}."
        )
    own = None
    if spec is not None and "params" in spec:
        own = spec["params"].get("subsample")
    elif strategy is not None and not isinstance(strategy, (str, tuple)):
        own = getattr(strategy, "subsample", None)
    if own is not None:
        raise ValueError(
            f"the campaign's subsample={subsample} and the strategy's own subsample={own} "
            "conflict: the campaign draws a fresh subset of the unlabeled particles each "
            "round (from its seed and the round number) and passes only those to the "
            "strategy. Set one of them: drop the strategy's subsample (e.g. 'ema' instead of "
            "'ema:subsample=...'), or leave the campaign's subsample=None."
        )
    return int(subsample)


def subsample_rows(eligible, subsample, seed):
    """The rows of ``eligible`` a round scores: all, or ``subsample`` of them, sorted.

    Drawn from ``seed`` (the round's) on a stream of its own, so that it is
    not correlated with the strategy's draws from the same seed.
    """
    if subsample is None or subsample >= len(eligible):
        return eligible
    rng = np.random.default_rng([int(seed), _SUBSAMPLE_STREAM])
    return np.sort(rng.choice(eligible, size=int(subsample), replace=False))


def make_strategy(folder, spec, seed, *, seed_callable=False):
    """Instantiate the campaign's strategy for one round.

    A registered strategy gets ``random_state=seed``; a stored callable is used
    as it is, unless ``seed_callable`` (a seed given to the query): then its
    ``random_state`` attribute, if any, is set to ``seed``.
    """
    from ..query import get_strategy

    if "pickle" in spec:
        strategy = pickle.loads((folder / spec["pickle"]).read_bytes())
        if seed_callable and hasattr(strategy, "random_state"):
            strategy.random_state = seed
        return strategy
    cls = type(get_strategy(spec["name"], **spec["params"]))
    params = dict(spec["params"])
    if _takes(cls, "random_state"):
        params["random_state"] = seed
    return get_strategy(spec["name"], **params)


def estimator_template(estimator, classes, seed, recipe=None):
    """Return the unfitted estimator the campaign clones for every fit.

    The default estimator's width is the recipe's (``RECIPE_WIDTH``): 16 for the
    pretrained recipe, the paper's 64 otherwise.
    """
    if estimator is None:
        from ..classifier import CryoNetClassifier
        from ._pretrain import RECIPE_WIDTH

        # particles picked from tomograms lie in random poses: wedge-preserving
        # augmentation is the largest single gain measured (docs/benchmarks.md)
        return CryoNetClassifier(
            classes=list(classes.values),
            augment=True,
            module__width=RECIPE_WIDTH[recipe or "paper"],
            random_state=seed,
        )
    if isinstance(estimator, type) or not hasattr(estimator, "fit"):
        raise TypeError(
            f"estimator must be an estimator instance with fit/predict_proba; got {estimator!r}."
        )
    try:
        template = clone(estimator)
    except Exception as exc:
        raise TypeError(f"estimator {estimator!r} cannot be cloned ({exc}).") from exc
    params = template.get_params() if hasattr(template, "get_params") else {}
    for key, value in params.items():
        if key != "classes" and not key.endswith("__classes"):
            continue
        if value is None:
            template.set_params(**{key: list(classes.values)})
        elif sorted(map(str, value)) != sorted(classes.texts):
            raise ValueError(
                f"the estimator's {key}={list(value)} differ from the campaign's classes "
                f"{classes.values}; leave {key}=None or make them equal."
            )
    _check_devices(params)
    _check_reloads(template)
    return template


def _check_devices(params):
    """Refuse a ``device`` parameter that torch does not know (every later open would fail)."""
    for key, value in params.items():
        if not (key == "device" or key.endswith("__device")) or value is None:
            continue
        import torch

        try:
            torch.device(value)
        except (RuntimeError, TypeError, ValueError) as exc:
            raise ValueError(
                f"the estimator's {key}={value!r} is not a torch device ({exc}); use 'cpu', "
                "'cuda', 'cuda:1' or 'mps'. Nothing was created."
            ) from None


def _check_reloads(template):
    """Refuse an estimator that is not read back from its pickle as it will be on every open."""
    try:
        data = pickle.dumps(template, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        raise TypeError(
            f"the estimator cannot be pickled ({exc}); the campaign stores it in its folder. "
            "Nothing was created."
        ) from exc
    try:
        with warnings.catch_warnings():
            # e.g. skorch's "cuda is not available here": the folder may be used elsewhere
            warnings.simplefilter("ignore")
            pickle.loads(data)
    except Exception as exc:
        raise ValueError(
            f"the estimator {type(template).__name__} is stored in the campaign folder but "
            f"cannot be read back ({type(exc).__name__}: {exc}), so the campaign could never "
            "be opened; check its parameters. Nothing was created."
        ) from exc


def save_specs(folder, template, strategy_bytes):
    """Store the estimator template (and a callable strategy) atomically."""
    try:
        data = pickle.dumps(template, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        raise TypeError(
            f"the estimator cannot be pickled ({exc}); the campaign stores it in its folder."
        ) from exc
    atomic_write_bytes(folder / ESTIMATOR_FILE, data)
    if strategy_bytes is not None:
        atomic_write_bytes(folder / STRATEGY_FILE, strategy_bytes)
