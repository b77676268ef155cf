"""Scoring a large zarr pool in process and on a dask.distributed LocalCluster.

Writes a pool of ``--pool`` volumes of ``--size``^3 (float32, uncompressed
zarr, ``--chunk`` rows per chunk) once, fits a small model once, then scores
the whole pool with ``EMADeviationQuery`` (task and mean model: two forward
passes per volume) and selects ``--select`` volumes, each configuration in a
fresh process:

* ``inprocess-1t`` / ``inprocess-2t``: the zarr array passed as it is (read
  batch by batch in this process), 1 or 2 torch threads;
* ``dask-1w`` / ``dask-2w``: ``da.from_zarr`` on a ``LocalCluster`` of 1 or 2
  worker processes with one thread each, started with
  ``MALLOC_MMAP_THRESHOLD_=2**30`` (see ``MMAP_THRESHOLD``);
* ``dask-1w-default-malloc`` / ``dask-2w-default-malloc``: the same with
  dask's default worker environment.

For each: wall time, volumes/s, peak memory (the peak resident set of the
scoring process, or of each worker, since it started), and whether the
selected indices equal the first configuration's. Resumable: finished configurations are kept in
``--workdir/results.jsonl``.

Usage::

    python benchmarks/bench_dask_scoring.py --workdir /tmp/dask-bench \\
        --out benchmarks/results/bench_dask_scoring.txt
"""

import argparse
import json
import os
import pickle
import platform
import resource
import subprocess
import sys
import time

import numpy as np

CONFIGS = (
    "inprocess-1t",
    "inprocess-2t",
    "dask-1w-default-malloc",
    "dask-2w-default-malloc",
    "dask-1w",
    "dask-2w",
)
#: glibc's mmap threshold for the workers: dask's nanny sets MALLOC_TRIM_THRESHOLD_,
#: which freezes glibc's mmap threshold at 128 KiB, so every activation tensor of a
#: forward pass is a fresh mmap (page faults on every batch); 1 GiB keeps them on the heap
MMAP_THRESHOLD = 2**30


def _peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker_memory():
    import torch

    return {
        "peak_rss_mb": _peak_rss_mb(),
        "threads": torch.get_num_threads(),
        "MALLOC_MMAP_THRESHOLD_": os.environ.get("MALLOC_MMAP_THRESHOLD_"),
        "MALLOC_TRIM_THRESHOLD_": os.environ.get("MALLOC_TRIM_THRESHOLD_"),
    }


def write_pool(path, n, size, chunk):
    """An uncompressed float32 zarr pool: one noise block, shifted by a constant per chunk."""
    import zarr

    if os.path.exists(os.path.join(path, ".done")):
        return
    shape, chunks = (n, 1, size, size, size), (chunk, 1, size, size, size)
    if hasattr(zarr, "create_array"):  # zarr 3
        z = zarr.create_array(
            path, shape=shape, chunks=chunks, dtype="f4", compressors=None, overwrite=True
        )
    else:
        z = zarr.open(path, mode="w", shape=shape, chunks=chunks, dtype="f4", compressor=None)
    block = np.random.default_rng(0).standard_normal((chunk, 1, size, size, size), np.float32)
    for i, start in enumerate(range(0, n, chunk)):
        stop = min(start + chunk, n)
        z[start:stop] = block[: stop - start] + np.float32(0.01 * (i % 100))
    open(os.path.join(path, ".done"), "w").close()


def fit_model(path, size, width, batch_size):
    if os.path.exists(path):
        return
    import torch

    from skcryoal import CryoNetClassifier

    torch.set_num_threads(2)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((256, 1, size, size, size), np.float32)
    y = rng.integers(0, 10, 256)
    clf = CryoNetClassifier(
        module__width=width,
        max_epochs=2,
        batch_size=batch_size,
        classes=list(range(10)),
        random_state=0,
    ).fit(X, y)
    with open(path + ".tmp", "wb") as f:
        pickle.dump(clf, f)
    os.replace(path + ".tmp", path)


