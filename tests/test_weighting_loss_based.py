"""Loss-based weighting strategies: uncertainty, DWA, RLW and FAMO.

Each strategy is checked on small cases worked out by hand from its paper's
equations. The "network" is a vector ``p`` of ones with task losses
``L_t = p_t * value_t``, so ``p.grad`` reads ``w_t * value_t`` off directly.
"""

import math

import numpy as np
import pytest
import torch

from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl.datasets import load_digits_multitask
from sklearn_mtl.weighting._dwa import DynamicWeightAverage
from sklearn_mtl.weighting._famo import FAMO
from sklearn_mtl.weighting._rlw import RandomLossWeighting
from sklearn_mtl.weighting._uncertainty import UncertaintyWeighting


def _setup(strategy, n_tasks, task_weights=None):
    weights = torch.ones(n_tasks) if task_weights is None else torch.tensor(task_weights)
    return strategy.setup(n_tasks, weights, torch.device("cpu"))


def _step(strategy, values, present=None):
    """One batch with losses ``values`` (0 where absent); returns (weights, p.grad)."""
    values = torch.tensor(values, dtype=torch.float32)
    present = values > 0 if present is None else torch.tensor(present)
    p = torch.ones(len(values), requires_grad=True)
    losses = torch.where(present, p * values, 0.0)
    weights = strategy.backward(losses, present, [p], [])
    return weights, p.grad


# ------------------------------------------------------------- uncertainty
def test_uncertainty_weights_and_gradients_by_hand():
    strategy = _setup(UncertaintyWeighting(), 3)
    assert strategy.parameters() == [strategy.log_variances_]
    np.testing.assert_array_equal(strategy.log_variances_.detach(), [0, 0, 0])
    with torch.no_grad():
        strategy.log_variances_[1] = math.log(2.0)
    # s = [0, ln 2, 0], L = [1, 3, absent]: weights exp(-s) = [1, 1/2, 0]
    weights, grad = _step(strategy, [1.0, 3.0, 0.0])
    np.testing.assert_allclose(weights, [1.0, 0.5, 0.0], rtol=1e-6)
    s = strategy.log_variances_.detach()
    np.testing.assert_allclose(weights[:2], torch.exp(-s[:2]), rtol=1e-6)
    # network gradient w_t * L_t = [1, 1.5, 0]
    np.testing.assert_allclose(grad, [1.0, 1.5, 0.0], rtol=1e-6)
    # d/ds (exp(-s) L + s / 2) = -exp(-s) L + 1/2 = [-0.5, -1.0]; absent task: 0
    np.testing.assert_allclose(strategy.log_variances_.grad, [-0.5, -1.0, 0.0], rtol=1e-6)


def test_uncertainty_multiplies_task_weights_into_whole_term():
    strategy = _setup(UncertaintyWeighting(), 2, task_weights=[2.0, 1.0])
    weights, grad = _step(strategy, [1.0, 3.0])
    # s = 0: weights = task_weights * exp(0) = [2, 1]; grad of s = 2 * (-1 + 1/2), -3 + 1/2
    np.testing.assert_allclose(weights, [2.0, 1.0])
    np.testing.assert_allclose(grad, [2.0, 3.0])
    np.testing.assert_allclose(strategy.log_variances_.grad, [-1.0, -2.5])


