"""The query -> label -> fit loop with an oracle, through the campaign API."""

import numpy as np
import pytest

from skcryoal.campaign import Campaign, OracleAnnotator, run_rounds

from ._helpers import labels_of


def test_oracle_answers_from_known_labels():
    oracle = OracleAnnotator(np.array([3, 4, 5]), name="truth")
    assert oracle([2, 0]) == [5, 3] and all(type(v) is int for v in oracle([2, 0]))
    with pytest.raises(ValueError, match="beyond the oracle's 3 labels"):
        oracle([3])


def test_run_rounds_records_everything_in_the_campaign(make_campaign, pool):
    X, y = pool
    c = make_campaign(n_seeds=6)
    truth = [int(v) if i != 29 else None for i, v in enumerate(y)]  # one the oracle cannot label
    seen = []
    rounds = run_rounds(
        c, OracleAnnotator(truth), 2, 4, X_test=X[:10], y_test=y[:10], on_round=seen.append
    )
    assert rounds["round"].tolist() == [0, 1, 2] and len(seen) == 3
    assert rounds["model_id"].tolist() == [1, 2, 3]
    assert rounds["n_labeled"].tolist()[0] == 6 and rounds["n_labeled"].tolist()[2] >= 13
    assert rounds["accuracy"].between(0, 1).all() and rounds["macro_f1"].between(0, 1).all()
    queried = sum(rounds["queried"], [])
    assert len(queried) == 8 and len(set(queried)) == 8
    labels = labels_of(c)
    assert all(labels[i] == y[i] for i in queried if i != 29)
    reopened = Campaign.open(c.path)
    assert len(reopened._store.rounds()) == 2 and reopened.status().model_up_to_date
    assert set(reopened.labels()["annotator"]) <= {"seed", "oracle"}


def test_run_rounds_with_a_plain_callable(make_campaign, pool):
    _, y = pool
    c = make_campaign(n_seeds=0, strategy="random")
    rounds = run_rounds(c, lambda ids: [int(y[i]) for i in ids], 1, 6)
    assert rounds["round"].tolist() == [1] and rounds["n_labeled"].tolist() == [6]
    assert np.isnan(rounds["accuracy"][0])
    with pytest.raises(ValueError, match="both X_test and y_test"):
        run_rounds(c, OracleAnnotator(y), 1, 2, X_test=np.zeros((2, 16, 16, 16)))
