import math

import numpy as np
import pytest
from scipy import stats

from skcryoal.benchmark import (
    bonferroni_adjust,
    bootstrap_interval,
    holm_adjust,
    sign_flip_test,
    trials_needed_holm,
    wilcoxon_test,
)

ALTERNATIVES = ["two-sided", "greater", "less"]


def _mean(x, axis):
    return np.mean(x, axis=axis)


def _scipy_sign_flip(d, alternative):
    return stats.permutation_test(
        (np.asarray(d, dtype=float),),
        _mean,
        permutation_type="samples",
        alternative=alternative,
        n_resamples=np.inf,
        vectorized=True,
    ).pvalue


# --- holm_adjust / bonferroni_adjust -------------------------------------------------------


def test_holm_hand_cases():
    np.testing.assert_allclose(holm_adjust([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    # the step-down maximum carries a larger earlier value forward; capped at 1
    np.testing.assert_allclose(holm_adjust([0.04, 0.001, 0.02, 0.9]), [0.08, 0.004, 0.06, 0.9])
    np.testing.assert_allclose(holm_adjust([0.5, 0.6]), [1.0, 1.0])
    np.testing.assert_allclose(holm_adjust([0.03]), [0.03])


def test_holm_ties_keep_input_order():
    np.testing.assert_allclose(holm_adjust([0.02, 0.01, 0.02]), [0.04, 0.03, 0.04])


def test_holm_nan_stays_nan_and_leaves_the_family():
    adjusted = holm_adjust([0.01, math.nan, 0.04, 0.03, math.nan, 0.005])
    assert np.isnan(adjusted[[1, 4]]).all()
    np.testing.assert_allclose(adjusted[[0, 2, 3, 5]], [0.03, 0.06, 0.06, 0.02])
    assert np.isnan(holm_adjust([math.nan, math.nan])).all()
    assert holm_adjust([]).shape == (0,)


def test_holm_properties():
    rng = np.random.default_rng(0)
    for m in (1, 2, 5, 20):
        p = rng.uniform(size=m) ** 3
        adjusted = holm_adjust(p)
        order = np.argsort(p)
        assert np.all(np.diff(adjusted[order]) >= 0)
        assert np.all(adjusted >= p)
        assert np.all(adjusted <= 1)
        assert np.all(adjusted <= bonferroni_adjust(p) + 1e-15)  # Holm rejects more
        np.testing.assert_allclose(adjusted[order[0]], min(1.0, m * p.min()))


def test_bonferroni_hand_cases():
    np.testing.assert_allclose(
        bonferroni_adjust([0.01, 0.04, 0.03, 0.005]), [0.04, 0.16, 0.12, 0.02]
    )
    np.testing.assert_allclose(bonferroni_adjust([0.3, 0.6]), [0.6, 1.0])
    adjusted = bonferroni_adjust([0.01, math.nan, 0.02])
    assert np.isnan(adjusted[1])
    np.testing.assert_allclose(adjusted[[0, 2]], [0.02, 0.04])


@pytest.mark.parametrize("adjust", [holm_adjust, bonferroni_adjust])
@pytest.mark.parametrize(
    "p_values, match",
    [
        ([0.1, 1.5], r"\[0, 1\].*got 1.5 at position 1"),
        ([-0.1], r"got -0.1 at position 0"),
        ([0.1, math.inf], r"got inf"),
        ([[0.1, 0.2]], r"1-D.*got shape \(1, 2\)"),
        (["a"], r"array of numbers"),
    ],
)
def test_adjust_rejects_bad_p_values(adjust, p_values, match):
    with pytest.raises(ValueError, match=match):
        adjust(p_values)


# --- sign_flip_test ------------------------------------------------------------------------


def test_sign_flip_all_positive_hand_case():
    d = [0.02, 0.01, 0.03, 0.015, 0.005]
    two = sign_flip_test(d)
    assert two.p_value == 2 / 32 == 0.0625
    assert two.min_p_value == 0.0625
    assert (two.n, two.n_patterns) == (5, 32)
    assert two.statistic == pytest.approx(0.016)
    assert sign_flip_test(d, alternative="greater").p_value == 1 / 32
    assert sign_flip_test(d, alternative="greater").min_p_value == 1 / 32
    assert sign_flip_test(d, alternative="less").p_value == 1.0


def test_sign_flip_small_hand_case():
    # signed sums of (1, 2, 3): 6, 4, 2, 0, 0, -2, -4, -6; observed 1 - 2 + 3 = 2
    d = [1.0, -2.0, 3.0]
    assert sign_flip_test(d).p_value == 6 / 8
    assert sign_flip_test(d, alternative="greater").p_value == 3 / 8
    assert sign_flip_test(d, alternative="less").p_value == 6 / 8


def test_sign_flip_float_ties_are_ties():
    # 0.1 + 0.2 and 0.3 differ in floating point; the patterns must still tie
    # (the observed sum is 5.6e-17, and the signed sums -0.1 - 0.2 + 0.3 are 0 up to rounding)
    d = [0.1, 0.2, -0.3]
    assert sign_flip_test(d).p_value == 1.0
    # signed sums 0.6, 0.4, 0.2, 0, 0 are at least the observed 0: 5 of 8
    assert sign_flip_test(d, alternative="greater").p_value == 5 / 8
    assert sign_flip_test(d, alternative="less").p_value == 5 / 8


def test_sign_flip_zeros_are_ties():
    with_zeros = sign_flip_test([0.02, 0.0, 0.01, 0.03, 0.0])
    without = sign_flip_test([0.02, 0.01, 0.03])
    assert with_zeros.p_value == without.p_value == 2 / 8
    assert with_zeros.n == 5 and with_zeros.n_patterns == 8
    assert with_zeros.min_p_value == 2 / 8
    assert with_zeros.statistic == pytest.approx(0.012)
    all_zero = sign_flip_test([0.0, 0.0])
    assert (all_zero.p_value, all_zero.min_p_value, all_zero.statistic) == (1.0, 1.0, 0.0)


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize(
    "d",
    [
        [0.02, 0.01, 0.03, 0.015, 0.005],
        [0.03, -0.01, 0.02, 0.0, 0.025, -0.005, 0.01],
        [1.0, 1.0, -1.0, 2.0, 0.0, -2.0, 3.0, 1.0],  # ties in magnitude and a zero
        np.random.default_rng(1).normal(0.01, 0.02, size=12),
        np.random.default_rng(2).normal(0.0, 1.0, size=10),
    ],
)
def test_sign_flip_matches_scipy_permutation_test(d, alternative):
    result = sign_flip_test(d, alternative=alternative)
    assert result.p_value == pytest.approx(_scipy_sign_flip(d, alternative), rel=1e-12)
    assert result.statistic == pytest.approx(np.mean(d))


def test_sign_flip_monte_carlo():
    d = np.random.default_rng(3).normal(0.5, 1.0, size=14)
    exact = sign_flip_test(d).p_value
    first = sign_flip_test(d, n_resamples=3000, random_state=0)
    again = sign_flip_test(d, n_resamples=3000, random_state=0)
    assert first == again
    assert first.n_patterns == 3000 and first.min_p_value == 1 / 3001
    assert abs(first.p_value - exact) < 4 * math.sqrt(exact * (1 - exact) / 3000) + 1e-3
    # the + 1 correction: never below 1 / (n_resamples + 1)
    far = sign_flip_test(np.full(30, 1.0), n_resamples=999, random_state=0)
    assert far.p_value == far.min_p_value == 1 / 1000
    # a Generator is accepted and advanced
    rng = np.random.default_rng(0)
    a = sign_flip_test(d, n_resamples=500, random_state=rng)
    b = sign_flip_test(d, n_resamples=500, random_state=rng)
    assert a.n_patterns == b.n_patterns == 500


def test_sign_flip_n_resamples_above_patterns_is_exact():
    d = [0.02, 0.01, 0.03, 0.015, 0.005]
    assert sign_flip_test(d, n_resamples=9999) == sign_flip_test(d)


def test_sign_flip_above_20_needs_n_resamples():
    d = np.linspace(0.01, 0.2, 21)
    with pytest.raises(ValueError, match=r"at most 20.*got 21.*n_resamples"):
        sign_flip_test(d)
    # zeros are not flipped, so they do not count against the limit
    assert sign_flip_test(np.r_[d[:20], np.zeros(5)]).n_patterns == 2**20
    result = sign_flip_test(d, n_resamples=2000, random_state=0)
    assert result.p_value == 1 / 2001


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(differences=[]), r"at least 1 value.*got 0"),
        (dict(differences=[0.1, math.nan]), r"finite; got nan at position 1"),
        (dict(differences=[[0.1, 0.2]]), r"1-D.*got shape \(1, 2\)"),
        (dict(differences=[0.1], alternative="two_sided"), r"alternative.*'two_sided'"),
        (dict(differences=[0.1], n_resamples=0), r"n_resamples.*positive.*got 0"),
        (dict(differences=[0.1] * 25, n_resamples=10, random_state="x"), r"random_state.*'x'"),
    ],
)
def test_sign_flip_validates(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sign_flip_test(**kwargs)


# --- wilcoxon_test -------------------------------------------------------------------------


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize(
    "d",
    [
        [0.02, 0.01, 0.03, 0.015, 0.005],  # exact
        [0.03, -0.01, 0.02, 0.025, -0.005, 0.01, 0.04, -0.02],  # exact
        [1.0, 1.0, -1.0, 2.0, -2.0, 3.0, 1.0],  # ties: exact permutation
        np.random.default_rng(4).normal(0.1, 1.0, size=60),  # normal approximation
    ],
)
def test_wilcoxon_matches_scipy(d, alternative):
    result = wilcoxon_test(d, alternative=alternative)
    expected = stats.wilcoxon(d, alternative=alternative)
    assert result.statistic == expected.statistic
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-12)
    assert result.n_nonzero == len(d)


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_wilcoxon_drops_zeros(alternative):
    d = np.r_[np.random.default_rng(5).normal(0.5, 1.0, size=16), np.zeros(4)]
    result = wilcoxon_test(d, alternative=alternative)
    expected = stats.wilcoxon(d[d != 0], alternative=alternative, method="exact")
    assert result.n_nonzero == 16
    assert result.statistic == expected.statistic
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-12)


