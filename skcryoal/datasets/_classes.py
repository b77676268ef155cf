"""Names of the labels of a simulated dataset, particles and junk."""

import os

import numpy as np

from ._junk import _DESCRIPTIONS, check_junk, check_junk_kinds
from ._structures import structure_info
from ._templates import bundled_key, describe_template
from ._validation import check_int

#: Label of all junk boxes with ``junk_as_classes=False``, with the kinds appended.
NOT_A_PARTICLE = "not a particle"


def _template_name(source):
    if isinstance(source, (int, np.integer)) and not isinstance(source, bool):
        return describe_template(source)
    key = bundled_key(source)
    if key is not None:
        return f"{key}: {structure_info(key)['name']}"
    if isinstance(source, np.ndarray):
        return f"array of shape {source.shape}"
    if isinstance(source, (str, os.PathLike)):
        return os.path.basename(os.fspath(source))
    return getattr(source, "name", repr(source))


def describe_classes(
    n_classes: int | None = None,
    *,
    templates=None,
    junk: float = 0.0,
    junk_kinds=None,
    junk_as_classes: bool = False,
) -> list:
    """Say what each label of a :func:`make_subtomograms` dataset is, in label order.

    Takes the arguments of :func:`make_subtomograms` that decide the labels, and
    returns one description per label: the ``target_names`` of the dataset.

    Parameters
    ----------
    n_classes : int, default=None
        Number of built-in classes; None means 50, or ``len(templates)``.
    templates : sequence, default=None
        The ``templates`` of the dataset, if any.
    junk : float, default=0.0
        Fraction of junk; with 0 there is no junk label.
    junk_kinds : sequence of str, default=None
        Kinds of junk; None means all.
    junk_as_classes : bool, default=False
        One label per kind instead of one "not a particle" label.

    Returns
    -------
    target_names : list of str
        ``target_names[k]`` describes label ``k``: a built-in class as
        :func:`describe_template` (as in :func:`fetch_simulated`), a bundled structure
        by its key and name, a file by its name; then
        ``"not a particle (gold, membrane, ...)"`` or one ``"not a particle: <kind>"``
        per kind.

    Examples
    --------
    >>> from skcryoal.datasets import describe_classes
    >>> describe_classes(2, junk=0.5, junk_kinds=["gold", "empty"])
    ['compact globule (C1)', 'C7 ring of 7 subunits', 'not a particle (gold, empty)']
    >>> describe_classes(templates=["4V1W"], junk=0.5, junk_kinds=["gold"],
    ...                  junk_as_classes=True)[1]
    'not a particle: gold fiducial: a dense sphere 5 to 15 nm across'
    """
    if templates is None:
        n = 50 if n_classes is None else check_int(n_classes, "n_classes", minimum=2)
        templates = range(n)
    names = [_template_name(t) for t in templates]
    if check_junk(junk) == 0:
        return names
    kinds = check_junk_kinds(junk_kinds)
    if junk_as_classes:
        return names + [f"{NOT_A_PARTICLE}: {_DESCRIPTIONS[k]}" for k in kinds]
    return names + [f"{NOT_A_PARTICLE} ({', '.join(kinds)})"]
