"""Fits running at the same time in threads of one process."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from joblib import Parallel, delayed, parallel_backend

from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl.datasets import make_multitask_classification

X, Y = make_multitask_classification(n_samples=200, n_features=8, n_tasks=3,
                                     n_informative=4, random_state=0)


def _proba(seed):
    # dropout, PCGrad's random orders and the shuffles all draw random numbers
    clf = MultiTaskClassifier(hidden_layer_sizes=(16,), dropout=0.3, weighting="pcgrad",
                              max_iter=4, batch_size=32, early_stopping=False,
                              random_state=seed)
    return np.concatenate(clf.fit(X, Y).predict_proba(X), axis=1)


def test_concurrent_fits_in_threads_match_sequential_fits_and_keep_the_global_rng():
    seeds = [0, 1, 2, 0]
    sequential = [_proba(seed) for seed in seeds]
    torch.manual_seed(12345)
    before = torch.get_rng_state()
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(_proba, seeds))
    assert torch.equal(torch.get_rng_state(), before)
    for alone, together in zip(sequential, concurrent):
        np.testing.assert_array_equal(together, alone)
    with parallel_backend("threading", n_jobs=2):
        joblib_threads = Parallel()(delayed(_proba)(seed) for seed in seeds)
    for alone, together in zip(sequential, joblib_threads):
        np.testing.assert_array_equal(together, alone)
    assert not np.array_equal(sequential[0], sequential[1])  # the seeds matter
