"""Query strategies by name, for configuration files and command lines."""

import difflib
import importlib
import inspect

#: name -> (module, class, one-line description[, default parameters]); modules are
#: imported on lookup, so strategies with heavy or optional code cost nothing until used.
#: Default parameters make a name a preset of a class ("bald" is MCDropoutQuery with
#: acquisition="bald"); parameters given to get_strategy override them.
_REGISTRY = {
    "badge": (
        "skcryoal.query._badge",
        "BADGEQuery",
        "k-means++ seeding on last-layer gradient embeddings (Ash et al. 2020)",
    ),
    "bald": (
        "skcryoal.query._mc_dropout",
        "MCDropoutQuery",
        "BALD: mutual information over Monte-Carlo dropout passes (Gal et al. 2017); "
        "needs module__dropout > 0",
        {"acquisition": "bald"},
    ),
    "balanced": (
        "skcryoal.query._balanced",
        "ClassBalancedQuery",
        "a score-based strategy's best volumes per predicted class, round-robin "
        "(base='ema' by default)",
    ),
    "coreset": (
        "skcryoal.query._coreset",
        "CoreSetQuery",
        "greedy k-center on the embedding, labeled set as centers (Sener & Savarese 2018)",
    ),
    "ema": (
        "skcryoal.query._ema_deviation",
        "EMADeviationQuery",
        "KL deviation between the task model and its EMA mean model (Wang et al. 2022)",
    ),
    "entropy": (
        "skcryoal.query._uncertainty",
        "EntropyQuery",
        "highest entropy of the predicted class distribution",
    ),
    "least_confident": (
        "skcryoal.query._uncertainty",
        "LeastConfidentQuery",
        "lowest probability of the predicted class",
    ),
    "ll4al": (
        "skcryoal.query._learning_loss",
        "LearningLossQuery",
        "highest loss predicted by a learning-loss module (Yoo & Kweon 2019)",
    ),
    "margin": (
        "skcryoal.query._uncertainty",
        "MarginQuery",
        "smallest margin between the two most probable classes",
    ),
    "mc_dropout": (
        "skcryoal.query._mc_dropout",
        "MCDropoutQuery",
        "BALD over Monte-Carlo dropout passes (Gal et al. 2017); needs module__dropout > 0",
    ),
    "probcover": (
        "skcryoal.query._probcover",
        "ProbCoverQuery",
        "maximum coverage of the embedding by pure balls, for low budgets and cold starts "
        "(Yehuda et al. 2022)",
    ),
    "random": (
        "skcryoal.query._random",
        "RandomQuery",
        "uniform random selection (baseline; needs no fitted model)",
    ),
    "typiclust": (
        "skcryoal.query._typiclust",
        "TypiClustQuery",
        "most typical volume of each uncovered k-means cluster, for low budgets "
        "(Hacohen et al. 2022)",
    ),
    "vaal": (
        "skcryoal.query._vaal",
        "VAALQuery",
        "variational adversarial active learning: VAE + discriminator (Sinha et al. 2019)",
    ),
}


def _normalize(name):
    return name.strip().lower().replace("-", "_")


def available_strategies():
    """Return the names of the registered query strategies, sorted.

    Returns
    -------
    names : list of str
        Every name :func:`get_strategy` accepts (a strategy whose module is not
        installed is listed too; :func:`get_strategy` then says so).

    Examples
    --------
    >>> from skcryoal.query import available_strategies
    >>> "ema" in available_strategies()
    True
    """
    return sorted(_REGISTRY)


def describe_strategies():
    """Return a one-line description of each registered strategy, by name.

    Returns
    -------
    descriptions : dict of str to str
        Sorted by name; meant for ``--help`` texts.

    Examples
    --------
    >>> from skcryoal.query import describe_strategies
    >>> describe_strategies()["random"]
    'uniform random selection (baseline; needs no fitted model)'
    """
    return {name: _REGISTRY[name][2] for name in sorted(_REGISTRY)}


def _unknown_name(name):
    valid = ", ".join(repr(n) for n in sorted(_REGISTRY))
    close = difflib.get_close_matches(_normalize(name), sorted(_REGISTRY), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else "."
    return ValueError(f"unknown strategy {name!r}{hint} Valid names: {valid}.")


def _strategy_class(key):
    module_name, class_name = _REGISTRY[key][:2]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (module_name + ".").startswith(exc.name + "."):
            raise  # the module exists but one of its own imports is missing
        raise ImportError(
            f"strategy {key!r} ({class_name}) is not available: its module {module_name} "
            "is not part of this installation of skcryoal. Upgrade skcryoal or choose one "
            f"of {available_strategies()}."
        ) from exc
    try:
        return getattr(module, class_name)
    except AttributeError as exc:
        raise ImportError(
            f"strategy {key!r}: module {module_name} defines no {class_name}."
        ) from exc


def get_strategy(name, **params):
    """Return a new query strategy, chosen by name.

    Parameters
    ----------
    name : str or callable
        A registered name (see :func:`available_strategies`; case and ``-`` vs
        ``_`` do not matter). A callable that is not a class (a strategy instance,
        or a function such as modAL's ``entropy_sampling``) is returned unchanged,
        so code can accept either a name or a ready strategy; ``params`` must then
        be empty.
    **params
        Constructor parameters of the strategy, e.g. ``random_state=0``. They
        override the defaults a name may carry (``"bald"`` is
        :class:`MCDropoutQuery` with ``acquisition="bald"``).

    Returns
    -------
    strategy : callable
        A new instance, callable as ``strategy(learner, X_pool, n_instances)``.

    Raises
    ------
    ValueError
        For an unknown name; the message suggests the closest valid name.
    TypeError
        For a parameter the strategy does not take.
    ImportError
        For a registered strategy whose module is not installed.

    Examples
    --------
    >>> from skcryoal.query import get_strategy
    >>> get_strategy("random", random_state=0)
    RandomQuery(random_state=0)
    >>> get_strategy("bald").acquisition
    'bald'
    >>> get_strategy("entropi")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown strategy 'entropi'; did you mean 'entropy'? Valid names: ...
    """
    if not isinstance(name, str):
        if isinstance(name, type):
            raise TypeError(
                f"get_strategy takes a strategy name or instance; got the class "
                f"{name.__name__}. Pass an instance, e.g. {name.__name__}(), or a name from "
                f"{available_strategies()}."
            )
        if callable(name):
            if params:
                raise TypeError(
                    f"parameters {sorted(params)} cannot be applied to a strategy instance "
                    f"({name!r}); set them when creating it, or pass a name."
                )
            return name
        raise TypeError(
            f"name must be a strategy name (str) or a callable strategy; got {name!r} "
            f"of type {type(name).__name__}."
        )
    key = _normalize(name)
    if key not in _REGISTRY:
        raise _unknown_name(name)
    cls = _strategy_class(key)
    accepted = [
        p.name
        for p in inspect.signature(cls).parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    takes_kwargs = any(p.kind == p.VAR_KEYWORD for p in inspect.signature(cls).parameters.values())
    unknown = sorted(set(params) - set(accepted))
    if unknown and not takes_kwargs:
        close = difflib.get_close_matches(unknown[0], accepted, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise TypeError(
            f"strategy {key!r} ({cls.__name__}) got unexpected parameter(s) {unknown}; "
            f"it takes {accepted}.{hint}"
        )
    defaults = _REGISTRY[key][3] if len(_REGISTRY[key]) > 3 else {}
    return cls(**{**defaults, **params})
