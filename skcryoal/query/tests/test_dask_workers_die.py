"""A partition that kills every worker running it: the error says so, and which rows."""

import os

import pytest

from skcryoal.query import CoreSetQuery, EntropyQuery

from ._fitted import N_TRAIN, fitted_classifier

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")


def _dies_at_row_8(offset):
    if offset == 8:
        os._exit(1)  # the worker process dies mid-task, on every attempt


class KillsEveryWorker(EntropyQuery):
    """A per-volume strategy whose partition at row 8 kills the worker running it."""

    def _score_block(self, classifier, X, offset):
        _dies_at_row_8(offset)
        return super()._score_block(classifier, X, offset)


class KillsEveryWorkerEmbedding(CoreSetQuery):
    """A set-selecting strategy whose partition at row 8 kills the worker running it."""

    def _embed_block(self, classifier, X, offset):
        _dies_at_row_8(offset)
        return super()._embed_block(classifier, X, offset)


@pytest.fixture(scope="module")
def fragile_client():
    """A 2-worker LocalCluster that gives a task up after it killed 2 workers."""
    import dask

    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 1}),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            worker_dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.mark.parametrize("strategy", [KillsEveryWorker, KillsEveryWorkerEmbedding])
def test_workers_dying_on_every_attempt_are_reported_with_the_partition(fragile_client, strategy):
    fragile_client.wait_for_workers(2, timeout=60)  # the nannies restart the dead ones
    clf, X, _ = fitted_classifier()
    pool = da.from_array(X[N_TRAIN:], chunks=(8, *X.shape[1:]))
    with pytest.raises(RuntimeError, match=r"workers died .*X_pool rows 8-15.* 2 times") as info:
        strategy()(clf, pool, n_instances=5)
    assert "forgotten" not in str(info.value)
