"""Fixtures of the campaign tests: small pools and campaigns ready to use."""

import pytest

from conftest import make_easy_volumes

from ._helpers import tiny_clf


@pytest.fixture
def pool():
    """30 easy 16^3 volumes of 3 classes, and their labels."""
    return make_easy_volumes(30, 3, 16, random_state=0)


@pytest.fixture
def make_campaign(tmp_path, pool):
    """Factory: an array-pool campaign whose first ``n_seeds`` particles are labeled."""
    from skcryoal.campaign import Campaign

    def factory(n_seeds=6, name="campaign", **kwargs):
        X, y = pool
        seeds = [int(v) if i < n_seeds else None for i, v in enumerate(y)]
        kwargs.setdefault("estimator", tiny_clf())
        kwargs.setdefault("annotator", "ana")
        return Campaign.create(tmp_path / name, X, [0, 1, 2], y=seeds, **kwargs)

    return factory
