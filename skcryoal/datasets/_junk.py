"""Junk and distractors: the non-particles that template matching also picks.

Each kind is a noise-free density drawn on the grid of a subtomogram, in the density
units of the dataset's particle templates, and then imaged like a particle (see
:mod:`._imaging`). Shapes are analytic in Angstrom, so they look the same at any voxel
size; their edges are blurred by the same half voxel as rendered pseudo-atoms.

Contrasts are multiples of the particles' own interior density ("protein level"):
gold about 15, carbon 3 to 5, ice lumps 2 to 4, lipid head groups 1 (with a slightly
negative hydrophobic core), which is roughly their electron-density contrast against
vitreous ice, with gold's compressed.
"""

import difflib
import math
import numbers

import numpy as np
from scipy.spatial.transform import Rotation
from scipy.special import erfc
from sklearn.utils import check_random_state

from ._render import _SAMPLING_SIGMA, render
from ._templates import bundled_key, check_fits, load_template
from ._validation import check_int, check_max_shift, check_positive_float

#: The kinds, in the order of their labels with ``junk_as_classes=True``.
JUNK_KINDS = ("gold", "membrane", "ice", "empty", "carbon", "off-centre", "edge-cut")

_DESCRIPTIONS = {
    "gold": "gold fiducial: a dense sphere 5 to 15 nm across",
    "membrane": "membrane patch: a curved lipid bilayer 3.5 to 5 nm thick",
    "ice": "ice or contamination: an irregular dense lump",
    "empty": "empty box: no object, noise only",
    "carbon": "carbon edge: the edge of a support film 8 to 20 nm thick",
    "off-centre": "off-centre particle: a particle far from the box centre",
    "edge-cut": "edge-cut particle: a particle cut by the tomogram's edge",
}
_ALIASES = {"off-center": "off-centre", "offcentre": "off-centre", "offcenter": "off-centre"}

# Densities, in units of the particles' interior density.
_GOLD_DENSITY = 15.0
_HEAD_DENSITY = 1.0
_CORE_DENSITY = -0.2

#: Fixed poses at which every class is imaged to set the noise level of junk boxes.
_REFERENCE_POSES = 3
_REFERENCE_SEED = 20240623


def _kind(name):
    """Canonical name of a junk kind, or raise with the closest one."""
    if not isinstance(name, str):
        raise TypeError(f"A junk kind must be a string, one of {list(JUNK_KINDS)}; got {name!r}.")
    key = name.strip().lower().replace("_", "-").replace(" ", "-")
    key = _ALIASES.get(key, key)
    if key in JUNK_KINDS:
        return key
    close = difflib.get_close_matches(key, JUNK_KINDS + tuple(_ALIASES), n=1, cutoff=0.5)
    hint = f" Did you mean {_ALIASES.get(close[0], close[0])!r}?" if close else ""
    raise ValueError(f"Unknown junk kind {name!r}.{hint} The kinds are {list(JUNK_KINDS)}.")


def check_junk(junk):
    """Return ``junk`` as a float in [0, 1)."""
    if isinstance(junk, bool) or not isinstance(junk, numbers.Real):
        raise TypeError(
            f"junk must be the fraction of samples that are junk, a number in [0, 1); got {junk!r}."
        )
    if not (0 <= junk < 1):
        raise ValueError(
            "junk must be the fraction of samples that are junk, in [0, 1) (0 for none, "
            f"e.g. 0.6 for 60 % junk); got {junk}."
        )
    return float(junk)


def check_junk_kinds(junk_kinds):
    """Return the canonical kinds as a tuple; None means all of them."""
    if junk_kinds is None:
        return JUNK_KINDS
    if isinstance(junk_kinds, str) or not hasattr(junk_kinds, "__iter__"):
        raise TypeError(
            f"junk_kinds must be a list of kinds, e.g. ['gold', 'membrane']; got {junk_kinds!r}. "
            "Wrap a single kind in a list."
        )
    kinds = tuple(_kind(k) for k in junk_kinds)
    if not kinds:
        raise ValueError(f"junk_kinds must name at least one kind of {list(JUNK_KINDS)}; got [].")
    repeated = sorted({k for k in kinds if kinds.count(k) > 1})
    if repeated:
        raise ValueError(f"junk_kinds names {repeated} more than once; list each kind once.")
    return kinds


