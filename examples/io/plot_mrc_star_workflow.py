"""
From MRC files and a STAR table to a batch for annotation
=========================================================

The workflow of a lab with real data: subtomograms extracted to MRC files and
listed in a RELION-style STAR particle table, a few of them labeled by an
expert. skcryoal reads the table lazily (volumes are read when indexed, so the
pool may be larger than memory), trains on the labeled particles, asks for the
next ones to label, and exports them -- a STAR table of the chosen particles
for the annotation tool, and an orthoslice sheet to look at.

Here the "lab data" is written by the simulator into a temporary folder; with
your own data, start at step 2 with your table.
"""

# %%
# 1. Particles on disk (stand-in for your extraction)
# ---------------------------------------------------
# :func:`~skcryoal.io.write_subtomograms` writes one MRC file per volume (voxel
# size in the header, in Angstrom) and ``particles.star``; labels go to
# ``rlnClassNumber`` and, verbatim, to ``skcryoalLabelText``.
import tempfile
from pathlib import Path

import numpy as np
import starfile

from skcryoal import CryoNetClassifier, EMADeviationQuery
from skcryoal.datasets import make_subtomograms
from skcryoal.io import read_subtomograms, write_subtomograms
from skcryoal.plotting import plot_orthoslices

names = np.array(["ribosome", "proteasome", "TRiC", "nucleosome", "actin"])
X_sim, y_sim = make_subtomograms(
    n_samples=300, n_classes=5, size=24, voxel_size=15.0, snr=0.5, random_state=0
)
workdir = Path(tempfile.mkdtemp())
table = write_subtomograms(workdir / "particles", X_sim, names[y_sim], voxel_size=15.0)
print(sorted(p.name for p in table.parent.iterdir())[:3], "...")
starfile.read(table)["particles"].head(3)

# %%
# 2. Read the table lazily
# ------------------------
# ``mmap=True`` validates every header now and reads volumes on demand. The
# arrays are ``(n, 1, z, y, x)``, float32.
X, y_all, voxel_size = read_subtomograms(table, mmap=True, return_voxel_size=True)
print(type(X).__name__, X.shape, f"voxel size {voxel_size} A")

# In a real project only some rows carry an expert's label: here the first 60.
labeled = np.arange(60)
unlabeled = np.arange(60, len(X))
y_labeled = y_all[labeled]

# %%
# 3. Train, then ask for the next batch
# -------------------------------------
# String labels work directly; ``classes`` fixes the output layer to all five.
clf = CryoNetClassifier(module__width=8, max_epochs=20, classes=np.sort(names), random_state=0)
clf.fit(X[labeled], y_labeled)

strategy = EMADeviationQuery(random_state=0)
scores = strategy.score_samples(clf, X[unlabeled])
query = strategy(clf, X[unlabeled], n_instances=12)
batch = unlabeled[query]  # rows of the particle table
print("to annotate next:", batch.tolist())
print(f"their deviation scores: {np.round(scores[query], 3).tolist()}")
print(f"median score of the pool: {np.median(scores):.3f}")

# %%
# 4. Export the batch for annotation
# ----------------------------------
# The chosen rows of the original table, unchanged (file names, optics group and
# any column of yours), plus the model's current guess, ready for the annotation
# tool; and an orthoslice sheet of the same particles.
particles = starfile.read(table)
# (the label columns are dropped: the annotator should not see the answer)
batch_rows = (
    particles["particles"].iloc[batch].drop(columns=["rlnClassNumber", "skcryoalLabelText"])
)
batch_rows["skcryoalPredicted"] = clf.predict(X[batch])
batch_rows["skcryoalDeviation"] = scores[query]
batch_table = workdir / "to_annotate.star"
starfile.write({"optics": particles["optics"], "particles": batch_rows}, batch_table)
print(batch_table.name, "->", len(starfile.read(batch_table)["particles"]), "particles")

fig = plot_orthoslices(X[batch[:8]], labels=[f"row {i}" for i in batch[:8]])
fig.savefig(workdir / "to_annotate.png", dpi=100)

# %%
# 5. Back from the annotator
# --------------------------
# The expert's labels for the batch (here: the simulator's truth) join the
# labeled set; the next cycle re-trains from scratch on all of them.
labeled = np.concatenate([labeled, batch])
unlabeled = np.setdiff1d(unlabeled, batch)
clf.fit(X[labeled], y_all[labeled])
print(
    f"{len(labeled)} labels; accuracy on the rest of the pool "
    f"{np.mean(clf.predict(X[unlabeled]) == y_all[unlabeled]):.3f}"
)
