"""Time of one campaign round (query + label + fit) on a pool of simulated particles.

A round is what a person waits for between two batches: ``campaign.query(n)``
scores the whole unlabeled pool (here with the EMA deviation) and queues the
top ``n``; the annotator's labels are stored (one transaction per call);
``campaign.fit()`` retrains from scratch on every label and checkpoints the
model. Also reported: creating the campaign (the pool is written into the
folder once) and ``predict`` over the whole pool.

Usage::

    python benchmarks/bench_campaign_round.py --pool 2000 --size 32 --width 16 \
        --seed-labels 200 --batch 100 --threads 2 \
        --out benchmarks/results/bench_campaign_round.txt
"""

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pool", type=int, default=2000)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed-labels", type=int, default=200)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", default="auto")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    from skcryoal import CryoNetClassifier
    from skcryoal.campaign import Campaign, OracleAnnotator
    from skcryoal.datasets import make_subtomograms
    from skcryoal.utils import set_num_threads

    threads = set_num_threads(args.threads if args.threads == "auto" else int(args.threads))
    lines = [
        f"# bench_campaign_round: pool {args.pool} x {args.size}^3, {args.classes} classes, "
        f"ResNet3D width {args.width}, {args.epochs} epochs, batch 16, EMA deviation query",
        f"# machine: {platform.processor() or platform.machine()}, torch threads {threads}, "
        f"python {platform.python_version()}",
        f"# command: python benchmarks/bench_campaign_round.py {' '.join(sys.argv[1:])}",
    ]

    def say(text):
        lines.append(text)
        print(text, flush=True)

    for line in lines:
        print(line)
    X, y = make_subtomograms(
        n_samples=args.pool, n_classes=args.classes, size=args.size, snr=0.5, random_state=0
    )
    oracle = OracleAnnotator(y, name="oracle")
    rng = np.random.default_rng(0)
    seeds = np.full(args.pool, None, dtype=object)
    first = rng.choice(args.pool, args.seed_labels, replace=False)
    seeds[first] = y[first]
    clf = CryoNetClassifier(module__width=args.width, max_epochs=args.epochs, random_state=0)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        campaign = Campaign.create(
            Path(tmp) / "c", X, list(range(args.classes)), y=seeds, estimator=clf, strategy="ema"
        )
        say(f"create (pool written into the folder): {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        campaign.fit()
        say(f"first fit on {args.seed_labels} seed labels: {time.perf_counter() - start:.1f} s")
        for r in range(1, args.rounds + 1):
            t0 = time.perf_counter()
            ids = campaign.query(args.batch, fit=False)
            t1 = time.perf_counter()
            for pid in ids:  # one transaction per label, as clicks are
                campaign.label(int(pid), oracle([pid])[0])
            t2 = time.perf_counter()
            campaign.fit()
            t3 = time.perf_counter()
            n = campaign.status().n_labeled
            say(
                f"round {r}: query {t1 - t0:.1f} s (scores {args.pool - n + args.batch} "
                f"particles), {args.batch} labels {1000 * (t2 - t1) / args.batch:.1f} ms each, "
                f"fit on {n} labels {t3 - t2:.1f} s; query + fit {t1 - t0 + t3 - t2:.1f} s"
            )
        start = time.perf_counter()
        campaign.predict(Path(tmp) / "predictions", fit=False)
        say(f"predict over {args.pool} particles: {time.perf_counter() - start:.1f} s")
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
