"""
From tomograms and picks to subtomograms: RELION 5 and copick
=============================================================

Particles rarely arrive as ready-cut boxes. A lab has reconstructed tomograms
and a list of picks: a RELION 5 particle set (positions in Angstrom from each
tomogram's centre, several tomograms in one table), or a copick project that a
picker and several annotators write into. This example goes from both to the
``(n, 1, z, y, x)`` array a classifier takes, checks that the boxes are centred
where the particles really are, resamples them to the voxel size a classifier
was trained at, and writes a classifier's predictions back into the copick
project, where napari-copick shows them.

The tomograms come from :func:`~skcryoal.datasets.make_tomogram`, which places
built-in particles at known positions, so every step can be checked against the
truth. With your own data, start at step 3 with your ``particles.star`` and
``tomograms.star``, or at step 6 with your copick config. The user guide page
:doc:`/user_guide/tomograms` explains the conventions.
"""

# %%
# 1. Two tomograms on disk, laid out like a RELION 5 project
# ----------------------------------------------------------
# Each tomogram is 96 x 96 x 48 voxels of 10 A (x, y, z) with eight particles
# of three classes. In RELION's terms, it was reconstructed at binning 4 from a
# tilt series of 2.5 A pixels, so its unbinned size is 384 x 384 x 192 pixels.
# The MRC files go where RELION 5's Reconstruct job puts them; their headers
# carry the voxel size.
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import mrcfile
import numpy as np
import pandas as pd
import starfile

from skcryoal.datasets import make_tomogram

TILT_PIXEL, BINNING = 2.5, 4  # Angstrom, and the binning of the reconstruction
VOXEL = TILT_PIXEL * BINNING  # 10 A per voxel of the tomogram files
SHAPE = (48, 96, 96)  # (z, y, x), the order of the MRC data block
CLASSES = np.array(["globule", "ring", "barrel"])  # names for classes 0, 1, 2

project = Path(tempfile.mkdtemp())
folder = project / "Tomograms" / "job007" / "tomograms"
folder.mkdir(parents=True)
tomograms, truth = {}, []
for k, name in enumerate(["TS_01", "TS_02"]):
    volume, particles = make_tomogram(
        SHAPE, 8, n_classes=3, voxel_size=VOXEL, snr=0.5, random_state=k
    )
    with mrcfile.new(folder / f"rec_{name}.mrc") as mrc:
        mrc.set_data(volume)
        mrc.voxel_size = VOXEL
    tomograms[name] = volume
    truth.append(particles.assign(tomogram=name, name=CLASSES[particles["class"]]))
truth = pd.concat(truth, ignore_index=True)  # the simulator's answer key
truth.head()

# %%
# 2. The RELION 5 tables
# ----------------------
# RELION 5 describes the tomograms in ``tomograms.star`` (a ``global`` block,
# one row per tomogram: its file, unbinned size, tilt-series pixel size and
# binning) and the particles in a particle set whose positions are
# ``rlnCenteredCoordinateX/Y/ZAngst``: Angstrom from the centre of the tomogram.
# A particle at voxel ``x`` of a file ``W`` voxels wide sits at
# ``(x - W / 2) * 10`` A. Paths in ``tomograms.star`` are relative to the
# project directory, as RELION writes them. A picking score stands in for the
# extra columns that real tables carry; they are kept as provenance.
starfile.write(
    {
        "global": pd.DataFrame(
            {
                "rlnTomoName": list(tomograms),
                "rlnTomoSizeX": SHAPE[2] * BINNING,
                "rlnTomoSizeY": SHAPE[1] * BINNING,
                "rlnTomoSizeZ": SHAPE[0] * BINNING,
                "rlnTomoTiltSeriesPixelSize": TILT_PIXEL,
                "rlnTomoTomogramBinning": float(BINNING),
                "rlnTomoReconstructedTomogram": [
                    f"Tomograms/job007/tomograms/rec_{name}.mrc" for name in tomograms
                ],
            }
        )
    },
    project / "Tomograms" / "job007" / "tomograms.star",
)
centre_xyz = np.array(SHAPE[::-1]) / 2.0  # the tomogram centre, voxels (x, y, z)
centred = (truth[["x", "y", "z"]].to_numpy() - centre_xyz) * VOXEL
optics = pd.DataFrame(
    {
        "rlnOpticsGroup": [1],
        "rlnOpticsGroupName": ["opticsGroup1"],
        "rlnTomoTiltSeriesPixelSize": [TILT_PIXEL],
    }
)
picks = pd.DataFrame(
    {
        "rlnTomoName": truth["tomogram"],
        "rlnCenteredCoordinateXAngst": centred[:, 0],
        "rlnCenteredCoordinateYAngst": centred[:, 1],
        "rlnCenteredCoordinateZAngst": centred[:, 2],
        "rlnOpticsGroup": 1,
        "rlnAutopickFigureOfMerit": np.linspace(0.9, 0.5, len(truth)).round(3),
    }
)
(project / "Picks").mkdir()
starfile.write({"optics": optics, "particles": picks}, project / "Picks" / "particles.star")
picks.head()

