"""benchmarks/gpu_check.py as a test: its --cpu-smoke mode runs every part at toy size.

On a GPU the real check is ``benchmarks/gpu_check.sh`` (under 10 minutes); here the
script itself is checked: the CPU-GPU agreement part (through a subprocess that
unpickles the model with CUDA hidden), the throughput table, and the benchmark
command, each writing its files.
"""

import json

import pytest
import torch


@pytest.fixture(scope="module")
def gpu_check(benchmark_script):
    return benchmark_script("gpu_check")


def test_cpu_smoke_writes_every_part(gpu_check, tmp_path, capsys):
    assert gpu_check.main([str(tmp_path), "--cpu-smoke"]) == 0
    agreement = json.loads((tmp_path / "agreement.json").read_text())
    assert agreement["ok"] and agreement["max_abs_diff"] == 0.0  # CPU against CPU
    throughput = json.loads((tmp_path / "throughput.json").read_text())
    # fp16 needs CUDA; bf16 with channels_last_3d is left out on the CPU
    assert throughput["ok"] and len(throughput["rows"]) == 3
    assert (tmp_path / "throughput.csv").exists() and (tmp_path / "throughput.md").exists()
    paper = json.loads((tmp_path / "paper" / "paper.json").read_text())
    assert paper["returncode"] == 0 and "--preset fig1-snr005" in paper["command"]
    assert (tmp_path / "paper" / "results.csv").exists()
    assert "(c) paper-scale benchmark" in capsys.readouterr().out


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message without CUDA")
def test_without_cuda_it_says_so(gpu_check, tmp_path, capsys):
    assert gpu_check.main([str(tmp_path)]) == gpu_check.NO_CUDA
    assert "no CUDA device" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
