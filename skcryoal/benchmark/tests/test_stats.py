import math
import re

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from skcryoal.benchmark import (
    CEILING,
    auc_summary,
    learning_curve_auc,
    mean_interval,
    paired_difference,
    plot_auc,
    plot_learning_curves,
    plot_win_tie_loss,
    save_evaluation_plots,
    save_learning_curves,
    summarize_results,
    summary_markdown,
    win_tie_loss,
    win_tie_loss_matrix,
)

matplotlib.use("Agg")

BUDGETS = [10, 20, 30, 40]


def make_results(curves, n_trials=3, trial_effect=(0.0, 0.05, -0.04, 0.02), ceiling=None):
    """A results table: ``curves`` maps a strategy to its accuracy per budget.

    Trial ``t`` moves every strategy by ``trial_effect[t]`` (a paired effect);
    ``curves`` values may also be callables ``(trial) -> accuracies``.
    """
    rows = []
    for trial in range(n_trials):
        for strategy, curve in curves.items():
            values = curve(trial) if callable(curve) else curve
            for cycle, (n, acc) in enumerate(zip(BUDGETS, values)):
                rows.append(
                    dict(
                        dataset="d",
                        strategy=strategy,
                        strategy_name=strategy,
                        trial=trial,
                        trial_seed=100 + trial,
                        cycle=cycle,
                        n_labeled=n,
                        fraction=n / 100,
                        accuracy=acc + trial_effect[trial],
                        macro_f1=acc + trial_effect[trial] - 0.01,
                        train_seconds=1.0,
                        query_seconds=0.1 if cycle else 0.0,
                        n_pool=100,
                        n_test=50,
                        semi_supervised=False,
                        added="",
                        queried="1 2" if cycle else "",
                    )
                )
        if ceiling is not None:
            rows.append(
                {
                    **rows[-1],
                    "strategy": CEILING,
                    "strategy_name": CEILING,
                    "cycle": 0,
                    "n_labeled": 100,
                    "fraction": 1.0,
                    "accuracy": ceiling + trial_effect[trial],
                    "macro_f1": ceiling,
                    "queried": "",
                }
            )
    return pd.DataFrame(rows)


BASE = [0.5, 0.6, 0.7, 0.8]


def shifted(delta):
    return [v + delta for v in BASE]


