import pytest

from skcryoal.cli import main


@pytest.mark.filterwarnings("ignore:.*reach up to.*:UserWarning")
def test_demo_runs_a_tiny_campaign(capsys):
    argv = [
        "demo",
        "--pool",
        "60",
        "--test",
        "20",
        "--initial",
        "12",
        "--step",
        "6",
        "--cycles",
        "1",
        "--epochs",
        "1",
        "--width",
        "4",
        "--size",
        "16",
        "--n-classes",
        "3",
        "--strategies",
        "ema,random,entropy",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Test accuracy by number of labeled volumes" in out
    for name in ("ema", "random", "entropy"):
        assert f"[{name}] 18 labels: accuracy" in out


def test_demo_rejects_bad_configuration(capsys):
    assert main(["demo", "--pool", "50", "--initial", "40", "--step", "10", "--cycles", "2"]) == 2
    assert "needs 60 labels" in capsys.readouterr().err
    assert main(["demo", "--strategies", "ema,oracle"]) == 2
    assert "unknown strategy 'oracle'" in capsys.readouterr().err


@pytest.mark.parametrize("strategies", ["", " , ", ","])
def test_demo_refuses_an_empty_strategy_list(capsys, strategies):
    assert main(["demo", "--strategies", strategies]) == 2
    captured = capsys.readouterr()
    assert "--strategies lists no strategy" in captured.err and "ema" in captured.err
    assert "Simulating" not in captured.out  # nothing ran
