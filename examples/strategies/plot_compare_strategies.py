"""
Comparing query strategies on a small campaign
==============================================

:func:`~skcryoal.benchmark.run_campaign` runs the paper's protocol: per trial a
random initial labeled set shared by every strategy; each cycle re-trains the
classifier from scratch, scores it on a held-out test set and queries the next
batch. Here the EMA deviation query of the paper meets three baselines --
predictive entropy, core-set (k-center greedy on embeddings) and random -- on
a deliberately tiny simulated problem so that it runs in a minute on a CPU.
With so few trials and labels the curves are noisy: the
:doc:`benchmark page </benchmarks>` has the measured comparison at a size that
says something, and ``skcryoal benchmark --preset medium`` runs it.
"""

# %%
# A tiny campaign
# ---------------
import matplotlib.pyplot as plt

from skcryoal.benchmark import (
    ClassifierFactory,
    plot_learning_curves,
    run_campaign,
    summary_markdown,
)
from skcryoal.datasets import make_subtomograms

X, y = make_subtomograms(
    n_samples=600, n_classes=6, size=16, voxel_size=20.0, snr=0.5, random_state=0
)
X_pool, y_pool, X_test, y_test = X[:480], y[:480], X[480:], y[480:]

results = run_campaign(
    X_pool,
    y_pool,
    X_test,
    y_test,
    strategies="ema,entropy,coreset,random",
    classifier_factory=ClassifierFactory(width=8, max_epochs=10),
    initial=30,
    step=30,
    final=120,  # labeled volumes: 30, 60, 90, 120
    n_trials=2,
    random_state=0,
)
results[["strategy", "trial", "n_labeled", "accuracy", "macro_f1", "query_seconds"]].head(8)

# %%
# Learning curves
# ---------------
# Mean and standard deviation over the trials, as in the paper's Fig. 1.
fig, ax = plt.subplots(figsize=(5.5, 3.8))
plot_learning_curves(results, ax=ax, title="6 classes, 16^3, SNR 0.5, 2 trials")
fig.tight_layout()

# %%
# The same as a Markdown table (what ``skcryoal benchmark`` writes to
# ``summary.md``):
print(summary_markdown(results))

# %%
# Every row also records which pool volumes each cycle added (``added``), so a
# campaign can be audited or resumed: pass ``results_file="results.csv"`` and an
# interrupted run continues where it stopped.
