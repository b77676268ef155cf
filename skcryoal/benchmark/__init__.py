"""Benchmark campaigns: the paper's active-learning protocol, learning curves and presets.

:func:`run_campaign` runs the protocol of Wang et al. (2022) for several
strategies and trials and returns a tidy table; results are appended to a CSV
as each cycle finishes, so an interrupted campaign resumes where it stopped.
Each strategy and trial is a labelling campaign (:mod:`skcryoal.campaign`)
whose annotator is an oracle: the loop people label with.
:func:`summary_markdown` and :func:`plot_learning_curves` turn the table into
the paper's tables and Fig. 1-style curves. Trials are paired (every strategy
of a trial starts from the same labeled set and seed), so strategies are
compared through paired differences with Student-t intervals over trials:
:func:`paired_difference`, the normalized learning-curve area
(:func:`learning_curve_auc`, :func:`auc_summary`) and win/tie/loss counts over
budgets (:func:`win_tie_loss`), after Lüth et al. (NeurIPS 2023). Before a
run, one measure is declared primary (:func:`declare_primary_endpoint`; by
default the area over the budgets after the shared first one) and tested on
its family of comparisons with Holm's correction and the exact sign-flip
test (:func:`paired_comparisons`); the per-budget cells are secondary.
:func:`run_selection_study` is the selection-only protocol: from one trained
state every strategy picks a batch, and each labeled set is retrained with the
same seeds, so that what a strategy selects is measured apart from training
noise (:func:`selection_gains`). ``skcryoal benchmark`` runs the campaign
protocol from the command line, with presets for the README's quick run and
each of the paper's experiments (:func:`list_benchmark_presets`).
"""

from ._campaign import run_campaign
from ._endpoints import (
    PRIMARY_ENDPOINTS,
    comparison_family,
    declare_primary_endpoint,
    paired_comparisons,
)
from ._factory import RECIPES, ClassifierFactory
from ._inference import (
    bonferroni_adjust,
    bootstrap_interval,
    holm_adjust,
    sign_flip_test,
    trials_needed_holm,
    wilcoxon_test,
)
from ._plot import (
    plot_auc,
    plot_learning_curves,
    plot_win_tie_loss,
    save_evaluation_plots,
    save_learning_curves,
)
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
    decode_recall,
    encode_recall,
    read_results,
    summarize_results,
    summary_markdown,
)
from ._schedule import budget_schedule, initial_labeled_indices, trial_seeds
from ._selection import (
    read_selection_study,
    run_selection_study,
    selection_gains,
    selection_markdown,
    write_selection_summary,
)
from ._specs import StrategySpec, parse_strategy_spec
from ._stats import (
    auc_summary,
    learning_curve_auc,
    mean_interval,
    paired_difference,
    win_tie_loss,
    win_tie_loss_matrix,
)

__all__ = [
    "CEILING",
    "COLUMNS",
    "PRIMARY_ENDPOINTS",
    "RECIPES",
    "BenchmarkPreset",
    "ClassifierFactory",
    "StrategySpec",
    "auc_summary",
    "bonferroni_adjust",
    "bootstrap_interval",
    "budget_schedule",
    "comparison_family",
    "declare_primary_endpoint",
    "decode_indices",
    "decode_recall",
    "encode_recall",
    "estimate_training_seconds",
    "get_preset",
    "holm_adjust",
    "initial_labeled_indices",
    "learning_curve_auc",
    "list_benchmark_presets",
    "mean_interval",
    "paired_comparisons",
    "paired_difference",
    "parse_strategy_spec",
    "plot_auc",
    "plot_learning_curves",
    "plot_win_tie_loss",
    "read_results",
    "read_selection_study",
    "run_campaign",
    "run_selection_study",
    "save_evaluation_plots",
    "save_learning_curves",
    "selection_gains",
    "selection_markdown",
    "sign_flip_test",
    "summarize_results",
    "summary_markdown",
    "trial_seeds",
    "trials_needed_holm",
    "wilcoxon_test",
    "win_tie_loss",
    "win_tie_loss_matrix",
    "write_selection_summary",
]
