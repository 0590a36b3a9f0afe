"""Hyper-parameter searches on a Dask cluster through joblib's dask backend.

A search run on the workers of a local cluster (separate processes, on
loopback) must give exactly what the same search gives sequentially: every
fit is seeded by ``random_state`` and runs one torch thread on the CPU.
"""

import numpy as np
import pytest
import torch
from joblib import parallel_backend
from scipy.stats import loguniform
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, RandomizedSearchCV

from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl.datasets import make_multitask_classification
from sklearn_mtl.metrics import task_scoring

distributed = pytest.importorskip("distributed")

N_TASKS = 3


@pytest.fixture(scope="module")
def client():
    # Nanny's env reaches the worker before torch is imported there, so each
    # worker runs one intra-op thread (as the tests do; several would fight
    # over the cores). death_timeout bounds a worker that cannot start.
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        env={"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
        death_timeout=60,
    ) as cluster, distributed.Client(cluster, timeout=60) as client:
        client.wait_for_workers(2, timeout=60)
        yield client


@pytest.fixture(scope="module")
def data():
    X, Y = make_multitask_classification(
        n_samples=240, n_features=10, n_tasks=N_TASKS, n_classes=[2, 3, 2],
        n_informative=5, random_state=0,
    )
    return X.astype(np.float32), Y


def _classifier():
    return MultiTaskClassifier(
        hidden_layer_sizes=(8,), max_iter=15, batch_size=32, random_state=0
    )


def _fit_both(search, client, X, Y):
    """(search fitted on the cluster, the same search fitted sequentially)."""
    on_cluster = clone(search).set_params(n_jobs=-1)
    with parallel_backend("dask", client=client, scatter=[X, Y]):
        on_cluster.fit(X, Y)
    sequential = clone(search).set_params(n_jobs=1).fit(X, Y)
    return on_cluster, sequential


def _assert_same_search(on_cluster, sequential, X):
    assert on_cluster.best_params_ == sequential.best_params_
    for key, values in sequential.cv_results_.items():
        if key.startswith(("mean_test_", "split", "rank_test_")):
            np.testing.assert_array_equal(on_cluster.cv_results_[key], values, err_msg=key)
    assert on_cluster.best_score_ == sequential.best_score_
    np.testing.assert_array_equal(
        on_cluster.best_estimator_.predict(X), sequential.best_estimator_.predict(X)
    )


def test_workers_run_one_torch_thread(client):
    assert set(client.run(torch.get_num_threads).values()) == {1}


def test_grid_search_on_dask_matches_sequential(client, data):
    X, Y = data
    search = GridSearchCV(
        _classifier(),
        {
            "task_weights": [None, [1.0, 0.5, 0.5]],
            "hidden_layer_sizes": [(8,), (16,)],
        },
        scoring=task_scoring(N_TASKS),
        refit="mean",
        cv=KFold(3),
    )
    on_cluster, sequential = _fit_both(search, client, X, Y)
    _assert_same_search(on_cluster, sequential, X)
    # the candidates are told apart: a tie everywhere would hide a wrong search
    assert len(set(sequential.cv_results_["mean_test_mean"])) > 1


def test_randomized_search_on_dask_matches_sequential(client, data):
    X, Y = data
    search = RandomizedSearchCV(
        _classifier(),
        {
            "learning_rate_init": loguniform(1e-3, 3e-2),
            "task_weights": [None, {"task_0": 2.0}],
        },
        n_iter=4,
        scoring=task_scoring(N_TASKS),
        refit="mean",
        cv=KFold(3),
        random_state=0,
    )
    on_cluster, sequential = _fit_both(search, client, X, Y)
    _assert_same_search(on_cluster, sequential, X)