def test_wilcoxon_all_positive_hand_case():
    result = wilcoxon_test([0.02, 0.01, 0.0, 0.03, 0.015, 0.005])
    assert (result.statistic, result.p_value, result.n_nonzero) == (0.0, 0.0625, 5)
    assert wilcoxon_test([0.02, 0.01, 0.03], alternative="greater").p_value == 1 / 8


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(differences=[0.0, 0.0, 0.0]), r"non-zero difference; got 3 difference\(s\)"),
        (dict(differences=[]), r"at least 1 value"),
        (dict(differences=[0.1, math.inf]), r"finite; got inf"),
        (dict(differences=[0.1], alternative="bigger"), r"alternative.*'bigger'"),
    ],
)
def test_wilcoxon_validates(kwargs, match):
    with pytest.raises(ValueError, match=match):
        wilcoxon_test(**kwargs)


# --- bootstrap_interval --------------------------------------------------------------------


def test_bootstrap_is_reproducible_and_contains_the_mean():
    x = np.random.default_rng(6).normal(0.02, 0.03, size=12)
    for method in ("BCa", "percentile", "basic", "bca"):
        low, high = bootstrap_interval(x, random_state=0, method=method, n_resamples=2000)
        assert (low, high) == bootstrap_interval(x, random_state=0, method=method, n_resamples=2000)
        assert low < x.mean() < high
    other = bootstrap_interval(x, random_state=1, n_resamples=2000)
    assert other != bootstrap_interval(x, random_state=0, n_resamples=2000)
    narrow = bootstrap_interval(x, confidence=0.5, random_state=0, n_resamples=2000)
    wide = bootstrap_interval(x, confidence=0.99, random_state=0, n_resamples=2000)
    assert wide[0] < narrow[0] < narrow[1] < wide[1]


