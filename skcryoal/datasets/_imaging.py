"""The imaging model, applied in Fourier space (the AITom approximation).

A subtomogram is the particle's density multiplied in Fourier space by

- the contrast transfer function (CTF) at 300 kV, Cs 2 mm, 7 % amplitude contrast,
- a Gaussian envelope falling to 1/e at 0.4 Nyquist,
- a band limit at half Nyquist,
- the missing wedge of a single-axis tilt series (tilt axis y).

Conventions: arrays are (z, y, x), the beam is along z at zero tilt, frequencies are
in 1/Angstrom, and defocus is in micrometres with negative values meaning underfocus.
With underfocus the first CTF lobe is positive, so particles stay bright (positive
density) as after the usual contrast inversion.
"""

import numpy as np
from scipy import fft as sp_fft

from ._validation import check_int, check_tilt_range

VOLTAGE_KV = 300.0
SPHERICAL_ABERRATION_MM = 2.0
AMPLITUDE_CONTRAST = 0.07
ENVELOPE_NYQUIST = 0.4
BAND_LIMIT_NYQUIST = 0.5


def electron_wavelength(voltage_kv=VOLTAGE_KV):
    """Relativistic electron wavelength in Angstrom (0.0197 A at 300 kV)."""
    volts = voltage_kv * 1e3
    return 12.2643247 / np.sqrt(volts * (1 + 0.978466e-6 * volts))


def _frequencies(shape, voxel_size, rfft):
    """Broadcastable (kz, ky, kx) grids in 1/A (rfft: half spectrum along x)."""
    kz = sp_fft.fftfreq(shape[0], d=voxel_size)[:, None, None]
    ky = sp_fft.fftfreq(shape[1], d=voxel_size)[None, :, None]
    freq = sp_fft.rfftfreq if rfft else sp_fft.fftfreq
    kx = freq(shape[2], d=voxel_size)[None, None, :]
    return kz, ky, kx


def _as_shape(shape):
    if isinstance(shape, (tuple, list)):
        if len(shape) != 3:
            raise ValueError(f"shape must be an int or a (D, H, W) tuple; got {shape!r}.")
        return tuple(check_int(s, "shape", minimum=1) for s in shape)
    n = check_int(shape, "shape", minimum=1)
    return (n, n, n)


def missing_wedge_mask(shape, tilt_range=(-60, 60), *, rfft=False) -> np.ndarray:
    """Fourier samples measured by a single-axis tilt series (tilt axis y).

    A tilt by angle ``t`` measures the central plane that contains the ky axis and the
    direction ``(kx, kz) = (cos t, sin t)``. Frequencies outside all measured planes form
    the missing wedge around kz; with ``tilt_range=(-60, 60)`` its half-angle is 30
    degrees.

    Parameters
    ----------
    shape : int or tuple of 3 ints
        Volume shape (D, H, W), axis order (z, y, x); an int means a cube.
    tilt_range : tuple of 2 floats, default=(-60, 60)
        Lowest and highest tilt angle in degrees, within (-90, 90).
    rfft : bool, default=False
        Return the half spectrum of :func:`scipy.fft.rfftn` (last axis W // 2 + 1)
        instead of the full, unshifted :func:`scipy.fft.fftn` layout.

    Returns
    -------
    mask : ndarray of bool
        True where the frequency is measured. The zero frequency and the ky axis are
        always measured.

    Examples
    --------
    >>> from skcryoal.datasets import missing_wedge_mask
    >>> mask = missing_wedge_mask(32)
    >>> mask.shape, mask.dtype
    ((32, 32, 32), dtype('bool'))
    >>> round(float(mask.mean()), 2)  # 2/3 of the directions; more of a cube's corners
    0.71
    """
    shape = _as_shape(shape)
    lo, hi = check_tilt_range(tilt_range)
    kz, _, kx = _frequencies(shape, 1.0, rfft)
    angle = np.degrees(np.arctan2(kz, kx))
    # (kx, kz) and (-kx, -kz) lie on the same measured plane: fold into (-90, 90].
    angle = np.where(angle > 90, angle - 180, angle)
    angle = np.where(angle <= -90, angle + 180, angle)
    eps = 1e-9
    measured = (angle >= lo - eps) & (angle <= hi + eps)
    measured |= (kz == 0) & (kx == 0)
    full = np.broadcast_to(measured, (shape[0], shape[1], measured.shape[2]))
    return np.ascontiguousarray(full)


def ctf(k, defocus=-5.0, voltage_kv=VOLTAGE_KV, cs_mm=SPHERICAL_ABERRATION_MM):
    """Contrast transfer function at spatial frequency ``k`` (1/A).

    ``CTF = sqrt(1 - A^2) sin(chi) + A cos(chi)`` with
    ``chi = pi * lambda * dz * k^2 - pi / 2 * Cs * lambda^3 * k^4``, ``dz = -defocus``
    (positive for underfocus) and amplitude contrast ``A = 0.07``.
    """
    wavelength = electron_wavelength(voltage_kv)
    dz = -defocus * 1e4  # um -> A, positive = underfocus
    cs = cs_mm * 1e7  # mm -> A
    k2 = np.square(k)
    chi = np.pi * wavelength * dz * k2 - 0.5 * np.pi * cs * wavelength**3 * k2 * k2
    a = AMPLITUDE_CONTRAST
    return np.sqrt(1 - a * a) * np.sin(chi) + a * np.cos(chi)


def transfer_function(shape, *, voxel_size=10.0, tilt_range=(-60, 60), defocus=-5.0):
    """Full imaging filter (CTF x envelope x band limit x missing wedge), rfft layout.

    Parameters
    ----------
    shape : int or tuple of 3 ints
        Volume shape (D, H, W).
    voxel_size : float, default=10.0
        Angstrom per voxel.
    tilt_range : tuple of 2 floats, default=(-60, 60)
        Tilt range in degrees.
    defocus : float, default=-5.0
        Defocus in micrometres, negative = underfocus.

    Returns
    -------
    transfer : ndarray of shape (D, H, W // 2 + 1), float32
        Multiply :func:`scipy.fft.rfftn` of a volume by it.
    """
    shape = _as_shape(shape)
    kz, ky, kx = _frequencies(shape, voxel_size, rfft=True)
    k = np.sqrt(kz * kz + ky * ky + kx * kx)
    nyquist = 0.5 / voxel_size
    envelope = np.exp(-np.square(k / (ENVELOPE_NYQUIST * nyquist)))
    band = k <= BAND_LIMIT_NYQUIST * nyquist + 1e-12
    wedge = missing_wedge_mask(shape, tilt_range, rfft=True)
    return (ctf(k, defocus) * envelope * band * wedge).astype(np.float32)
