"""Throughput of the built-in simulator, in 32^3 subtomograms per second.

Usage::

    python benchmarks/bench_simulator.py [--n-samples 5000] [--snr 0.05] [--repeats 3]

Target: at least 300 volumes/s on 2 CPU cores, so that one paper dataset
(25,000 subtomograms) takes under 2 minutes.
"""

import argparse
import os
import platform
import time

from skcryoal.datasets import make_subtomograms


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=5000)
    parser.add_argument("--n-classes", type=int, default=50)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--snr", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"machine: {cpu}, {cores} cores usable")
    make_subtomograms(64, args.n_classes, args.size, args.snr, random_state=0)  # warm-up
    rates = []
    for repeat in range(args.repeats):
        start = time.perf_counter()
        make_subtomograms(args.n_samples, args.n_classes, args.size, args.snr, random_state=repeat)
        elapsed = time.perf_counter() - start
        rates.append(args.n_samples / elapsed)
        print(
            f"run {repeat}: {args.n_samples} volumes of {args.size}^3 in {elapsed:.2f} s "
            f"= {rates[-1]:.0f} volumes/s"
        )
    best = max(rates)
    print(f"best: {best:.0f} volumes/s; 25,000 volumes (one paper dataset) in {25000 / best:.0f} s")


if __name__ == "__main__":
    main()
