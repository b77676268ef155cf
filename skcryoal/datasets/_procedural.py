"""Procedural macromolecule-like structures built from Gaussian pseudo-atoms.

Each built-in class is one fixed structure, a function of its class index only: the
random generator that places its pseudo-atoms is seeded from the index, so class 7 is
the same molecule in every dataset, at every SNR and for any number of classes.

Twelve families cycle with the index (``class_index % 12``) so that any ten consecutive
classes look different to a biologist (rings, barrels, tubes, filaments, cages,
dumbbells, ...); the variant ``class_index // 12`` changes the symmetry order, the
proportions and the overall size. Coordinates are in Angstrom, (x, y, z), centred on
the centre of mass and kept within a radius of 125 A so that a molecule fits a
32-voxel box at 10 A per voxel together with its shift.
"""

from functools import lru_cache

import numpy as np

#: Volume (A^3) that one pseudo-atom stands for; sets the number of atoms per domain.
_ATOM_VOLUME = 9.0**3
#: Gaussian width (A) of one pseudo-atom.
PSEUDO_ATOM_SIGMA = 6.0
#: Largest distance (A) of a pseudo-atom from the centre.
MAX_RADIUS = 125.0
#: Fixed entropy mixed with the class index so that template seeds never depend on user seeds.
_SEED = 20220916

_SCALES = (1.0, 0.8, 1.15, 0.9, 1.05, 0.85, 1.1)


