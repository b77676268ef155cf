"""What the benchmark page may call established: section 10's table, from the raw results.

Recomputes every comparison behind section 10 of ``docs/benchmarks.md`` from
``benchmarks/results/`` and sorts them into *families*: the comparisons one
study was made to answer, on that study's primary endpoint. Each comparison
gets its paired difference with the 95% Student-t interval, the two-sided
paired t p-value, Holm's adjustment of it over its family, the exact
sign-flip p-value (all ``2**n`` sign patterns of the ``n`` paired
differences; it cannot go below ``2 / 2**n``, 0.0625 with 5 trials) and a
verdict:

- *established*: the Holm-adjusted t p-value is at most 0.05 and so is the
  Holm-adjusted sign-flip p-value (no normality assumed);
- *established (t test only)*: the Holm-adjusted t p-value is at most 0.05
  but the sign-flip test cannot confirm it (with 5 trials it never can): the
  verdict rests on the normality behind the t test;
- *suggestive*: only the nominal t p-value is at most 0.05;
- *not established*: not even that.

The campaign families use the default primary endpoint of ``skcryoal
benchmark``: the normalized learning-curve area over the budgets after the
shared first one (where every strategy of a trial has the same labels and,
but for a regularized model, the same model). A second table gives the same
campaign comparisons on the area over every budget (the areas of sections
4-9), a third the rank agreement of the cheaper configurations (Kendall's
tau and its exact p-value). The families were declared after the runs (the
runs predate declarations), from what each study set out to compare; the
last column says whether a comparison would also survive a correction over
the whole page (Bonferroni over ``--page-intervals`` intervals, which Holm's
correction over them would also reject).

Usage::

    python benchmarks/established.py --out benchmarks/results/established.md
    python benchmarks/established.py --results path/to/results   # another results folder
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from skcryoal.benchmark import holm_adjust, learning_curve_auc, read_results, sign_flip_test

ALPHA = 0.05
#: informative 95% intervals the page and its raw files hold (issue 21's audit)
PAGE_INTERVALS = 280
_STRATEGIES_01 = ("ema", "typiclust", "entropy", "badge")


# --------------------------------------------------------------------------- loading
def _campaign(root, *parts):
    """The results of a campaign folder, or the rows of several parts joined."""
    tables = [read_results(root / part / "results.csv") for part in parts]
    return pd.concat(tables, ignore_index=True)


def _area_differences(results, a, b, after_first, rename=None):
    """Per-trial ``a - b`` of the normalized learning-curve area, in points."""
    auc = learning_curve_auc(results, after_first=after_first)
    wide = auc.pivot(index="trial", columns="strategy", values="auc")
    return ((wide[a] - wide[b]).dropna() * 100).to_numpy()


def _budget_differences(results, a, b, n_labeled):
    """Per-trial ``a - b`` of test accuracy at one budget, in points."""
    rows = results[results["n_labeled"] == n_labeled]
    wide = rows.pivot(index="trial", columns="strategy", values="accuracy")
    return ((wide[a] - wide[b]).dropna() * 100).to_numpy()


def _warm_runs(root):
    """Cold (part-a) and warm runs of SNR 0.1 joined, the warm strategies renamed."""
    cold = read_results(root / "campaign-snr01/part-a/results.csv")
    runs = {}
    for folder, epochs in (("part-warm", 5), ("part-warm10", 10)):
        warm = read_results(root / "campaign-snr01" / folder / "results.csv")
        names = {s: f"{s}-warm{epochs}" for s in warm["strategy"].unique()}
        both = pd.concat(
            [cold[cold["strategy"].isin(names)], warm.assign(strategy=warm["strategy"].map(names))],
            ignore_index=True,
        )
        runs[epochs] = (both, names)
    return runs


# --------------------------------------------------------------------------- families
def recipes(root):
    """Section 2: recipes and predicting models at 300 labels, paired by set and seed."""
    rows = pd.read_csv(root / "stability/rows.csv")
    wide = rows.pivot_table(index=["set", "seed"], columns=["recipe", "model"], values="accuracy")
    reference = wide[("plain", "task")]
    out = []
    for recipe, model in wide.columns:
        if (recipe, model) == ("plain", "task"):
            continue
        d = (wide[(recipe, model)] - reference).dropna() * 100
        out.append((f"{recipe} / {model} - plain / task", d.to_numpy()))
    d = (wide[("augment-reg", "task")] - wide[("augment", "task")]).dropna() * 100
    out.append(("the regularizer: augment-reg / task - augment / task", d.to_numpy()))
    return out


def horizon(root):
    """Section 1: AUROC of the deviation score for the task model's errors, paired by seed."""
    out = []
    for n in (200, 600):
        rows = pd.read_csv(root / f"ema_horizon/rows_n{n}.csv")
        kl = rows.pivot(index="seed", columns="ema", values="auroc_kl")
        entropy = rows.groupby("seed")["auroc_entropy"].first()
        out.append(
            (f"{n} labels: horizon 0.1 - decay 0.999", (kl["h0.1"] - kl["0.999"]).to_numpy())
        )
        out.append((f"{n} labels: task entropy - horizon 0.1", (entropy - kl["h0.1"]).to_numpy()))
    return out


