"""Data-parallel training over several processes (torch.distributed, gloo).

Two CPU processes each train on half of every global batch; they must end with
the same model, and with the model one process trains on the whole batches.

Tolerance: the processes sum each task's loss numerator and gradients over
two halves of a batch where one process sums over the whole batch, so the
float32 results differ in the last bits (a few times float32's epsilon,
1.2e-7, per step), and Adam's division by the root of the second moment
carries such differences into the steps of parameters whose gradient is near
0. Observed over the cases below: at most 1.1e-7 absolute on parameters and
probabilities (relative up to 4e-5 on parameters within 1e-6 of 0). Checked
with ``rtol=1e-5, atol=1e-6``: tight enough that any real mistake (a batch
share counted twice, a mean of means, one missed all-reduce) fails by orders
of magnitude.
"""

import os
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import sklearn_mtl
from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl._data import BatchIterator, TensorData
from sklearn_mtl._distributed import DataParallel, data_parallel, is_data_parallel
from sklearn_mtl._loss import task_losses
from sklearn_mtl.weighting import MGDA, StaticWeighting

sys.path.insert(0, str(Path(__file__).parent))
import data_parallel_worker as worker  # noqa: E402

WORLD = 2
RTOL, ATOL = 1e-5, 1e-6
COMPARED_WITH_ONE_PROCESS = ["uncertainty", "early_stopping", "rlw", "partial_fit"] + (
    ["dask"] if "dask" in worker.CASES else [])

needs_gloo = pytest.mark.skipif(
    not (torch.distributed.is_available() and torch.distributed.is_gloo_available()),
    reason="torch.distributed with the gloo backend is not available",
)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Every case of the worker, fitted by two processes: {case: [rank 0, rank 1]}."""
    if not (torch.distributed.is_available() and torch.distributed.is_gloo_available()):
        pytest.skip("torch.distributed with the gloo backend is not available")
    out = tmp_path_factory.mktemp("data_parallel")
    root = str(Path(sklearn_mtl.__file__).resolve().parents[1])  # this checkout's package
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    port = _free_port()
    processes = [
        subprocess.Popen(
            [sys.executable, "-W", "ignore", str(Path(worker.__file__)), str(rank),
             str(WORLD), str(port), str(out)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for rank in range(WORLD)
    ]
    try:
        outputs = [p.communicate(timeout=240)[0] for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    for p, output in zip(processes, outputs):
        written = sorted(path.name for path in out.iterdir())
        assert p.returncode == 0, f"{output}\nresults written: {written}"
    return {
        name: [dict(np.load(out / f"{name}-{rank}.npz")) for rank in range(WORLD)]
        for name in worker.CASES
    }


@pytest.fixture(scope="module")
def data():
    return worker.make_data()


def _fitted(result):
    assert "error" not in result, str(result.get("error"))
    return result


@needs_gloo
@pytest.mark.parametrize("name", [n for n in worker.CASES if n != "mgda"])
def test_every_process_ends_with_the_same_model(results, name):
    first, second = map(_fitted, results[name])
    assert first.keys() == second.keys()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)


@needs_gloo
@pytest.mark.parametrize("name", COMPARED_WITH_ONE_PROCESS)
def test_processes_train_the_model_of_one_process(results, data, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = worker.outcome(worker.fit_case(name, *data), data[0])
    got = _fitted(results[name][0])
    assert got.keys() == expected.keys()
    assert int(got["n_iter"]) == int(expected["n_iter"])
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=RTOL, atol=ATOL, err_msg=key)


@needs_gloo
def test_early_stopping_stops_at_the_same_epoch(results, data):
    first, second = results["early_stopping"]
    # the case stops early (tol is large), at the same epoch on every process
    max_iter = worker.CASES["early_stopping"]["max_iter"]
    assert int(first["n_iter"]) == int(second["n_iter"]) < max_iter
    np.testing.assert_array_equal(first["valid_loss"], second["valid_loss"])


@needs_gloo
def test_gradient_strategy_is_refused(results):
    for result in results["mgda"]:
        message = str(result["error"])
        assert message.startswith("ValueError: weighting=MGDA()")
        assert "'static', 'uncertainty'" in message and "'pcgrad'" in message


# ------------------------------------------------- without processes


class _TwoProcesses(DataParallel):
    """Process ``rank`` of two, the other process's contribution given."""

    def __init__(self, rank, other):
        super().__init__(rank, 2)
        self.other = other

    def _sum(self, tensor):
        return tensor.add_(self.other(tensor))


