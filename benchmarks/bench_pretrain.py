"""Cost of self-supervised pretraining and of a semi-supervised epoch, against a supervised one.

Times, in a fresh process per configuration:

* ``SubtomogramEmbedder`` (SimCLR, width 16, batch 64, views with 3D rotations and the
  wedge re-imposed) for ``--epochs`` epochs on the benchmark's pool (2000 volumes of
  32^3, SNR 0.1), per torch thread count; the projected time of the default 30 epochs;
* one classifier step (batch 16 labeled volumes) supervised, with Mean Teacher and with
  FixMatch (``unlabeled_ratio=2``), as volumes per second and the ratio to supervised.

Usage::

    python benchmarks/bench_pretrain.py --epochs 3 --threads 1,2 \\
        --out benchmarks/results/bench_pretrain.txt

Run it on idle cores: the numbers are wall times.
"""

import argparse
import json
import platform
import subprocess
import sys
import time

CHILD = r"""
import json, sys, time
import numpy as np
import torch
threads, epochs, what = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
torch.set_num_threads(threads)
from skcryoal.datasets import fetch_simulated
d = fetch_simulated("quick", n_train_per_class=200, n_test_per_class=100, snr=0.1)
X, y = np.asarray(d.X_train), np.asarray(d.y_train)
if what == "pretrain":
    from skcryoal.pretraining import SubtomogramEmbedder
    emb = SubtomogramEmbedder(width=16, max_epochs=epochs, progress=False, random_state=0)
    t = time.perf_counter(); emb.fit(X); total = time.perf_counter() - t
    per = [h["seconds"] for h in emb.history_]
    print(json.dumps(dict(what=what, threads=threads, epochs=epochs, seconds=total,
                          per_epoch=sum(per) / len(per), projected_30=30 * sum(per) / len(per))))
else:
    from skcryoal import CryoNetClassifier
    n_steps = 40
    labeled = np.arange(0, 2000, 10)[:160]  # 160 labels: 10 steps of 16 per epoch
    params = dict(module__width=16, augment=True, classes=np.arange(10), random_state=0,
                  max_epochs=n_steps // 10)
    if what == "supervised":
        clf = CryoNetClassifier(**params)
        t = time.perf_counter(); clf.fit(X[labeled], y[labeled]); total = time.perf_counter() - t
    else:
        yy = np.full(len(X), -1); yy[labeled] = y[labeled]
        clf = CryoNetClassifier(unlabeled_method=what, unlabeled_ratio=2, **params)
        t = time.perf_counter(); clf.fit(X, yy); total = time.perf_counter() - t
    print(json.dumps(dict(what=what, threads=threads, steps=n_steps, seconds=total,
                          seconds_per_step=total / n_steps)))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    machine = platform.processor() or platform.machine()
    lines = [f"machine: {machine}, python {sys.version.split()[0]}"]
    rows = []
    for threads in [int(t) for t in args.threads.split(",")]:
        for what in ("pretrain", "supervised", "mean-teacher", "fixmatch"):
            env = {"OMP_NUM_THREADS": str(threads)}
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(threads), str(args.epochs), what],
                capture_output=True, text=True, check=True,
                env={**__import__("os").environ, **env},
            )  # fmt: skip
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            lines.append(json.dumps(row))
            print(lines[-1], flush=True)
    for threads in sorted({r["threads"] for r in rows}):
        sup = next(r for r in rows if r["threads"] == threads and r["what"] == "supervised")
        for what in ("mean-teacher", "fixmatch"):
            semi = next(r for r in rows if r["threads"] == threads and r["what"] == what)
            ratio = semi["seconds_per_step"] / sup["seconds_per_step"]
            lines.append(f"{threads} thread(s): a {what} step costs {ratio:.2f}x a supervised one")
        pre = next(r for r in rows if r["threads"] == threads and r["what"] == "pretrain")
        lines.append(
            f"{threads} thread(s): pretraining {pre['per_epoch']:.1f} s/epoch, 30 epochs "
            f"{pre['projected_30'] / 60:.1f} min"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(f"# {time.strftime('%Y-%m-%d %H:%M')}\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