def selection(root):
    """Section 3: each strategy's batch against random's, retrained; per-state means."""
    retrain = pd.concat(
        [pd.read_csv(p) for p in sorted((root / "selection").glob("*/retrain.csv"))],
        ignore_index=True,
    )
    wide = retrain.groupby(["strategy", "state", "retrain"])["accuracy"].mean().unstack("strategy")
    out = []
    for strategy in dict.fromkeys(retrain["strategy"]):
        if strategy == "random":
            continue
        paired = wide[[strategy, "random"]].dropna()
        d = (paired[strategy] - paired["random"]).groupby(level="state").mean() * 100
        out.append((f"{strategy} - random", d.to_numpy()))
    return out


def strategies(root, after_first=True):
    """Sections 4, 7, 8: each strategy against random, three campaign settings."""
    out = []
    settings = (
        ("SNR 0.1", "campaign-snr01", _STRATEGIES_01),
        ("SNR 0.05", "campaign-snr005", ("badge", "ema")),
        ("imbalanced", "campaign-imbalanced", ("badge", "ema")),
    )
    for label, folder, names in settings:
        results = _campaign(root, folder)
        for s in names:
            out.append(
                (f"{label}: {s} - random", _area_differences(results, s, "random", after_first))
            )
    return out


def ablation(root, after_first=True):
    """Section 6: the EMA method's selection rule and regularizer, apart."""
    results = _campaign(root, "campaign-snr01/part-a", "campaign-snr01/part-c")
    pairs = (
        ("random-reg", "random"),
        ("ema-noreg", "random"),
        ("ema", "random-reg"),
        ("ema", "ema-noreg"),
    )
    return [(f"{a} - {b}", _area_differences(results, a, b, after_first)) for a, b in pairs]


def cheaper(root, after_first=True):
    """Section 5: each strategy against random at 24^3 and at width 8."""
    out = []
    for label, folder in (("24^3", "campaign-snr01-24"), ("width 8", "campaign-snr01-w8")):
        results = _campaign(root, folder)
        for s in _STRATEGIES_01:
            out.append(
                (f"{label}: {s} - random", _area_differences(results, s, "random", after_first))
            )
    return out


def warm(root, after_first=True):
    """Section 9: warm-started rounds against cold ones."""
    out = []
    for epochs, (both, names) in _warm_runs(root).items():
        for cold, warmed in names.items():
            d = _area_differences(both, warmed, cold, after_first)
            out.append((f"{epochs} warm epochs: {cold}, warm - cold", d))
    return out


def warm_budgets(root):
    """Section 9, secondary: warm - cold at each budget after the first."""
    out = []
    for epochs, (both, names) in _warm_runs(root).items():
        budgets = sorted(both["n_labeled"].unique())[1:]
        for cold, warmed in names.items():
            for n in budgets:
                d = _budget_differences(both, warmed, cold, n)
                out.append((f"{epochs} warm epochs: {cold}, warm - cold at {n} labels", d))
    return out


