"""Does a cheaper configuration rank the strategies as the reference one does?

Compares two ``skcryoal benchmark`` runs of the same strategies and schedule
that differ in a cost setting (volume size, network width, epochs): per
strategy the learning-curve area of each run and its paired difference to
``--baseline`` (95% Student-t interval over trials, ``*`` where it excludes 0),
the ranking by mean area in each run with Kendall's tau between them, whether
each strategy's verdict against the baseline (ahead, behind or not
established) agrees, and the cost of one trial of each run from its own
recorded seconds. The last line says whether the rankings agree.

Usage::

    python benchmarks/spot_check.py benchmarks/results/campaign-snr01 \\
        benchmarks/results/campaign-snr01-24 --labels "32^3" "24^3" \\
        --out benchmarks/results/campaign-snr01-24/spot_check.md
"""

import argparse
from pathlib import Path

from power import seconds_per_trial
from scipy import stats

from skcryoal.benchmark import auc_summary, paired_difference, read_results


def verdict(row):
    """``ahead``, ``behind`` or ``n.s.`` from a paired-difference row."""
    if not row["excludes_zero"]:
        return "n.s."
    return "ahead" if row["mean"] > 0 else "behind"


def _run_table(results, baseline):
    """Per strategy: AUC mean, paired AUC difference to ``baseline``, its verdict."""
    aucs = auc_summary(results).set_index("strategy")
    table = {}
    for name, row in aucs.iterrows():
        entry = {"auc": row["auc_mean"], "auc_low": row["auc_low"], "auc_high": row["auc_high"]}
        if name != baseline:
            diff = paired_difference(results, name, baseline, by="auc").iloc[0]
            entry.update(
                diff=diff["mean"],
                diff_low=diff["low"],
                diff_high=diff["high"],
                verdict=verdict(diff),
                n_trials=int(diff["n_trials"]),
            )
        table[name] = entry
    return table


def compare(reference, candidate, baseline="random"):
    """Compare two runs' results tables; see the module docstring.

    Parameters
    ----------
    reference, candidate : pandas.DataFrame
        ``results.csv`` tables of the two runs (:func:`read_results`).
    baseline : str
        Strategy the paired differences are taken against.

    Returns
    -------
    dict
        ``reference`` / ``candidate`` (per-strategy tables), ``rank_reference``
        / ``rank_candidate`` (strategies best first), ``tau`` (Kendall's tau of
        the mean areas), ``same_ranking``, ``verdicts_agree`` and the
        ``seconds`` per trial of all strategies in each run.
    """
    ref = _run_table(reference, baseline)
    cand = _run_table(candidate, baseline)
    shared = [s for s in ref if s in cand]
    missing = sorted(set(ref) ^ set(cand))
    if missing:
        raise ValueError(
            f"the runs must hold the same strategies; only one has {missing}. "
            "Run the missing strategies or compare other folders."
        )
    if baseline not in shared:
        raise ValueError(f"baseline {baseline!r} is not in the runs ({shared})")
    rank_ref = sorted(shared, key=lambda s: -ref[s]["auc"])
    rank_cand = sorted(shared, key=lambda s: -cand[s]["auc"])
    tau = stats.kendalltau([ref[s]["auc"] for s in shared], [cand[s]["auc"] for s in shared])
    others = [s for s in shared if s != baseline]
    return {
        "reference": ref,
        "candidate": cand,
        "rank_reference": rank_ref,
        "rank_candidate": rank_cand,
        "tau": float(tau.statistic),
        "same_ranking": rank_ref == rank_cand,
        "verdicts_agree": all(ref[s]["verdict"] == cand[s]["verdict"] for s in others),
        "seconds": (
            float(seconds_per_trial(reference).loc[shared].sum()),
            float(seconds_per_trial(candidate).loc[shared].sum()),
        ),
    }


def _pts(x):
    return f"{x * 100:.1f}"


def _diff(entry):
    if "diff" not in entry:
        return "(reference)"
    star = " *" if entry["verdict"] != "n.s." else ""
    return (
        f"{entry['diff'] * 100:+.1f} [{entry['diff_low'] * 100:+.1f}, "
        f"{entry['diff_high'] * 100:+.1f}]{star}"
    )


def report(result, labels=("reference", "candidate"), baseline="random"):
    """Markdown lines of a :func:`compare` result."""
    a, b = labels
    ref, cand = result["reference"], result["candidate"]
    lines = [
        f"| strategy | area, {a} | area, {b} | vs {baseline}, {a} | vs {baseline}, {b} "
        f"| rank {a} | rank {b} |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in result["rank_reference"]:
        lines.append(
            f"| {s} | {_pts(ref[s]['auc'])} | {_pts(cand[s]['auc'])} | {_diff(ref[s])} "
            f"| {_diff(cand[s])} | {result['rank_reference'].index(s) + 1} "
            f"| {result['rank_candidate'].index(s) + 1} |"
        )
    sa, sb = result["seconds"]
    lines += [
        "",
        f"Areas in points (mean over trials); `*`: the 95% interval excludes 0. "
        f"Kendall's tau between the mean areas: {result['tau']:+.2f}. "
        f"One trial of all strategies: {sa / 60:.1f} min ({a}), {sb / 60:.1f} min ({b}), "
        f"from each run's recorded seconds.",
        "",
        ("Same ranking." if result["same_ranking"] else "The rankings differ.")
        + (
            " Every verdict against the baseline agrees."
            if result["verdicts_agree"]
            else " Some verdicts against the baseline differ."
        ),
    ]
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("reference", type=Path, help="folder of the reference run")
    parser.add_argument("candidate", type=Path, help="folder of the cheaper run")
    parser.add_argument("--labels", nargs=2, default=("reference", "candidate"))
    parser.add_argument("--baseline", default="random")
    parser.add_argument("--out", type=Path, help="also write the report here")
    args = parser.parse_args()
    result = compare(
        read_results(args.reference / "results.csv"),
        read_results(args.candidate / "results.csv"),
        baseline=args.baseline,
    )
    text = "\n".join(report(result, args.labels, args.baseline)) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
