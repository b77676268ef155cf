"""Join the results of one benchmark run in parts and write its summary and plots.

A comparison can be shared among processes by strategy: run ``skcryoal
benchmark`` with the same data, schedule, trials and ``--seed`` but different
``--strategies`` into different folders (the trials then have the same seeds and
initial sets, so the rows pair up). This script concatenates their
``results.csv``, checks that the trials agree, and writes ``results.csv``,
``summary.md``, ``learning_curve.png``, ``auc.png`` and ``win_tie_loss.png`` into
the common folder. The summary's primary endpoint is the one the parts declared
in their ``config.json`` (they must agree), tested on the joined family (each
strategy against random over all parts); parts written before declarations
existed get the default one, and the summary says so.

Usage::

    python benchmarks/summarize_parts.py benchmarks/results/campaign-snr01 \\
        --parts part-a part-b --title "SNR 0.1, pool 2000"
"""

import argparse
import json
from pathlib import Path

import pandas as pd

from skcryoal.benchmark import (
    declare_primary_endpoint,
    read_results,
    save_evaluation_plots,
    save_learning_curves,
    summary_markdown,
)


def joined_declaration(folders, strategies):
    """The primary endpoint the parts declared, over the joined family; None if none did.

    Parameters
    ----------
    folders : list of Path
        The parts' folders (``config.json`` inside, if any).
    strategies : list of str
        The joined strategy labels.
    """
    declared = []
    for folder in folders:
        path = folder / "config.json"
        if path.exists():
            primary = json.loads(path.read_text()).get("primary_endpoint")
            if isinstance(primary, dict):
                declared.append((folder.name, primary))
    if not declared:
        return None
    keys = ("metric", "endpoint", "alpha")
    first = {k: declared[0][1].get(k) for k in keys}
    for name, primary in declared[1:]:
        other = {k: primary.get(k) for k in keys}
        if other != first:
            raise SystemExit(
                f"the parts declared different primary endpoints ({declared[0][0]}: {first}, "
                f"{name}: {other}): they are not one comparison."
            )
    joined = declare_primary_endpoint(
        strategies, metric=first["metric"], endpoint=first["endpoint"], alpha=first["alpha"]
    )
    when = "; ".join(f"{name}: {p.get('declared', 'when unknown')}" for name, p in declared)
    undeclared = len(folders) - len(declared)
    joined["declared"] = when + (f"; {undeclared} part(s) without a declaration" * bool(undeclared))
    return joined


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
    strategies = list(dict.fromkeys(results["strategy"]))
    primary = joined_declaration([args.folder / part for part in args.parts], strategies)
    metric = primary["metric"] if primary else "accuracy"
    text = summary_markdown(results, title=title, metric=metric, primary=primary)
    (args.folder / "summary.md").write_text(text)
    save_learning_curves(results, args.folder / "learning_curve.png", title=title)
    save_evaluation_plots(results, args.folder, title=title)
    print((args.folder / "summary.md").read_text())


if __name__ == "__main__":
    main()