# %%
# 3. Read the particle set: each particle's tomogram file and voxel
# ------------------------------------------------------------------
# :func:`~skcryoal.io.read_particle_set` recognises the RELION 5 convention by
# its columns, finds each tomogram's file through ``tomograms.star`` and
# converts the centred Angstrom to voxels of that file (0-based, ``x`` along
# the last array axis). Every column of the table is kept; the ``skcryoal_*``
# columns are added.
from skcryoal.io import extract_particles, read_particle_set

particle_set = read_particle_set(
    project / "Picks" / "particles.star",
    tomograms=project / "Tomograms" / "job007" / "tomograms.star",
)
standard = [
    "skcryoal_tomogram",
    "skcryoal_voxel_size",
    "skcryoal_x",
    "skcryoal_y",
    "skcryoal_z",
    "skcryoal_convention",
]
print(particle_set[standard].head().round(2).to_string())

# Against the simulator's truth: the conversion is exact.
error = particle_set[["skcryoal_x", "skcryoal_y", "skcryoal_z"]].to_numpy()
error -= truth[["x", "y", "z"]].to_numpy()
print(f"largest position error: {np.abs(error).max():.1e} voxels")

# %%
# Where the particles are
# -----------------------
# A 10-slice slab through the middle of each tomogram (z from 19 to 28), with a
# circle at every particle and its row in the table. Particles whose centre is
# far from the slab are faint or invisible in it: the circle is drawn anyway.
fig, axes = plt.subplots(1, 2, figsize=(9, 4.6), layout="constrained")
for ax, name in zip(axes, tomograms):
    slab = tomograms[name][19:29].mean(axis=0)
    ax.imshow(slab, cmap="gray", origin="lower")
    rows = particle_set[particle_set["skcryoal_tomogram"] == name]
    for row, (x, y, z) in rows[["skcryoal_x", "skcryoal_y", "skcryoal_z"]].iterrows():
        colour = "tab:orange" if abs(z - 23.5) < 8 else "tab:cyan"
        ax.add_patch(plt.Circle((x, y), 13, fill=False, color=colour, lw=1.5))
        ax.annotate(str(row), (x + 10, y + 10), color="yellow", fontsize=8)
    ax.set_title(f"{name}: z 19-28 (orange: centre within 8 voxels)", fontsize=9)
    ax.set_xlabel("x (voxels)")
axes[0].set_ylabel("y (voxels)")

# %%
# 4. Cut the boxes
# ----------------
# :func:`~skcryoal.io.extract_particles` groups the rows by tomogram, opens
# each file once, memory-mapped, and reads only the boxes: memory holds the
# output plus the boxes of one tomogram, whatever the size of the tomograms
# (with ``out=`` a ``numpy.memmap``, even the output stays on disk). The
# result is in table order, with the table of the rows cut (``skcryoal_row`` is
# each row's position in the particle set). Boxes of 32 voxels (320 A) near the
# top or bottom of a 48-voxel-thick tomogram reach past its faces:
# ``edge="skip"`` would drop them, ``edge="pad"`` fills what lies outside with
# the tomogram's mean, and the default, ``"raise"``, stops with the rows at
# fault. Each box is standardized to zero mean and unit standard deviation, as
# the classifier expects (``standardize=False`` keeps the tomogram's grey
# values; the table's ``skcryoal_standardized`` column says which).
X, table = extract_particles(particle_set, size=32, edge="pad")
_, kept = extract_particles(particle_set, size=32, edge="skip")
print(f"X: {X.shape}, {X.dtype}; edge='skip' would keep {len(kept)} of {len(X)}")