# --------------------------------------------------------------------- DWA
def test_dwa_first_two_epochs_equal_then_loss_ratio_softmax():
    strategy = _setup(DynamicWeightAverage(), 2)
    np.testing.assert_array_equal(_step(strategy, [1.0, 2.0])[0], [1.0, 1.0])
    strategy.end_epoch(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(_step(strategy, [1.0, 2.0])[0], [1.0, 1.0])
    strategy.end_epoch(np.array([0.5, 2.0]))
    # r = [0.5/1, 2/2] = [0.5, 1], tau = 2:
    # w = 2 [e^0.25, e^0.5] / (e^0.25 + e^0.5) = [2 / (1 + e^0.25), 2 e^0.25 / (1 + e^0.25)]
    #   = [0.875647, 1.124353]
    weights, grad = _step(strategy, [1.0, 2.0])
    np.testing.assert_allclose(weights, [0.875647, 1.124353], rtol=1e-5)
    np.testing.assert_allclose(grad, [0.875647, 2 * 1.124353], rtol=1e-5)
    # the next epoch uses the last two epochs only: r = [1/0.5, 1/2] = [2, 0.5]
    # w = 2 [e^1, e^0.25] / (e^1 + e^0.25) = [2 / (1 + e^-0.75), 2 / (1 + e^0.75)]
    #   = [1.358357, 0.641643]
    strategy.end_epoch(np.array([1.0, 1.0]))
    np.testing.assert_allclose(_step(strategy, [1.0, 2.0])[0], [1.358357, 0.641643], rtol=1e-5)


def test_dwa_unseen_task_counts_as_unchanged_and_task_weights_multiply():
    strategy = _setup(DynamicWeightAverage(), 3, task_weights=[1.0, 1.0, 2.0])
    strategy.end_epoch(np.array([2.0, 1.0, np.nan]))
    strategy.end_epoch(np.array([1.0, 1.0, 0.7]))
    # r = [0.5, 1, 1 (no ratio: NaN before)]; w = 3 [e^.25, e^.5, e^.5] / (e^.25 + 2 e^.5)
    #   = [0.840795, 1.079602, 1.079602]; times task_weights [1, 1, 2]
    weights, _ = _step(strategy, [1.0, 1.0, 1.0])
    np.testing.assert_allclose(weights, [0.840795, 1.079602, 2 * 1.079602], rtol=1e-5)
    # a task absent from the batch weighs 0 there; the others keep their weights
    weights, _ = _step(strategy, [1.0, 0.0, 1.0])
    np.testing.assert_allclose(weights, [0.840795, 0.0, 2 * 1.079602], rtol=1e-5)


# --------------------------------------------------------------------- RLW
def test_rlw_softmax_of_normal_draws_over_present_tasks(monkeypatch):
    strategy = _setup(RandomLossWeighting(), 3)
    # draws [0, ln 2, 5]; task 2 absent: softmax([0, ln 2]) = [1/3, 2/3], times 2 present
    monkeypatch.setattr(torch, "randn_like", lambda t: torch.tensor([0.0, math.log(2), 5.0]))
    weights, grad = _step(strategy, [1.0, 3.0, 0.0])
    np.testing.assert_allclose(weights, [2 / 3, 4 / 3, 0.0], rtol=1e-6)
    np.testing.assert_allclose(grad, [2 / 3, 4.0, 0.0], rtol=1e-6)


@pytest.mark.parametrize("distribution", ["normal", "uniform", "dirichlet"])
def test_rlw_draws_are_seeded_and_sum_to_the_present_tasks(distribution):
    strategy = _setup(RandomLossWeighting(distribution=distribution), 4)
    torch.manual_seed(0)
    first = [_step(strategy, [1.0, 2.0, 0.0, 1.0])[0] for _ in range(5)]
    torch.manual_seed(0)
    again = [_step(strategy, [1.0, 2.0, 0.0, 1.0])[0] for _ in range(5)]
    for w, w_again in zip(first, again):
        torch.testing.assert_close(w, w_again)
        assert w[2] == 0 and torch.all(w >= 0)
        assert float(w.sum()) == pytest.approx(3.0)
    assert not torch.allclose(first[0], first[1])  # fresh weights every batch


# -------------------------------------------------------------------- FAMO
def test_famo_two_steps_by_hand():
    strategy = _setup(FAMO(), 2)
    assert strategy.parameters() == []
    # xi = 0: z = [1/2, 1/2]; L = [1, 4]: z / L = [0.5, 0.125], c = 1 / 0.625 = 1.6
    # w = c z / L = [0.8, 0.2]
    weights, grad = _step(strategy, [1.0, 4.0])
    np.testing.assert_allclose(weights, [0.8, 0.2], rtol=1e-6)
    np.testing.assert_allclose(grad, [0.8, 0.8], rtol=1e-6)
    # next batch L' = [0.5, 4]: delta = [ln 1 - ln 0.5, 0] = [ln 2, 0]
    # grad of z^T delta = z (delta - z.delta) = [ln2 / 4, -ln2 / 4] (decay: xi = 0)
    # first Adam step = beta * sign = 0.025: xi = [-0.025, 0.025]
    # z = [1, e^0.05] / (1 + e^0.05) = [0.487503, 0.512497]
    # z / L' = [0.975005, 0.128124] -> w = [0.883854, 0.116146]
    weights, _ = _step(strategy, [0.5, 4.0])
    np.testing.assert_allclose(strategy.logits_, [-0.025, 0.025], rtol=1e-6)
    np.testing.assert_allclose(weights, [0.883854, 0.116146], rtol=1e-5)


def test_famo_task_weights_multiply_and_absent_tasks_are_left_out():
    strategy = _setup(FAMO(), 3, task_weights=[1.0, 1.0, 3.0])
    # task 1 absent: z = [1/2, 0, 1/2], L = [1, -, 4] -> c z / L = [0.8, 0, 0.2]; times [1, 1, 3]
    weights, _ = _step(strategy, [1.0, 0.0, 4.0])
    np.testing.assert_allclose(weights, [0.8, 0.0, 0.6], rtol=1e-6)
    # tasks 0 and 2 improve equally (delta = [ln 2, -, ln 2]): z (delta - z.delta) = 0,
    # and task 1 was absent: the logits stay at 0
    _step(strategy, [0.5, 1.0, 2.0])
    np.testing.assert_allclose(strategy.logits_, [0.0, 0.0, 0.0], atol=1e-6)


# ------------------------------------------------------------ absent tasks
STRATEGIES = [
    UncertaintyWeighting(),
    DynamicWeightAverage(),
    RandomLossWeighting(),
    RandomLossWeighting(distribution="dirichlet"),
    FAMO(),
]


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda s: repr(s))
def test_absent_tasks_get_weight_zero_and_gradients_stay_finite(strategy):
    strategy = _setup(strategy, 3)
    torch.manual_seed(0)
    for values, epoch in [
        ([1.0, 0.0, 2.0], [1.0, np.nan, 2.0]),
        ([0.5, 1e-30, 0.0], [0.5, 1.0, np.nan]),
        ([0.0, 0.0, 0.0], [np.nan, np.nan, np.nan]),
        ([0.7, 0.0, 1.5], [0.7, np.nan, 1.5]),
    ]:
        present = [v > 0 for v in values]
        weights, grad = _step(strategy, values, present)
        assert torch.all(torch.isfinite(weights)) and torch.all(torch.isfinite(grad))
        assert torch.all(weights[~torch.tensor(present)] == 0)
        assert torch.all(weights >= 0)
        for parameter in strategy.parameters():
            assert torch.all(torch.isfinite(parameter.grad))
            assert torch.all(parameter.grad[~torch.tensor(present)] == 0)
            parameter.grad = None
        strategy.end_epoch(np.array(epoch))


