import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skcryoal.cli import main

# the paper's recipe, from scratch (quick, the default preset, pretrains first)
TINY = [
    "--preset", "quick-paper", "--dataset", "quick", "--n-classes", "3", "--train-per-class", "12",
    "--test-per-class", "4", "--size", "16", "--snr", "inf",
    "--strategies", "ema,random", "--initial", "6", "--step", "3", "--final", "9",
    "--epochs", "1", "--width", "4", "--batch-size", "8", "--trials", "2",
    "--device", "cpu", "--no-progress",
]  # fmt: skip


def test_tiny_benchmark_writes_results_plot_and_summary(tmp_path, data_home, capsys):
    out = tmp_path / "bench"
    assert main(["benchmark", *TINY, "--ceiling", "--out", str(out)]) == 0
    for name in (
        "results.csv",
        "learning_curve.png",
        "auc.png",
        "win_tie_loss.png",
        "summary.md",
        "config.json",
    ):
        assert (out / name).stat().st_size > 0
    results = pd.read_csv(out / "results.csv", keep_default_na=False)
    assert len(results) == 2 * 2 * 2 + 2  # strategies x trials x cycles + ceiling per trial
    assert set(results["strategy"]) == {"ema", "random", "full-pool"}
    summary = (out / "summary.md").read_text()
    assert "| ema |" in summary and "Full-pool supervision" in summary
    assert "Win/tie/loss" in summary and "Paired difference to random" in summary
    # each strategy and trial ran as a campaign, kept for inspection (the ceiling is none)
    assert sorted(p.name for p in (out / "campaigns").iterdir()) == [
        "ema-trial0",
        "ema-trial1",
        "random-trial0",
        "random-trial1",
    ]
    assert "Test accuracy" in capsys.readouterr().out
    # running again resumes: nothing left to train, same results
    before = (out / "results.csv").read_text()
    assert main(["benchmark", *TINY, "--ceiling", "--out", str(out)]) == 0
    assert (out / "results.csv").read_text() == before


def test_changed_configuration_is_refused(tmp_path, data_home, capsys):
    out = tmp_path / "bench"
    argv = [a if a != "9" else "6" for a in TINY]  # a single cycle
    assert main(["benchmark", *argv, "--out", str(out)]) == 0
    assert main(["benchmark", *argv, "--epochs", "2", "--out", str(out)]) == 2
    assert "different configuration" in capsys.readouterr().err


