"""Draw docs/_static/junk_kinds.png: central slices of each junk kind, before and after imaging.

Run from the repository root: ``python tools/plot_junk_kinds.py``. Needs matplotlib.
Top row: the noise-free density (x-z slice through the box centre; the beam runs along z).
Bottom row: the same imaged without noise (CTF, envelope, band limit and the missing
wedge of a -60..60 degree tilt series about y), as ``make_subtomograms`` images it.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import fft as sp_fft  # noqa: E402

from skcryoal.datasets import JUNK_KINDS, make_junk, make_template, transfer_function  # noqa: E402
from skcryoal.datasets._junk import Scene  # noqa: E402
from skcryoal.datasets._templates import load_template  # noqa: E402

SIZE, VOXEL, TEMPLATE, SEED = 32, 10.0, "4V1W", 5
OUT = Path(__file__).resolve().parent.parent / "docs" / "_static" / "junk_kinds.png"


def imaged(volume):
    """Image a density without noise, as ``make_subtomograms`` does."""
    transfer = transfer_function(SIZE, voxel_size=VOXEL)
    return sp_fft.irfftn(sp_fft.rfftn(volume) * transfer, s=volume.shape)


def main():
    """Draw the figure and save it to ``OUT``."""
    particle = make_template(TEMPLATE, SIZE, VOXEL)
    scene = Scene([load_template(TEMPLATE, VOXEL)], SIZE, VOXEL, max_shift=2.0)
    crowded = particle + scene.neighbours(np.random.default_rng(SEED), 0, np.zeros(3), 2)
    panels = [("particle", particle), ("crowded", crowded)] + [
        (kind, make_junk(kind, SIZE, VOXEL, template=TEMPLATE, random_state=SEED))
        for kind in JUNK_KINDS
    ]
    fig, axes = plt.subplots(2, len(panels), figsize=(1.1 * len(panels), 2.5))
    centre = SIZE // 2
    for column, (name, volume) in enumerate(panels):
        for row, image in enumerate((volume, imaged(volume))):
            ax = axes[row, column]
            section = image[:, centre, :]  # (z, x): the missing wedge shows in this plane
            limit = np.abs(section).max() or 1.0
            ax.imshow(section, cmap="gray", vmin=-limit, vmax=limit, origin="lower")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0, column].set_title(name, fontsize=8)
    axes[0, 0].set_ylabel("density", fontsize=8)
    axes[1, 0].set_ylabel("imaged", fontsize=8)
    fig.tight_layout(pad=0.3, w_pad=0.2, h_pad=0.2)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=90)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