#: (key, builder, endpoint, unit, description); the page's families, in its order
FAMILIES = (
    (
        "F1",
        horizon,
        "AUROC for the task model's errors",
        "AUROC",
        "the mean model's horizon (section 1): the default horizon against the paper's 0.999, "
        "and the task model's own entropy against the default horizon, at 200 and 600 labels; "
        "paired by seed (10 and 6)",
    ),
    (
        "F2",
        recipes,
        "accuracy at 300 labels",
        "points",
        "training recipes (section 2): each recipe and predicting model against plain "
        "training's task model, and the regularizer with augmentation; 12 fits paired by "
        "labeled set (2) and seed (6)",
    ),
    (
        "F3",
        selection,
        "accuracy, retrained on 300 labels",
        "points",
        "the selection-only study (section 3): each strategy against random; 6 states",
    ),
    (
        "F4",
        strategies,
        "area after the first budget",
        "points",
        "strategies against random on the primary endpoint over the page's three campaign "
        "settings (sections 4, 7, 8: SNR 0.1, SNR 0.05, imbalanced); 5 paired trials each. "
        "SNR 0.05 has the same particles, poses, noise seed, initial sets and training seeds "
        "as SNR 0.1: it is not an independent replication",
    ),
    (
        "F5",
        cheaper,
        "area after the first budget",
        "points",
        "cheaper configurations (section 5): strategies against random at 24^3 and at width 8; "
        "5 paired trials each",
    ),
    (
        "F6",
        ablation,
        "area after the first budget",
        "points",
        "the EMA method's two parts (section 6): selection rule and regularizer; 5 paired trials",
    ),
    (
        "F7",
        warm,
        "area after the first budget",
        "points",
        "warm-started rounds against cold ones (section 9); 5 paired trials",
    ),
    (
        "F8",
        warm_budgets,
        "accuracy at one budget (secondary)",
        "points",
        "warm-started rounds, per budget (section 9, secondary cells); 5 paired trials",
    ),
)
_AREA_FAMILIES = {"F4": strategies, "F5": cheaper, "F6": ablation, "F7": warm}


# --------------------------------------------------------------------------- tests
def test_row(differences):
    """Mean, 95% t interval, t and exact sign-flip p-values of paired differences."""
    d = np.asarray(differences, dtype=float)
    n = len(d)
    mean = float(d.mean())
    if n < 2:
        return dict(mean=mean, low=np.nan, high=np.nan, n=n, p=np.nan, p_flip=np.nan)
    sd = float(d.std(ddof=1))
    half = float(stats.t.ppf(1 - ALPHA / 2, n - 1) * sd / np.sqrt(n))
    if not np.any(d):
        p = np.nan
    elif sd <= 1e-12 * np.abs(d).max():
        p = 0.0
    else:
        p = float(stats.ttest_1samp(d, 0.0).pvalue)
    p_flip = sign_flip_test(d).p_value if np.any(d) else np.nan
    return dict(mean=mean, low=mean - half, high=mean + half, n=n, p=p, p_flip=p_flip)


def verdict(p, p_holm, p_flip_holm, alpha=ALPHA):
    """The four-way verdict of the module docstring."""
    if not p == p:  # NaN: nothing to test
        return "untested"
    if p_holm <= alpha:
        return "established" if p_flip_holm <= alpha else "established (t test only)"
    return "suggestive" if p <= alpha else "not established"


def family_table(key, builder, endpoint, unit, root, page_intervals=PAGE_INTERVALS):
    """One row per comparison of a family, with its Holm adjustments and verdict."""
    rows = [dict(family=key, comparison=name, endpoint=endpoint, unit=unit, **test_row(d))
            for name, d in builder(root)]  # fmt: skip
    table = pd.DataFrame(rows)
    table["p_holm"] = holm_adjust(table["p"].to_numpy(dtype=float))
    table["p_flip_holm"] = holm_adjust(table["p_flip"].to_numpy(dtype=float))
    table["k"] = int(table["p"].notna().sum())
    table["verdict"] = [
        verdict(p, q, r) for p, q, r in zip(table["p"], table["p_holm"], table["p_flip_holm"])
    ]
    table["page_wide"] = table["p"] * page_intervals <= ALPHA
    return table


def compute(root, page_intervals=PAGE_INTERVALS):
    """Every family's table, concatenated, and the whole-area sensitivity of the campaigns.

    Returns
    -------
    main : pandas.DataFrame
        One row per comparison (see :func:`family_table`).
    whole_area : pandas.DataFrame
        The campaign families (F4-F7) on the area over every budget.
    """
    root = Path(root)
    main = pd.concat(
        [family_table(*spec[:4], root, page_intervals) for spec in FAMILIES], ignore_index=True
    )
    whole = []
    for key, builder in _AREA_FAMILIES.items():
        spec = next(s for s in FAMILIES if s[0] == key)

        def whole_builder(r, builder=builder):
            return builder(r, after_first=False)

        whole.append(
            family_table(key, whole_builder, "area over every budget", spec[3], root,
                         page_intervals)
        )  # fmt: skip
    return main, pd.concat(whole, ignore_index=True)


