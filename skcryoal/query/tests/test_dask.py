"""Query strategies on a ``dask.array`` pool: in process, and on a 2-worker LocalCluster."""

import os

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skcryoal import ActiveLearner
from skcryoal.query import (
    EMADeviationQuery,
    EntropyQuery,
    LearningLossQuery,
    get_strategy,
)
from skcryoal.query._dask import DaskPool, is_dask_array, unwrap_dask
from skcryoal.utils._batches import RowSubset

from ._fitted import N_TRAIN, fitted_classifier, fitted_learning_loss_classifier

da = pytest.importorskip("dask.array")

# chunks of 5 rows: not a multiple of the classifiers' batch size (8), so the
# pool is rechunked to batch boundaries before scoring
CHUNK = 5

PER_VOLUME = [
    ("ema", {}),
    ("ema", {"distance": "mse", "order": "lowest"}),
    ("entropy", {}),
    ("margin", {}),
    ("least_confident", {}),
    ("mc_dropout", {"n_passes": 4, "random_state": 3}),
    ("bald", {"n_passes": 4, "random_state": 3}),
]
SET_SELECTING = [
    ("coreset", {"random_state": 0}),
    ("badge", {"random_state": 0}),
    ("typiclust", {"random_state": 0, "n_neighbors": 3}),
]


def _model(name):
    dropout = 0.3 if name in ("mc_dropout", "bald") else 0.0
    return fitted_classifier(dropout=dropout)


def _dask_pool(pool, chunk=CHUNK):
    return da.from_array(pool, chunks=(chunk, *pool.shape[1:]))


def test_is_dask_array_and_unwrapping_the_package_views():
    X = np.zeros((6, 1, 4, 4, 4), np.float32)
    D = _dask_pool(X)
    assert is_dask_array(D) and not is_dask_array(X)
    assert unwrap_dask(X) is None
    sub = unwrap_dask(RowSubset(D, [1, 4]))
    assert is_dask_array(sub) and sub.shape == (2, 1, 4, 4, 4)
    from skcryoal.utils._validation import check_volumes

    four = check_volumes(da.from_array(X[:, 0], chunks=2), check_finite=False)
    assert unwrap_dask(four).shape == (6, 1, 4, 4, 4)


@pytest.mark.parametrize(("name", "params"), PER_VOLUME + SET_SELECTING)
def test_in_process_dask_pool_gives_the_same_indices(name, params):
    clf, X, _ = _model(name)
    pool = X[N_TRAIN:]
    learner = ActiveLearner(clf, query_strategy=get_strategy(name, **params))
    learner.X_training, learner.y_training = X[:N_TRAIN], np.zeros(N_TRAIN, int)
    expected = get_strategy(name, **params)(learner, pool, n_instances=5)
    got = get_strategy(name, **params)(learner, _dask_pool(pool), n_instances=5)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(("name", "params"), PER_VOLUME[:1] + PER_VOLUME[5:6])
def test_dask_scores_are_lazy_and_equal_to_in_process_scores(name, params):
    clf, X, _ = _model(name)
    pool = X[N_TRAIN:]
    lazy = get_strategy(name, **params).score_samples(clf, _dask_pool(pool, chunk=3))
    assert is_dask_array(lazy) and lazy.shape == (len(pool),)
    np.testing.assert_allclose(
        lazy.compute(), get_strategy(name, **params).score_samples(clf, pool), rtol=1e-6
    )


def test_subsample_ll4al_balanced_and_pipelines_on_a_dask_pool():
    clf, X, _ = fitted_classifier()
    pool = X[N_TRAIN:]
    query = EMADeviationQuery(subsample=11, random_state=5)
    expected = query(clf, pool, n_instances=4)
    np.testing.assert_array_equal(query(clf, _dask_pool(pool), n_instances=4), expected)

    balanced = get_strategy("balanced", base="entropy")
    np.testing.assert_array_equal(
        balanced(clf, _dask_pool(pool), n_instances=6), balanced(clf, pool, n_instances=6)
    )

    # the pipeline's preprocessing runs on each partition
    pipe = make_pipeline(FunctionTransformer(lambda v: 2.0 * v - 0.1), clf)
    np.testing.assert_array_equal(
        EntropyQuery()(pipe, _dask_pool(pool), n_instances=5),
        EntropyQuery()(pipe, pool, n_instances=5),
    )

    ll4al, X, _ = fitted_learning_loss_classifier()
    np.testing.assert_array_equal(
        LearningLossQuery()(ll4al, _dask_pool(X[N_TRAIN:]), n_instances=3),
        LearningLossQuery()(ll4al, X[N_TRAIN:], n_instances=3),
    )


def test_active_learner_returns_the_selected_volumes_as_an_ndarray():
    clf, X, y = fitted_classifier()
    learner = ActiveLearner(clf, query_strategy=EntropyQuery())
    learner.X_training, learner.y_training = X[:N_TRAIN], y[:N_TRAIN]
    idx, X_query = learner.query(_dask_pool(X[N_TRAIN:]), n_instances=3)
    assert isinstance(X_query, np.ndarray)
    np.testing.assert_array_equal(X_query, X[N_TRAIN:][idx])


def test_bad_dask_pools_raise_clear_errors():
    clf, X, _ = fitted_classifier()
    pool = X[N_TRAIN:].copy()
    pool[9, 0, 3, 3, 3] = np.nan
    with pytest.raises(ValueError, match=r"X_pool rows 8-15"):
        EntropyQuery()(clf, _dask_pool(pool), n_instances=2)
    unknown = _dask_pool(X[N_TRAIN:])
    unknown = unknown[unknown[:, 0, 0, 0, 0] > -np.inf]  # boolean mask: unknown chunk sizes
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        EntropyQuery()(clf, unknown, n_instances=2)
    with pytest.raises(ValueError, match="spatial shape|volume shape|shape"):
        EntropyQuery()(clf, _dask_pool(X[N_TRAIN:, :, :8]), n_instances=2)


