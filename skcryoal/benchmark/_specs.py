"""Strategy specifications: a strategy name with its parameters, as one string.

Grammar (also accepted by ``skcryoal benchmark --strategies``, comma-separated)::

    [label=]name[:key=value[:key=value...]]

- ``name`` is a registered strategy (:func:`skcryoal.query.available_strategies`);
- ``key=value`` sets a parameter of the strategy (``ema:distance=mse``,
  ``ema:order=lowest:subsample=500``);
- ``clf.key=value`` sets a parameter of the classifier for this strategy only
  (``ema:clf.reg_lambda=0`` is the paper's "noema" ablation);
- ``semi=true`` trains with the unlabeled pool as ``X_unlabeled`` (the
  semi-supervised variant of Fig. 3);
- ``label=`` names the curve (default: the spec itself), e.g.
  ``noema=ema:clf.reg_lambda=0``.

Values are read as ``none``, ``true``/``false``, integers, floats (``inf``
included) or, failing those, strings.
"""

import math
import re
from dataclasses import dataclass, field

_LABEL = re.compile(r"^[A-Za-z0-9_.+\-]+$")


def _parse_value(text):
    low = text.strip().lower()
    if low == "none":
        return None
    if low in ("true", "false"):
        return low == "true"
    try:
        return int(low)
    except ValueError:
        pass
    try:
        value = float(low)
    except ValueError:
        return text.strip()
    return value if not math.isnan(value) else text.strip()


def _format_value(value):
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    return str(value)


@dataclass(frozen=True)
class StrategySpec:
    """A query strategy of a campaign: registry name, parameters and curve label.

    Parameters
    ----------
    label : str
        Name of the learning curve in results, plots and tables.
    name : str or None
        Registered strategy name; ``None`` when ``strategy`` is an instance.
    params : dict
        Strategy constructor parameters (``random_state`` is set per cycle).
    classifier_params : dict
        Classifier parameters set for this strategy only.
    semi_supervised : bool or None
        Train with the unlabeled pool as ``X_unlabeled``; ``None`` follows the
        campaign's ``semi_supervised``.
    strategy : callable or None
        A ready strategy instance (copied, and its ``random_state`` set, per cycle).

    Examples
    --------
    >>> from skcryoal.benchmark import parse_strategy_spec
    >>> spec = parse_strategy_spec("noema=ema:clf.reg_lambda=0:subsample=500")
    >>> spec.label, spec.name, spec.params, spec.classifier_params
    ('noema', 'ema', {'subsample': 500}, {'reg_lambda': 0})
    """

    label: str
    name: str | None = None
    params: dict = field(default_factory=dict)
    classifier_params: dict = field(default_factory=dict)
    semi_supervised: bool | None = None
    strategy: object = None

    def __str__(self):
        return self.label


def parse_strategy_spec(text):
    """Parse ``[label=]name[:key=value...]`` into a :class:`StrategySpec`.

    Parameters
    ----------
    text : str
        The specification; see the module documentation for the grammar.

    Returns
    -------
    spec : StrategySpec

    Raises
    ------
    ValueError
        For an empty name, a malformed ``key=value``, a repeated key, a bad
        label, or an unknown strategy name (with the registry's suggestion).

    Examples
    --------
    >>> from skcryoal.benchmark import parse_strategy_spec
    >>> parse_strategy_spec("ema:distance=mse").params
    {'distance': 'mse'}
    >>> parse_strategy_spec("ema:semi=true").semi_supervised
    True
    """
    from ..query._registry import _REGISTRY, _normalize, _unknown_name

    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"A strategy spec must be a non-empty string; got {text!r}.")
    text = text.strip()
    head, *options = text.split(":")
    label = None
    if "=" in head:
        label, head = (part.strip() for part in head.split("=", 1))
        if not _LABEL.match(label):
            raise ValueError(
                f"Bad label {label!r} in strategy spec {text!r}: use letters, digits and "
                "'_.+-' only (e.g. 'noema=ema:clf.reg_lambda=0')."
            )
    name = _normalize(head)
    if not name:
        raise ValueError(f"Strategy spec {text!r} has no strategy name; e.g. 'ema:distance=mse'.")
    if name not in _REGISTRY:
        raise _unknown_name(head)
    params, clf_params, semi = {}, {}, None
    for option in options:
        if "=" not in option:
            raise ValueError(
                f"Bad option {option!r} in strategy spec {text!r}: options are key=value, "
                "separated by ':' (e.g. 'ema:distance=mse:subsample=500')."
            )
        key, value = (part.strip() for part in option.split("=", 1))
        value = _parse_value(value)
        if key == "semi":
            if not isinstance(value, bool):
                raise ValueError(f"semi must be true or false in {text!r}; got {value!r}.")
            target, key = None, "semi"
        elif key.startswith("clf."):
            target, key = clf_params, key[4:]
        else:
            target = params
        if not key:
            raise ValueError(f"Empty parameter name in strategy spec {text!r}.")
        if key == "random_state":
            raise ValueError(
                f"Strategy spec {text!r} sets random_state; the campaign derives it per "
                "trial and cycle from its own random_state."
            )
        if target is None:
            if semi is not None:
                raise ValueError(f"semi is given twice in strategy spec {text!r}.")
            semi = value
            continue
        if key in target:
            raise ValueError(f"Parameter {key!r} is given twice in strategy spec {text!r}.")
        target[key] = value
    return StrategySpec(
        label=label or text,
        name=name,
        params=params,
        classifier_params=clf_params,
        semi_supervised=semi,
    )


def as_strategy_spec(strategy):
    """Return a :class:`StrategySpec` for a spec string, a spec or a strategy instance.

    Parameters
    ----------
    strategy : str, StrategySpec or callable
        A callable strategy instance is labelled by its class name.

    Returns
    -------
    spec : StrategySpec
    """
    if isinstance(strategy, StrategySpec):
        return strategy
    if isinstance(strategy, str):
        return parse_strategy_spec(strategy)
    if isinstance(strategy, type) or not callable(strategy):
        raise TypeError(
            "A strategy must be a name or spec string (e.g. 'ema:distance=mse'), a "
            f"StrategySpec or a strategy instance; got {strategy!r}."
        )
    return StrategySpec(label=type(strategy).__name__, strategy=strategy)


def split_strategy_list(text):
    """Split a comma-separated list of specs (the command line's ``--strategies``).

    Parameters
    ----------
    text : str

    Returns
    -------
    specs : list of str
    """
    return [part.strip() for part in text.split(",") if part.strip()]
