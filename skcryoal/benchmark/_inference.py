"""Tests, intervals and planning for paired comparisons of strategies over trials.

The differences ``a - b`` of two strategies, one per paired trial (see
:mod:`skcryoal.benchmark._stats`), are tested with an exact sign-flip
(paired permutation) test of their mean, :func:`sign_flip_test`, or with
the Wilcoxon signed-rank test, :func:`wilcoxon_test`; the mean difference
gets a bootstrap interval with :func:`bootstrap_interval`. A campaign
compares several pairs of strategies at once, so the p-values of the family
are corrected with :func:`holm_adjust` (Holm, 1979) or the cruder
:func:`bonferroni_adjust`, and :func:`trials_needed_holm` says how many
paired trials a planned effect needs under that correction.

With the handful of trials a campaign affords, a permutation test can only
reach so small a p-value: ``2 / 2**n`` two-sided with ``n`` trials, 0.0625
with 5. :func:`sign_flip_test` reports that floor, so that a family too
large for the trials (e.g. six comparisons at ``alpha=0.05`` with five
trials) is seen to be unable to reject anything before it is run.

References
----------
Holm, S. (1979). A simple sequentially rejective multiple test procedure.
Scandinavian Journal of Statistics, 6(2), 65-70.

Phipson, B. & Smyth, G. K. (2010). Permutation p-values should never be
zero. Statistical Applications in Genetics and Molecular Biology, 9(1).
"""

import math
import numbers
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

_ALTERNATIVES = ("two-sided", "greater", "less")
_BOOTSTRAP_METHODS = ("percentile", "basic", "BCa")
_MAX_EXACT = 20  # 2**20 sign patterns: about a million sums, a few milliseconds
_MAX_TRIALS = 10_000_000
_RTOL = 1e-12  # sums of sign patterns that differ less than this (relative) are ties
_CHUNK = 65_536  # Monte Carlo sign patterns drawn at a time, to bound memory


@dataclass(frozen=True)
class SignFlipResult:
    """The result of :func:`sign_flip_test`.

    Parameters
    ----------
    statistic : float
        The mean of the differences (zeros included).
    p_value : float
        The permutation p-value.
    n : int
        The number of differences, zeros included.
    n_patterns : int
        The sign patterns enumerated (``2**n_nonzero``) or drawn at random
        (``n_resamples``).
    min_p_value : float
        The smallest p-value the test can give with this many non-zero
        differences: ``2 / 2**n_nonzero`` two-sided and ``1 / 2**n_nonzero``
        one-sided for the exact test, ``1 / (n_resamples + 1)`` for the Monte
        Carlo one. A family of comparisons corrected to levels below it can
        reject nothing.
    """

    statistic: float
    p_value: float
    n: int
    n_patterns: int
    min_p_value: float


@dataclass(frozen=True)
class WilcoxonResult:
    """The result of :func:`wilcoxon_test`.

    Parameters
    ----------
    statistic : float
        The signed-rank statistic of :func:`scipy.stats.wilcoxon`: the smaller
        of the positive and negative rank sums when two-sided, the positive
        rank sum when one-sided.
    p_value : float
    n_nonzero : int
        The non-zero differences the test used (zeros are dropped).
    """

    statistic: float
    p_value: float
    n_nonzero: int


