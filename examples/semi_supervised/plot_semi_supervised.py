"""
Semi-supervised training with the unlabeled pool
================================================

The regularizer ``reg_lambda * MSE(task logits, mean logits)`` needs no label,
so the unlabeled pool can join training: ``fit(X, y, X_unlabeled=X_pool)``
pairs every labeled batch with as many unlabeled volumes, which contribute only
to the consistency term (the paper's Fig. 3, left). This is the mean-teacher
idea applied inside each active-learning cycle. It costs about twice the
training compute per epoch (every batch is twice as large).
"""

# %%
# Few labels, a larger unlabeled pool
# -----------------------------------
import matplotlib.pyplot as plt
import numpy as np

from skcryoal import CryoNetClassifier
from skcryoal.datasets import make_subtomograms

X, y = make_subtomograms(
    n_samples=560, n_classes=6, size=16, voxel_size=20.0, snr=1.0, random_state=1
)
X_test, y_test = X[400:], y[400:]
X_pool, y_pool = X[:400], y[:400]
rng = np.random.default_rng(0)
order = rng.permutation(len(X_pool))


def make_clf():
    return CryoNetClassifier(
        module__width=8, max_epochs=15, reg_lambda=0.3, classes=np.arange(6), random_state=0
    )


# %%
# Supervised versus semi-supervised at the same labels
# ----------------------------------------------------
# Same classifier, same seed, same labeled volumes; the semi-supervised fit also
# sees the rest of the pool without its labels.
n_labels = [30, 60, 120]
acc = {"supervised": [], "semi-supervised": []}
for n in n_labels:
    labeled, rest = order[:n], order[n:]
    sup = make_clf().fit(X_pool[labeled], y_pool[labeled])
    semi = make_clf().fit(X_pool[labeled], y_pool[labeled], X_unlabeled=X_pool[rest])
    acc["supervised"].append(sup.score(X_test, y_test))
    acc["semi-supervised"].append(semi.score(X_test, y_test))
    print(
        f"{n:4d} labels: supervised {acc['supervised'][-1]:.3f}, "
        f"semi-supervised {acc['semi-supervised'][-1]:.3f}"
    )

fig, ax = plt.subplots(figsize=(5, 3.5))
for name, values in acc.items():
    ax.plot(n_labels, values, marker="o", label=name)
ax.set_xlabel("labeled volumes")
ax.set_ylabel("test accuracy")
ax.set_title("one seed: a demonstration, not a benchmark")
ax.legend()
fig.tight_layout()

# %%
# In an active-learning campaign
# ------------------------------
# modAL passes keyword arguments of ``teach`` and of the learner's constructor
# on to ``fit``, so the semi-supervised variant is
# ``learner.teach(X_new, y_new, X_unlabeled=X_pool_rest)``; in a benchmark it
# is the strategy spec ``ema:semi=true`` or ``run_campaign(...,
# semi_supervised=True)`` (``skcryoal benchmark --preset fig3-semi-cpu``).
# Whether it helps depends on the data and on the training budget: the curves
# above come from one seed, so read them as a demonstration of the API; the
# benchmark preset repeats the comparison over trials.
