"""
Active learning in a notebook: fit, query, teach
=================================================

A structural biologist has a pool of unlabeled subtomograms. Starting from a few
labeled ones, the :class:`~skcryoal.classifier.CryoNetClassifier` asks for the volumes on
which its task model and its EMA mean model disagree most
(:class:`~skcryoal.query.EMADeviationQuery`); the expert labels them and the model is
retrained. Here the expert is played by the simulator's ground truth, and random
selection from the same initial labels is the baseline.
"""

# %%
# Simulated subtomograms
# ----------------------
# Ten classes of macromolecule-like structures, 24^3 voxels of 13 A, SNR 0.5,
# with the missing wedge and CTF of a tilt series (axis order z, y, x).
import matplotlib.pyplot as plt
import numpy as np

from skcryoal import ActiveLearner, CryoNetClassifier, EMADeviationQuery, RandomQuery
from skcryoal.datasets import make_subtomograms
from skcryoal.plotting import plot_orthoslices

X, y = make_subtomograms(
    n_samples=700, n_classes=10, size=24, voxel_size=13.0, snr=0.5, random_state=0
)
X_pool, y_pool, X_test, y_test = X[:500], y[:500], X[500:], y[500:]
initial = np.random.default_rng(0).choice(len(X_pool), size=60, replace=False)

# %%
# One campaign per strategy
# -------------------------
# Each cycle re-trains the classifier from scratch on all labels so far
# (modAL's ``teach``), then queries 30 more volumes.


def campaign(strategy, n_cycles=3, step=30):
    clf = CryoNetClassifier(module__width=8, max_epochs=20, classes=np.arange(10), random_state=0)
    learner = ActiveLearner(
        clf, query_strategy=strategy, X_training=X_pool[initial], y_training=y_pool[initial]
    )
    unlabeled = np.setdiff1d(np.arange(len(X_pool)), initial)
    sizes, scores = [len(initial)], [learner.score(X_test, y_test)]
    for _ in range(n_cycles):
        idx, X_query = learner.query(X_pool[unlabeled], n_instances=step)
        learner.teach(X_query, y_pool[unlabeled[idx]])  # the expert's labels
        last_query = unlabeled[idx]
        unlabeled = np.delete(unlabeled, idx)
        sizes.append(len(learner.y_training))
        scores.append(learner.score(X_test, y_test))
    return sizes, scores, last_query


results = {
    "EMA deviation": campaign(EMADeviationQuery()),
    "random": campaign(RandomQuery(random_state=np.random.RandomState(0))),
}
for name, (sizes, scores, _) in results.items():
    print(f"{name:>14}: " + ", ".join(f"{n} labels {s:.2f}" for n, s in zip(sizes, scores)))

# %%
# Learning curves
# ---------------
# One seed and a few small cycles: the curves are noisy, and a single run says
# little about which strategy is better. The :doc:`benchmark page </benchmarks>`
# compares strategies over several trials at a size where the differences mean
# something.
fig, ax = plt.subplots(figsize=(5, 3.5))
for name, (sizes, scores, _) in results.items():
    ax.plot(sizes, scores, marker="o", label=name)
ax.set_xlabel("labeled volumes")
ax.set_ylabel("test accuracy")
ax.legend()
fig.tight_layout()

# %%
# What the annotator sees
# -----------------------
# The last batch the EMA strategy asked for, as central orthoslices (the missing
# wedge shows as streaks in the XZ slices).
last_query = results["EMA deviation"][2]
fig = plot_orthoslices(X_pool[last_query[:4]], labels=[f"pool #{i}" for i in last_query[:4]])
