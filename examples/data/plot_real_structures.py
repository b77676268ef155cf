"""
Real macromolecules and junk: the candidates a lab cleans
=========================================================

Besides its procedural classes, the simulator ships eight real complexes
coarse-grained from wwPDB atomic models (CC0 data; provenance in
:func:`~skcryoal.datasets.list_structures`), from an 88 kDa T-cell receptor
complex to the 2.1 MDa 70S ribosome, and draws the junk that template matching
picks up along with the particles: gold fiducials, membranes, ice, carbon edges,
empty boxes, off-centre and edge-cut particles (:func:`~skcryoal.datasets.make_junk`).
``skcryoal benchmark --preset candidate-cleaning-cpu`` runs active learning on
such a mix.
"""

# %%
# The bundled structures
# ----------------------
import matplotlib.pyplot as plt
import numpy as np

from skcryoal.datasets import JUNK_KINDS, list_structures, make_junk, make_subtomograms
from skcryoal.plotting import plot_orthoslices, plot_templates

table = list_structures()
print(table[["key", "name", "mass_kda", "resolution", "box_size"]].to_string(index=False))

# %%
# Each structure noise-free, projected along z, y and x (12 A voxels, a 40^3 box):
# the apoferritin shell, the two ribosomal subunits and their 70S assembly.
fig = plot_templates(
    list(table["key"]), size=40, voxel_size=12.0, n_cols=4, labels=list(table["key"])
)

# %%
# The junk kinds, noise-free central slices
# -----------------------------------------
fig, axes = plt.subplots(1, len(JUNK_KINDS), figsize=(2 * len(JUNK_KINDS), 2.3))
for ax, kind in zip(axes, JUNK_KINDS):
    density = make_junk(kind, size=32, voxel_size=12.0, template="4V1W", random_state=0)
    ax.imshow(density[16], cmap="gray")
    ax.set_title(kind, fontsize=9)
    ax.axis("off")
fig.tight_layout()

# %%
# A candidate set: four complexes and 60% junk at SNR 0.1
# -------------------------------------------------------
# Every box goes through the same imaging (missing wedge, CTF, noise); the junk
# shares one label, "not a particle".
keys = ["4V5D", "4V5D-50S", "3JB9", "4V1W"]
X, y = make_subtomograms(
    40, templates=keys, junk=0.6, snr=0.1, size=32, voxel_size=12.0, random_state=0
)
print("boxes per label:", np.bincount(y).tolist(), "(label 4: not a particle)")
names = keys + ["junk"]
first = [int(np.flatnonzero(y == c)[0]) for c in range(5)]
fig = plot_orthoslices(X[first], labels=[names[c] for c in range(5)], n_cols=3)