def _rotation_matrix(rng):
    """Return a random 3 x 3 rotation matrix (QR of a Gaussian matrix)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return q


def _domain(rng, center, semi_axes, *, orient=True):
    """Pseudo-atoms uniformly filling an ellipsoid (a protein domain)."""
    semi_axes = np.asarray(semi_axes, dtype=float)
    volume = 4.0 / 3.0 * np.pi * np.prod(semi_axes)
    n = max(2, round(volume / _ATOM_VOLUME))
    direction = rng.normal(size=(n, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    radius = rng.random(n) ** (1.0 / 3.0)
    points = direction * radius[:, None] * semi_axes
    if orient:
        points = points @ _rotation_matrix(rng).T
    return points + np.asarray(center, dtype=float)


def _rod(rng, start, end, radius):
    """A chain of small domains from ``start`` to ``end`` (an arm, a stalk, a leg)."""
    start, end = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    length = np.linalg.norm(end - start)
    n = max(2, int(np.ceil(length / (1.6 * radius))))
    centers = start + np.linspace(0, 1, n)[:, None] * (end - start)
    return np.concatenate([_domain(rng, c, (radius, radius, radius)) for c in centers])


def _rot_z(angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _cyclic(points, n):
    """Apply point group Cn (axis z)."""
    return np.concatenate([points @ _rot_z(2 * np.pi * k / n).T for k in range(n)])


def _dihedral(points, n):
    """Apply point group Dn (n-fold axis z, two-fold axis x)."""
    ring = _cyclic(points, n)
    return np.concatenate([ring, ring * np.array([1.0, -1.0, -1.0])])


def _pick(options, variant):
    return options[variant % len(options)]


# Each family builder takes (rng, variant, scale) and returns (points, description).


def _globule(rng, v, s):
    axes = s * np.array([46.0, 38.0, 31.0]) * rng.uniform(0.92, 1.08, 3)
    parts = [_domain(rng, (0, 0, 0), axes)]
    for _ in range(v % 3 + 1):  # surface knobs make the blob asymmetric
        d = rng.normal(size=3)
        d /= np.linalg.norm(d)
        parts.append(_domain(rng, d * axes * 0.95, s * np.array([16.0, 14.0, 13.0])))
    return np.concatenate(parts), "compact globule (C1)"


def _ring(rng, v, s):
    n = _pick((7, 5, 9, 6, 8), v)
    unit = _domain(rng, (s * 62.0, 0, 0), s * np.array([18.0, 14.0, 17.0]))
    return _cyclic(unit, n), f"C{n} ring of {n} subunits"


def _double_ring(rng, v, s):
    n = _pick((7, 6, 8, 5, 9), v)
    unit = _domain(rng, (s * 50.0, 0, s * 22.0), s * np.array([16.0, 13.0, 15.0]))
    return _dihedral(unit, n), f"D{n} double ring (barrel)"


def _tube(rng, v, s):
    n = _pick((4, 6, 5, 3, 7), v)
    layers = _pick((5, 4, 6, 5, 4), v)
    radius, rise = s * 38.0, s * 34.0
    unit = _domain(rng, (0, 0, 0), s * np.array([14.0, 13.0, 15.0]))
    parts = []
    for layer in range(layers):
        z = (layer - (layers - 1) / 2) * rise
        phase = np.pi * layer / n  # staggered layers: a helical lattice
        placed = unit + np.array([radius, 0.0, z])
        parts.append(_cyclic(placed @ _rot_z(phase).T, n))
    return np.concatenate(parts), f"hollow tube, C{n}, {layers} layers"


def _dumbbell(rng, v, s):
    r1 = s * 36.0
    r2 = s * _pick((36.0, 26.0, 31.0, 22.0, 34.0), v)
    gap = s * _pick((30.0, 45.0, 20.0, 38.0, 26.0), v)
    z1, z2 = -(r1 + gap / 2), r2 + gap / 2
    parts = [
        _domain(rng, (0, 0, z1), (r1, r1 * 0.9, r1 * 0.85)),
        _domain(rng, (0, 0, z2), (r2, r2 * 0.9, r2 * 0.85)),
        _rod(rng, (0, 0, z1 + r1 * 0.6), (0, 0, z2 - r2 * 0.6), s * 9.0),
    ]
    return np.concatenate(parts), "dumbbell: two lobes joined by a stalk (C1)"


def _filament(rng, v, s):
    rise = s * _pick((11.0, 14.0, 9.0, 12.0, 10.0), v)
    twist = _pick((-167.0, 166.0, 60.0, 22.0, -143.0), v)
    radius = s * _pick((18.0, 10.0, 24.0, 14.0, 20.0), v)
    n = int(200.0 * s / rise)
    unit = _domain(rng, (radius, 0, 0), s * np.array([13.0, 11.0, 11.0]))
    parts = [
        (unit + np.array([0, 0, (k - (n - 1) / 2) * rise])) @ _rot_z(np.radians(twist * k)).T
        for k in range(n)
    ]
    return np.concatenate(parts), f"helical filament, rise {rise:.0f} A, twist {twist:.0f} deg"


def _cage(rng, v, s):
    n = _pick((3, 4, 5, 2, 3), v)
    radius = s * 72.0
    per_unit = _pick((2, 2, 1, 3, 2), v)
    parts = []
    for _ in range(per_unit):
        d = rng.normal(size=3)
        d[2] = abs(d[2]) + 0.3
        d /= np.linalg.norm(d)
        parts.append(_domain(rng, d * radius, s * np.array([20.0, 18.0, 11.0])))
    return _dihedral(np.concatenate(parts), n), f"hollow cage, D{n}"


def _tetramer(rng, v, s):
    n = _pick((2, 2, 3, 2, 3), v)
    center = s * np.array([22.0, 15.0, 18.0]) * rng.uniform(0.85, 1.15, 3)
    unit = _domain(rng, center, s * np.array([24.0, 18.0, 16.0]))
    return _dihedral(unit, n), f"compact D{n} {'tetra' if n == 2 else 'hexa'}mer"


def _star(rng, v, s):
    n = _pick((3, 4, 5, 6, 4), v)
    length = s * _pick((92.0, 80.0, 100.0, 75.0, 86.0), v)
    arm = _rod(rng, (s * 22.0, 0, 0), (length, 0, 0), s * 10.0)
    hub = _domain(rng, (0, 0, 0), s * np.array([24.0, 24.0, 18.0]), orient=False)
    return np.concatenate([_cyclic(arm, n), hub]), f"C{n} star with {n} flat arms"


def _elbow(rng, v, s):
    a = s * _pick((150.0, 130.0, 160.0, 140.0, 120.0), v)
    b = s * _pick((110.0, 80.0, 130.0, 100.0, 90.0), v)
    r = s * _pick((16.0, 20.0, 14.0, 18.0, 15.0), v)
    origin = np.array([-a / 2, 0.0, -b / 2])
    parts = [
        _rod(rng, origin, origin + (a, 0, 0), r),
        _rod(rng, origin, origin + (0, 0, b), r),
    ]
    return np.concatenate(parts), "L-shaped bent rod (C1)"


def _tripod(rng, v, s):
    n = _pick((3, 4, 3, 5, 4), v)
    elevation = np.radians(_pick((40.0, 55.0, 30.0, 48.0, 62.0), v))
    length = s * 90.0
    tip = length * np.array([np.cos(elevation), 0.0, -np.sin(elevation)])
    leg = _rod(rng, (s * 14.0, 0, -s * 8.0), tip, s * 11.0)
    head = _domain(rng, (0, 0, s * 14.0), s * np.array([28.0, 28.0, 22.0]), orient=False)
    return np.concatenate([_cyclic(leg, n), head]), f"C{n} tripod: head on {n} legs"


def _mushroom(rng, v, s):
    n = _pick((6, 8, 5, 7, 4), v)
    cap = _domain(rng, (s * 40.0, 0, s * 35.0), s * np.array([30.0, 24.0, 12.0]), orient=False)
    stalk = _rod(rng, (0, 0, s * 25.0), (0, 0, -s * 75.0), s * 15.0)
    return np.concatenate([_cyclic(cap, n), stalk]), f"mushroom: C{n} disc on a stalk"


_FAMILIES = (
    _globule,
    _ring,
    _double_ring,
    _tube,
    _dumbbell,
    _filament,
    _cage,
    _tetramer,
    _star,
    _elbow,
    _tripod,
    _mushroom,
)


@lru_cache(maxsize=256)
def procedural_structure(class_index):
    """Pseudo-atom coordinates (N, 3) in A, (x, y, z), and a description of a class.

    Parameters
    ----------
    class_index : int
        Built-in class; any non-negative integer.

    Returns
    -------
    points : ndarray of shape (n_atoms, 3)
        Read-only, centred, within :data:`MAX_RADIUS` of the origin.
    description : str
        What a biologist would call the shape, e.g. ``"C7 ring of 7 subunits"``.
    """
    rng = np.random.default_rng([_SEED, class_index])
    family = _FAMILIES[class_index % len(_FAMILIES)]
    variant = class_index // len(_FAMILIES)
    scale = _SCALES[variant % len(_SCALES)] * rng.uniform(0.95, 1.05)
    points, description = family(rng, variant, scale)
    points = points - points.mean(axis=0)
    extent = np.linalg.norm(points, axis=1).max()
    if extent > MAX_RADIUS:
        points *= MAX_RADIUS / extent
    # A fixed random orientation per class so that no class sits on the lab axes.
    points = points @ _rotation_matrix(rng).T
    points.setflags(write=False)
    return points, description
