"""benchmarks/established.py: section 10's table from a small synthetic results folder."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from skcryoal.benchmark import COLUMNS, holm_adjust, paired_difference, read_results

CAMPAIGN = ("random", "ema", "typiclust", "entropy", "badge")


def write_campaign(folder, gains, n_trials=5, seed=0, noise=0.004, first=None):
    """results.csv of paired trials, 200 -> 500 labels; ``gains`` after the first budget."""
    rng = np.random.default_rng(seed)
    first = first or {}
    rows = []
    for trial in range(n_trials):
        base = rng.normal(0, 0.02)
        for strategy, gain in gains.items():
            for cycle, n in enumerate((200, 300, 400, 500)):
                if cycle == 0:
                    acc = 0.8 + base + first.get(strategy, 0.0)
                else:
                    acc = 0.8 + 0.04 * cycle + base + gain + rng.normal(0, noise)
                rows.append(
                    dict.fromkeys(COLUMNS, "")
                    | dict(dataset="d", strategy=strategy, strategy_name=strategy, trial=trial,
                           trial_seed=trial, cycle=cycle, n_labeled=n, fraction=n / 2000,
                           accuracy=acc, macro_f1=acc, train_seconds=1.0, query_seconds=0.1,
                           n_pool=2000, n_test=1000, semi_supervised=False)
                )  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=list(COLUMNS)).to_csv(folder / "results.csv", index=False)


def write_results(root):
    """Every source established.py reads, with known effects."""
    rng = np.random.default_rng(1)
    rows = []
    for s in range(2):
        for seed in range(6):
            for recipe, gain in (("plain", 0.0), ("augment", 0.19), ("augment-reg", 0.18)):
                for model, delta in (("task", 0.0), ("mean_h0.1", 0.0), ("mean_h0.3", -0.03)):
                    acc = 0.72 + gain + delta + rng.normal(0, 0.01)
                    rows.append(dict(set=s, seed=seed, recipe=recipe, n_labeled=300, model=model,
                                     accuracy=acc, seconds=1.0))  # fmt: skip
    (root / "stability").mkdir(parents=True)
    pd.DataFrame(rows).to_csv(root / "stability/rows.csv", index=False)
    (root / "ema_horizon").mkdir()
    for n, seeds in ((200, 10), (600, 6)):
        rows = []
        for seed in range(seeds):
            entropy = 0.75 + rng.normal(0, 0.01)
            for ema, auroc in (("h0.1", 0.68), ("0.999", 0.5)):
                kl = auroc + rng.normal(0, 0.02)
                rows.append(dict(seed=seed, ema=ema, auroc_kl=kl, auroc_entropy=entropy))
        pd.DataFrame(rows).to_csv(root / f"ema_horizon/rows_n{n}.csv", index=False)
    for part, states in (("p0", (0, 1, 2)), ("p1", (3, 4, 5))):
        rows = []
        for state in states:
            for strategy, gain in (("random", 0.0), ("entropy", -0.02), ("typiclust", 0.0)):
                for retrain in range(2):
                    acc = 0.9 + gain + rng.normal(0, 0.005)
                    rows.append(dict(state=state, strategy=strategy, retrain=retrain,
                                     n_labeled=300, accuracy=acc))  # fmt: skip
        (root / "selection" / part).mkdir(parents=True)
        pd.DataFrame(rows).to_csv(root / "selection" / part / "retrain.csv", index=False)
    strong = dict(random=0.0, ema=0.0, typiclust=0.002, entropy=-0.002, badge=0.03)
    write_campaign(root / "campaign-snr01", strong, first={"ema": 0.05})
    write_campaign(root / "campaign-snr005", dict(random=0.0, ema=0.0, badge=0.01), seed=2)
    write_campaign(root / "campaign-imbalanced", dict(random=0.0, ema=0.0, badge=0.0), seed=3)
    write_campaign(root / "campaign-snr01/part-a", dict(random=0.0, ema=0.0, typiclust=0.0))
    write_campaign(root / "campaign-snr01/part-c", {"ema-noreg": 0.0, "random-reg": 0.0},
                   first={"random-reg": 0.05})  # fmt: skip
    write_campaign(root / "campaign-snr01/part-warm", dict(random=-0.04, ema=-0.04), seed=4)
    write_campaign(root / "campaign-snr01/part-warm10", dict(random=0.0), seed=5)
    for folder in ("campaign-snr01-24", "campaign-snr01-w8"):
        write_campaign(root / folder, dict(random=0.0, ema=-0.01, typiclust=0.0, entropy=-0.02,
                                           badge=0.01), seed=6)  # fmt: skip


@pytest.fixture(scope="module")
def computed(benchmark_script, tmp_path_factory):
    established = benchmark_script("established")
    root = tmp_path_factory.mktemp("results")
    write_results(root)
    main, whole = established.compute(root)
    return established, root, main, whole


def test_families_and_their_sizes(computed):
    _, _, main, whole = computed
    sizes = main.groupby("family")["k"].first().to_dict()
    assert sizes == dict(F1=4, F2=9, F3=2, F4=8, F5=8, F6=4, F7=3, F8=9)
    assert set(whole["family"]) == {"F4", "F5", "F6", "F7"}


def test_holm_within_each_family_and_the_tests_by_hand(computed):
    _, root, main, _ = computed
    for _, family in main.groupby("family"):
        assert family["p_holm"].tolist() == pytest.approx(holm_adjust(family["p"]).tolist())
    f4 = main[main.family == "F4"].set_index("comparison")
    results = read_results(root / "campaign-snr01/results.csv")
    diff = paired_difference(results, "badge", "random", by="auc_after_first").iloc[0]
    row = f4.loc["SNR 0.1: badge - random"]
    assert row["mean"] == pytest.approx(diff["mean"] * 100)
    assert row["p"] == pytest.approx(diff["p_value"]) and row["p_flip"] == diff["p_sign_flip"]
    assert row["verdict"] == "established (t test only)"  # 5 trials: sign-flip floor 0.0625
    # EMA's first-budget lead is not in the primary endpoint
    assert abs(f4.loc["SNR 0.1: ema - random", "mean"]) < 0.5
    stability = pd.read_csv(root / "stability/rows.csv")
    wide = stability.pivot_table(index=["set", "seed"], columns=["recipe", "model"],
                                 values="accuracy")  # fmt: skip
    d = (wide[("augment", "task")] - wide[("plain", "task")]) * 100
    f2 = main[main.family == "F2"].set_index("comparison")
    assert f2.loc["augment / task - plain / task", "p"] == pytest.approx(
        stats.ttest_1samp(d, 0).pvalue
    )
    assert f2.loc["augment / task - plain / task", "verdict"] == "established"  # 12 pairs


def test_verdict_rules(computed):
    established, *_ = computed
    assert established.verdict(0.001, 0.004, 0.01) == "established"
    assert established.verdict(0.001, 0.004, 0.0625) == "established (t test only)"
    assert established.verdict(0.02, 0.16, 0.5) == "suggestive"
    assert established.verdict(0.2, 1.0, 0.5) == "not established"
    assert established.verdict(float("nan"), float("nan"), float("nan")) == "untested"


def test_report_and_rankings(computed, tmp_path, capsys):
    established, root, main, whole = computed
    ranks = established.rankings(root)
    assert set(ranks["candidate"]) == {"24^3", "width 8"} and (ranks["n"] == 5).all()
    assert ((ranks["p"] > 0) & (ranks["p"] <= 1)).all()
    text = "\n".join(established.report(main, whole, ranks))
    assert "| family | comparison | endpoint | difference [95% t] |" in text
    assert "- **F4**: strategies against random on the primary endpoint" in text
    assert "not an independent replication" in text
    out = tmp_path / "established.md"
    established.main(["--results", str(root), "--out", str(out)])
    assert out.read_text() == capsys.readouterr().out.rstrip("\n") + "\n"