from skcryoal.plotting import plot_orthoslices

shown = [0, 3, 4, 9]
labels = [f"row {i}: {truth['name'][i]}" for i in shown]
fig = plot_orthoslices(X[shown], labels=labels, n_cols=2)

# %%
# Each box is centred on its particle: the centre lies within half a voxel of
# voxel 16 (``size // 2``) along each axis. The XZ and YZ slices show the
# missing wedge's elongation along z.
#
# 5. At the classifier's voxel size
# ---------------------------------
# A classifier works at the voxel size it was trained at. Here it will be
# 20 A, so the boxes are resampled: 16 voxels of 20 A cover the same 320 A. The
# resampling is band-limited (Fourier cropping when the voxels grow, Fourier
# padding when they shrink), so nothing aliases and nothing is blurred, and the
# particle centre falls exactly on voxel 8. Tomograms at different voxel sizes
# in one table are all brought to ``voxel_size`` (without it they are an
# error), and resampling a tomogram whose voxel size nothing states is an error
# too: the voxel size comes from the MRC header, else from ``tomograms.star``.
X20, table20 = extract_particles(particle_set, size=16, voxel_size=20.0, edge="pad")
print(f"X20: {X20.shape}")
fig = plot_orthoslices(X20[shown], labels=[f"{label}, 20 A" for label in labels], n_cols=2)

# %%
# 6. A copick project
# -------------------
# copick keeps a project as a JSON config plus, per *run* (one tilt series),
# OME-Zarr tomograms and pick sets, each pick set by one user (or tool) and
# session, for one object. We make one on disk with the same two tomograms,
# written at 10 A with a second level at 20 A. A particle picker (user
# ``pytom``, session ``"0"``: copick's mark of a tool's output) found every
# particle, under the generic object ``particle``, with positions up to 4 A
# off; an expert (user ``ana``, session ``"1"``) classified one particle of each
# class per run, as picks of the objects ``globule``, ``ring`` and ``barrel``.
# Points are Angstrom from the corner of the tomogram (the first voxel's centre
# at 0), so the position in voxels is the point divided by the voxel spacing.
import copick
from copick.models import PickableObject

config = project / "copick" / "config.json"
root = copick.new_config(
    str(config),
    str(project / "copick" / "overlay"),
    pickable_objects=[
        PickableObject(name="particle", is_particle=True, label=1, radius=125),
        *[
            PickableObject(name=str(name), is_particle=True, label=k + 2, radius=125)
            for k, name in enumerate(CLASSES)
        ],
    ],
)
rng = np.random.default_rng(0)
for name, volume in tomograms.items():
    run = root.new_run(name)
    run.new_voxel_spacing(VOXEL).new_tomogram("wbp").from_numpy(volume, levels=2)
    mine = truth[truth["tomogram"] == name]
    angstrom = mine[["x", "y", "z"]].to_numpy() * VOXEL
    found = angstrom + rng.uniform(-4, 4, angstrom.shape)
    scores = rng.uniform(0.3, 0.9, len(mine))  # the picker's confidence
    run.new_picks("particle", "0", "pytom").from_numpy(found, scores=scores)
    for obj in CLASSES:
        first = np.flatnonzero(mine["name"].to_numpy() == obj)[:1]
        run.new_picks(str(obj), "1", "ana").from_numpy(angstrom[first])
for run in root.runs:
    print(run.name, [f"{p.user_id}/{p.session_id}/{p.pickable_object_name}" for p in run.picks])