def check_crowding(crowding):
    """Return ``crowding`` (mean number of neighbours) as a float >= 0."""
    if isinstance(crowding, bool) or not isinstance(crowding, numbers.Real):
        raise TypeError(
            f"crowding must be the mean number of neighbours per particle, a number >= 0; "
            f"got {crowding!r}."
        )
    if not (math.isfinite(crowding) and crowding >= 0):
        raise ValueError(
            f"crowding must be a finite mean number of neighbours >= 0 (e.g. 1.0); got {crowding}."
        )
    return float(crowding)


def describe_junk(kind: str) -> str:
    """Say in words what a junk kind is.

    Parameters
    ----------
    kind : str
        One of ``"gold"``, ``"membrane"``, ``"ice"``, ``"empty"``, ``"carbon"``,
        ``"off-centre"`` and ``"edge-cut"``.

    Returns
    -------
    description : str

    Examples
    --------
    >>> from skcryoal.datasets import describe_junk
    >>> describe_junk("gold")
    'gold fiducial: a dense sphere 5 to 15 nm across'
    """
    return _DESCRIPTIONS[_kind(kind)]


def _unit(rng, n=None):
    v = rng.normal(size=(3,) if n is None else (n, 3))
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _radius_of_gyration(template):
    w = np.abs(template.weights)
    return float(np.sqrt(np.sum(w * np.sum(template.points**2, axis=1)) / np.sum(w)))