def test_mean_interval_matches_scipy():
    values = np.array([0.71, 0.74, 0.69, 0.78, 0.75])
    mean, low, high = mean_interval(values, confidence=0.9)
    expected = stats.t.interval(0.9, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    assert mean == pytest.approx(values.mean())
    assert (low, high) == pytest.approx(expected)


def test_mean_interval_edge_cases():
    mean, low, high = mean_interval([0.8])
    assert mean == 0.8 and math.isnan(low) and math.isnan(high)
    assert all(math.isnan(v) for v in mean_interval([]))
    assert mean_interval([0.5, 0.5, 0.5]) == (0.5, 0.5, 0.5)
    assert mean_interval([0.4, np.nan, 0.6])[0] == pytest.approx(0.5)  # NaN left out
    for bad in (0, 1, 1.5, "0.95"):
        with pytest.raises(ValueError, match=r"confidence must lie in \(0, 1\)"):
            mean_interval([0.1, 0.2], confidence=bad)


def test_auc_of_a_linear_curve_is_its_mean():
    results = make_results({"a": [0.2, 0.4, 0.6, 0.8]}, n_trials=1)
    auc = learning_curve_auc(results)
    assert auc["auc"].tolist() == pytest.approx([0.5])
    assert auc[["n_budgets", "n_labeled_min", "n_labeled_max"]].values.tolist() == [[4, 10, 40]]


def test_auc_uses_the_budgets_every_strategy_reached_and_leaves_out_the_ceiling():
    results = make_results({"a": BASE, "b": shifted(0.1)}, n_trials=2, ceiling=0.99)
    # b stopped early in trial 1 (an unfinished run): both are compared over 10..30 there
    results = results[
        ~((results.strategy == "b") & (results.trial == 1) & (results.n_labeled == 40))
    ]
    auc = learning_curve_auc(results)
    assert CEILING not in set(auc["strategy"])
    assert auc[["strategy", "trial"]].values.tolist() == [["a", 0], ["a", 1], ["b", 0], ["b", 1]]
    t1 = auc[auc.trial == 1].set_index("strategy")
    assert t1["n_labeled_max"].tolist() == [30, 30]
    assert t1.at["a", "auc"] == pytest.approx(0.6 + 0.05)  # linear over 10..30, trial effect
    assert t1.at["b", "auc"] - t1.at["a", "auc"] == pytest.approx(0.1)
    summary = auc_summary(results)
    assert summary["strategy"].tolist() == ["a", "b"] and summary["n_trials"].tolist() == [2, 2]


def test_auc_of_a_single_budget_is_its_value():
    results = make_results({"a": BASE}, n_trials=1)
    assert learning_curve_auc(results[results.n_labeled == 20])["auc"].tolist() == [0.6]


def test_constant_advantage_wins_everywhere():
    results = make_results({"good": shifted(0.03), "base": BASE, "bad": shifted(-0.02)})
    table = win_tie_loss(results)
    row = table.set_index(["strategy", "opponent"])
    assert row.loc[("good", "base"), ["wins", "ties", "losses"]].tolist() == [4, 0, 0]
    assert row.loc[("base", "good"), ["wins", "ties", "losses"]].tolist() == [0, 0, 4]
    assert row.loc[("good", "bad"), "wins"] == 4 and (table["n_budgets"] == 4).all()
    assert len(table) == 6  # ordered pairs of distinct strategies
    matrix = win_tie_loss_matrix(table)
    assert matrix.index.tolist() == ["good", "base", "bad"] == matrix.columns.tolist()
    assert matrix.at["good", "base"] == "4/0/0" and matrix.at["base", "base"] == "–"
    net = win_tie_loss_matrix(table, "net")
    assert net.at["good", "bad"] == 4 and net.at["bad", "good"] == -4
    assert math.isnan(net.at["good", "good"])
    diff = paired_difference(results, "good", "base")
    assert diff["n_labeled"].tolist() == BUDGETS
    assert diff["mean"].tolist() == pytest.approx([0.03] * 4)
    assert diff["low"].tolist() == pytest.approx([0.03] * 4)  # no spread: a point interval
    assert diff["excludes_zero"].all() and (diff["n_trials"] == 3).all()
    area = paired_difference(results, "good", "base", by="auc")
    assert len(area) == 1 and area.at[0, "mean"] == pytest.approx(0.03)


def test_identical_strategies_tie_everywhere():
    results = make_results({"a": BASE, "b": BASE})
    table = win_tie_loss(results)
    assert table["ties"].tolist() == [4, 4] and (table[["wins", "losses"]] == 0).all().all()
    assert not paired_difference(results, "a", "b")["excludes_zero"].any()


def test_a_single_trial_is_all_ties_and_says_no_interval():
    results = make_results({"good": shifted(0.2), "random": BASE}, n_trials=1, ceiling=0.95)
    table = win_tie_loss(results)
    assert table["ties"].tolist() == [4, 4] and table["wins"].sum() == 0
    diff = paired_difference(results, "good", "random")
    assert diff["low"].isna().all() and not diff["excludes_zero"].any()
    text = summary_markdown(results)
    assert "1 trial: no interval" in text and not re.search(r"\d \[", text)
    assert "Every comparison is a tie" in text
    assert "| good | 0.700 | 0.800 |" in text  # the value alone
    assert "Full-pool supervision (100 labels, ceiling): 0.950\n" in text


def test_paired_interval_sees_what_unpaired_intervals_miss():
    # a large trial effect moves both strategies alike; "a" is better by 0.01 in every trial
    effect = (0.0, 0.15, -0.12, 0.08)
    jitter = [0.0, 0.002, -0.001, 0.001]
    results = make_results(
        {"a": lambda t: shifted(0.01 + jitter[t]), "b": BASE}, n_trials=4, trial_effect=effect
    )
    summary = summarize_results(results).set_index(["strategy", "n_labeled"])
    a, b = summary.loc[("a", 20)], summary.loc[("b", 20)]
    assert a["accuracy_low"] < b["accuracy_high"]  # the strategies' own intervals overlap
    diff = paired_difference(results, "a", "b").set_index("n_labeled")
    assert diff.at[20, "low"] > 0 and diff["excludes_zero"].all()
    assert win_tie_loss(results).set_index("strategy").at["a", "wins"] == 4
    # unpaired, the same numbers tell nothing: a t-test over independent samples
    unpaired = stats.ttest_ind(
        results.query("strategy == 'a' and n_labeled == 20")["accuracy"],
        results.query("strategy == 'b' and n_labeled == 20")["accuracy"],
    )
    assert unpaired.pvalue > 0.5


def test_paired_difference_matches_a_paired_t_test_and_uses_common_trials():
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.02, size=(5, 4))
    results = make_results(
        {"a": lambda t: shifted(0.01) + noise[t], "b": BASE},
        n_trials=5,
        trial_effect=(0, 0.1, -0.1, 0.05, 0.0),
    )
    diff = paired_difference(results, "a", "b", confidence=0.95).set_index("n_labeled")
    a = results.query("strategy == 'a' and n_labeled == 30")["accuracy"].to_numpy()
    b = results.query("strategy == 'b' and n_labeled == 30")["accuracy"].to_numpy()
    test = stats.ttest_rel(a, b)
    low, high = test.confidence_interval(0.95)
    assert (diff.at[30, "low"], diff.at[30, "high"]) == pytest.approx((low, high))
    # a trial that only "a" has is not paired
    partial = results[~((results.strategy == "b") & (results.trial == 4))]
    assert (paired_difference(partial, "a", "b")["n_trials"] == 4).all()