def test_loss_reduction_gives_the_global_batch_loss_and_its_gradient():
    # 4 rows, 2 tasks of 2 classes; process 0 takes rows 0 and 2, process 1 rows 1 and 3
    logits = torch.tensor([[2.0, 0.0, 1.0, -1.0], [0.0, 1.0, 0.5, 0.5],
                           [1.0, 1.0, -2.0, 0.0], [0.0, 3.0, 0.0, 2.0]], requires_grad=True)
    codes = torch.tensor([[0, -1], [1, -1], [-1, 0], [1, 1]])
    weight = torch.tensor([1.0, 2.0, 3.0, 4.0])
    split = [2, 2]
    shares = [torch.tensor([0, 2]), torch.tensor([1, 3])]
    # by hand: task 0 is labelled in rows 0, 1, 3 (weights 1 + 2 + 4 = 7),
    # task 1 in rows 2, 3 (3 + 4 = 7); process 0 holds 1 of task 0's 7 and 3 of task 1's
    ce = torch.nn.functional.cross_entropy
    l0 = (1 * ce(logits[0, :2], torch.tensor(0)) + 2 * ce(logits[1, :2], torch.tensor(1))
          + 4 * ce(logits[3, :2], torch.tensor(1))) / 7
    l1 = (3 * ce(logits[2, 2:], torch.tensor(0)) + 4 * ce(logits[3, 2:], torch.tensor(1))) / 7
    full, full_denominators = task_losses(logits, codes, split, None, weight)
    torch.testing.assert_close(full, torch.stack([l0, l1]))

    def local(rank):
        rows = shares[rank]
        return task_losses(logits[rows], codes[rows], split, None, weight[rows])

    def contribution(rank):  # what process ``rank`` puts into the all-reduce
        losses, denominators = local(rank)
        return torch.cat([(losses * denominators).detach(), denominators.detach()])

    gradient = torch.zeros_like(logits)
    for rank in range(2):
        parallel = _TwoProcesses(rank, lambda t, r=rank: contribution(1 - r))
        losses, denominators = parallel.reduce_losses(*local(rank))
        torch.testing.assert_close(denominators, torch.tensor([7.0, 7.0]))
        torch.testing.assert_close(denominators, full_denominators)
        torch.testing.assert_close(losses, full)  # every process: the global value
        (grad,) = torch.autograd.grad((losses * torch.tensor([1.0, 3.0])).sum(), logits)
        gradient += grad
    (expected,) = torch.autograd.grad((full * torch.tensor([1.0, 3.0])).sum(), logits)
    torch.testing.assert_close(gradient, expected)  # the shares add up to the gradient


def test_gradient_reduction_sums_the_module_and_averages_the_weighting():
    module = [torch.nn.Parameter(torch.ones(2, 2)), torch.nn.Parameter(torch.ones(3))]
    strategy = [torch.nn.Parameter(torch.ones(2))]
    module[0].grad = torch.tensor([[1.0, 2.0], [3.0, 4.0]])  # module[1]: no gradient anywhere
    strategy[0].grad = torch.tensor([0.5, -1.0])
    # the other process holds the same gradients
    _TwoProcesses(0, lambda t: t.clone()).reduce_gradients(module, strategy)
    torch.testing.assert_close(module[0].grad, torch.tensor([[2.0, 4.0], [6.0, 8.0]]))
    assert module[1].grad is None
    torch.testing.assert_close(strategy[0].grad, torch.tensor([0.5, -1.0]))


def test_a_gradient_missing_on_one_process_is_taken_from_the_other():
    p = torch.nn.Parameter(torch.zeros(2))

    def other(t):
        t = torch.zeros_like(t)
        t[:2], t[-1] = torch.tensor([1.0, 2.0]), 1.0  # the other has a gradient
        return t

    _TwoProcesses(0, other).reduce_gradients([p])
    torch.testing.assert_close(p.grad, torch.tensor([1.0, 2.0]))


@pytest.mark.parametrize("shuffle", [True, False])
def test_shares_of_a_batch_are_the_batch(shuffle):
    data = TensorData(torch.arange(23.0).unsqueeze(1), torch.zeros(23, 1, dtype=torch.long))
    batches = list(BatchIterator(data, 8, shuffle, torch.Generator().manual_seed(0), None))
    shares = [
        list(BatchIterator(data, 8, shuffle, torch.Generator().manual_seed(0), None,
                           rank, 3))
        for rank in range(3)
    ]
    assert all(len(s) == len(batches) for s in shares)
    for b, batch in enumerate(batches):
        rows = torch.cat([s[b][0] for s in shares]).flatten()
        assert sorted(rows.tolist()) == sorted(batch[0].flatten().tolist())
        torch.testing.assert_close(shares[1][b][0], batch[0][1::3])


def test_one_process_is_not_data_parallel():
    assert not is_data_parallel()
    cpu = torch.device("cpu")
    assert data_parallel(MGDA(), cpu) is None and data_parallel(StaticWeighting(), cpu) is None


def test_per_task_gradient_strategies_are_marked():
    from sklearn_mtl.weighting import WEIGHTINGS

    marked = {n for n, cls in WEIGHTINGS.items() if cls.per_task_gradients}
    assert marked == {"mgda", "pcgrad", "cagrad", "gradnorm", "imtl_g", "aligned_mtl"}
    assert not MultiTaskClassifier().get_params().get("per_task_gradients")
