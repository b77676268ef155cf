"""Join the results of one benchmark run in parts and write its summary and plots.

A comparison can be shared among processes by strategy: run ``skcryoal
benchmark`` with the same data, schedule, trials and ``--seed`` but different
``--strategies`` into different folders (the trials then have the same seeds and
initial sets, so the rows pair up). This script concatenates their
``results.csv``, checks that the trials agree, and writes ``results.csv``,
``summary.md``, ``learning_curve.png``, ``auc.png`` and ``win_tie_loss.png`` into
the common folder.

Usage::

    python benchmarks/summarize_parts.py benchmarks/results/campaign-snr01 \\
        --parts part-a part-b --title "SNR 0.1, pool 2000"
"""

import argparse
from pathlib import Path

import pandas as pd

from skcryoal.benchmark import (
    read_results,
    save_evaluation_plots,
    save_learning_curves,
    summary_markdown,
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--parts", nargs="+", required=True)
    parser.add_argument("--title", default=None)
    args = parser.parse_args()
    tables = [read_results(args.folder / part / "results.csv") for part in args.parts]
    results = pd.concat(tables, ignore_index=True)
    seeds = results.groupby("trial")["trial_seed"].nunique()
    if (seeds > 1).any():
        raise SystemExit(
            f"the parts' trials do not pair up (trials {list(seeds[seeds > 1].index)} have "
            "different seeds): run them with the same --seed and --trials."
        )
    first = results[results["cycle"] == 0].groupby("trial")["added"].nunique()
    if (first > 1).any():
        raise SystemExit("the parts' initial labeled sets differ: they are not one comparison.")
    results.to_csv(args.folder / "results.csv", index=False)
    title = args.title or args.folder.name
    (args.folder / "summary.md").write_text(summary_markdown(results, title=title))
    save_learning_curves(results, args.folder / "learning_curve.png", title=title)
    save_evaluation_plots(results, args.folder, title=title)
    print((args.folder / "summary.md").read_text())


if __name__ == "__main__":
    main()
