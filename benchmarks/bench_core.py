"""Cost of the EMA method against plain training and inference.

Measures, in one process on the same data and model size:

* query cost: ``EMADeviationQuery`` over a pool / one plain inference pass
  (task model only) over the same pool (target <= 2.2);
* training cost: an epoch of ``CryoNetClassifier`` (EMA callback + regularizer)
  / an epoch of the same ResNet3D in a plain skorch ``NeuralNetClassifier``
  (target <= 1.4), and the EMA update's share of an epoch (target < 3%);
* with ``--memory``: peak memory while scoring a memory-mapped pool of
  ``--memory-pool`` volumes (run in a fresh process; target < 1.5 GB).

Usage::

    python benchmarks/bench_core.py --width 32 --size 32 --pool 1024 --train 512
    python benchmarks/bench_core.py --memory --memory-pool 20000 --width 8
"""

import argparse
import multiprocessing
import os
import tempfile
import threading
import time

import numpy as np
import torch
from skorch import NeuralNetClassifier

from skcryoal import CryoNetClassifier, EMADeviationQuery, ResNet3D


def _volumes(n, size, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 1, size, size, size)).astype(np.float32), rng.integers(0, 10, n)


def _epoch_seconds(net, X, y, epochs):
    net.fit(X, y)
    # skip the first epoch (allocator and thread-pool warm-up)
    return float(np.median(net.history[1:, "dur"])) if epochs > 1 else net.history[-1, "dur"]


def bench_speed(args):
    common = dict(
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        lr=1e-3,
        optimizer=torch.optim.AdamW,
        train_split=None,
        verbose=0,
        iterator_train__shuffle=True,
    )
    X, y = _volumes(args.train, args.size, 0)
    ema_net = CryoNetClassifier(
        module__width=args.width, random_state=0, classes=list(range(10)), **common
    )
    plain_net = NeuralNetClassifier(
        ResNet3D,
        module__width=args.width,
        module__n_classes=10,
        criterion=torch.nn.CrossEntropyLoss,
        **common,
    )
    t_plain = _epoch_seconds(plain_net, X, y, args.epochs)
    t_ema = _epoch_seconds(ema_net, X, y, args.epochs)
    t_plain2 = _epoch_seconds(plain_net, X, y, args.epochs)  # interleave against drift
    t_plain = min(t_plain, t_plain2)

    ema_cb = dict(ema_net.callbacks_)["ema"]
    ema_cb.on_train_begin(ema_net)
    n_rep = 50
    t0 = time.perf_counter()
    for _ in range(n_rep):
        ema_cb.update(ema_net)
    t_update = (time.perf_counter() - t0) / n_rep
    steps = int(np.ceil(args.train / args.batch_size))

    pool, _ = _volumes(args.pool, args.size, 1)
    strategy = EMADeviationQuery(batch_size=args.batch_size)
    ema_net.predict_proba(pool[: args.batch_size])  # warm-up
    t0 = time.perf_counter()
    ema_net.predict_proba(pool)
    t_infer = time.perf_counter() - t0
    t0 = time.perf_counter()
    strategy(ema_net, pool, n_instances=max(1, args.pool // 20))
    t_query = time.perf_counter() - t0

    print(
        f"machine: {os.cpu_count()} CPU cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    print(f"model: ResNet3D width={args.width}, volumes {args.size}^3, batch {args.batch_size}")
    print(f"training ({args.train} volumes, median epoch):")
    print(f"  plain skorch net      {t_plain:8.2f} s/epoch  {args.train / t_plain:8.1f} volumes/s")
    print(f"  EMA + regularizer     {t_ema:8.2f} s/epoch  {args.train / t_ema:8.1f} volumes/s")
    print(f"  ratio                 {t_ema / t_plain:8.2f}   (target <= 1.4)")
    print(
        f"  EMA update            {t_update * 1e3:8.2f} ms/step x {steps} steps = "
        f"{100 * t_update * steps / t_ema:.2f}% of an epoch (target < 3%)"
    )
    print(f"query ({args.pool} pool volumes):")
    print(f"  plain inference pass  {t_infer:8.2f} s  {args.pool / t_infer:8.1f} volumes/s")
    print(f"  EMADeviationQuery     {t_query:8.2f} s  {args.pool / t_query:8.1f} volumes/s")
    print(f"  ratio                 {t_query / t_infer:8.2f}   (target <= 2.2)")


def _rss_anon_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _vm_hwm_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _write_pool(path, shape):
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)
    rng = np.random.default_rng(0)
    for start in range(0, shape[0], 500):
        stop = min(start + 500, shape[0])
        mm[start:stop] = rng.standard_normal(size=(stop - start, *shape[1:]), dtype=np.float32)
    mm.flush()


def bench_memory(args):
    with tempfile.TemporaryDirectory(dir=args.tmpdir) as tmp:
        path = os.path.join(tmp, "pool.npy")
        shape = (args.memory_pool, 1, args.size, args.size, args.size)
        # write the pool from a child process so that its temporary arrays do not
        # inflate this process's baseline
        ctx = multiprocessing.get_context("spawn")
        child = ctx.Process(target=_write_pool, args=(path, shape))
        child.start()
        child.join()
        pool = np.load(path, mmap_mode="r")
        X, y = _volumes(64, args.size, 0)
        clf = CryoNetClassifier(
            module__width=args.width,
            max_epochs=1,
            batch_size=args.batch_size,
            random_state=0,
            classes=list(range(10)),
        ).fit(X, y)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the peak resident set (VmHWM) after writing the pool
        base_anon, base_hwm = _rss_anon_mb(), _vm_hwm_mb()
        peak = [base_anon]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], _rss_anon_mb())
                time.sleep(0.05)

        thread = threading.Thread(target=sample)
        thread.start()
        t0 = time.perf_counter()
        idx = EMADeviationQuery(batch_size=args.batch_size)(clf, pool, n_instances=1000)
        elapsed = time.perf_counter() - t0
        done.set()
        thread.join()
        print(f"memory-mapped pool: {shape}, {os.path.getsize(path) / 2**30:.2f} GiB on disk")
        print(
            f"scored in {elapsed:.1f} s ({shape[0] / elapsed:.0f} volumes/s), {len(idx)} selected"
        )
        print(
            f"peak anonymous memory (heap, tensors): {peak[0]:.0f} MB "
            f"(before scoring {base_anon:.0f} MB; target < 1500 MB)"
        )
        print(
            f"peak resident set incl. file-backed memmap pages (VmHWM): {_vm_hwm_mb():.0f} MB "
            f"(before scoring {base_hwm:.0f} MB)"
        )


def main():
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--train", type=int, default=512)
    p.add_argument("--pool", type=int, default=1024)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--memory", action="store_true")
    p.add_argument("--memory-pool", type=int, default=20000)
    p.add_argument("--tmpdir", default=None)
    args = p.parse_args()
    if args.memory:
        bench_memory(args)
    else:
        bench_speed(args)


if __name__ == "__main__":
    main()
