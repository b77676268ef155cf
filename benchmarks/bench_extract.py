"""Peak memory of extract_particles over many tomograms, against their total size.

Writes ``--n-tomograms`` synthetic MRC tomograms (``make_tomogram``, float32) and a
RELION 5 particle set over all of them (``particles.star`` + ``tomograms.star``), then
extracts every particle with ``read_particle_set`` + ``extract_particles`` in a fresh
process per case, and reports each process's peak resident memory (``VmHWM``, which
counts the pages of memory-mapped files too) against its resident memory before the
extraction, the tomograms' total size and the output size.

Cases: the tomograms' voxel size with the output in memory; the same with ``out=`` a
``numpy.memmap`` on disk; resampled to 1.5x the voxel size (Fourier cropping).

What to expect: the output (when in memory), plus about 16 MiB of pages of the tomogram
being cut (dropped as boxes are cut) and a few temporary boxes, whatever the number or
size of the tomograms.

Usage::

    nice python benchmarks/bench_extract.py [--n-tomograms 20] [--shape 128 400 400]
        [--particles 100] [--size 32] [--workdir /tmp/bench_extract] [--keep]
"""

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TS_PIXEL, BINNING = 2.5, 4  # tomograms at 10 A per voxel


def _status(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024  # kB -> bytes
    return 0


def write_dataset(workdir, n_tomograms, shape, n_particles):
    import mrcfile
    import numpy as np
    import pandas as pd
    import starfile

    from skcryoal.datasets import make_tomogram

    voxel = TS_PIXEL * BINNING
    folder = workdir / "tomograms"
    folder.mkdir(parents=True, exist_ok=True)
    rows, names = [], []
    start = time.perf_counter()
    for k in range(n_tomograms):
        name = f"TS_{k + 1:02d}"
        tomogram, truth = make_tomogram(shape, n_particles, voxel_size=voxel, random_state=k)
        with mrcfile.new(folder / f"rec_{name}.mrc", overwrite=True) as mrc:
            mrc.set_data(tomogram)
            mrc.voxel_size = voxel
        size = np.array(shape[::-1]) * BINNING  # unbinned (x, y, z)
        centred = (truth[["x", "y", "z"]].to_numpy() * BINNING - size / 2.0) * TS_PIXEL
        rows.append(
            pd.DataFrame(
                {
                    "rlnTomoName": name,
                    "rlnCenteredCoordinateXAngst": centred[:, 0],
                    "rlnCenteredCoordinateYAngst": centred[:, 1],
                    "rlnCenteredCoordinateZAngst": centred[:, 2],
                    "rlnClassNumber": truth["class"] + 1,
                    "rlnOpticsGroup": 1,
                }
            )
        )
        names.append(name)
    particles = pd.concat(rows, ignore_index=True)
    # Interleave the tomograms so that grouping by tomogram has work to do.
    particles = particles.sample(frac=1.0, random_state=0).reset_index(drop=True)
    optics = pd.DataFrame(
        {
            "rlnOpticsGroup": [1],
            "rlnOpticsGroupName": ["optics1"],
            "rlnTomoTiltSeriesPixelSize": [TS_PIXEL],
        }
    )
    starfile.write({"optics": optics, "particles": particles}, workdir / "particles.star")
    starfile.write(
        {
            "global": pd.DataFrame(
                {
                    "rlnTomoName": names,
                    "rlnTomoTiltSeriesPixelSize": TS_PIXEL,
                    "rlnTomoSizeX": shape[2] * BINNING,
                    "rlnTomoSizeY": shape[1] * BINNING,
                    "rlnTomoSizeZ": shape[0] * BINNING,
                    "rlnTomoTomogramBinning": float(BINNING),
                    "rlnTomoReconstructedTomogram": [f"tomograms/rec_{n}.mrc" for n in names],
                }
            )
        },
        workdir / "tomograms.star",
    )
    return time.perf_counter() - start


def extract_case(workdir, case, size):
    """Run in a fresh process: extract everything, report memory as JSON."""
    import numpy as np

    from skcryoal.io import extract_particles, extract_subtomograms, read_particle_set

    before_table = _status("VmRSS")
    start = time.perf_counter()
    particle_set = read_particle_set(
        workdir / "particles.star", tomograms=workdir / "tomograms.star"
    )
    read_seconds = time.perf_counter() - start
    table_peak = _status("VmHWM")
    baseline = _status("VmRSS")  # the particle set read, its modules imported
    start = time.perf_counter()
    # standardize=False: compared below with a raw cut, and as measured before
    # standardization became the default (it works in place, adding no memory)
    kwargs = {"edge": "pad", "standardize": False}
    if case == "resampled":
        kwargs["voxel_size"] = 1.5 * TS_PIXEL * BINNING
    if case == "memmap":
        kwargs["out"] = np.lib.format.open_memmap(
            workdir / "X.npy",
            mode="w+",
            dtype=np.float32,
            shape=(len(particle_set), 1, size, size, size),
        )
    X, table = extract_particles(particle_set, size, **kwargs)
    elapsed = time.perf_counter() - start
    peak = _status("VmHWM")
    check = "n/a"
    if case != "resampled":  # row 0 against a direct cut of its tomogram
        row = table.iloc[0]
        direct, _ = extract_subtomograms(
            row.skcryoal_tomogram_path,
            [[row.skcryoal_x, row.skcryoal_y, row.skcryoal_z]],
            size,
            edge="pad",
        )
        check = bool(np.array_equal(direct[0], X[0]))
    tomogram_bytes = sum(os.path.getsize(p) for p in set(particle_set["skcryoal_tomogram_path"]))
    print(
        json.dumps(
            {
                "case": case,
                "n_particles": len(X),
                "n_tomograms": int(particle_set["skcryoal_tomogram"].nunique()),
                "seconds": elapsed,
                "read_seconds": read_seconds,
                "before_table_rss": before_table,
                "table_peak_rss": table_peak,
                "baseline_rss": baseline,
                "peak_rss": peak,
                "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "output_bytes": int(X.nbytes),
                "output_in_memory": case != "memmap",
                "tomogram_bytes": tomogram_bytes,
                "largest_tomogram_bytes": max(
                    os.path.getsize(p) for p in set(particle_set["skcryoal_tomogram_path"])
                ),
                "row0_matches_direct_cut": check,
            }
        )
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-tomograms", type=int, default=20)
    parser.add_argument("--shape", type=int, nargs=3, default=[128, 400, 400])
    parser.add_argument("--particles", type=int, default=100, help="per tomogram")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the tomograms afterwards")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: one extraction
    args = parser.parse_args()
    if args.case:
        extract_case(args.workdir, args.case, args.size)
        return

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench_extract_"))
    mib = 1 << 20
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    print(f"machine: {cpu}, {cores} cores usable, {ram:.0f} GiB RAM")
    print(f"python {platform.python_version()}, {platform.system()} {platform.release()}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    try:
        seconds = write_dataset(workdir, args.n_tomograms, tuple(args.shape), args.particles)
        print(
            f"wrote {args.n_tomograms} tomograms of (z, y, x) = {tuple(args.shape)} float32 and "
            f"{args.n_tomograms * args.particles} particles (RELION 5) in {seconds:.1f} s "
            f"to {workdir}"
        )
        for case in ("native", "memmap", "resampled"):
            result = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--case",
                    case,
                    "--workdir",
                    str(workdir),
                    "--size",
                    str(args.size),
                ],
                check=True,
                capture_output=True,
                text=True,
                env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")},
            )
            r = json.loads(result.stdout.strip().splitlines()[-1])
            growth = r["peak_rss"] - r["baseline_rss"]
            beyond_output = growth - (r["output_bytes"] if r["output_in_memory"] else 0)
            print(
                f"\n[{case}] {r['n_particles']} boxes of {args.size}^3 from {r['n_tomograms']} "
                f"tomograms in {r['seconds']:.1f} s\n"
                f"  tomograms on disk:      {r['tomogram_bytes'] / mib:8.1f} MiB "
                f"(largest {r['largest_tomogram_bytes'] / mib:.1f} MiB)\n"
                f"  output:                 {r['output_bytes'] / mib:8.1f} MiB "
                f"({'in memory' if r['output_in_memory'] else 'memmap on disk'})\n"
                f"  RSS after imports:      {r['before_table_rss'] / mib:8.1f} MiB; "
                f"read_particle_set: {r['read_seconds']:.2f} s, peak "
                f"{r['table_peak_rss'] / mib:.1f} MiB\n"
                f"  RSS before extraction:  {r['baseline_rss'] / mib:8.1f} MiB "
                "(particle set in memory)\n"
                f"  peak RSS (VmHWM):       {r['peak_rss'] / mib:8.1f} MiB "
                f"(ru_maxrss {r['maxrss'] / mib:.1f} MiB: also counts the parent's pages "
                "before exec)\n"
                f"  peak - before:          {growth / mib:8.1f} MiB = "
                f"{100 * growth / r['tomogram_bytes']:.1f}% of the tomograms\n"
                f"  peak - before - output: {beyond_output / mib:8.1f} MiB "
                f"(in-memory output subtracted) = "
                f"{100 * beyond_output / r['largest_tomogram_bytes']:.0f}% of the largest "
                "tomogram\n"
                f"  row 0 equals a direct cut: {r['row0_matches_direct_cut']}"
            )
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