def test_dask_pool_rechunks_to_batch_boundaries():
    pool = DaskPool(_dask_pool(np.zeros((23, 1, 4, 4, 4), np.float32), chunk=5))
    rows = [n for _, _, n in pool._partitions(batch_size=4)]
    assert sum(rows) == 23 and all(n % 4 == 0 for n in rows[:-1])


# -- on a cluster -------------------------------------------------------------------------

_UNPICKLED = {"n": 0}


class CountingEntropy(EntropyQuery):
    """Counts, in each process, how often it is unpickled (once per shipped copy)."""

    def __setstate__(self, state):
        _UNPICKLED["n"] += 1
        self.__dict__.update(state)


def _unpickled():
    return _UNPICKLED["n"]


class KillsItsWorkerOnce(EntropyQuery):
    """Kills the worker scoring the partition at row 8, the first time only."""

    def __init__(self, flag):
        super().__init__()
        self.flag = flag

    def _score_block(self, classifier, X, offset):
        if offset == 8 and not os.path.exists(self.flag):
            with open(self.flag, "w"):
                pass
            os._exit(1)  # the worker process dies mid-task
        return super()._score_block(classifier, X, offset)


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with (
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


@pytest.mark.parametrize(("name", "params"), [PER_VOLUME[0], PER_VOLUME[5], SET_SELECTING[1]])
def test_local_cluster_gives_the_same_indices(client, name, params):
    clf, X, _ = _model(name)
    pool = X[N_TRAIN:]
    expected = get_strategy(name, **params)(clf, pool, n_instances=5)
    got = get_strategy(name, **params)(clf, _dask_pool(pool, chunk=4), n_instances=5)
    np.testing.assert_array_equal(got, expected)


def test_the_model_is_shipped_once_per_worker_not_per_partition(client):
    clf, X, _ = fitted_classifier()
    pool = _dask_pool(X[N_TRAIN:], chunk=8)  # 4 partitions, 2 workers
    before = client.run(_unpickled)
    idx = CountingEntropy()(clf, pool, n_instances=3)
    after = client.run(_unpickled)
    shipped = {w: after[w] - before.get(w, 0) for w in after}
    assert sum(shipped.values()) >= 1
    assert all(n <= 1 for n in shipped.values()), shipped
    np.testing.assert_array_equal(idx, EntropyQuery()(clf, X[N_TRAIN:], n_instances=3))


def test_a_worker_killed_mid_round_is_retried_with_the_same_result(client, tmp_path):
    clf, X, _ = fitted_classifier()
    flag = str(tmp_path / "killed")
    idx = KillsItsWorkerOnce(flag)(clf, _dask_pool(X[N_TRAIN:], chunk=8), n_instances=5)
    assert os.path.exists(flag)  # a worker really died
    np.testing.assert_array_equal(idx, EntropyQuery()(clf, X[N_TRAIN:], n_instances=5))
    client.wait_for_workers(2, timeout=60)


def test_ndarray_users_never_import_dask():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, torch\n"
        "torch.set_num_threads(1)\n"
        "from skcryoal import CryoNetClassifier, EMADeviationQuery\n"
        "X = np.random.default_rng(0).normal(size=(12, 1, 16, 16, 16)).astype(np.float32)\n"
        "clf = CryoNetClassifier(module__width=2, max_epochs=1, random_state=0)\n"
        "clf.fit(X[:6], np.arange(6) % 2)\n"
        "EMADeviationQuery()(clf, X[6:], n_instances=2)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.strip() == "[]"


def test_a_campaign_over_a_dask_pool_queues_what_an_ndarray_pool_queues(tmp_path):
    from conftest import make_easy_volumes
    from skcryoal import CryoNetClassifier
    from skcryoal.campaign import Campaign

    X, y = make_easy_volumes(30, 3)
    estimator = CryoNetClassifier(module__width=4, max_epochs=1, batch_size=8, random_state=0)
    queued = []
    for name, pool, copy in (("dask", _dask_pool(X, chunk=7), False), ("numpy", X, True)):
        campaign = Campaign.create(
            tmp_path / name,
            pool,
            classes=[0, 1, 2],
            estimator=estimator,
            strategy="entropy",
            copy_pool=copy,
        )
        first = campaign.query(6)
        campaign.label(first, y[first])
        queued.append((first, campaign.query(4)))
    np.testing.assert_array_equal(queued[0][0], queued[1][0])
    np.testing.assert_array_equal(queued[0][1], queued[1][1])
    reopened = Campaign.open(tmp_path / "dask", pool=_dask_pool(X, chunk=7))
    assert len(reopened.query(2)) == 2


@pytest.mark.parametrize(
    ("name", "params"),
    [("random", {"random_state": 0}), ("vaal", {"random_state": 0, "n_epochs": 1})],
)
def test_random_and_vaal_read_a_dask_pool_in_process(name, params):
    clf, X, y = fitted_classifier()
    learner = ActiveLearner(clf, query_strategy=get_strategy("random"))
    learner.X_training, learner.y_training = X[:N_TRAIN], y[:N_TRAIN]
    np.testing.assert_array_equal(
        get_strategy(name, **params)(learner, _dask_pool(X[N_TRAIN:]), n_instances=4),
        get_strategy(name, **params)(learner, X[N_TRAIN:], n_instances=4),
    )
