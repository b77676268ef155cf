"""What an extraction wrote, in words; the readers' errors in command-line terms."""

import contextlib
import errno
import re
from collections import Counter

from .._common import CLIError

#: at most this many tomograms are listed one per line
_MAX_LINES = 20


def cli_words(message):
    """Say in command-line options what the readers' messages say in Python arguments."""
    for api, cli in (
        (r"edge='skip'", "--edge skip"),
        (r"edge='pad'", "--edge pad"),
        (r"\btomograms= the path of the tomogram", "--tomogram the path of the tomogram"),
        (r" or a dict \{name: path\}", ""),
        (r"\bvoxel_size=", "--voxel-size "),
        (r"\btomogram_dir=", "--tomogram-dir "),
        (r"\btomograms=", "--tomograms "),
        (r"\bvoxel_spacing=", "--voxel-spacing "),
        (r"\btomo_type=", "--tomo-type "),
        (r"\bruns=", "--runs "),
        (r"\busers=", "--user "),
        (r"\bsessions=", "--session "),
        (r"\bobjects=", "--objects "),
        (r"convention='(\w+)'", r"--convention \1"),
    ):
        message = re.sub(api, cli, message)
    return re.sub(r"  +", " ", message)


@contextlib.contextmanager
def cli_errors(prog):
    """Turn the readers' and the extraction's errors into command-line errors."""
    try:
        yield
    except (FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
        message = exc.strerror or str(exc)
        if exc.filename and str(exc.filename) not in message:
            message = f"{message}: {exc.filename}"
        raise CLIError(f"{prog}: error: {cli_words(message)}") from None
    except (ValueError, ImportError, MemoryError) as exc:
        raise CLIError(f"{prog}: error: {cli_words(str(exc))}") from None
    except OSError as exc:
        if exc.errno != errno.ENOSPC or not exc.strerror:
            raise
        raise CLIError(f"{prog}: error: {cli_words(exc.strerror)}") from None


def _by_tomogram(frame):
    return Counter(frame["skcryoal_tomogram"].astype(str).tolist())


def _voxel_sizes_read(particles, voxel_size):
    """Tomogram name -> voxel size of the level actually read for ``voxel_size``.

    An OME-Zarr tomogram with a level at the wanted voxel size is read at that
    level, with no resampling; an MRC file has one level.
    """
    from ...io import open_tomogram

    sizes = {}
    frame = particles[["skcryoal_tomogram", "skcryoal_tomogram_path", "skcryoal_voxel_size"]]
    for name, path, voxel in frame.drop_duplicates("skcryoal_tomogram").itertuples(index=False):
        try:
            sizes[str(name)] = float(open_tomogram(path, voxel_size=voxel_size).voxel_size)
        except Exception:  # noqa: BLE001 - the summary falls back to the recorded size
            sizes[str(name)] = float(voxel)
    return sizes


def summary_lines(extraction, *, files=True):
    """Lines saying what was cut, where to, per tomogram, resampled or not, labels."""
    from ...io._boxes import SAME_VOXEL_RTOL

    e = extraction
    n, s = len(e.table), e.size
    lines = [f"Cut {n} subtomograms of {s}x{s}x{s} voxels at {e.voxel_size:g} A into {e.folder}:"]
    if files:
        lines.append(
            f"  {e.table_path.name:<18} the particle table: rlnImageName, "
            f"{'labels, ' if e.labels is not None else ''}every column of the input rows"
        )
        shown = e.files[0] if n == 1 else f"{e.files[0]} ... {e.files[-1]}"
        lines.append(f"  {shown}  one MRC file per particle")
    before, after = _by_tomogram(e.particles), _by_tomogram(e.table)
    width = max(len(name) for name in before)
    lines.append(f"  from {len(before)} tomogram(s):")
    for name, n_in in list(before.items())[:_MAX_LINES]:
        n_out = after.get(name, 0)
        skipped = f", {n_in - n_out} skipped (box off the edge, --edge skip)"
        lines.append(f"    {name:<{width}}  {n_out} particle(s){skipped if n_out < n_in else ''}")
    if len(before) > _MAX_LINES:
        rest = list(before)[_MAX_LINES:]
        lines.append(
            f"    ... {len(rest)} more: {sum(after.get(k, 0) for k in rest)} particle(s), "
            f"{sum(before[k] - after.get(k, 0) for k in rest)} skipped"
        )
    resampled = {}
    for name, voxel in _voxel_sizes_read(e.particles, e.voxel_size).items():
        if abs(voxel / e.voxel_size - 1.0) > SAME_VOXEL_RTOL:
            resampled.setdefault(round(float(voxel), 4), dict())[name] = None
    for voxel, tomograms in resampled.items():
        how = "Fourier cropping" if e.voxel_size > voxel else "Fourier padding"
        listed = list(tomograms)
        more = f" and {len(listed) - 5} more" if len(listed) > 5 else ""
        lines.append(
            f"  resampled from {voxel:g} A to {e.voxel_size:g} A ({how}): "
            f"{', '.join(listed[:5])}{more}"
        )
    if e.labels is not None:
        present = [v for v in e.labels if v is not None]
        counts = Counter(map(str, present))
        per_class = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
        unlabeled = len(e.labels) - len(present)
        lines.append(
            f"  labels for {len(present)} of {n} ({per_class})"
            + (f"; {unlabeled} unlabeled" if unlabeled else "")
        )
    if "skcryoal_standardized" in e.table.columns:
        if (e.table["skcryoal_standardized"] == 1).all():
            lines.append(
                "  standardized: each subtomogram to zero mean and unit standard deviation "
                "(--no-standardize keeps the tomograms' grey values)"
            )
        else:
            lines.append(
                "  not standardized (--no-standardize): the tomograms' grey values; standardize "
                "them before training (skcryoal.preprocessing.SubtomogramStandardizer)"
            )
    return lines
