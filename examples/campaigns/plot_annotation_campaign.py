"""
A labelling campaign from a partly labeled STAR file, crash included
====================================================================

A lab has subtomograms cut from its tomograms and a RELION-style particle
table, a few particles of which an expert has already classified. A
:class:`~skcryoal.campaign.Campaign` turns that table into a labelling
campaign: a folder whose SQLite database records every particle with its
provenance, every label with its annotator, every query round and every model.
The model asks for the particles it would learn most from; a person labels
them (in a notebook with :meth:`~skcryoal.campaign.Campaign.widget`, in exported
sheets, or on the command line); the model is retrained; and in the end the
classes go back out as STAR files for subtomogram averaging.

Here the expert is simulated: the particles come from the built-in simulator,
and an annotator function looks up the true class of each particle. It goes
through the very API a person's clicks go through.
"""

# %%
# The particles: MRC subtomograms and a partly labeled STAR table
# ---------------------------------------------------------------
# 400 simulated particles of 4 classes, 24^3 voxels of 13 A, written as MRC
# files plus ``particles.star``. Tomogram names and coordinates stand in for a
# real picking run; the expert has labeled 20 particles so far.
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import starfile

from skcryoal import CryoNetClassifier
from skcryoal.campaign import Campaign, OracleAnnotator
from skcryoal.datasets import make_subtomograms
from skcryoal.io import write_subtomograms
from skcryoal.plotting import plot_orthoslices

CLASSES = ["ribosome", "proteasome", "TRiC", "membrane protein"]
X, y = make_subtomograms(
    n_samples=500, n_classes=4, size=24, voxel_size=13.0, snr=1.0, random_state=0
)
truth = np.array(CLASSES)[y]
X_test, y_test = X[400:], truth[400:]  # held out: how good is each round's model?
X, truth = X[:400], truth[:400]

work = Path(tempfile.mkdtemp())
table = write_subtomograms(work / "subtomograms", X, truth, voxel_size=13.0)
blocks = starfile.read(table, always_dict=True)
particles = blocks["particles"]
rng = np.random.default_rng(0)
particles["rlnTomoName"] = [f"TS_{i % 5 + 1:02d}" for i in range(len(particles))]
for axis in "XYZ":
    particles[f"rlnCenteredCoordinate{axis}Angst"] = rng.uniform(-2000, 2000, len(particles))
labeled = rng.choice(len(particles), size=20, replace=False)
particles["skcryoalLabelText"] = [
    text if i in labeled else "" for i, text in enumerate(particles["skcryoalLabelText"])
]
particles = particles.drop(columns=["rlnClassNumber"])  # no classification results yet
blocks["particles"] = particles
starfile.write(blocks, table, overwrite=True)
print(f"{(particles['skcryoalLabelText'] != '').sum()} of {len(particles)} rows labeled")
print(particles.loc[np.sort(labeled)[:3], ["rlnImageName", "rlnTomoName", "skcryoalLabelText"]])

# %%
# Create the campaign
# -------------------
# The 20 labeled rows seed the campaign; the other 380 are the pool, read
# lazily from the MRC files. The classifier is kept small for a CPU.
folder = work / "campaign"
campaign = Campaign.create(
    folder,
    table,
    CLASSES,
    estimator=CryoNetClassifier(module__width=8, max_epochs=20, random_state=0),
    strategy="ema",
    annotator="ana",
)
print(campaign.status())

# %%
# Round 1: the model asks, the expert answers
# -------------------------------------------
# ``query`` fits a model on the 20 seed labels, ranks the unlabeled particles
# by the deviation between the task model and its EMA mean model, and queues
# the top 30: the queue is in the database before ``query`` returns. Each
# ``label`` call is one transaction, durable when it returns.
expert = OracleAnnotator(truth, name="ana")  # stands in for a person
ids = campaign.query(30)
fig = plot_orthoslices(campaign.volume(ids[0]))
fig.suptitle(f"particle {ids[0]}, asked first")

for pid in ids:  # a person would click through these in campaign.widget()
    campaign.label(pid, expert([pid])[0])
print(campaign.status())

# %%
# A crash in the middle of labelling
# ----------------------------------
# A second annotator labels the next batch in another process, which dies
# (SIGKILL: a power cut, a killed job) part-way. Reopening the folder finds
# every label given before the crash; the particles not labeled yet are still
# queued.
campaign.query(30)
worker = subprocess.Popen(
    [
        sys.executable,
        "-c",
        textwrap.dedent(
            """
            import sys, time
            from skcryoal.campaign import Campaign
            truth = sys.argv[2].split(",")
            c = Campaign.open(sys.argv[1], annotator="ben")
            for pid in c.queued():
                c.label(int(pid), truth[int(pid)])
                print(pid, flush=True)
                time.sleep(0.05)
            """
        ),
        str(folder),
        ",".join(truth),
    ],
    stdout=subprocess.PIPE,
    text=True,
)
for _ in range(12):  # wait until ben has labeled 12 particles...
    worker.stdout.readline()
worker.kill()  # ...then the process dies
worker.wait()

campaign = Campaign.open(folder, annotator="ana")
status = campaign.status()
print(f"after the crash: {status.n_labeled} labeled, {status.n_queued} still queued")
print(campaign.labels()["annotator"].value_counts().to_string())

# %%
# Round 2 with files: an orthoslice sheet and a label sheet
# ---------------------------------------------------------
# Labs that label elsewhere export the queued batch: PNG pages and a PDF of
# orthoslices, and a CSV / STAR sheet with every provenance column and an
# empty label column. The filled-in sheet is validated as a whole and applied
# in one transaction, or not at all.
export = work / "batch-2"
campaign.export_batch(export)
print(sorted(p.name for p in export.iterdir()))

sheet_path = next(export.glob("*.csv"))
import pandas as pd  # noqa: E402

sheet = pd.read_csv(sheet_path)
sheet["label"] = expert(sheet["particle_id"])  # the expert fills in the column
sheet.to_csv(sheet_path, index=False)
campaign.import_labels(sheet_path, annotator="ana")

page = plt.imread(next(export.glob("*.png")))
fig, ax = plt.subplots(figsize=(7, 5))
ax.imshow(page)
ax.set_axis_off()
ax.set_title("a page of the exported orthoslice sheet")

# %%
# More rounds, and how the model improves
# ---------------------------------------
# ``fit`` retrains from scratch on every label (the paper's protocol) and
# checkpoints the model atomically; here each round's model is also scored on
# the held-out particles, which a real campaign does not have.
history = []
for round_ in range(3):
    model = campaign.fit()
    accuracy = float(np.mean(model.predict(X_test) == y_test))
    history.append((campaign.status().n_labeled, accuracy))
    print(f"{history[-1][0]} labels: held-out accuracy {accuracy:.2f}")
    if round_ < 2:
        ids = campaign.query(30, fit=False)
        campaign.label(ids, expert(ids))

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(*zip(*history), marker="o")
ax.set_xlabel("labeled particles")
ax.set_ylabel("held-out accuracy")
fig.tight_layout()

# %%
# The classes go back out
# -----------------------
# ``predict`` writes, for every particle, the predicted class, its probability
# and the deviation between task and mean model (a second confidence signal),
# keeping every column of the input table; and one STAR file per class, ready
# for subtomogram averaging in RELION. A person's label wins over the model's.
out = work / "predictions"
campaign.predict(out)
print(sorted(p.name for p in out.iterdir()))
predictions = pd.read_csv(out / "predictions.csv")
print(predictions.columns.tolist())
print(campaign.status())
