"""Low-level MRC2014 access: header inspection, volume reading and writing.

Every function here names the file in its errors. Headers are parsed with
``mrcfile`` in strict mode (``permissive=False``) and the file size is checked
against the header before any data is read, so a truncated file is an error and
never a partially zeroed volume.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import mrcfile
import numpy as np

from ._errors import InvalidMRCError, not_a_file_error

_MRC_EXPECTED = "give an MRC2014 volume file (.mrc, .mrcs, .map, .rec)."

# MRC2014 data modes that can hold a density map, with their item sizes.
_MODE_ITEMSIZE = {0: 1, 1: 2, 2: 4, 6: 2, 12: 2}
_HEADER_BYTES = 1024
MRC_SUFFIXES = (".mrc", ".mrcs", ".map", ".rec")


@dataclass(frozen=True)
class MrcInfo:
    """What the header of one MRC file says.

    Attributes
    ----------
    path : Path
        The file.
    n_volumes : int
        1 for a single volume, the number of volumes for a volume stack.
    volume_shape : tuple of int
        ``(D, H, W)``, axis order (z, y, x).
    voxel_size : float
        Isotropic voxel size in Angstrom (0.0 when the header does not set it).
    is_stack : bool
        Whether the file is a volume stack (space group 401).
    native_float32 : bool
        Whether the data block is float32 in the machine's byte order, i.e.
        whether a ``numpy.memmap`` of it is already the array we return.
    data_offset : int
        Byte offset of the data block.
    """

    path: Path
    n_volumes: int
    volume_shape: tuple
    voxel_size: float
    is_stack: bool
    native_float32: bool
    data_offset: int


def _invalid(path, reason, fix="Check that the file is a complete MRC2014 volume."):
    return InvalidMRCError(f"{path}: {reason}. {fix}", path=path)


def inspect_mrc(path):
    """Read and validate the header of an MRC file without reading its data.

    Parameters
    ----------
    path : str or path-like
        The MRC file.

    Returns
    -------
    info : MrcInfo
        The validated header summary.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    InvalidMRCError
        If it is not an MRC2014 file, is truncated, holds 2D images (a single
        image, nz=1, or an image stack), has an unsupported data mode, or a
        voxel size that is anisotropic, negative, NaN or infinite (0, "not
        set", is accepted).
    """
    path = Path(path)
    if not path.is_file():
        raise not_a_file_error(path, "MRC file", _MRC_EXPECTED)
    try:
        with mrcfile.open(path, mode="r", header_only=True, permissive=False) as mrc:
            header = mrc.header
            voxel = mrc.voxel_size
            nx, ny, nz = int(header.nx), int(header.ny), int(header.nz)
            mz, ispg, mode = int(header.mz), int(header.ispg), int(header.mode)
            nsymbt = int(header.nsymbt)
            byteorder = header.mode.dtype.byteorder
    except (ValueError, OSError, EOFError) as exc:
        raise _invalid(path, f"not a readable MRC2014 file ({exc})") from exc

    if mode not in _MODE_ITEMSIZE:
        raise _invalid(
            path,
            f"unsupported MRC data mode {mode} (complex or packed data)",
            "Convert it to float32 (mode 2), e.g. with mrcfile or IMOD's newstack -mode 2.",
        )
    if min(nx, ny, nz) < 1:
        raise _invalid(path, f"header dimensions are (nx, ny, nz) = ({nx}, {ny}, {nz})")
    is_stack = 401 <= ispg <= 630
    if is_stack:
        if mz < 1 or nz % mz:
            raise _invalid(path, f"volume stack with nz={nz} not a multiple of mz={mz}")
        n_volumes, depth = nz // mz, mz
    else:
        if ispg == 0 and nz > 1:
            raise _invalid(
                path,
                f"it is a stack of {nz} 2D images (space group 0), not a volume",
                "Subtomograms are 3D: write single volumes or a volume stack (space group 401).",
            )
        n_volumes, depth = 1, nz
    if depth < 2:
        what = (
            f"a stack of 2D images (volumes of depth 1, mz={mz}), not of volumes"
            if is_stack
            else f"a 2D image (nz=1), not a volume ({ny}x{nx} pixels)"
        )
        raise _invalid(
            path,
            what,
            "Subtomograms are 3D (z, y, x) with more than one slice along z; "
            "pass the subtomogram volumes, not projections or slices.",
        )

    expected = _HEADER_BYTES + nsymbt + nx * ny * nz * _MODE_ITEMSIZE[mode]
    actual = os.path.getsize(path)
    if actual < expected:
        raise _invalid(
            path,
            f"file is truncated: the header announces {expected} bytes "
            f"({n_volumes} x {depth}x{ny}x{nx} voxels, mode {mode}) but the file has {actual}",
            "Re-copy or re-write the file.",
        )

    sizes = (float(voxel.z), float(voxel.y), float(voxel.x))
    shown = f"{sizes[0]:g}" if len(set(sizes)) == 1 else f"(z, y, x) = {sizes}"
    fix_voxel = (
        "Set the voxel size in the header in Angstrom (with mrcfile: mrc.voxel_size = 10.0), "
        "or 0 if it is unknown."
    )
    if any(np.isnan(sizes)):
        raise _invalid(
            path, f"the voxel size is NaN ({shown}), not a number of Angstrom", fix_voxel
        )
    if any(np.isinf(sizes)):
        raise _invalid(path, f"the voxel size is infinite ({shown})", fix_voxel)
    if min(sizes) < 0:
        raise _invalid(path, f"negative voxel size {shown} Angstrom", fix_voxel)
    if not np.allclose(sizes, sizes[0], rtol=1e-4, atol=1e-6):
        raise _invalid(
            path,
            f"anisotropic voxel size (z, y, x) = {sizes} Angstrom",
            "Subtomograms must have cubic voxels; resample the volume.",
        )
    native = mode == 2 and byteorder in ("=", "|", "<" if np.little_endian else ">")
    return MrcInfo(
        path=path,
        n_volumes=n_volumes,
        volume_shape=(depth, ny, nx),
        voxel_size=sizes[0],
        is_stack=is_stack,
        native_float32=native,
        data_offset=_HEADER_BYTES + nsymbt,
    )


def read_volumes(info, indices, out=None):
    """Read volumes ``indices`` (0-based) of a validated file as float32.

    Parameters
    ----------
    info : MrcInfo
        From :func:`inspect_mrc`.
    indices : sequence of int
        Volume positions in the file (0 for a single-volume file).
    out : ndarray of shape (len(indices), D, H, W), optional
        Where to write; allocated when omitted.

    Returns
    -------
    out : ndarray of shape (len(indices), D, H, W), float32

    Raises
    ------
    InvalidMRCError
        If the data cannot be read or a volume holds NaN or infinite values.
    """
    indices = np.asarray(indices, dtype=np.intp)
    if out is None:
        out = np.empty((len(indices), *info.volume_shape), dtype=np.float32)
    try:
        with mrcfile.mmap(info.path, mode="r", permissive=False) as mrc:
            data = mrc.data
            if data is None:
                raise ValueError("the file has no data block")
            shape = (info.n_volumes, *info.volume_shape)
            if data.size != np.prod(shape):
                raise ValueError(f"data of shape {data.shape} does not match header {shape}")
            data = data.reshape(shape)
            for k, index in enumerate(indices):
                out[k] = data[index]
    except (ValueError, OSError, EOFError) as exc:
        raise _invalid(info.path, f"could not read the data ({exc})") from exc
    for k, index in enumerate(indices):
        # One volume at a time: the mask is a volume, not the whole batch.
        n_bad = out[k].size - np.count_nonzero(np.isfinite(out[k]))
        if n_bad:
            raise _non_finite(info, index, n_bad)
    return out


def _non_finite(info, index, n_bad):
    where = f"volume {index + 1} of {info.n_volumes}" if info.is_stack else "the volume"
    size = int(np.prod(info.volume_shape))
    return _invalid(
        info.path,
        f"{where} holds {n_bad} NaN or infinite values (of {size} voxels)",
        "A subtomogram must be finite: re-extract or re-reconstruct it, or remove it "
        "from the particle table.",
    )


def check_finite(info, chunk_bytes=1 << 26):
    """Scan all volumes of a file for NaN or infinite values, in bounded memory.

    Used before handing out a ``numpy.memmap``, which cannot check values when
    they are read. The file is read sequentially in chunks of about
    ``chunk_bytes`` (not memory-mapped, so no page stays mapped in the process).

    Parameters
    ----------
    info : MrcInfo
        From :func:`inspect_mrc`, with ``native_float32`` True.
    chunk_bytes : int, default=2**26
        Read size.

    Raises
    ------
    InvalidMRCError
        Naming the file and the first volume (1-based) that is not finite.
    """
    volume_items = int(np.prod(info.volume_shape))
    per_chunk = max(1, chunk_bytes // (4 * volume_items))
    buffer = np.empty((per_chunk, volume_items), dtype=np.float32)
    try:
        with open(info.path, "rb") as f:
            f.seek(info.data_offset)
            for start in range(0, info.n_volumes, per_chunk):
                chunk = buffer[: min(per_chunk, info.n_volumes - start)]
                if f.readinto(memoryview(chunk).cast("B")) != chunk.nbytes:
                    raise EOFError("the file ended before the data block did")
                bad = np.flatnonzero(~np.isfinite(chunk).all(axis=1))
                if bad.size:
                    k = bad[0]
                    raise _non_finite(info, start + k, chunk[k].size - np.isfinite(chunk[k]).sum())
    except (OSError, EOFError) as exc:
        raise _invalid(info.path, f"could not read the data ({exc})") from exc


def memmap_stack(info):
    """Read-only ``numpy.memmap`` of shape ``(n, 1, D, H, W)`` for a float32 file.

    The data are scanned for NaN and infinite values first (:func:`check_finite`).
    """
    check_finite(info)
    shape = (info.n_volumes, 1, *info.volume_shape)
    return np.memmap(info.path, dtype=np.float32, mode="r", offset=info.data_offset, shape=shape)


def write_volume(path, volume, voxel_size, overwrite=False):
    """Write one float32 volume ``(D, H, W)`` with its voxel size in Angstrom."""
    try:
        with mrcfile.new(path, overwrite=overwrite) as mrc:
            mrc.set_data(np.ascontiguousarray(volume, dtype=np.float32))
            mrc.voxel_size = float(voxel_size)
    except (ValueError, OSError) as exc:
        raise OSError(f"could not write MRC file {path}: {exc}") from exc