# %%
# 7. Read the picks and cut their boxes
# -------------------------------------
# :func:`~skcryoal.io.read_copick_subtomograms` reads the chosen pick sets of
# every run, converts the points to voxels of the run's ``wbp`` tomogram and
# cuts the boxes. The expert's picks are named the truth: their rows get the
# object name as a label, the picker's rows get None. Asked for 20 A, the reader
# takes the tomogram's 20 A level as it is (no resampling), so only the voxels
# of that level are read. Provenance columns say where each box came from.
from skcryoal.io import read_copick_subtomograms

Xc, yc, copick_table = read_copick_subtomograms(
    config, size=16, users="pytom", truth_user="ana", voxel_size=20.0, edge="pad"
)
print(f"{len(Xc)} boxes: {np.sum(yc != None)} labeled by ana")  # noqa: E711
provenance = [
    "copick_run",
    "copick_object",
    "copick_user_id",
    "copick_session_id",
    "copick_point_index",
    "copick_score",
    "label",
]
print(copick_table[provenance].head(5).to_string())
is_truth = copick_table["copick_user_id"] == "ana"
labels = [f"{run}: {label}" for run, label in zip(copick_table["copick_run"], yc)]
fig = plot_orthoslices(Xc[is_truth.to_numpy()], labels=np.array(labels)[is_truth], n_cols=3)

# %%
# 8. Classify and write the predictions back
# ------------------------------------------
# The classifier: a small :class:`~skcryoal.CryoNetClassifier` trained on
# simulated subtomograms of the same three structures at 20 A
# (:func:`~skcryoal.datasets.make_subtomograms`), standing in for a model
# trained elsewhere. Each box is standardized first, as the training volumes
# were. Its predictions are real predictions, not the truth: the table below
# compares them with the simulator's answer key.
from skcryoal import CryoNetClassifier
from skcryoal.datasets import make_subtomograms
from skcryoal.io import read_copick, write_copick_picks
from skcryoal.preprocessing import SubtomogramStandardizer

X_train, y_train = make_subtomograms(
    n_samples=240, n_classes=3, size=16, voxel_size=20.0, snr=0.5, random_state=1
)
clf = CryoNetClassifier(module__width=8, max_epochs=15, random_state=0)
clf.fit(X_train, CLASSES[y_train])

pool = ~is_truth.to_numpy()
proba = clf.predict_proba(SubtomogramStandardizer().fit_transform(Xc[pool]))
predictions = copick_table[pool].assign(
    predicted_class=clf.classes_[proba.argmax(axis=1)], probability=proba.max(axis=1)
)
# the picker's points are in the simulator's order within each run
answer = truth.set_index(["tomogram", truth.groupby("tomogram").cumcount()])["name"]
keys = zip(predictions["copick_run"], predictions["copick_point_index"])
predictions["true_class"] = answer.loc[list(keys)].to_numpy()
pd.crosstab(predictions["true_class"], predictions["predicted_class"])

# %%
# Counts off the diagonal are mistakes. A model trained on isolated, simulated
# particles meets boxes that hold parts of neighbours, from tomograms imaged at
# 10 A, finer than its training set. With real data there is no answer key:
# the expert's labels play its part, and a labelling campaign (see the end) is
# how a lab finds and fixes such mistakes.
#
# The predictions go back into the project with
# :func:`~skcryoal.io.write_copick_picks`: one pick set per class and run, by
# the tool ``skcryoal`` in session ``"0"``, at the picker's positions, with the
# class probability as each point's score. That is the form in which
# napari-copick and the copick tools show a tool's picks.
summary = write_copick_picks(config, predictions)
print(summary.to_string())

# %%
# The predictions are now ordinary copick picks; read back, they carry the
# probabilities as scores, at the picker's positions.
back = read_copick(config, users="skcryoal")
print(
    back[
        [
            "copick_run",
            "copick_object",
            "copick_session_id",
            "copick_score",
            "skcryoal_x",
            "skcryoal_y",
            "skcryoal_z",
        ]
    ]
    .round(2)
    .head(6)
    .to_string()
)

# %%
# Next steps
# ----------
# The boxes and their table are a pool: start a labelling campaign on them
# (:doc:`/user_guide/campaigns`), where the expert's labels seed the model and
# the model asks for the particles it would learn most from. On the command
# line, ``skcryoal extract`` writes the boxes of a particle set as MRC files
# plus a table.