def holm_adjust(p_values: ArrayLike) -> np.ndarray:
    """Return Holm's step-down adjusted p-values, in the order given.

    With the ``m`` p-values sorted ascending, ``p_(1) <= ... <= p_(m)``, the
    adjusted value of ``p_(i)`` is ``max_{j <= i} min(1, (m - j + 1) p_(j))``
    (Holm, 1979): comparison ``i`` is rejected at family-wise level ``alpha``
    when its adjusted p-value is at most ``alpha``. Holm controls the
    family-wise error rate as Bonferroni does, under any dependence between
    the comparisons, and rejects at least what Bonferroni rejects.

    Parameters
    ----------
    p_values : array-like of float, 1-D
        One p-value per comparison of the family, each in [0, 1]. NaN values
        (comparisons that could not be tested) stay NaN and do not count in
        the family size ``m``.

    Returns
    -------
    adjusted : ndarray of shape (n_comparisons,)
        In the order of ``p_values``; each at least its p-value and at most 1,
        and non-decreasing in the order of the p-values.

    See Also
    --------
    bonferroni_adjust : The single-step correction ``min(1, m p)``.

    Examples
    --------
    >>> from skcryoal.benchmark import holm_adjust
    >>> holm_adjust([0.01, 0.04, 0.03, 0.005])
    array([0.03, 0.06, 0.06, 0.02])
    >>> holm_adjust([0.02, float("nan"), 0.04]).tolist()  # NaN: not tested, not counted
    [0.04, nan, 0.04]
    """
    p = _check_p_values(p_values)
    adjusted = np.full_like(p, np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    m = len(tested)
    if m == 0:
        return adjusted
    order = tested[np.argsort(p[tested], kind="stable")]
    steps = (m - np.arange(m)) * p[order]
    adjusted[order] = np.minimum(np.maximum.accumulate(steps), 1.0)
    return adjusted


def bonferroni_adjust(p_values: ArrayLike) -> np.ndarray:
    """Return Bonferroni-adjusted p-values, ``min(1, m p)``, in the order given.

    Parameters
    ----------
    p_values : array-like of float, 1-D
        One p-value per comparison of the family, each in [0, 1]. NaN values
        stay NaN and do not count in the family size ``m``.

    Returns
    -------
    adjusted : ndarray of shape (n_comparisons,)
        In the order of ``p_values``.

    See Also
    --------
    holm_adjust : Uniformly more powerful, with the same guarantee.

    Examples
    --------
    >>> from skcryoal.benchmark import bonferroni_adjust
    >>> bonferroni_adjust([0.01, 0.04, 0.03, 0.005])
    array([0.04, 0.16, 0.12, 0.02])
    """
    p = _check_p_values(p_values)
    m = int(np.count_nonzero(~np.isnan(p)))
    return np.minimum(p * m, 1.0)


def sign_flip_test(
    differences: ArrayLike,
    alternative: str = "two-sided",
    n_resamples: int | None = None,
    random_state=None,
) -> SignFlipResult:
    """Test whether paired differences have mean zero by flipping their signs.

    Under the null hypothesis that the difference of each paired trial is as
    likely to be ``-d`` as ``d`` (strategy labels exchangeable within a
    trial), every pattern of signs is equally likely. The p-value is the
    fraction of the ``2**n`` sign patterns whose mean difference is at least
    as extreme as the observed one: ``|mean| >= |observed|`` two-sided,
    ``mean >= observed`` for ``"greater"``, ``mean <= observed`` for
    ``"less"``. Means closer than ``1e-12 * sum(|d|) / n`` count as equal, so
    that float rounding does not break ties. Zero differences count as ties:
    they add 0 whatever their sign, so only the non-zero ones are flipped
    (the p-value is that over all ``2**n`` patterns).

    Parameters
    ----------
    differences : array-like of float, 1-D
        One difference ``a - b`` per paired trial, all finite.
    alternative : {"two-sided", "greater", "less"}, default="two-sided"
        ``"greater"`` tests whether the mean difference is above 0.
    n_resamples : int or None, default=None
        ``None``: enumerate all patterns, for at most 20 non-zero differences
        (a ValueError above). An int: draw that many random sign patterns
        instead, when there are more patterns than that, and return the
        Monte Carlo p-value ``(k + 1) / (n_resamples + 1)``, ``k`` being the
        draws at least as extreme; the ``+ 1`` counts the observed pattern
        among the draws, which keeps the test valid (its p-value is never 0;
        Phipson & Smyth, 2010). With no more patterns than ``n_resamples``
        the test is exact, as with ``None``.
    random_state : int, numpy.random.Generator, numpy.random.RandomState or None, default=None
        Seeds the Monte Carlo draws; unused by the exact test.

    Returns
    -------
    result : SignFlipResult
        ``statistic`` (the mean difference), ``p_value``, ``n``,
        ``n_patterns`` and ``min_p_value`` (the floor the test can reach).

    See Also
    --------
    scipy.stats.permutation_test : The same test, exact, with
        ``permutation_type="samples"`` on one sample.
    wilcoxon_test : A rank test of the same pairs.

    Examples
    --------
    >>> from skcryoal.benchmark import sign_flip_test
    >>> result = sign_flip_test([0.02, 0.01, 0.03, 0.015, 0.005])
    >>> result.p_value, result.n_patterns, result.min_p_value
    (0.0625, 32, 0.0625)
    >>> sign_flip_test([0.02, 0.01, 0.03, 0.015, 0.005], alternative="greater").p_value
    0.03125
    """
    d = _check_sample(differences, "differences", min_size=1)
    _check_alternative(alternative)
    if n_resamples is not None:
        _check_positive_int(n_resamples, "n_resamples")
    nonzero = d[d != 0]
    m = len(nonzero)
    observed = float(nonzero.sum())
    tol = _RTOL * float(np.abs(nonzero).sum())
    if n_resamples is None or 2**m <= n_resamples:
        if n_resamples is None and m > _MAX_EXACT:
            raise ValueError(
                f"sign_flip_test enumerates all 2**n sign patterns of the non-zero "
                f"differences, for at most {_MAX_EXACT} of them; got {m} (2**{m} patterns). "
                "Pass n_resamples (e.g. n_resamples=99_999, with random_state) for a Monte "
                "Carlo p-value."
            )
        sums = np.zeros(1)
        for value in nonzero:  # all 2**m signed sums, by doubling
            sums = np.concatenate([sums + value, sums - value])
        n_patterns = 2**m
        p_value = _count_extreme(sums, observed, tol, alternative) / n_patterns
        min_p_value = min(1.0, (2.0 if alternative == "two-sided" else 1.0) / n_patterns)
    else:
        rng = _check_generator(random_state)
        count = 0
        for start in range(0, n_resamples, _CHUNK):
            size = min(_CHUNK, n_resamples - start)
            signs = rng.integers(0, 2, size=(size, m), dtype=np.int8) * 2 - 1
            count += _count_extreme(signs @ nonzero, observed, tol, alternative)
        n_patterns = n_resamples
        p_value = (count + 1) / (n_resamples + 1)
        min_p_value = 1 / (n_resamples + 1)
    return SignFlipResult(
        statistic=observed / len(d),
        p_value=float(min(p_value, 1.0)),
        n=len(d),
        n_patterns=int(n_patterns),
        min_p_value=float(min_p_value),
    )


def wilcoxon_test(differences: ArrayLike, alternative: str = "two-sided") -> WilcoxonResult:
    """Test paired differences with the Wilcoxon signed-rank test.

    A thin wrapper over :func:`scipy.stats.wilcoxon` that drops the zero
    differences first (Wilcoxon's own treatment, ``zero_method="wilcox"``)
    and tests the rest with scipy's ``method="auto"``. Zeros are dropped
    rather than split between the signs (``"zsplit"``) because, as in
    :func:`sign_flip_test`, a tied trial carries no evidence for either
    strategy, and because the remaining ranks are then integers, so that the
    exact null distribution applies: scipy uses it when there are at most 50
    non-zero differences and no ties among their magnitudes, an exact
    permutation test when there are ties and at most 13 differences, and the
    normal approximation otherwise. (Called on the raw differences, scipy
    would fall back to the normal approximation whenever there are zeros and
    more than 13 differences.)

    Parameters
    ----------
    differences : array-like of float, 1-D
        One difference ``a - b`` per paired trial, all finite; at least one
        must be non-zero.
    alternative : {"two-sided", "greater", "less"}, default="two-sided"
        ``"greater"``: the differences tend to be above 0.

    Returns
    -------
    result : WilcoxonResult
        ``statistic``, ``p_value`` and ``n_nonzero``.

    See Also
    --------
    sign_flip_test : The permutation test of the mean difference.

    Examples
    --------
    >>> from skcryoal.benchmark import wilcoxon_test
    >>> result = wilcoxon_test([0.02, 0.01, 0.03, 0.0, 0.015, 0.005])
    >>> result.statistic, result.p_value, result.n_nonzero
    (0.0, 0.0625, 5)
    """
    d = _check_sample(differences, "differences", min_size=1)
    _check_alternative(alternative)
    nonzero = d[d != 0]
    if len(nonzero) == 0:
        raise ValueError(
            f"wilcoxon_test needs at least one non-zero difference; got {len(d)} difference(s), "
            "all zero. The strategies tie on every trial: there is nothing to test."
        )
    result = stats.wilcoxon(nonzero, zero_method="wilcox", alternative=alternative, method="auto")
    return WilcoxonResult(
        statistic=float(result.statistic), p_value=float(result.pvalue), n_nonzero=len(nonzero)
    )


def bootstrap_interval(
    values: ArrayLike,
    confidence: float = 0.95,
    n_resamples: int = 9999,
    method: str = "BCa",
    random_state=None,
) -> tuple[float, float]:
    """Return a bootstrap confidence interval of the mean of values.

    A wrapper over :func:`scipy.stats.bootstrap` for the mean of one sample,
    e.g. the paired differences of two strategies over trials. Unlike the
    Student-t interval of :func:`mean_interval` it does not assume the mean
    to be normally distributed; with few trials it is however too narrow
    (the bootstrap cannot see more spread than the sample has), so the t
    interval is the safer choice with a handful of trials.

    Parameters
    ----------
    values : array-like of float, 1-D
        At least two finite values.
    confidence : float, default=0.95
        The coverage of the interval, in (0, 1).
    n_resamples : int, default=9999
        The bootstrap resamples.
    method : {"BCa", "percentile", "basic"}, default="BCa"
        The interval of :func:`scipy.stats.bootstrap`: bias-corrected and
        accelerated, percentile, or basic (reverse percentile).
    random_state : int, numpy.random.Generator, numpy.random.RandomState or None, default=None
        Seeds the resampling; pass an int for a reproducible interval.

    Returns
    -------
    low, high : float
        The interval. Values that are all equal give ``low == high == mean``.

    Examples
    --------
    >>> from skcryoal.benchmark import bootstrap_interval
    >>> low, high = bootstrap_interval([0.02, 0.01, 0.03, 0.015, 0.005, 0.025], random_state=0)
    >>> bool(low < 0.0175 < high)
    True
    >>> bootstrap_interval([0.01, 0.01, 0.01])
    (0.01, 0.01)
    """
    x = _check_sample(values, "values", min_size=2)
    _check_confidence(confidence)
    _check_positive_int(n_resamples, "n_resamples")
    methods = {m.lower(): m for m in _BOOTSTRAP_METHODS}
    if not isinstance(method, str) or method.lower() not in methods:
        raise ValueError(
            f"method must be one of {', '.join(map(repr, _BOOTSTRAP_METHODS))}; got {method!r}."
        )
    rng = _check_generator(random_state)
    if np.all(x == x[0]):  # no spread: scipy would warn and return NaN
        mean = float(x[0])
        return mean, mean
    result = stats.bootstrap(
        (x,),
        np.mean,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method=methods[method.lower()],
        vectorized=True,
        rng=rng,
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def trials_needed_holm(
    effect: float, sd: float, n_comparisons: int, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Return the paired trials needed to detect an effect under Holm's correction.

    The number of trials ``n`` is the smallest for which a two-sided paired
    t-test at level ``alpha / n_comparisons`` rejects with probability at
    least ``power`` when the differences have mean ``effect`` and standard
    deviation ``sd``. The power is that of the noncentral t distribution
    with ``n - 1`` degrees of freedom and noncentrality
    ``effect / sd * sqrt(n)``. The level is Holm's worst case: Holm's first
    step tests the smallest p-value of the family at ``alpha / m``, the
    Bonferroni level, and the comparison of interest may be that one
    (Holm, 1979); with other comparisons rejected first it is tested at a
    larger level, so ``n`` trials suffice whatever the others do.

    Parameters
    ----------
    effect : float
        The true mean difference to detect, non-zero (its sign does not
        matter); in the units of the metric, e.g. 0.02 accuracy.
    sd : float
        The standard deviation of the paired difference over trials, > 0.
    n_comparisons : int
        The size ``m`` of the family corrected by :func:`holm_adjust`, >= 1.
    alpha : float, default=0.05
        The family-wise error rate, in (0, 1).
    power : float, default=0.8
        The probability of rejecting, in (0, 1).

    Returns
    -------
    n_trials : int
        At least 2. The power grows with ``n``, so the smallest ``n`` is
        found by doubling from 2 and bisecting.

    Examples
    --------
    >>> from skcryoal.benchmark import trials_needed_holm
    >>> trials_needed_holm(effect=0.5, sd=1.0, n_comparisons=1)
    34
    >>> trials_needed_holm(effect=0.5, sd=1.0, n_comparisons=6)
    52
    """
    for name, value in (("effect", effect), ("sd", sd)):
        if not _is_real(value) or not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number; got {value!r}.")
    if effect == 0:
        raise ValueError(
            "effect must be non-zero: no number of trials detects a zero difference; got 0."
        )
    if sd <= 0:
        raise ValueError(f"sd must be > 0 (the spread of the paired differences); got {sd!r}.")
    _check_positive_int(n_comparisons, "n_comparisons")
    for name, value in (("alpha", alpha), ("power", power)):
        if not _is_real(value) or not 0.0 < value < 1.0:
            raise ValueError(f"{name} must lie in (0, 1), e.g. 0.05 or 0.8; got {value!r}.")
    level = alpha / n_comparisons
    d = abs(effect) / sd

    def enough(n):
        return _paired_t_power(n, d, level) >= power

    if enough(2):
        return 2
    low, high = 2, 4  # enough(low) is False
    while not enough(high):
        if high >= _MAX_TRIALS:
            raise ValueError(
                f"more than {_MAX_TRIALS} trials are needed for effect={effect!r} with "
                f"sd={sd!r}; the effect is too small against the spread to plan for."
            )
        low, high = high, min(2 * high, _MAX_TRIALS)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if enough(mid) else (mid, high)
    return high


def _paired_t_power(n, d, level):
    """Power of the two-sided one-sample t-test with n values and standardized effect d."""
    df = n - 1
    nc = d * math.sqrt(n)
    crit = stats.t.ppf(1 - level / 2, df)
    return float(stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc))


def _count_extreme(sums, observed, tol, alternative):
    if alternative == "greater":
        return int(np.count_nonzero(sums >= observed - tol))
    if alternative == "less":
        return int(np.count_nonzero(sums <= observed + tol))
    return int(np.count_nonzero(np.abs(sums) >= abs(observed) - tol))


def _check_sample(values, name, min_size):
    try:
        x = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be an array of numbers; got {values!r}.") from error
    if x.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D, one value per paired trial; got shape {x.shape}. "
            "Pass e.g. the differences of one budget, or np.ravel them."
        )
    if len(x) < min_size:
        raise ValueError(f"{name} must hold at least {min_size} value(s); got {len(x)}.")
    if not np.all(np.isfinite(x)):
        bad = np.flatnonzero(~np.isfinite(x))
        raise ValueError(
            f"{name} must be finite; got {x[bad[0]]} at position {bad[0]} "
            f"({len(bad)} non-finite value(s)). Drop the unpaired trials first, "
            f"e.g. {name}[~np.isnan({name})]."
        )
    return x


def _check_p_values(p_values):
    try:
        p = np.asarray(p_values, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"p_values must be an array of numbers; got {p_values!r}.") from error
    if p.ndim != 1:
        raise ValueError(f"p_values must be 1-D, one per comparison; got shape {p.shape}.")
    bad = np.flatnonzero(~np.isnan(p) & ~((p >= 0) & (p <= 1)))
    if len(bad):
        raise ValueError(
            f"p_values must lie in [0, 1] (or be NaN for an untested comparison); got "
            f"{p[bad[0]]} at position {bad[0]}."
        )
    return p


def _check_alternative(alternative):
    if alternative not in _ALTERNATIVES:
        raise ValueError(
            f"alternative must be one of {', '.join(map(repr, _ALTERNATIVES))}; "
            f"got {alternative!r}."
        )


def _check_confidence(confidence):
    if not _is_real(confidence) or not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), e.g. 0.95; got {confidence!r}.")


def _check_positive_int(value, name):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_generator(random_state):
    """A numpy Generator from ``random_state``, never the global numpy state."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        # draw a seed from it, so that the RandomState advances as with other draws
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max, size=4))
    if random_state is None or (
        isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)
    ):
        return np.random.default_rng(random_state)
    raise ValueError(
        "random_state must be None, an int, a numpy.random.Generator or a "
        f"numpy.random.RandomState; got {random_state!r}."
    )
