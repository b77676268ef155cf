"""benchmarks/fewer_labels.py: paired arms at fixed budgets, resumable, and its report."""

import json

import numpy as np
import pytest

from conftest import make_easy_volumes

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def fewer(benchmark_script, monkeypatch):
    module = benchmark_script("fewer_labels")
    X, y = make_easy_volumes(100, 10, 16, random_state=0)

    def tiny_data(snr):
        return X[:80], y[:80], X[80:], y[80:]

    monkeypatch.setattr(module, "_load", tiny_data)
    # toy-sized training: a few steps, a one-epoch pretraining
    for arm in ("today", "pretrained", "pretrained-probcover", "semi"):
        spec = dict(module.ARMS[arm], min_steps=6, max_epochs=2)
        monkeypatch.setitem(module.ARMS, arm, spec)
    monkeypatch.setitem(
        module.PRETRAIN, "simclr", dict(method="simclr", max_epochs=1, batch_size=16)
    )
    return module


def test_labels_to_reach(benchmark_script):
    module = benchmark_script("fewer_labels")
    budgets = [20, 50, 100]
    assert module.labels_to_reach(budgets, [0.8, 0.85, 0.95]) == (pytest.approx(75.0), False)
    assert module.labels_to_reach(budgets, [0.91, 0.95, 0.97]) == (20.0, False)
    assert module.labels_to_reach(budgets, [0.5, 0.6, 0.7]) == (100.0, True)
    assert module.labels_to_reach([100, 20, 50], [0.95, 0.8, 0.85]) == (pytest.approx(75.0), False)


def test_runs_resume_and_report(fewer, tmp_path):
    out = tmp_path / "runs.jsonl"
    argv = ["--arms", "today,pretrained,probe,pretrained-probcover,semi", "--budgets", "20,50",
            "--trials", "2", "--width", "4", "--out", str(out)]  # fmt: skip
    assert fewer.main(argv) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 5 * 2 * 2
    assert {r["arm"] for r in rows} == {
        "today",
        "pretrained",
        "probe",
        "pretrained-probcover",
        "semi",
    }
    assert all(0 <= r["accuracy"] <= 1 and r["snr"] == 0.1 for r in rows)
    cold = [r for r in rows if r["arm"] == "pretrained-probcover"]
    assert all("select_seconds" in r and r["classes_labeled"] >= 1 for r in cold)
    assert all(r["epochs"] == 0 for r in rows if r["arm"] == "probe")  # no network trained
    # the same labeled sets for every arm of a trial (paired), nested across budgets
    assert (tmp_path / "encoders-snr0.1" / "simclr-w4-seed0.pt").is_file()
    # resumed: nothing is run twice; a line cut by a kill is run again
    assert fewer.main(argv) == 0
    assert len(out.read_text().splitlines()) == 20
    lines = out.read_text().splitlines()
    out.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:25])
    assert fewer.main(argv) == 0
    again = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(again) == 20
    assert all(r["n_labeled"] == r["budget"] for r in again)
    # the goal's "5 per class": budget / 10 labels in each class
    balanced = tmp_path / "balanced.jsonl"
    fewer.main(["--arms", "probe-balanced", "--budgets", "20", "--trials", "1", "--width", "4",
                "--out", str(balanced)])  # fmt: skip
    row = json.loads(balanced.read_text())
    assert row["classes_labeled"] == 10 and row["n_labeled"] == 20
    text = fewer.final_report(out, budgets=(20, 50))
    assert "## Primary endpoints" in text and "| today |" in text
    assert "Holm" in text and "| pretrained | labels_to_target | 2 |" in text


def test_endpoints_need_only_the_budgets_up_to_the_crossing(benchmark_script):
    module = benchmark_script("fewer_labels")
    rows = [
        # crosses between 20 and 50: 100 and 200 not needed
        dict(arm="a", trial=0, budget=20, accuracy=0.8),
        dict(arm="a", trial=0, budget=50, accuracy=0.95),
        # not reached by 50, the later budgets missing: unknown, not censored
        dict(arm="b", trial=0, budget=20, accuracy=0.5),
        dict(arm="b", trial=0, budget=50, accuracy=0.6),
        # never reached over every budget: censored at the last
        *[dict(arm="c", trial=0, budget=b, accuracy=0.5) for b in (20, 50, 100, 200)],
        # a curve without its first budget has no labels-to-target
        dict(arm="d", trial=0, budget=50, accuracy=0.95),
    ]
    ep = module.endpoints(rows, [20, 50, 100, 200]).set_index("arm")
    assert ep.loc["a", "labels_to_target"] == pytest.approx(20 + 0.1 / 0.15 * 30)
    assert not ep.loc["a", "censored"]
    assert ep["labels_to_target"].isna().loc[["b", "d"]].all()
    assert ep.loc["c", "labels_to_target"] == 200 and ep.loc["c", "censored"]
    assert ep.loc["d", "accuracy_at_50"] == 0.95