def run_config(args):
    """One configuration, in this (fresh) process; prints one JSON line."""
    import torch

    from skcryoal import EMADeviationQuery

    with open(os.path.join(args.workdir, "model.pkl"), "rb") as f:
        clf = pickle.load(f)
    pool_path = os.path.join(args.workdir, "pool.zarr")
    strategy = EMADeviationQuery(batch_size=args.batch_size)
    result = {"config": args.run, "pool": args.pool, "size": args.size, "width": args.width}
    if args.run.startswith("inprocess"):
        import zarr

        torch.set_num_threads(int(args.run[-2]))
        pool = zarr.open(pool_path, mode="r")
        strategy(clf, pool[: args.batch_size], n_instances=1)  # warm-up, untimed
        t0 = time.perf_counter()
        idx = strategy(clf, pool, n_instances=args.select)
        elapsed = time.perf_counter() - t0
        result["memory"] = [_worker_memory()]
    else:
        import dask
        import dask.array as da
        from distributed import Client, LocalCluster

        n_workers = int(args.run.split("-")[1][:-1])
        environ = {}
        if not args.run.endswith("default-malloc"):
            environ["distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_"] = MMAP_THRESHOLD
        with (
            dask.config.set(environ),
            LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            pool = da.from_zarr(pool_path)
            # warm-up, untimed: the workers import torch and skcryoal
            strategy(clf, pool[: args.chunk * n_workers], n_instances=1)
            t0 = time.perf_counter()
            idx = strategy(clf, pool, n_instances=args.select)
            elapsed = time.perf_counter() - t0
            result["memory"] = list(client.run(_worker_memory).values())
    result.update(seconds=elapsed, volumes_per_s=args.pool / elapsed)
    np.save(os.path.join(args.workdir, f"idx-{args.run}.npy"), idx)
    print(json.dumps(result), flush=True)


def main():
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--pool", type=int, default=100_000)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--chunk", type=int, default=512)
    p.add_argument("--select", type=int, default=1000)
    p.add_argument("--configs", default=",".join(CONFIGS))
    p.add_argument("--workdir", required=True)
    p.add_argument("--out", default=None)
    p.add_argument("--run", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.run:
        return run_config(args)

    os.makedirs(args.workdir, exist_ok=True)
    t0 = time.perf_counter()
    write_pool(os.path.join(args.workdir, "pool.zarr"), args.pool, args.size, args.chunk)
    print(f"pool ready ({time.perf_counter() - t0:.0f} s)", flush=True)
    fit_model(os.path.join(args.workdir, "model.pkl"), args.size, args.width, args.batch_size)
    done_path = os.path.join(args.workdir, "results.jsonl")
    done = {}
    if os.path.exists(done_path):
        for line in open(done_path):
            if line.strip():
                row = json.loads(line)
                done[row["config"]] = row
    for config in args.configs.split(","):
        if config in done:
            continue
        cmd = [
            sys.executable,
            __file__,
            "--run",
            config,
            "--workdir",
            args.workdir,
            "--pool",
            str(args.pool),
            "--size",
            str(args.size),
            "--width",
            str(args.width),
            "--batch-size",
            str(args.batch_size),
            "--select",
            str(args.select),
            "--chunk",
            str(args.chunk),
        ]
        env = dict(os.environ, OMP_NUM_THREADS="2" if config == "inprocess-2t" else "1")
        out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
        row = json.loads(out.strip().splitlines()[-1])
        done[config] = row
        with open(done_path, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"{config}: {row['seconds']:.1f} s", flush=True)

    import torch

    configs = [c for c in args.configs.split(",") if c in done]
    first = np.load(os.path.join(args.workdir, f"idx-{configs[0]}.npy"))
    lines = [
        f"machine: {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), "
        f"torch {torch.__version__}, Python {platform.python_version()}",
        f"pool: {args.pool} x {args.size}^3 float32, uncompressed zarr, chunks of "
        f"{args.chunk} rows ({args.pool * args.size**3 * 4 / 2**30:.1f} GiB)",
        f"model: ResNet3D width {args.width}; EMADeviationQuery (task + mean model), batch "
        f"{args.batch_size}, top {args.select}",
        "",
        "| configuration | seconds | volumes/s | speed-up vs 1 worker | peak memory per "
        "process (MB) | same indices |",
        "|---|---|---|---|---|---|",
    ]

    def base(config):  # the 1-worker run with the same worker environment
        name = "dask-1w-default-malloc" if config.endswith("default-malloc") else "dask-1w"
        return done.get(name, {}).get("seconds")

    for config in configs:
        row = done[config]
        idx = np.load(os.path.join(args.workdir, f"idx-{config}.npy"))
        mem = ", ".join(f"{m['peak_rss_mb']:.0f}" for m in row["memory"])
        one = base(config)
        speed = f"{one / row['seconds']:.2f}" if one else ""
        lines.append(
            f"| {config} | {row['seconds']:.1f} | {row['volumes_per_s']:.0f} | {speed} | {mem} "
            f"| {'yes' if np.array_equal(idx, first) else 'NO'} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
