import numpy as np
import pytest
import torch

from sklearn_mtl.datasets import load_digits_multitask

# Small, fast settings that still learn the digits tasks well.
FAST = dict(hidden_layer_sizes=(64,), max_iter=30, batch_size=64, random_state=0)


@pytest.fixture(autouse=True)
def _torch_threads():
    # Tiny networks gain nothing from intra-op threads, and two processes that
    # each spin two OpenMP threads on a 2-core machine slow down many-fold.
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def digits():
    """Scaled digits with four tasks; a fixed train/test split."""
    X, Y = load_digits_multitask(as_frame=False)
    X = (X / 16.0).astype(np.float64)
    rng = np.random.RandomState(0)
    order = rng.permutation(len(X))
    train, test = order[:1200], order[1200:]
    return X[train], Y[train], X[test], Y[test]


@pytest.fixture(scope="session")
def digits_frame():
    X, Y = load_digits_multitask(as_frame=True)
    return X / 16.0, Y