def test_bootstrap_accepts_generator_and_random_state():
    x = np.random.default_rng(7).normal(size=10)
    a = bootstrap_interval(x, random_state=np.random.default_rng(0), n_resamples=500)
    b = bootstrap_interval(x, random_state=np.random.default_rng(0), n_resamples=500)
    c = bootstrap_interval(x, random_state=np.random.RandomState(0), n_resamples=500)
    d = bootstrap_interval(x, random_state=np.random.RandomState(0), n_resamples=500)
    assert a == b and c == d


def test_bootstrap_roughly_matches_t_interval_on_normal_data():
    x = np.random.default_rng(8).normal(1.0, 2.0, size=30)
    low, high = bootstrap_interval(x, random_state=0)
    half = stats.t.ppf(0.975, 29) * x.std(ddof=1) / math.sqrt(30)
    t_low, t_high = x.mean() - half, x.mean() + half
    assert abs(low - t_low) < 0.2 * half
    assert abs(high - t_high) < 0.2 * half
    assert 0.8 < (high - low) / (t_high - t_low) < 1.1


def test_bootstrap_constant_values():
    assert bootstrap_interval([0.25, 0.25, 0.25]) == (0.25, 0.25)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(values=[0.1]), r"at least 2 value\(s\); got 1"),
        (dict(values=[0.1, math.nan]), r"finite; got nan"),
        (dict(values=np.zeros((2, 3))), r"1-D.*\(2, 3\)"),
        (dict(values=[0.1, 0.2], confidence=1.0), r"confidence.*\(0, 1\).*got 1.0"),
        (dict(values=[0.1, 0.2], confidence=95), r"confidence.*got 95"),
        (dict(values=[0.1, 0.2], n_resamples=0), r"n_resamples.*got 0"),
        (dict(values=[0.1, 0.2], method="studentized"), r"method.*'BCa'.*got 'studentized'"),
        (dict(values=[0.1, 0.2], random_state=1.5), r"random_state.*got 1.5"),
    ],
)
def test_bootstrap_validates(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bootstrap_interval(**kwargs)


# --- trials_needed_holm --------------------------------------------------------------------


def _power(n, d, level):
    crit = stats.t.ppf(1 - level / 2, n - 1)
    nc = d * math.sqrt(n)
    return stats.nct.sf(crit, n - 1, nc) + stats.nct.cdf(-crit, n - 1, nc)


def test_trials_needed_single_comparison():
    # G*Power, one-sample t, d = 0.5, two-tailed, alpha 0.05, power 0.8: n = 34
    assert trials_needed_holm(0.5, 1.0, 1) == 34
    assert _power(33, 0.5, 0.05) < 0.8 <= _power(34, 0.5, 0.05)
    # only effect / sd matters, and not its sign
    assert trials_needed_holm(-0.02, 0.04, 1) == 34
    # a huge effect needs the fewest trials the t-test allows (t with 1 df has heavy tails)
    assert trials_needed_holm(100.0, 1.0, 1) == 2
    assert trials_needed_holm(10.0, 1.0, 1) == 3


@pytest.mark.parametrize("d, power", [(1.0, 0.8), (0.3, 0.9), (0.05, 0.8)])
def test_trials_needed_is_the_smallest(d, power):
    n = trials_needed_holm(d, 1.0, 4, power=power)
    assert _power(n - 1, d, 0.05 / 4) < power <= _power(n, d, 0.05 / 4)


def test_more_comparisons_need_more_trials():
    needed = [trials_needed_holm(0.5, 1.0, m) for m in (1, 2, 3, 6, 10, 45)]
    assert needed == sorted(needed) and len(set(needed)) == len(needed)
    # the worst case of Holm is Bonferroni: m comparisons at alpha is one at alpha / m
    assert trials_needed_holm(0.5, 1.0, 6) == trials_needed_holm(0.5, 1.0, 1, alpha=0.05 / 6)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(effect=0.0, sd=1.0, n_comparisons=1), r"effect must be non-zero"),
        (dict(effect=math.nan, sd=1.0, n_comparisons=1), r"effect must be a finite.*nan"),
        (dict(effect=0.1, sd=0.0, n_comparisons=1), r"sd must be > 0.*got 0.0"),
        (dict(effect=0.1, sd=1.0, n_comparisons=0), r"n_comparisons.*got 0"),
        (dict(effect=0.1, sd=1.0, n_comparisons=2.0), r"n_comparisons.*got 2.0"),
        (dict(effect=0.1, sd=1.0, n_comparisons=1, alpha=1.5), r"alpha.*\(0, 1\).*1.5"),
        (dict(effect=0.1, sd=1.0, n_comparisons=1, power=1.0), r"power.*\(0, 1\).*1.0"),
        (dict(effect=1e-6, sd=1.0, n_comparisons=1), r"more than 10000000 trials"),
    ],
)
def test_trials_needed_validates(kwargs, match):
    with pytest.raises(ValueError, match=match):
        trials_needed_holm(**kwargs)
