"""The selection-only protocol."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from skcryoal.benchmark import (
    ClassifierFactory,
    run_selection_study,
    selection_gains,
    selection_markdown,
    write_selection_summary,
)
from skcryoal.benchmark._runner import authors_cycle_params


@pytest.fixture
def data(easy_data):
    X, y = easy_data(90, 3)
    return X[:60], y[:60], X[60:], y[60:]


def test_study_runs_pairs_and_resumes(data, tmp_path):
    factory = ClassifierFactory(width=4, max_epochs=1, batch_size=8)
    kwargs = dict(
        n_initial=12, n_query=6, n_states=2, n_retrain=2, classifier_factory=factory, out=tmp_path
    )
    batches, retrain = run_selection_study(*data, "entropy,random", **kwargs)
    assert len(batches) == 4 and len(retrain) == 8
    # paired: the same retraining seeds for every strategy of a state
    seeds = retrain.pivot_table(
        index=["state", "retrain"], columns="strategy", values="retrain_seed"
    )
    assert (seeds["entropy"] == seeds["random"]).all()
    assert set(retrain["n_labeled"]) == {18}
    for _, row in batches.iterrows():
        assert len(row["selected"].split()) == 6
    before = (tmp_path / "retrain.csv").read_bytes()
    batches2, retrain2 = run_selection_study(*data, "entropy,random", **kwargs)
    assert (tmp_path / "retrain.csv").read_bytes() == before  # nothing recomputed
    pd.testing.assert_frame_equal(
        retrain2.reset_index(drop=True),
        retrain.astype(retrain2.dtypes).reset_index(drop=True),
        check_dtype=False,
    )
    text = write_selection_summary(tmp_path)
    assert "gain over random" in text and (tmp_path / "summary.md").exists()


def test_study_needs_random(data):
    with pytest.raises(ValueError, match="random"):
        run_selection_study(*data, "entropy,margin", n_initial=10, n_query=5)
    with pytest.raises(ValueError, match="exceeds the pool"):
        run_selection_study(*data, "random", n_initial=50, n_query=20)


def test_gains_are_paired_per_state_with_a_t_interval():
    rows = []
    gains = {0: 0.03, 1: 0.04, 2: 0.035}
    for state, g in gains.items():
        for r in range(3):
            base = 0.6 + 0.1 * r  # large seed effect, cancelled by pairing
            rows.append(dict(state=state, strategy="random", retrain=r, accuracy=base))
            rows.append(dict(state=state, strategy="good", retrain=r, accuracy=base + g))
    table = pd.DataFrame(rows)
    out = selection_gains(table).set_index("strategy")
    d = np.array(list(gains.values()))
    half = stats.t.ppf(0.975, 2) * d.std(ddof=1) / np.sqrt(3)
    assert out.at["good", "gain"] == pytest.approx(d.mean())
    assert out.at["good", "low"] == pytest.approx(d.mean() - half)
    assert out.at["good", "established"]
    assert not out.at["random", "established"]
    batches = pd.DataFrame(
        dict(
            strategy=["good", "random"],
            state_accuracy=0.5,
            batch_error_rate=0.4,
            batch_class_min=1,
            batch_class_max=5,
            query_seconds=0.1,
        )
    )
    assert "| good |" in selection_markdown(batches, table)


def test_authors_cycle_params():
    clf = ClassifierFactory(width=4, max_epochs=3, batch_size=10, ema_mode="authors")("ema", 0)
    assert authors_cycle_params(clf, [20, 30, 41], 0) == {"ema_step_offset": 0, "reg_lambda": 0.0}
    # 20 labels: 2 steps per epoch; 30: 3; 41 = 4 * 10 + 1: the lone last volume is dropped
    assert authors_cycle_params(clf, [20, 30, 41], 2) == {"ema_step_offset": 3 * 2 + 3 * 3}
    plain = ClassifierFactory(width=4)("ema", 0)
    assert authors_cycle_params(plain, [20, 30], 1) == {}


def test_gains_carry_holm_and_sign_flip_over_the_family():
    from skcryoal.benchmark import holm_adjust, sign_flip_test

    rng = np.random.default_rng(0)
    rows = []
    effects = {"good": 0.03, "weak": 0.01, "none": 0.0}
    for state in range(6):
        for r in range(2):
            base = 0.8 + rng.normal(0, 0.02)
            rows.append(dict(state=state, strategy="random", retrain=r, accuracy=base))
            for name, effect in effects.items():
                acc = base + effect + rng.normal(0, 0.01)
                rows.append(dict(state=state, strategy=name, retrain=r, accuracy=acc))
    table = pd.DataFrame(rows)
    out = selection_gains(table).set_index("strategy")
    per_state = table.groupby(["strategy", "state"])["accuracy"].mean().unstack("strategy")
    p = []
    for name in effects:
        d = (per_state[name] - per_state["random"]).to_numpy()
        p.append(stats.ttest_1samp(d, 0).pvalue)
        assert out.at[name, "p_value"] == pytest.approx(p[-1])
        assert out.at[name, "p_sign_flip"] == sign_flip_test(d).p_value
    assert out.loc[list(effects), "p_holm"].tolist() == pytest.approx(holm_adjust(p).tolist())
    assert out.at["good", "verdict"] == "established" and out.at["random", "verdict"] == ""
    assert np.isnan(out.at["random", "p_value"])
    batches = pd.DataFrame(
        dict(strategy=list(out.index), state_accuracy=0.5, batch_error_rate=0.4,
             batch_class_min=1, batch_class_max=5, query_seconds=0.1)
    )  # fmt: skip
    text = selection_markdown(batches, table)
    assert "Family: each strategy against random, 3 comparison(s)" in text
    assert "| p sign-flip | verdict |" in text and "| good |" in text