def rankings(root):
    """Kendall's tau (exact p-value) between the 32^3/width-16 ranking and each cheaper one."""
    root = Path(root)
    reference = _campaign(root, "campaign-snr01")
    out = []
    for label, folder in (("24^3", "campaign-snr01-24"), ("width 8", "campaign-snr01-w8")):
        cheap = _campaign(root, folder)
        for after_first in (False, True):
            a = learning_curve_auc(reference, after_first=after_first).groupby("strategy")["auc"]
            b = learning_curve_auc(cheap, after_first=after_first).groupby("strategy")["auc"]
            a, b = a.mean(), b.mean()
            names = sorted(set(a.index) & set(b.index))
            tau = stats.kendalltau(a[names], b[names])
            out.append(
                dict(
                    candidate=label,
                    area="after the first budget" if after_first else "every budget",
                    n=len(names),
                    tau=float(tau.statistic),
                    p=float(tau.pvalue),
                )
            )
    return pd.DataFrame(out)


# --------------------------------------------------------------------------- report
def _p(value, digits=2):
    if value != value:
        return "–"
    return f"{value:.{digits}g}" if value >= 1e-3 else f"{value:.1e}"


def _difference(row):
    f = "{:+.2f}" if row["unit"] == "AUROC" else "{:+.1f}"
    if row["low"] != row["low"]:
        return f.format(row["mean"])
    return f"{f.format(row['mean'])} [{f.format(row['low'])}, {f.format(row['high'])}]"


def table_lines(table, page_wide=True):
    """Markdown rows of a :func:`compute` table."""
    header = (
        "| family | comparison | endpoint | difference [95% t] | n | p (t) | p Holm "
        "| p sign-flip | verdict |"
    )
    lines = [header + (" page-wide |" if page_wide else ""), "|---" * (9 + page_wide) + "|"]
    for _, r in table.iterrows():
        cells = [
            f"{r['family']} ({r['k']})",
            r["comparison"],
            r["endpoint"],
            _difference(r),
            str(r["n"]),
            _p(r["p"]),
            _p(r["p_holm"]),
            _p(r["p_flip"], 4),
            r["verdict"],
        ]
        if page_wide:
            cells.append("holds" if r["page_wide"] else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def report(main, whole, ranks, page_intervals=PAGE_INTERVALS):
    """The markdown report: the families, the table, the sensitivity and the rankings."""
    lines = [
        'Families (the number after each family in the table is its size k). "Area after the '
        'first budget" is the primary endpoint of the campaigns: the normalized '
        "learning-curve area of test accuracy over the budgets after the shared first one.",
        "",
    ]
    for key, _, endpoint, unit, description in FAMILIES:
        lines.append(f"- **{key}**: {description}. Endpoint: {endpoint}; differences in {unit}.")
    lines += [
        "",
        "Differences in points of accuracy (AUROC for F1), mean and 95% t interval; p (t): "
        "paired t-test; p Holm: adjusted over the family; p sign-flip: exact, nominal. "
        f"page-wide: p x {page_intervals} <= 0.05 (Bonferroni over the page's intervals, so "
        "Holm over them too).",
        "",
        *table_lines(main),
        "",
        "The campaign families on the area over every budget (the areas of sections 4-9; "
        "the first budget included):",
        "",
        *table_lines(whole, page_wide=False),
        "",
        "Rank agreement with the 32^3, width-16 ranking (mean areas of the 5 strategies; "
        "Kendall's tau, exact two-sided p-value against no association):",
        "",
        "| cheaper run | area | strategies | tau | p |",
        "|---|---|---|---|---|",
    ]
    for _, r in ranks.iterrows():
        lines.append(
            f"| {r['candidate']} | {r['area']} | {r['n']} | {r['tau']:+.2f} | {_p(r['p'])} |"
        )
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--page-intervals", type=int, default=PAGE_INTERVALS)
    parser.add_argument("--out", type=Path, default=None, help="markdown file to write")
    args = parser.parse_args(argv)
    main_table, whole = compute(args.results, args.page_intervals)
    lines = report(main_table, whole, rankings(args.results), args.page_intervals)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return main_table, whole


if __name__ == "__main__":
    main()
