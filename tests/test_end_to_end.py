"""A complete modAL fit / query / teach campaign learns an easy task.

Robust by design: the signal (a bright octant over noise of sd 0.5) is strong
enough that every cycle's model is near-perfect on 1 and 2 torch threads
(measured final accuracy 1.00 on three seeds each; the thread count changes
the reduction order, hence the weights), so the threshold sits far from the
measured values and far above chance. Another CPU's kernels change the
rounding the same way: with ``ATEN_CPU_CAPABILITY=default`` and/or
``DNNL_MAX_CPU_ISA=SSE41`` the final accuracy of 8 seeds stayed in 0.96-1.00
(intermediate cycles went down to 0.66), so only the final one is checked.
"""

import numpy as np

from skcryoal import ActiveLearner, CryoNetClassifier, EMADeviationQuery


def test_active_learning_loop_beats_chance_by_far(easy_data):
    X, y = easy_data(200, 4, noise=0.5)
    X_test, y_test = X[150:], y[150:]
    pool, y_pool = X[:150], y[:150]
    learner = ActiveLearner(
        CryoNetClassifier(module__width=8, classes=[0, 1, 2, 3], random_state=0),
        query_strategy=EMADeviationQuery(),
        X_training=pool[:12],
        y_training=y_pool[:12],
    )
    pool, y_pool = pool[12:], y_pool[12:]
    history = [learner.score(X_test, y_test)]
    for _ in range(3):
        idx, X_query = learner.query(pool, n_instances=8)
        assert len(np.unique(idx)) == 8
        learner.teach(X_query, y_pool[idx])
        pool, y_pool = np.delete(pool, idx, axis=0), np.delete(y_pool, idx)
        history.append(learner.score(X_test, y_test))
    assert len(learner.y_training) == 36 and len(pool) == 114
    assert history[-1] >= 0.85, history  # chance is 0.25; measured 1.00