def test_strategy_report_pairs_trials_across_seed_folders(benchmark_script, tmp_path):
    module = benchmark_script("fewer_labels")
    import pandas as pd

    rng = np.random.default_rng(0)
    folders = []
    for seed in (0, 1):
        rows = []
        for trial in range(3):
            for strategy, gain in (("random", 0.0), ("badge", 0.05), ("ema", -0.001)):
                for n in (20, 50, 80):
                    base = 0.7 if n == 20 else 0.85 + 0.001 * n
                    acc = base + (0 if n == 20 else gain) + rng.normal(0, 0.002)
                    rows.append(dict(strategy=strategy, trial=trial, n_labeled=n, accuracy=acc,
                                     macro_f1=acc, train_seconds=10.0,
                                     query_seconds=0.0 if n == 80 else 1.5))  # fmt: skip
        folder = tmp_path / f"seed{seed}"
        folder.mkdir()
        pd.DataFrame(rows).to_csv(folder / "results.csv", index=False)
        (folder / "config.json").write_text(json.dumps({"seed": seed}))
        folders.append(str(folder))
    out = tmp_path / "report.md"
    argv = ["--strategy-report", ",".join(folders), "--budgets", "20,50,80", "--out", str(out)]
    assert module.main(argv) == 0
    text = out.read_text()
    assert "| random | 6 / 6 |" in text and "| badge | 6 / 6 |" in text  # 2 seeds x 3 trials
    assert "declared family of 10" in text  # 5 strategies x 2 endpoints
    line = next(t for t in text.splitlines() if t.startswith("| badge | accuracy_at_50 |"))
    assert "better: established" in line
    assert "1.5 s per query" in text


def test_reports_on_macro_f1(benchmark_script):
    module = benchmark_script("fewer_labels")
    rows = [
        dict(arm=arm, trial=t, budget=b, accuracy=0.99, macro_f1=f, fit_seconds=1.0)
        for t in range(3)
        for arm, f in (("today", 0.5), ("pretrained", 0.95 - 0.01 * t))
        for b in (20, 50)
    ]
    ep = module.endpoints(rows, [20, 50], metric="macro_f1").set_index(["arm", "trial"])
    assert ep.loc[("today", 0), "macro_f1_at_50"] == 0.5
    assert ep.loc[("pretrained", 0), "labels_to_target"] == 20  # on macro-F1, not accuracy
    assert ep.loc[("today", 0), "censored"]
    text = module.final_report(rows=rows, budgets=(20, 50), metric="macro_f1", title="t")
    assert "## Test macro-F1 by labels" in text and "| macro-F1 at 50 |" in text
    assert "| pretrained | macro_f1_at_50 | 3 |" in text


def test_real_preset_data_keeps_its_classes_and_records_recall(fewer, monkeypatch, tmp_path):
    # the real-structure presets have 7 or 5 classes, not the simulator's 10
    X, y = make_easy_volumes(60, 5, 16, random_state=1)

    def five_classes(snr, data="balanced"):
        assert data == "candidate-cleaning"
        return X[:40], y[:40], X[40:], y[40:]

    monkeypatch.setattr(fewer, "_load", five_classes)
    out = tmp_path / "cleaning.jsonl"
    argv = ["--data", "candidate-cleaning", "--arms", "today", "--budgets", "20",
            "--trials", "1", "--width", "4", "--out", str(out)]  # fmt: skip
    assert fewer.main(argv) == 0
    row = json.loads(out.read_text())
    assert row["data"] == "candidate-cleaning"
    assert len(row["recall"]) == 5 and all(0 <= r <= 1 for r in row["recall"])
    # macro-F1 over the five classes, recall in their order
    assert 0 <= row["macro_f1"] <= 1
    text = fewer.final_report(out, budgets=(20,), class_names=list("abcde"))
    assert "## Per-class test recall" in text and "| arm | labels | a | b | c | d | e |" in text
    assert "| today | 20 (1) | " in text


def test_real_preset_data_refuses_another_snr(benchmark_script):
    module = benchmark_script("fewer_labels")
    with pytest.raises(ValueError, match="real-structures-cpu's data at SNR 0.1; got --snr 0.05"):
        module._load(0.05, "real-structures")
