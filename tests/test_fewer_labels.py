"""benchmarks/fewer_labels.py: paired arms at fixed budgets, resumable, and its report."""

import json

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