def test_errors_name_the_rule():
    results = make_results({"a": BASE, "b": BASE}, n_trials=2)
    with pytest.raises(ValueError, match="strategy 'c' is not in the results.*'a', 'b'"):
        paired_difference(results, "a", "c")
    with pytest.raises(ValueError, match="by must be 'n_labeled' or 'auc'"):
        paired_difference(results, "a", "b", by="area")
    with pytest.raises(ValueError, match="metric must be 'accuracy' or 'macro_f1'"):
        win_tie_loss(results, metric="f1")
    twice = pd.concat([results, results.assign(dataset="other")])
    with pytest.raises(ValueError, match="several rows for strategy 'a', trial 0.*one campaign"):
        learning_curve_auc(twice)
    with pytest.raises(ValueError, match="value must be one of"):
        win_tie_loss_matrix(win_tie_loss(results), value="draws")


def test_summarize_results_keeps_its_columns_and_adds_intervals():
    results = make_results({"a": BASE, "random": BASE}, ceiling=0.9)
    summary = summarize_results(results)
    for column in ("fraction", "n_trials", "accuracy_mean", "accuracy_std", "macro_f1_mean",
                   "macro_f1_std", "train_seconds_mean", "query_seconds_mean",
                   "accuracy_low", "accuracy_high", "macro_f1_low", "macro_f1_high"):  # fmt: skip
        assert column in summary
    row = summary.iloc[0]
    values = results.query("strategy == 'a' and n_labeled == 10")["accuracy"]
    assert (row["accuracy_low"], row["accuracy_high"]) == pytest.approx(mean_interval(values)[1:])
    assert row["accuracy_std"] == pytest.approx(np.std(values))  # ddof=0, as before


def test_summary_markdown_sections():
    results = make_results({"good": shifted(0.03), "random": BASE}, ceiling=0.9)
    text = summary_markdown(results, title="t")
    assert "Mean and 95% t interval over 3 trials" in text and "±" not in text
    mean, low, high = mean_interval(
        results.query("strategy == 'good' and n_labeled == 10")["accuracy"]
    )
    assert f"| good | {mean:.3f} [{low:.3f}, {high:.3f}] |" in text
    assert "Full-pool supervision (100 labels, ceiling): 0.900 [" in text
    assert "## Normalized area under the learning curve" in text
    assert "| wins/ties/losses | good | random |" in text and "| good | – | 4/0/0 |" in text
    assert "## Paired difference to random (accuracy)" in text
    assert "| good | +0.030 [+0.030, +0.030] * |" in text  # flagged: excludes 0
    assert "| random |" in text.split("## Paired difference")[0]
    assert "## Time" in text
    # no "random": no paired-difference section; one strategy: no matrix
    assert "Paired difference" not in summary_markdown(make_results({"a": BASE, "b": BASE}))
    assert "Win/tie/loss" not in summary_markdown(make_results({"a": BASE}))


@pytest.mark.parametrize("n_trials", [1, 3])
def test_plots_draw_intervals_and_say_how_many_trials(tmp_path, n_trials):
    import matplotlib.pyplot as plt

    results = make_results({"good": shifted(0.03), "random": BASE}, n_trials, ceiling=0.9)
    ax = plot_learning_curves(results)
    legend = ax.get_legend().get_title().get_text()
    if n_trials == 1:
        assert legend == "1 trial (no interval)" and not ax.collections  # no band
    else:
        assert legend == "mean and 95% CI over 3 trials" and len(ax.collections) == 2
    ax = plot_auc(results)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["good", "random"]
    assert ax.get_title() == legend
    ax = plot_win_tie_loss(results)
    assert sorted(t.get_text() for t in ax.texts) == (
        ["0/0/4", "4/0/0"] if n_trials == 3 else ["0/4/0", "0/4/0"]
    )
    assert ("all ties" in ax.get_title()) == (n_trials == 1)
    plt.close("all")
    paths = save_evaluation_plots(results, tmp_path / "out", title="t")
    assert [p.name for p in paths] == ["auc.png", "win_tie_loss.png"]
    assert all(p.stat().st_size > 0 for p in paths)
    save_learning_curves(results, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").stat().st_size > 0
    assert not plt.get_fignums()  # every figure closed


def test_long_titles_are_wrapped_not_cut(tmp_path, monkeypatch):
    # an imbalanced set's name carries two per-class lists: the title must wrap
    import matplotlib.figure

    titles = []
    original = matplotlib.figure.Figure.suptitle

    def record(fig, text, **kwargs):
        titles.append(text)
        return original(fig, text, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "suptitle", record)
    long = "skcryoal benchmark: imbalanced10-snr005 n_train_per_class=" + str(
        list(range(300, 100, -20))
    )
    long += " n_test_per_class=" + str(list(range(55, 15, -4)))
    results = make_results({"random": BASE}, 2)
    save_learning_curves(results, tmp_path / "curve.png", title=long)
    save_evaluation_plots(results, tmp_path / "out", title=long)
    assert len(titles) == 3
    for text in titles:
        assert text.replace("\n", " ") == long and "\n" in text