def test_round_settings_are_recorded_and_guard_resume(tmp_path, data_home, capsys):
    out = tmp_path / "bench"
    argv = [a if a != "9" else "6" for a in TINY]  # a single cycle
    assert main(["benchmark", *argv, "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["warm_start_epochs"] is None and config["subsample"] is None
    for extra in (["--warm-start", "1"], ["--subsample", "10"]):
        assert main(["benchmark", *argv, *extra, "--out", str(out)]) == 2
        assert "different configuration" in capsys.readouterr().err
    # a folder from before these settings (no such keys) resumes as a cold run
    del config["warm_start_epochs"], config["subsample"]
    (out / "config.json").write_text(json.dumps(config))
    assert main(["benchmark", *argv, "--out", str(out)]) == 0
    new = tmp_path / "warm"
    assert (
        main(["benchmark", *argv, "--warm-start", "1", "--subsample", "10", "--out", str(new)]) == 0
    )
    config = json.loads((new / "config.json").read_text())
    assert config["warm_start_epochs"] == 1 and config["subsample"] == 10


def test_primary_endpoint_is_declared_before_the_run_and_kept(tmp_path, data_home, capsys):
    out = tmp_path / "bench"
    assert main(["benchmark", *TINY, "--out", str(out)]) == 0
    declared = json.loads((out / "config.json").read_text())["primary_endpoint"]
    assert declared["endpoint"] == "auc_after_first" and declared["metric"] == "accuracy"
    assert declared["comparisons"] == ["ema - random"] and declared["correction"] == "holm"
    assert declared["declared"] == "before the first cycle"
    summary = (out / "summary.md").read_text()
    assert "Declared in config.json (before the first cycle)" in summary
    assert (
        "Family: each strategy against random on the primary endpoint, 1 comparison(s)" in summary
    )
    # resuming keeps the declaration; another endpoint is refused
    assert main(["benchmark", *TINY, "--out", str(out)]) == 0
    again = json.loads((out / "config.json").read_text())["primary_endpoint"]
    assert again["declared"] == "before the first cycle"
    assert main(["benchmark", *TINY, "--primary-endpoint", "auc", "--out", str(out)]) == 2
    assert "declared another primary endpoint" in capsys.readouterr().err
    # a folder from before declarations says when its endpoint was declared
    config = json.loads((out / "config.json").read_text())
    del config["primary_endpoint"]
    (out / "config.json").write_text(json.dumps(config))
    assert main(["benchmark", *TINY, "--out", str(out)]) == 0
    late = json.loads((out / "config.json").read_text())["primary_endpoint"]
    assert late["declared"].startswith("on resuming, after 10 finished cycle(s)")  # ceiling too
    assert main(["benchmark", *TINY, "--primary-metric", "macro_f1", "--dry-run"]) == 0
    assert '"metric": "macro_f1"' in capsys.readouterr().out


def test_outputs_are_replaced_whole_and_a_torn_config_is_rewritten(
    tmp_path, data_home, monkeypatch, capsys
):
    out = tmp_path / "bench"
    out.mkdir()
    (out / "config.json").write_text('{\n  "preset": "qu')  # killed while writing it
    replaced = []
    real_replace = os.replace

    def spy(src, dst):
        replaced.append(Path(dst).name)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    argv = [a if a != "9" else "6" for a in TINY]  # a single cycle
    assert main(["benchmark", *argv, "--out", str(out)]) == 0
    # each output file took its name whole, in one rename
    assert {
        "config.json",
        "learning_curve.png",
        "auc.png",
        "win_tie_loss.png",
        "summary.md",
        "results.csv",
    } <= set(replaced)
    assert json.loads((out / "config.json").read_text())["preset"] == "quick-paper"
    assert sorted(p.name for p in out.iterdir()) == [
        "auc.png",
        "campaigns",
        "config.json",
        "learning_curve.png",
        "results.csv",
        "summary.md",
        "win_tie_loss.png",
    ]  # no temporary file left
    # with finished cycles on disk, an unreadable configuration cannot be checked
    (out / "config.json").write_text('{\n  "preset": "qu')
    assert main(["benchmark", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "config.json" in err and "results.csv" in err and "delete the folder" in err


def test_table_input_with_test_fraction(tmp_path, easy_data):
    from skcryoal.io import write_subtomograms

    X, y = easy_data(n_samples=40, n_classes=2, size=16)
    write_subtomograms(tmp_path / "particles", X, y)
    table = next((tmp_path / "particles").glob("*.star"))
    out = tmp_path / "bench"
    argv = [
        "benchmark", "--table", str(table), "--test-fraction", "0.25", "--pretrain", "none",
        "--min-steps", "1", "--strategies", "entropy,random", "--initial", "6", "--step", "3",
        "--final", "9",
        "--epochs", "1", "--width", "4", "--trials", "1", "--device", "cpu", "--no-progress",
        "--no-ceiling", "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    results = pd.read_csv(out / "results.csv", keep_default_na=False)
    assert results["n_pool"].tolist()[0] == 30 and results["n_test"].tolist()[0] == 10
    assert json.loads((out / "config.json").read_text())["data"]["test_fraction"] == 0.25


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--strategies", "ema,entropi"], "did you mean 'entropy'"),
        (["--final", "500"], "larger than the pool"),
        (["--step", "4"], "does not fit"),
        (["--preset", "quik"], "did you mean 'quick'"),
        (["--initial", "abc"], "expected a count"),
        (["--table", "x.star", "--snr", "1"], "do not apply"),
    ],
)
def test_bad_configuration_fails_clearly(tmp_path, data_home, capsys, extra, message):
    status = main(["benchmark", *TINY, *extra, "--out", str(tmp_path / "b")])
    assert status == 2
    assert message in capsys.readouterr().err


def test_list_presets_and_dry_run(capsys):
    assert main(["benchmark", "--list-presets"]) == 0
    text = capsys.readouterr().out
    for name in ("quick", "medium", "paper", "fig1-snr005", "fig2-lambda-cpu", "timing"):
        assert f"\n{name}\n" in f"\n{text}"
    assert main(["benchmark", "--preset", "paper", "--dry-run"]) == 0
    config = json.loads(capsys.readouterr().out.split("\n}\n")[0] + "}")
    assert config["classifier"]["recipe"] == "sgd-paper" and config["trials"] == 3
    assert config["data"]["dataset"] == "paper-snr005"
    # the paper's EMA coefficient exactly, and the authors' mean model as its own curve
    assert config["classifier"]["ema_decay"] == 0.999
    assert any(s.startswith("ema-authors=") for s in config["strategies"])
    assert "augment" not in config["classifier"]
    assert main(["benchmark", "--preset", "quick", "--augment", "--dry-run"]) == 0
    config = json.loads(capsys.readouterr().out.split("\n}\n")[0] + "}")
    assert config["classifier"]["augment"] is True


def test_help_says_where_the_campaigns_are(capsys):
    assert main(["benchmark", "--help"]) == 0
    assert "DIR/campaigns/" in " ".join(capsys.readouterr().out.split())


def test_budget_value_type():
    from skcryoal.cli._benchmark import budget_value

    assert budget_value("10%") == pytest.approx(0.1)
    assert budget_value("0.05") == 0.05 and budget_value("120") == 120
    assert np.isclose(budget_value("1e-1"), 0.1)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--strategies", "ema,ema"], "Strategy labels must be unique"),
        (["--strategies", "full-pool=random"], "'full-pool' is reserved"),
        (["--strategies", "ema:subsample=5", "--subsample", "10"], "subsample=5 conflict"),
        (["--initial", "30", "--final", "60"], "larger than the pool (36 volumes)"),
        (["--initial", "9", "--final", "6"], "is smaller than the initial labeled set"),
        (["--n-classes", "1"], "n_classes must be an integer >= 2"),
        (["--device", "foo"], "device='foo' is not a torch device"),
        (["--strategies", "ema:clf.nope=1"], "Cannot set the classifier parameters"),
        (["--strategies", "ema:nope=1"], "got unexpected parameter(s) ['nope']"),
    ],
)
def test_dry_run_refuses_what_the_real_run_refuses(tmp_path, data_home, capsys, extra, message):
    out = tmp_path / "bench"
    argv = ["benchmark", *TINY, *extra, "--out", str(out)]
    assert main([*argv, "--dry-run"]) == 2
    dry = capsys.readouterr()
    assert message in dry.err and dry.out == ""
    assert not out.exists() and not data_home.exists()  # nothing written, nothing generated
    assert main(argv) == 2  # the real run refuses it the same way, before any cycle
    assert message in capsys.readouterr().err


def test_dry_run_refuses_resuming_another_configuration(tmp_path, capsys):
    out = tmp_path / "bench"
    out.mkdir()
    (out / "config.json").write_text(json.dumps({"seed": 99}))
    (out / "results.csv").write_text("")
    assert main(["benchmark", *TINY, "--out", str(out), "--dry-run"]) == 2
    assert "holds results of a different configuration" in capsys.readouterr().err


def test_dry_run_checks_a_table_against_the_budgets(tmp_path, capsys):
    from conftest import make_easy_volumes
    from skcryoal.io import write_subtomograms

    X, y = make_easy_volumes(12, 2, 16, random_state=0)
    table = write_subtomograms(tmp_path / "data", X, y, voxel_size=10)
    argv = ["benchmark", "--table", str(table), "--strategies", "random", "--no-progress"]
    argv += ["--test-fraction", "0.25", "--initial", "4", "--step", "2", "--final", "20"]
    assert main([*argv, "--out", str(tmp_path / "b"), "--dry-run"]) == 2
    assert "larger than the pool (9 volumes)" in capsys.readouterr().err
    assert main([*argv[:-1], "8", "--out", str(tmp_path / "b"), "--dry-run"]) == 0


def _with(args, **changes):
    args = list(args)
    for flag, value in changes.items():
        args[args.index(flag) + 1] = value
    return args


def test_pretrain_learns_from_the_pool_first(tmp_path, data_home, capsys):
    out = tmp_path / "bench"
    args = _with(TINY, **{"--train-per-class": "24", "--strategies": "random,typiclust"})
    args += ["--pretrain", "simclr", "--pretrain-epochs", "1", "--min-steps", "3"]
    assert main(["benchmark", *args, "--trials", "1", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["pretrain"] == {"method": "simclr", "max_epochs": 1, "random_state": 0}
    assert config["classifier"]["min_steps"] == 3
    assert len(list(out.glob("pretrain-*.pt"))) == 1
    for name in ("random-trial0", "typiclust-trial0"):  # each campaign records the encoder
        assert list((out / "campaigns" / name / "pretrain").glob("encoder-fitted-*.pt"))
    # resuming with another pretraining is refused, as any other configuration change
    capsys.readouterr()
    changed = _with(args, **{"--pretrain-epochs": "2"})
    assert main(["benchmark", *changed, "--trials", "1", "--out", str(out)]) == 2
    assert "pretrain" in capsys.readouterr().err


def test_pretrain_epochs_need_pretrain(tmp_path, data_home, capsys):
    assert main(["benchmark", *TINY, "--pretrain-epochs", "3", "--out", str(tmp_path)]) == 2
    assert "--pretrain-epochs needs --pretrain" in capsys.readouterr().err

    def dry_run(*args):
        assert main(["benchmark", *args, "--dry-run"]) == 0
        text = capsys.readouterr().out
        return json.JSONDecoder().raw_decode(text[text.index("{") :])[0], text

    # the default preset pretrains: the measured recipe
    config, text = dry_run()
    assert config["preset"] == "quick"
    assert config["pretrain"] == {"method": "simclr", "max_epochs": 30, "random_state": 0}
    assert config["classifier"]["min_steps"] == 400
    assert "pretraining 30 epochs, then pool 1000" in text
    # --pretrain none: from scratch
    assert dry_run("--pretrain", "none")[0]["pretrain"] is None
    assert dry_run("--preset", "quick-paper")[0]["pretrain"] is None
