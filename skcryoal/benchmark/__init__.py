"""Benchmark campaigns: the paper's active-learning protocol, learning curves and presets.

:func:`run_campaign` runs the protocol of Wang et al. (2022) for several
strategies and trials and returns a tidy table; results are appended to a CSV
as each cycle finishes, so an interrupted campaign resumes where it stopped.
Each strategy and trial is a labelling campaign (:mod:`skcryoal.campaign`)
whose annotator is an oracle: the loop people label with.
:func:`summary_markdown` and :func:`plot_learning_curves` turn the table into
the paper's tables and Fig. 1-style curves. ``skcryoal benchmark`` runs it all
from the command line, with presets for the README's quick run and each of the
paper's experiments (:func:`list_benchmark_presets`).
"""

from ._campaign import run_campaign
from ._factory import RECIPES, ClassifierFactory
from ._plot import plot_learning_curves, save_learning_curves
from ._presets import (
    BenchmarkPreset,
    estimate_training_seconds,
    get_preset,
    list_benchmark_presets,
)
from ._results import (
    CEILING,
    COLUMNS,
    decode_indices,
    read_results,
    summarize_results,
    summary_markdown,
)
from ._schedule import budget_schedule, initial_labeled_indices, trial_seeds
from ._specs import StrategySpec, parse_strategy_spec

__all__ = [
    "CEILING",
    "COLUMNS",
    "RECIPES",
    "BenchmarkPreset",
    "ClassifierFactory",
    "StrategySpec",
    "budget_schedule",
    "decode_indices",
    "estimate_training_seconds",
    "get_preset",
    "initial_labeled_indices",
    "list_benchmark_presets",
    "parse_strategy_spec",
    "plot_learning_curves",
    "read_results",
    "run_campaign",
    "save_learning_curves",
    "summarize_results",
    "summary_markdown",
    "trial_seeds",
]
