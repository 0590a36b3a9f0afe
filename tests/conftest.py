import numpy as np
import pytest
import torch

from sklearn_mtl.datasets import load_digits_multitask

# The settings tests train with, in one place (import them from conftest; a
# test file extends one with {**TINY, ...}, it does not redefine it): FAST
# still learns the digits tasks well; TINY only runs the code paths (a smoke
# fit); CHECKS passes scikit-learn's common checks, which demand real accuracy
# on their small problems. Each pins the options whose defaults resolve from
# the data or may change ("auto" ensemble size and early stopping, the input
# scaling), so that a change of default shows up in tests/test_defaults.py
# rather than silently in every test.
FAST = dict(hidden_layer_sizes=(64,), max_iter=30, batch_size=64, random_state=0,
            ensemble_size=1, early_stopping=True, input_scaling="robust")
TINY = dict(hidden_layer_sizes=(16,), max_iter=2, batch_size=32, random_state=0,
            ensemble_size=1, early_stopping=False, input_scaling="robust")
CHECKS = dict(hidden_layer_sizes=(32,), max_iter=60, batch_size=32, dropout=0.0,
              learning_rate_init=1e-2, random_state=0,
              ensemble_size=1, early_stopping=False, input_scaling="robust")


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
