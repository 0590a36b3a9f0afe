"""The large-data paths on each device: a memory map read batch by batch (and
pinned batch by batch on CUDA), a float64 memory map, a Dask array and
partial_fit train the model of the data in memory. The CUDA cases skip
without a GPU; benchmarks/gpu_all.sh runs them (``-k cuda``) on the GPU
machine."""

import numpy as np
import pytest
import torch
from conftest import TINY

from sklearn_mtl import MultiTaskClassifier, _data
from sklearn_mtl.datasets import make_multitask_classification

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                  reason="needs CUDA")),
]
# the same rows in the same order on both paths: the same model up to the
# order of float32 sums on the device
PARAMS = {**TINY, "hidden_layer_sizes": (32,), "max_iter": 3, "batch_size": 64,
          "shuffle": False}
ATOL = 1e-5


@pytest.fixture(scope="module")
def problem():
    X, Y = make_multitask_classification(n_samples=600, n_features=10, n_tasks=3,
                                         random_state=0)
    return X.astype(np.float32), Y


def _memmap(path, X, dtype):
    on_disk = np.memmap(path, dtype=dtype, mode="w+", shape=X.shape)
    on_disk[:] = X
    on_disk.flush()
    return np.memmap(path, dtype=dtype, mode="r", shape=X.shape)


def _close(a, b):
    return all(np.allclose(p, q, atol=ATOL) for p, q in zip(a, b))


@pytest.mark.parametrize("device", DEVICES)
def test_memmap_read_batch_by_batch_trains_the_in_memory_model(problem, tmp_path, device,
                                                               monkeypatch):
    X, Y = problem
    reference = MultiTaskClassifier(**PARAMS, device=device).fit(X, Y)
    X_map = _memmap(tmp_path / "X.f32", X, np.float32)
    # never on the device as a whole: each batch is sliced from the map (and
    # pinned on its way to a GPU)
    monkeypatch.setattr(_data, "_DEVICE_MEMORY_SHARE", 0.0)
    fitted = MultiTaskClassifier(**PARAMS, device=device).fit(X_map, Y)
    assert fitted.device_.startswith(device)
    assert _close(reference.predict_proba(X), fitted.predict_proba(X_map))


@pytest.mark.parametrize("device", DEVICES)
def test_float64_memmap_trains_the_float32_model(problem, tmp_path, device):
    X, Y = problem
    reference = MultiTaskClassifier(**PARAMS, device=device).fit(X, Y)
    X_map = _memmap(tmp_path / "X.f64", X, np.float64)
    fitted = MultiTaskClassifier(**PARAMS, device=device).fit(X_map, Y)
    assert _close(reference.predict_proba(X), fitted.predict_proba(X_map))


@pytest.mark.parametrize("device", DEVICES)
def test_dask_array_trains_the_in_memory_model(problem, device):
    da = pytest.importorskip("dask.array")
    X, Y = problem
    reference = MultiTaskClassifier(**PARAMS, device=device).fit(X, Y)
    fitted = MultiTaskClassifier(**PARAMS, device=device).fit(
        da.from_array(X, chunks=(150, 10)), Y)
    assert _close(reference.predict_proba(X), fitted.predict_proba(X))


@pytest.mark.parametrize("device", DEVICES)
def test_partial_fit_calls_train_the_fit_model(problem, device):
    X, Y = problem
    reference = MultiTaskClassifier(**PARAMS, device=device).fit(X, Y)
    partial = MultiTaskClassifier(**PARAMS, device=device)
    for _ in range(PARAMS["max_iter"]):
        partial.partial_fit(X, Y)
    assert partial.n_iter_ == reference.n_iter_
    assert _close(reference.predict_proba(X), partial.predict_proba(X))