# -------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def small_digits():
    X, Y = load_digits_multitask(as_frame=False)
    X, Y = X[:300] / 16.0, Y[:300].astype(float)
    Y[np.random.RandomState(0).rand(300) < 0.5, 1] = np.nan
    return X, Y


@pytest.mark.parametrize("strategy", STRATEGIES[:3] + STRATEGIES[4:], ids=lambda s: repr(s))
def test_fit_with_missing_labels_records_weights(strategy, small_digits):
    X, Y = small_digits
    rng_state = torch.random.get_rng_state()
    clf = MultiTaskClassifier(
        weighting=strategy, hidden_layer_sizes=(16,), max_iter=5, batch_size=64, random_state=0
    )
    clf.fit(X, Y)
    assert torch.equal(torch.random.get_rng_state(), rng_state)
    for proba in clf.predict_proba(X):
        assert np.all(np.isfinite(proba))
    last = clf.history_[-1]
    weights = np.array([last[f"weight[task_{t}]"] for t in range(4)])
    assert np.all(np.isfinite(weights)) and np.all(weights > 0)
    fitted = clf.weighting_
    if isinstance(fitted, UncertaintyWeighting):
        assert not torch.allclose(fitted.log_variances_, torch.zeros(4))  # trained
    if isinstance(fitted, DynamicWeightAverage):
        first = [clf.history_[0][f"weight[task_{t}]"] for t in range(4)]
        np.testing.assert_allclose(first, 1.0)
        assert fitted.loss_weights_.sum() == pytest.approx(4.0)
    if isinstance(fitted, FAMO):
        assert not torch.allclose(fitted.logits_, torch.zeros(4))
        assert weights.sum() == pytest.approx(1.0, abs=1e-3)
