"""The primary endpoint, its family, and nominal against Holm-adjusted verdicts."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from skcryoal.benchmark import (
    CEILING,
    PRIMARY_ENDPOINTS,
    comparison_family,
    declare_primary_endpoint,
    holm_adjust,
    learning_curve_auc,
    paired_comparisons,
    paired_difference,
    sign_flip_test,
    summary_markdown,
    win_tie_loss,
    win_tie_loss_matrix,
)

BUDGETS = (100, 200, 300, 400)


def campaign(gains, n_trials=5, noise=0.01, seed=0, first_gain=None):
    """Results of a campaign: every strategy shares the first budget's model.

    ``gains`` maps a strategy to its true gain over ``random`` after the first
    budget; ``first_gain`` to a gain at the first budget (a strategy that
    trains differently there, like a regularized model).
    """
    rng = np.random.default_rng(seed)
    first_gain = first_gain or {}
    rows = []
    for trial in range(n_trials):
        shared = rng.normal(0, 0.03)  # the trial's own luck: cancels when paired
        start = 0.6 + rng.normal(0, 0.02)
        for strategy, gain in gains.items():
            for cycle, n in enumerate(BUDGETS):
                if cycle == 0:
                    acc = start + first_gain.get(strategy, 0.0)
                else:
                    acc = 0.6 + 0.1 * cycle + shared + gain + rng.normal(0, noise)
                rows.append(
                    dict(strategy=strategy, trial=trial, n_labeled=n, fraction=n / 1000,
                         cycle=cycle, accuracy=acc, macro_f1=acc - 0.01, train_seconds=1.0,
                         query_seconds=0.1, queried="1" if cycle else "")
                )  # fmt: skip
    return pd.DataFrame(rows)


def test_area_after_the_first_budget_by_hand():
    df = pd.DataFrame(dict(strategy="a", trial=0, n_labeled=[10, 20, 40], accuracy=[0.5, 0.7, 0.8]))
    assert learning_curve_auc(df)["auc"].iloc[0] == pytest.approx((10 * 0.6 + 20 * 0.75) / 30)
    after = learning_curve_auc(df, after_first=True)
    assert after["auc"].iloc[0] == pytest.approx(0.75)
    assert after[["n_budgets", "n_labeled_min", "n_labeled_max"]].values.tolist() == [[2, 20, 40]]
    # a single budget after the first: its value; none: no area
    assert learning_curve_auc(df[df.n_labeled < 40], after_first=True)["auc"].tolist() == [0.7]
    assert learning_curve_auc(df[df.n_labeled == 10], after_first=True).empty


def test_a_first_budget_gain_counts_in_the_whole_area_only():
    # "reg" is ahead by 5 points at the shared first budget and level afterwards
    results = campaign({"random": 0.0, "reg": 0.0}, first_gain={"reg": 0.05}, noise=0.002)
    whole = paired_difference(results, "reg", "random", by="auc").iloc[0]
    after = paired_difference(results, "reg", "random", by="auc_after_first").iloc[0]
    # trapezoid over 100..400: the first budget's 5 points weigh 50 of 300
    assert whole["mean"] > 0.005 and whole["excludes_zero"]
    assert abs(after["mean"]) < 0.003 and not after["excludes_zero"]


def test_paired_difference_p_values_match_scipy_and_the_sign_flip_test():
    results = campaign({"random": 0.0, "a": 0.01}, noise=0.01)
    diff = paired_difference(results, "a", "random").set_index("n_labeled")
    a = results.query("strategy == 'a' and n_labeled == 300")["accuracy"].to_numpy()
    b = results.query("strategy == 'random' and n_labeled == 300")["accuracy"].to_numpy()
    assert diff.at[300, "p_value"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert diff.at[300, "p_sign_flip"] == sign_flip_test(a - b).p_value
    assert diff.at[300, "excludes_zero"] == (diff.at[300, "p_value"] < 0.05)
    # the shared first budget: every difference 0, nothing to test
    assert math.isnan(diff.at[100, "p_value"]) and math.isnan(diff.at[100, "p_sign_flip"])
    # one trial: no test
    one = paired_difference(results[results.trial == 0], "a", "random")
    assert one["p_value"].isna().all() and one["p_sign_flip"].isna().all()


def test_holm_over_the_family_and_the_verdicts():
    # 5 trials: a large gain, a modest one, none
    results = campaign({"random": 0.0, "big": 0.03, "small": 0.012, "none": 0.0}, noise=0.008)
    table = paired_comparisons(results)
    assert table[["a", "b"]].values.tolist() == [
        ["big", "random"],
        ["small", "random"],
        ["none", "random"],
    ]
    assert (table["family_size"] == 3).all()
    expected = [
        paired_difference(results, a, "random", by="auc_after_first").iloc[0]["p_value"]
        for a in ("big", "small", "none")
    ]
    assert table["p_value"].tolist() == pytest.approx(expected)
    assert table["p_holm"].tolist() == pytest.approx(holm_adjust(expected).tolist())
    assert table.set_index("a").at["big", "verdict"] == "established"
    assert table.set_index("a").at["big", "holm"] == "ahead"
    # five trials: the sign-flip test cannot go below 0.0625, so it never confirms
    assert (table["min_p_sign_flip"] == 0.0625).all()
    assert (table["p_sign_flip"] >= 0.0625).all() and not table["sign_flip_confirms"].any()
    # nominal vs Holm: a comparison significant alone but not in the family is suggestive
    p = np.array([0.01, 0.04, 0.5])
    from skcryoal.benchmark._endpoints import _verdict

    assert [_verdict(x, q, 0.05) for x, q in zip(p, holm_adjust(p))] == [
        "established",
        "suggestive",
        "not established",
    ]


def test_enough_trials_let_the_sign_flip_test_confirm():
    results = campaign({"random": 0.0, "big": 0.03}, n_trials=8, noise=0.005)
    row = paired_comparisons(results).iloc[0]
    assert row["min_p_sign_flip"] == pytest.approx(2 / 2**8)
    assert row["verdict"] == "established" and row["sign_flip_confirms"]


def test_comparison_family_and_declaration():
    assert comparison_family(["random", "ema", CEILING, "badge"]) == [
        ("ema", "random"),
        ("badge", "random"),
    ]
    assert comparison_family(["a", "b", "c"]) == [("a", "b"), ("a", "c"), ("b", "c")]
    d = declare_primary_endpoint(["random", "ema", "badge"], metric="macro_f1", endpoint="auc")
    assert d["endpoint"] == "auc" and d["metric"] == "macro_f1" and d["n_comparisons"] == 2
    assert d["definition"].startswith(PRIMARY_ENDPOINTS["auc"]) and "macro-F1" in d["definition"]
    assert d["correction"] == "holm" and d["alpha"] == 0.05
    assert json.loads(json.dumps(d)) == d  # config.json can hold it
    assert declare_primary_endpoint(["a", "b"])["family"] == "every pair of strategies"
    with pytest.raises(ValueError, match="endpoint must be one of 'auc_after_first', 'auc'"):
        declare_primary_endpoint(["a"], endpoint="final")
    with pytest.raises(ValueError, match="metric must be"):
        declare_primary_endpoint(["a"], metric="f1")
    with pytest.raises(ValueError, match=r"alpha must lie in \(0, 1\)"):
        declare_primary_endpoint(["a"], alpha=5)


def test_paired_comparisons_at_a_budget_and_errors():
    results = campaign({"random": 0.0, "a": 0.02})
    at = paired_comparisons(results, [("a", "random")], endpoint=300).iloc[0]
    cell = paired_difference(results, "a", "random").set_index("n_labeled").loc[300]
    assert at["mean"] == pytest.approx(cell["mean"]) and at["p_value"] == cell["p_value"]
    with pytest.raises(ValueError, match="share no trial at budget 999"):
        paired_comparisons(results, [("a", "random")], endpoint=999)
    with pytest.raises(ValueError, match="endpoint must be one of"):
        paired_comparisons(results, endpoint="last")
    with pytest.raises(ValueError, match="pairs must be"):
        paired_comparisons(results, [("a",)])
    with pytest.raises(ValueError, match=r"by must be 'n_labeled' or 'auc'"):
        paired_difference(results, "a", "random", by="area")


def test_win_tie_loss_after_holm():
    results = campaign({"random": 0.0, "big": 0.03, "small": 0.012}, noise=0.008)
    table = win_tie_loss(results)
    # 3 pairs x 3 budgets after the shared first one (where every difference is 0)
    assert (table["family_size"] == 9).all()
    assert (table["wins_holm"] <= table["wins"]).all()
    assert (table["losses_holm"] <= table["losses"]).all()
    for row in table.itertuples():
        assert row.wins_holm + row.ties_holm + row.losses_holm == row.n_budgets
        mirror = table[(table.strategy == row.opponent) & (table.opponent == row.strategy)].iloc[0]
        assert (mirror.wins_holm, mirror.losses_holm) == (row.losses_holm, row.wins_holm)
    # by hand: Holm over the 9 per-budget p-values of the three pairs
    p = {}
    for a, b in (("random", "big"), ("random", "small"), ("big", "small")):
        cells = paired_difference(results, a, b).set_index("n_labeled")
        for n in BUDGETS[1:]:
            p[a, b, n] = (cells.at[n, "p_value"], cells.at[n, "mean"])
    adjusted = dict(zip(p, holm_adjust([v[0] for v in p.values()])))
    wins = sum(1 for (a, b, n), q in adjusted.items() if (a, b) == ("big", "small") and q <= 0.05
               and p[a, b, n][1] > 0)  # fmt: skip
    assert table.set_index(["strategy", "opponent"]).at[("big", "small"), "wins_holm"] == wins
    matrix = win_tie_loss_matrix(table, adjusted=True)
    row = table.set_index(["strategy", "opponent"]).loc[("big", "random")]
    assert matrix.at["big", "random"] == f"{row.wins_holm}/{row.ties_holm}/{row.losses_holm}"
    with pytest.raises(ValueError, match="lacks the column"):
        win_tie_loss_matrix(table.drop(columns="wins_holm"), adjusted=True)


def test_summary_names_the_family_and_shows_both_verdicts():
    results = campaign({"random": 0.0, "big": 0.03, "none": 0.0}, noise=0.008)
    text = summary_markdown(results)
    assert "## Primary endpoint" in text and "The default primary endpoint" in text
    assert "Family: each strategy against random on the primary endpoint, 2 comparison(s)" in text
    assert "| a - b | difference [95% t] | trials | p (t) | p Holm | p sign-flip |" in text
    assert "| big - random |" in text and "established (t test only)" in text
    assert "| wins/ties/losses, Holm |" in text and "9 comparison(s)" in text
    assert "Holm over 6 cells" in text  # the secondary per-budget cells
    declared = dict(declare_primary_endpoint(["random", "big", "none"]), declared="before the run")
    text = summary_markdown(results, primary=declared)
    assert "Declared in config.json (before the run)" in text
    # the old columns are kept
    assert "| strategy | AUC (accuracy) | trials | AUC after the first budget |" in text
