"""
Simulated subtomograms across signal-to-noise ratios
=====================================================

:func:`~skcryoal.datasets.make_subtomograms` is the built-in data: procedural
macromolecule-like templates, each particle randomly rotated and shifted, imaged
through the missing wedge and contrast transfer function (CTF) of a tilt series
(-60 to +60 degrees about the y axis), band-limited, then buried in Gaussian
noise to a given signal-to-noise ratio (SNR, signal variance over noise
variance). Series that differ only in ``snr`` share the same particles and
poses, so a particle can be followed from clean to realistic noise levels.
The paper's experiments use SNR infinity, 0.05 and 0.03.
"""

# %%
# The same particles at four noise levels
# ---------------------------------------
# Arrays are ``(n_samples, 1, z, y, x)``, voxels of 10 Angstrom here.
import matplotlib.pyplot as plt
import numpy as np

from skcryoal.datasets import make_subtomograms, missing_wedge_mask
from skcryoal.plotting import plot_fourier_power, plot_orthoslices, plot_templates

snrs = [np.inf, 0.5, 0.05, 0.03]
series = {
    snr: make_subtomograms(n_samples=40, n_classes=4, size=32, snr=snr, random_state=0)
    for snr in snrs
}
X_clean, y = series[np.inf]
print(f"volumes {X_clean.shape}, {X_clean.dtype}; classes {np.unique(y).tolist()}")
assert all(np.array_equal(y, labels) for _, labels in series.values())  # paired series

# %%
# The four templates, noise-free and unrotated (projections along z, y and x):
fig = plot_templates(range(4), size=32, n_cols=4)

# %%
# Central orthoslices of one particle per class, XY, XZ and YZ side by side.
# In the XZ and YZ slices the missing wedge smears the density along z.
first = [int(np.flatnonzero(y == c)[0]) for c in range(4)]
for snr in (np.inf, 0.05):
    X, _ = series[snr]
    fig = plot_orthoslices(X[first], labels=[f"class {c}, SNR {snr:g}" for c in range(4)], n_cols=2)

# %%
# What the noise does to the signal: the correlation of each noisy volume with
# its noise-free version is about ``sqrt(SNR / (1 + SNR))``.
for snr in snrs[1:]:
    X, _ = series[snr]
    r = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(X, X_clean)]
    print(
        f"SNR {snr:5g}: correlation with the clean volume {np.mean(r):.3f} "
        f"(expected {np.sqrt(snr / (1 + snr)):.3f})"
    )

# %%
# The missing wedge in Fourier space
# ----------------------------------
# The log power spectrum averaged over the 40 particles, on the central kx-kz
# plane: nothing inside the missing wedge (the dashed lines mark the +-60
# degree tilt range). Without noise, nothing beyond the band limit either; at
# SNR 0.05 the noise fills the whole box except the wedge, since the noise is
# imaged through the same wedge as the particle (as in a real tomogram, where
# the reconstruction has no data there at all).
fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
plot_fourier_power(series[np.inf][0], tilt_range=(-60, 60), ax=axes[0])
axes[0].set_title("SNR inf")
plot_fourier_power(series[0.05][0], tilt_range=(-60, 60), ax=axes[1])
axes[1].set_title("SNR 0.05")
mask = missing_wedge_mask((32, 32, 32), tilt_range=(-60, 60))
axes[2].imshow(
    np.fft.fftshift(mask)[:, 16, :], cmap="gray", origin="lower", extent=(-0.5, 0.5, -0.5, 0.5)
)
axes[2].set_title("sampled region (kz, kx)")
axes[2].set_xlabel("kx (cycles / voxel)")
axes[2].set_ylabel("kz (cycles / voxel)")
fig.tight_layout()
