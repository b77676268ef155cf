"""Epoch time against torch's thread count, on idle cores and beside a CPU-bound process.

Cryo-ET users train on shared nodes and in batch jobs whose CPU quota is
smaller than the node. torch starts one intra-op thread per core; when another
process holds a core, OpenMP's threads wait on each other. This script times
one training epoch of ``CryoNetClassifier`` (width 16, 32^3 volumes, batch 16)
with 1 and 2 threads (and torch's default, and ``set_num_threads("auto")``),
first on idle cores, then beside ``--busy`` CPU-bound processes (pure Python
loops, like another user's job).

Each configuration runs in a fresh process so that thread pools do not carry
over. Usage::

    python benchmarks/bench_threads.py --out benchmarks/results/bench_threads.txt
"""

import argparse
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import time

_CHILD = r"""
import json, sys, time
import numpy as np, torch
from skcryoal import CryoNetClassifier
from skcryoal.utils import available_cpus, set_num_threads
setting = sys.argv[1]
n, size, width, epochs = (int(v) for v in sys.argv[2:6])
if setting == "auto":
    set_num_threads("auto")
elif setting != "default":
    set_num_threads(int(setting))
rng = np.random.default_rng(0)
X = rng.normal(size=(n, 1, size, size, size)).astype(np.float32)
y = rng.integers(0, 10, n)
clf = CryoNetClassifier(
    module__width=width, max_epochs=epochs, classes=list(range(10)), random_state=0
)
clf.fit(X, y)
durations = list(clf.history[:, "dur"])
print(json.dumps({"threads": torch.get_num_threads(), "available_cpus": available_cpus(),
                  "epoch_s": float(np.median(durations[1:] if len(durations) > 1 else durations)),
                  "all_epochs_s": durations}))
"""


def _busy():
    while True:
        pass


def run(setting, args):
    env = dict(os.environ)
    env.pop("OMP_NUM_THREADS", None)  # torch's own default, unless set below
    cmd = [sys.executable, "-c", _CHILD, setting, str(args.n), str(args.size), str(args.width)]
    cmd.append(str(args.epochs))
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=256, help="training volumes (default 256)")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=3, help="median over epochs 2..N")
    parser.add_argument("--busy", type=int, default=1, help="CPU-bound processes beside")
    parser.add_argument("--settings", default="default,auto,1,2")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    lines = [
        f"# bench_threads: {args.n} volumes of {args.size}^3, width {args.width}, batch 16, "
        f"median epoch of {args.epochs}",
        f"# machine: {platform.processor() or platform.machine()}, os.cpu_count()="
        f"{os.cpu_count()}, python {platform.python_version()}",
        f"# command: python benchmarks/bench_threads.py {' '.join(sys.argv[1:])}",
        "condition | setting | torch threads | epoch (s)",
        "---|---|---|---",
    ]
    print("\n".join(lines), flush=True)
    for condition in ("idle", f"beside {args.busy} CPU-bound process(es)"):
        busy = []
        if condition != "idle":
            busy = [multiprocessing.Process(target=_busy, daemon=True) for _ in range(args.busy)]
            for p in busy:
                p.start()
            time.sleep(1.0)
        try:
            for setting in args.settings.split(","):
                r = run(setting, args)
                line = f"{condition} | {setting} | {r['threads']} | {r['epoch_s']:.2f}"
                lines.append(line)
                print(line, flush=True)
        finally:
            for p in busy:
                p.terminate()
    if args.out:
        with open(args.out, "w") as fh:
            fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