class Scene:
    """Box geometry, particle templates and density scale shared by all kinds.

    Parameters
    ----------
    templates : list of Template
        The particle classes; off-centre and edge-cut particles and crowding
        neighbours are drawn from them.
    size, voxel_size, max_shift
        Box edge (voxels), Angstrom per voxel, largest centring shift (voxels per axis).
    """

    def __init__(self, templates, size, voxel_size, max_shift):
        self.templates = templates
        self.size = size
        self.voxel_size = voxel_size
        self.max_shift = max_shift
        self.blur = _SAMPLING_SIGMA * voxel_size  # Angstrom, as in render()
        # Effective radius of a uniform sphere with the same radius of gyration.
        self.radii = np.array([math.sqrt(5 / 3) * _radius_of_gyration(t) for t in templates])
        half = voxel_size * (np.arange(size) - size // 2)
        self.grid = np.stack(np.meshgrid(half, half, half, indexing="ij"), axis=-1)  # (z,y,x) A
        self._renders = None

    def _reference_renders(self):
        """Each class drawn in a few fixed poses at the box centre, (classes, poses, D, H, W)."""
        if self._renders is None:
            rotations = Rotation.random(
                _REFERENCE_POSES, np.random.default_rng(_REFERENCE_SEED)
            ).as_matrix()
            shifts = np.zeros((_REFERENCE_POSES, 3))
            self._renders = np.stack(
                [render(t, rotations, shifts, self.size, self.voxel_size) for t in self.templates]
            )
        return self._renders

    @property
    def level(self):
        """Interior density of the particles: median over classes of the mean above half max."""
        if not hasattr(self, "_level"):
            levels = []
            for volumes in self._reference_renders():
                peak = volumes.max()
                levels.append(volumes[volumes >= 0.5 * peak].mean() if peak > 0 else 1.0)
            self._level = float(np.median(levels))
        return self._level

    def reference_variance(self, image):
        """Mean over classes of the variance of an imaged particle; ``image`` filters a batch."""
        renders = self._reference_renders()
        signal = image(renders.reshape(-1, *renders.shape[2:]))
        return float(signal.var(axis=(1, 2, 3), dtype=np.float64).mean())

    # -- shapes ---------------------------------------------------------------------------

    def _inside(self, signed_distance):
        """Smoothed indicator of ``signed_distance < 0`` (Angstrom), blurred like atoms."""
        return 0.5 * erfc(signed_distance / (math.sqrt(2) * self.blur))

    def _centre(self, rng):
        """A picked centre (Angstrom, z, y, x): near the box centre, like a particle's."""
        return rng.uniform(-self.max_shift, self.max_shift, size=3) * self.voxel_size

    def gold(self, rng):
        radius = rng.uniform(25.0, 75.0)
        distance = np.linalg.norm(self.grid - self._centre(rng), axis=-1) - radius
        return _GOLD_DENSITY * self.level * self._inside(distance)

    def membrane(self, rng):
        box = self.size * self.voxel_size
        radius = box * math.exp(rng.uniform(0.0, math.log(8.0)))  # curvature, log-uniform
        thickness = rng.uniform(35.0, 50.0)  # head group to head group
        normal = _unit(rng)
        through = self._centre(rng) + normal * rng.uniform(-0.25, 0.25) * box
        distance = np.linalg.norm(self.grid - (through - radius * normal), axis=-1) - radius
        head_sigma = math.hypot(4.0, self.blur)
        core_sigma = math.hypot(thickness / 5, self.blur)
        # Peak densities of the sharp profile, kept as areas when blurred.
        heads = sum(
            np.exp(-0.5 * ((distance - s * thickness / 2) / head_sigma) ** 2) for s in (-1, 1)
        )
        core = np.exp(-0.5 * (distance / core_sigma) ** 2)
        density = (
            _HEAD_DENSITY * 4.0 / head_sigma * heads
            + _CORE_DENSITY * (thickness / 5) / core_sigma * core
        )
        if rng.random() < 0.5:  # the patch ends in the box
            edge = _unit(rng)
            edge -= normal * (edge @ normal)
            edge /= np.linalg.norm(edge)
            offset = rng.uniform(-0.3, 0.3) * box
            density = density * self._inside((self.grid - through) @ edge - offset)
        return self.level * density

    def ice(self, rng):
        n = rng.integers(3, 8)
        centres = self._centre(rng) + rng.normal(scale=30.0, size=(n, 3))
        radii = rng.uniform(25.0, 60.0, size=n)
        distance = np.linalg.norm(self.grid[..., None, :] - centres, axis=-1) - radii
        # Smooth union of the spheres (soft minimum over 8 A): one lump, not a cluster.
        union = -8.0 * np.log(np.exp(-distance / 8.0).sum(axis=-1))
        return rng.uniform(2.0, 4.0) * self.level * self._inside(union)

    def empty(self, rng):
        return np.zeros(self.grid.shape[:3])

    def carbon(self, rng):
        box = self.size * self.voxel_size
        # The film lies across the beam (z), tilted by up to 20 degrees.
        tilt = Rotation.from_rotvec(_unit(rng) * np.radians(rng.uniform(0, 20)))
        normal = tilt.apply([0.0, 0.0, 1.0])[::-1]  # (x, y, z) -> (z, y, x)
        edge = _unit(rng)
        edge -= normal * (edge @ normal)
        edge /= np.linalg.norm(edge)
        thickness = rng.uniform(80.0, 200.0)
        height = rng.uniform(-0.15, 0.15) * box
        reach = rng.uniform(-0.15, 0.15) * box
        slab = np.abs(self.grid @ normal - height) - thickness / 2
        half_plane = reach - self.grid @ edge
        return rng.uniform(3.0, 5.0) * self.level * self._inside(np.maximum(slab, half_plane))

    def _particle(self, rng, shift=None):
        """A random class in a random pose; returns its density, class and pose."""
        label = int(rng.integers(len(self.templates)))
        rotation = Rotation.random(1, rng)
        if shift is None:
            shift = rng.uniform(-self.max_shift, self.max_shift, size=3)
        volume = render(
            self.templates[label], rotation.as_matrix(), shift[None], self.size, self.voxel_size
        )[0]
        return volume, label, rotation.as_quat()[0], shift

    def off_centre(self, rng):
        shift = _unit(rng) * rng.uniform(0.25, 0.5) * self.size
        return self._particle(rng, shift)

    def edge_cut(self, rng):
        volume, label, quat, shift = self._particle(rng)
        # Tomograms are thin in z: most cut particles meet the top or bottom surface.
        axis = 0 if rng.random() < 0.5 else int(rng.integers(1, 3))
        normal = np.zeros(3)
        normal[axis] = rng.choice((-1.0, 1.0))
        offset = rng.uniform(-0.5, 0.5) * self.radii[label]
        plane = (self.grid - shift * self.voxel_size) @ normal - offset
        return volume * self._inside(plane), label, quat, shift

    def neighbours(self, rng, label, shift, count):
        """``count`` particles touching the one of class ``label`` at ``shift`` (voxels)."""
        density = np.zeros(self.grid.shape[:3])
        for _ in range(count):
            other = int(rng.integers(len(self.templates)))
            gap = (self.radii[label] + self.radii[other]) * rng.uniform(0.9, 1.2)
            centre = shift + _unit(rng) * gap / self.voxel_size
            rotation = Rotation.random(1, rng).as_matrix()
            density += render(
                self.templates[other], rotation, centre[None], self.size, self.voxel_size
            )[0]
        return density

    def draw(self, kind, rng):
        """Density of one junk box and, for the particle kinds, the particle's class and pose.

        Returns ``(density, label, quaternion, shift)``; ``label`` is -1 and the pose NaN
        for kinds without a particle.
        """
        method = {"off-centre": self.off_centre, "edge-cut": self.edge_cut}.get(kind)
        if method is not None:
            volume, label, quat, shift = method(rng)
        else:
            volume = getattr(self, kind)(rng)
            label, quat, shift = -1, np.full(4, np.nan), np.full(3, np.nan)
        return volume.astype(np.float32), label, quat, shift


def make_junk(
    kind: str,
    size: int = 32,
    voxel_size: float = 10.0,
    *,
    template=0,
    max_shift: float = 2.0,
    random_state=None,
) -> np.ndarray:
    """Noise-free density of one junk or distractor box, before imaging.

    What ``make_subtomograms(junk=...)`` images for a junk sample (see
    :ref:`ug-data-junk`).

    Parameters
    ----------
    kind : str
        ``"gold"`` (a gold fiducial, a sphere 5 to 15 nm across, 15 times as dense as
        protein), ``"membrane"`` (a lipid bilayer 3.5 to 5 nm thick, curved with a radius
        of 1 to 8 box edges, in a random orientation, ending inside the box half of the
        time), ``"ice"`` (an irregular lump of 3 to 7 merged spheres, 2 to 4 times as
        dense as protein), ``"empty"`` (nothing), ``"carbon"`` (the edge of a carbon film
        8 to 20 nm thick lying across the beam, 3 to 5 times as dense as protein),
        ``"off-centre"`` (a particle 0.25 to 0.5 box edges from the centre) or
        ``"edge-cut"`` (a particle cut by a plane, the tomogram's edge, within half its
        radius from its centre). ``"off-center"`` is also accepted.
    size : int, default=32
        Box edge in voxels (>= 8).
    voxel_size : float, default=10.0
        Angstrom per voxel.
    template : int, str, path-like or ndarray, default=0
        The particle, any source of :func:`load_template`: drawn by the particle kinds,
        and its interior density is the unit of every kind's density.
    max_shift : float, default=2.0
        Largest offset of the object from the box centre, voxels per axis, as for
        particles (the picker centred it).
    random_state : int, RandomState instance, Generator or None, default=None
        Seeds the object's shape, size and placement.

    Returns
    -------
    density : ndarray of shape (size, size, size), float32
        Axis order (z, y, x), in the units of :func:`make_template` for ``template``.

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal.datasets import make_junk
    >>> gold = make_junk("gold", size=16, voxel_size=20.0, random_state=0)
    >>> gold.shape, gold.dtype
    ((16, 16, 16), dtype('float32'))
    >>> float(make_junk("empty", size=16, voxel_size=20.0).max())
    0.0
    """
    kind = _kind(kind)
    size = check_int(size, "size", minimum=8)
    voxel_size = check_positive_float(voxel_size, "voxel_size")
    max_shift = check_max_shift(max_shift)
    loaded = load_template(template, voxel_size)
    if kind in ("off-centre", "edge-cut"):
        check_fits([loaded], size, voxel_size, keys=[bundled_key(template)])
    rng = random_state
    if not isinstance(rng, np.random.Generator):
        # A Generator seeded from the RandomState stream: the global RNG is never used.
        rng = np.random.default_rng(check_random_state(random_state).randint(2**31 - 1))
    return Scene([loaded], size, voxel_size, max_shift).draw(kind, rng)[0]
