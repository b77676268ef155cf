"""
Learning from the unlabeled pool: pretraining, semi-supervised training, cold start
===================================================================================

A lab has far more particles than labels. This example lets the unlabeled pool
teach the classifier in the three ways of the user guide's page "Learning from the
unlabeled pool", at toy size (16^3 volumes, a narrow network, a few epochs, so
that it runs in a minute on a laptop CPU):

1. a :class:`~skcryoal.pretraining.SubtomogramEmbedder` learns an encoder from the
   whole pool without labels (SimCLR on views of other 3D orientations, with the
   missing wedge re-imposed);
2. classifiers trained on a few labels start from it (frozen, or as a linear
   probe in a scikit-learn pipeline), or learn from the unlabeled rows
   (``y == -1``) with Mean Teacher;
3. :class:`~skcryoal.query.TypiClustQuery` and
   :class:`~skcryoal.query.ProbCoverQuery` pick the first labels on the
   embedding, before any model exists.

This is the API at a size a CI machine runs in a minute or two, not a
measurement: 15 epochs of pretraining on 400 tiny volumes teach the encoder
little, and at this size training from scratch on easy, high-SNR particles does
as well. The measured comparison, at the benchmark's size (2000 volumes of 32^3
at SNR 0.1, 30 epochs of pretraining), is in the benchmark page's section "Fewer
labels".
"""

# %%
# A pool of simulated particles in random poses
# ---------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skcryoal import CryoNetClassifier
from skcryoal.datasets import make_subtomograms
from skcryoal.pretraining import SubtomogramEmbedder
from skcryoal.query import ProbCoverQuery, TypiClustQuery

X, y = make_subtomograms(
    n_samples=520, n_classes=5, size=16, voxel_size=20.0, snr=2.0, random_state=3
)
X_test, y_test = X[400:], y[400:]
X_pool, y_pool = X[:400], y[:400]  # y_pool plays the expert

# %%
# Pretraining on the whole pool, no labels
# ----------------------------------------
# ``checkpoint=`` would make the training resumable after a kill; ``progress``
# shows a bar in a notebook.
# small volumes: the "cifar" stem keeps the full resolution in the first stage
embedder = SubtomogramEmbedder(
    width=8, stem="cifar", max_epochs=15, batch_size=32, lr=2e-3, progress=False, random_state=0
).fit(X_pool)
print("loss per epoch:", [round(h["loss"], 2) for h in embedder.history_])

# the embedding of the test set, projected on its first two principal axes
E = PCA(2).fit_transform(embedder.transform(X_test))
fig, ax = plt.subplots(figsize=(4.5, 4))
ax.scatter(E[:, 0], E[:, 1], c=y_test, cmap="tab10", s=12)
ax.set_title("pretrained embedding (no labels used), by true class")
ax.set_xticks([])
ax.set_yticks([])

# %%
# Few labels: from scratch, frozen pretrained encoder, linear probe, Mean Teacher
# -------------------------------------------------------------------------------
# The same 20 random labels for every recipe (4 per class on average).
labeled = np.random.default_rng(0).choice(len(X_pool), size=20, replace=False)


def classifier(**params):
    params = {"module__width": 8, "module__stem": "cifar", "max_epochs": 60, **params}
    return CryoNetClassifier(augment=True, classes=np.arange(5), random_state=0, **params)


scores = {}
scratch = classifier().fit(X_pool[labeled], y_pool[labeled])
scores["from scratch"] = scratch.score(X_test, y_test)

frozen = classifier(encoder=embedder.encoder_, freeze_encoder=True)
scores["frozen encoder"] = frozen.fit(X_pool[labeled], y_pool[labeled]).score(X_test, y_test)

probe = make_pipeline(
    FrozenEstimator(embedder), StandardScaler(), LogisticRegression(max_iter=2000)
)
scores["linear probe"] = probe.fit(X_pool[labeled], y_pool[labeled]).score(X_test, y_test)

# scikit-learn's convention: -1 marks the unlabeled rows, which Mean Teacher learns from
y_semi = np.full(len(X_pool), -1)
y_semi[labeled] = y_pool[labeled]
teacher = classifier(unlabeled_method="mean-teacher", unlabeled_weight=3.0, max_epochs=30)
scores["Mean Teacher"] = teacher.fit(X_pool, y_semi).score(X_test, y_test)

for name, value in scores.items():
    print(f"{name:>15}: {value:.3f}")

# %%
# The first labels chosen on the embedding
# ----------------------------------------
# With a pretrained embedder, TypiClust and ProbCover need no model: TypiClust picks
# the most typical particle of each k-means cluster of the embedding, ProbCover the
# particles whose neighbourhoods cover most of it. How evenly the picks spread over
# the classes depends on how well the embedding separates them.
print("classes among 20 random labels:   ", np.bincount(y_pool[labeled], minlength=5))
for strategy in (
    TypiClustQuery(embedder=embedder, random_state=0),
    ProbCoverQuery(embedder=embedder, n_clusters=5, random_state=0),
):
    first = strategy(None, X_pool, 20)
    name = type(strategy).__name__.replace("Query", "")
    print(f"classes among 20 {name} picks:", np.bincount(y_pool[first], minlength=5))
    covered = make_pipeline(
        FrozenEstimator(embedder), StandardScaler(), LogisticRegression(max_iter=2000)
    )
    covered.fit(X_pool[first], y_pool[first])
    scores[f"probe, {name} labels"] = covered.score(X_test, y_test)

fig, ax = plt.subplots(figsize=(6, 3))
ax.barh(list(scores), list(scores.values()))
ax.set_xlabel("test accuracy with 20 labels")
ax.set_xlim(0, 1)
ax.set_title("one seed: a demonstration, not a benchmark")
fig.tight_layout()
plt.show()
