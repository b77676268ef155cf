"""OME-Zarr multiscale tomograms, read through ``zarr`` 2.x or 3.x.

The ``multiscales`` metadata (OME-NGFF 0.4, in the group attributes; 0.5, under
``"ome"``) lists the levels, finest first, with a ``scale`` (and optional
``translation``) coordinate transformation per level mapping array indices to
physical coordinates, in the unit of the axes. Voxel centres sit at the physical
positions ``translation + index * scale``, which is how coordinates move between
levels. copick writes axes z, y, x in Angstrom, level "0" the finest.
"""

import numpy as np

from ._tomogram import _Tomogram

#: Angstrom per unit, for the OME-NGFF space units a tomogram may use.
_UNITS = {
    "angstrom": 1.0,
    "nanometer": 10.0,
    "picometer": 0.01,
    "micrometer": 1e4,
    "millimeter": 1e7,
    "meter": 1e10,
}
_MATCH_RTOL = 1e-3


def _import_zarr(path):
    try:
        import zarr
    except ImportError:
        raise ImportError(
            f"Reading the OME-Zarr tomogram {str(path)!r} needs the optional dependency "
            "zarr; install it with `pip install skcryoal[zarr]` (or `pip install zarr`)."
        ) from None
    return zarr


def _transforms(items, where, path):
    """(scale, translation) from a list of OME-NGFF coordinate transformations."""
    scale, translation = None, None
    for item in items or ():
        kind = item.get("type")
        if kind == "scale" and "scale" in item:
            scale = np.asarray(item["scale"], dtype=np.float64)
        elif kind == "translation" and "translation" in item:
            translation = np.asarray(item["translation"], dtype=np.float64)
        elif kind not in ("identity", "scale", "translation"):
            raise ValueError(
                f"{path}: {where} has a coordinate transformation of type {kind!r}; only "
                "scale and translation are supported for tomograms."
            )
    return scale, translation


def _axes(multiscale, path):
    """Names and Angstrom-per-unit factors of the axes (z, y, x last)."""
    axes = multiscale.get("axes") or ["z", "y", "x"]  # NGFF <= 0.3 was always 5D or zyx
    names, factors = [], []
    for axis in axes:
        if isinstance(axis, str):
            names.append(axis)
            factors.append(1.0)
            continue
        names.append(axis.get("name"))
        unit = axis.get("unit")
        if axis.get("type", "space") == "space" and unit is not None:
            if str(unit).lower() not in _UNITS:
                raise ValueError(
                    f"{path}: axis {axis.get('name')!r} has unit {unit!r}; expected one of "
                    f"{', '.join(_UNITS)}. Fix the multiscales metadata."
                )
            factors.append(_UNITS[str(unit).lower()])
        else:
            factors.append(1.0)
    if [str(n).lower() for n in names[-3:]] != ["z", "y", "x"]:
        raise ValueError(
            f"{path}: the multiscales axes are {names}; a tomogram needs z, y, x as its "
            "last three axes (any axes before them of length 1)."
        )
    return names, np.asarray(factors[-3:])


class ZarrTomogram(_Tomogram):
    """An OME-Zarr tomogram; boxes are read chunk by chunk from the chosen level."""

    def __init__(self, path, voxel_size=None):
        zarr = _import_zarr(path)
        self.path = str(path)
        try:
            node = zarr.open(store=str(path), mode="r")
        except Exception as exc:  # zarr raises many kinds on a malformed store
            raise ValueError(f"{path}: not a readable Zarr store ({exc}).") from exc
        bare = hasattr(node, "shape")  # a bare array: one level, voxel size unknown
        if bare:
            levels, lead = [(None, node, np.ones(3), np.zeros(3))], node.ndim - 3
        else:
            levels, lead = self._levels(node, path)
        if lead < 0:
            raise ValueError(f"{path}: the array has {lead + 3} dimensions; a tomogram has 3.")
        self._lead = (0,) * lead
        sizes = [float(scale[0]) for _, _, scale, _ in levels]
        finest = chosen = int(np.argmin(sizes))
        if voxel_size is not None and voxel_size > 0:
            close = [i for i, s in enumerate(sizes) if abs(s - voxel_size) <= _MATCH_RTOL * s]
            if close:
                chosen = close[0]
        self._ref_scale, self._ref_translation = levels[finest][2], levels[finest][3]
        self.level, self._array, self._scale, self._translation = levels[chosen]
        shape = tuple(int(d) for d in self._array.shape)
        if any(d != 1 for d in shape[:lead]):
            raise ValueError(
                f"{path}: level {self.level!r} has shape {shape}; the axes before z, y, x "
                "must have length 1."
            )
        self.shape = shape[lead:]
        self.voxel_size = 0.0 if bare else float(self._scale[0])
        self.reference_voxel_size = 0.0 if bare else float(self._ref_scale[0])

    @staticmethod
    def _levels(group, path):
        attrs = dict(group.attrs)
        multiscales = attrs.get("multiscales") or attrs.get("ome", {}).get("multiscales")
        if not multiscales:
            raise ValueError(
                f"{path}: a Zarr group without OME-Zarr 'multiscales' metadata. Pass an "
                "OME-Zarr tomogram (e.g. written by copick or ome-zarr-py), or the path of "
                "one of its arrays."
            )
        multiscale = multiscales[0]
        names, factors = _axes(multiscale, path)
        lead = len(names) - 3
        global_scale, global_translation = _transforms(
            multiscale.get("coordinateTransformations"), "the multiscale", path
        )
        levels = []
        for dataset in multiscale.get("datasets", []):
            level = str(dataset["path"])
            scale, translation = _transforms(
                dataset.get("coordinateTransformations"), f"dataset {level!r}", path
            )
            scale = np.ones(len(names)) if scale is None else scale
            translation = np.zeros(len(names)) if translation is None else translation
            if global_scale is not None:
                scale = scale * global_scale
                translation = translation * global_scale
            if global_translation is not None:
                translation = translation + global_translation
            scale, translation = scale[-3:] * factors, translation[-3:] * factors
            if not np.allclose(scale, scale[0], rtol=1e-4):
                raise ValueError(
                    f"{path}: level {level!r} has anisotropic voxels (z, y, x) = "
                    f"{tuple(scale.tolist())} Angstrom; tomograms must have cubic voxels."
                )
            if not scale[0] > 0:
                raise ValueError(
                    f"{path}: level {level!r} has voxel size {scale[0]:g}; it must be positive."
                )
            try:
                array = group[level]
            except KeyError:
                raise ValueError(
                    f"{path}: the multiscales metadata lists level {level!r} but the group "
                    "has no such array."
                ) from None
            levels.append((level, array, scale, translation))
        if not levels:
            raise ValueError(f"{path}: the multiscales metadata lists no datasets (levels).")
        return levels, lead

    def _read(self, key):
        return self._array[self._lead + tuple(key)]

    def to_level(self, zyx):
        physical = self._ref_translation + np.asarray(zyx, dtype=np.float64) * self._ref_scale
        return (physical - self._translation) / self._scale
