"""Gradient-projection strategies: PCGrad, CAGrad and Aligned-MTL.

Each strategy is checked on linear task losses ``loss_t = g_t . theta + h_t``,
whose gradient on the shared ``theta`` is exactly ``g_t`` and on the specific
``h`` is the unit vector ``e_t``, against numbers worked out by hand from the
papers' equations.
"""

import itertools
import math
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl.datasets import load_digits_multitask
from sklearn_mtl.weighting._aligned_mtl import AlignedMTL
from sklearn_mtl.weighting._cagrad import CAGrad
from sklearn_mtl.weighting._pcgrad import PCGrad

STRATEGIES = [PCGrad, CAGrad, AlignedMTL]


def run(strategy, grads, task_weights=None, present=None):
    """Back-propagate the linear losses; return (weights, theta.grad, h.grad)."""
    grads = torch.tensor(grads, dtype=torch.float64)
    n_tasks, size = grads.shape
    task_weights = torch.ones(n_tasks) if task_weights is None else torch.tensor(task_weights)
    present = torch.ones(n_tasks, dtype=torch.bool) if present is None else torch.tensor(present)
    theta = torch.nn.Parameter(torch.zeros(size, dtype=torch.float64))
    head = torch.nn.Parameter(torch.zeros(n_tasks, dtype=torch.float64))
    # an absent task's loss is exactly 0, with a zero gradient
    losses = (grads @ theta + head) * present
    strategy.setup(n_tasks, task_weights.double(), torch.device("cpu"))
    weights = strategy.backward(losses, present, [theta], [head])
    return weights.numpy(), theta.grad.numpy(), head.grad.numpy()


# ------------------------------------------------------------------ PCGrad
def test_pcgrad_projects_conflicting_gradients():
    # g1 . g2 = -1 < 0, so each is projected onto the normal plane of the other:
    # g1' = g1 - (-1)/||g2||^2 g2 = (1, 0) + (-1, 1)/2 = (0.5, 0.5)
    # g2' = g2 - (-1)/||g1||^2 g1 = (-1, 1) + (1, 0)  = (0, 1)
    weights, shared, head = run(PCGrad(), [[1.0, 0.0], [-1.0, 1.0]])
    # g1' + g2' = (g1 + g2 / 2) + (g2 + g1): raw-gradient weights (2, 1.5)
    np.testing.assert_allclose(shared, [0.5, 1.5])
    np.testing.assert_allclose(weights, [2.0, 1.5])
    np.testing.assert_allclose(head, [1.0, 1.0])
    # fixed weights multiply the projected gradients: 2 g1' + g2' = 3 g1 + 2 g2 = (1, 2)
    weights, shared, head = run(PCGrad(), [[1.0, 0.0], [-1.0, 1.0]], [2.0, 1.0])
    np.testing.assert_allclose(shared, [1.0, 2.0])
    np.testing.assert_allclose(weights, [3.0, 2.0])
    np.testing.assert_allclose(head, [2.0, 1.0])


def test_pcgrad_leaves_agreeing_gradients_alone():
    # g1 . g2 = 1 >= 0: plain sum (1, 0) + (1, 1) = (2, 1)
    _, shared, _ = run(PCGrad(), [[1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(shared, [2.0, 1.0])


def test_pcgrad_matches_direct_projection_in_every_order():
    # three mutually conflicting gradients: the result depends on the orders of
    # j; compare with the projections done directly on the vectors
    grads = np.array([[1.0, 0.0], [-1.0, 1.0], [-0.5, -1.0]])

    def project(i, order):
        g = grads[i].copy()
        for j in order:
            if g @ grads[j] < 0:
                g -= (g @ grads[j]) / (grads[j] @ grads[j]) * grads[j]
        return g

    others = [[(1, 2), (2, 1)], [(0, 2), (2, 0)], [(0, 1), (1, 0)]]
    expected = {
        tuple(np.round(sum(project(i, o) for i, o in enumerate(orders)), 9))
        for orders in itertools.product(*others)
    }
    seen = set()
    for seed in range(10):
        torch.manual_seed(seed)
        shared = run(PCGrad(), grads.tolist())[1]
        torch.manual_seed(seed)  # torch's global generator makes it reproducible
        np.testing.assert_array_equal(run(PCGrad(), grads.tolist())[1], shared)
        seen.add(tuple(np.round(shared, 9)))
    assert seen <= expected and len(seen) > 1


# ------------------------------------------------------------------ CAGrad
def test_cagrad_interior_solution():
    # g1 = (-2, 3), g2 = (3, -1): g0 = (0.5, 1), ||g0|| = sqrt(5)/2,
    # sqrt(phi) = c ||g0|| = sqrt(5)/4. With w = (x, 1 - x),
    # F(x) = g_w . g0 + sqrt(phi) ||g_w|| is minimal where F'(x) = 0, at
    # x = 5/13: g_w = (14/13, 7/13), ||g_w|| = 7 sqrt(5)/13,
    # sqrt(phi)/||g_w|| = 13/28, d = g0 + 13/28 g_w = (1, 5/4)
    # (d . g1 = d . g2 = 7/4: the worst task is improved as much as the other).
    # d = sum_t (1/2 + 13/28 w_t) g_t = 19/28 g1 + 22/28 g2. The shared step is
    # k d = 2 d (the scale of static weighting: g0 is a mean).
    grads = [[-2.0, 3.0], [3.0, -1.0]]
    weights, shared, head = run(CAGrad(rescale=0), grads)
    np.testing.assert_allclose(shared, [2.0, 2.5], atol=1e-6)
    np.testing.assert_allclose(weights, [19 / 14, 22 / 14], atol=1e-6)
    np.testing.assert_allclose(head, [1.0, 1.0])  # heads: the static weights
    # rescale=1 divides by 1 + c^2 = 5/4, rescale=2 by 1 + c = 3/2
    weights, shared, _ = run(CAGrad(), grads)
    np.testing.assert_allclose(shared, [1.6, 2.0], atol=1e-6)
    np.testing.assert_allclose(weights, [38 / 35, 44 / 35], atol=1e-6)
    _, shared, _ = run(CAGrad(rescale=2), grads)
    np.testing.assert_allclose(shared, [4 / 3, 5 / 3], atol=1e-6)
    # c = 0 is the sum of the gradients
    _, shared, _ = run(CAGrad(c=0.0), grads)
    np.testing.assert_allclose(shared, [1.0, 2.0], atol=1e-6)
    # fixed weights multiply the gradients: (2, 2) doubles everything
    _, shared, head = run(CAGrad(), grads, [2.0, 2.0])
    np.testing.assert_allclose(shared, [3.2, 4.0], atol=1e-6)
    np.testing.assert_allclose(head, [2.0, 2.0])


def test_cagrad_vertex_solution():
    # g1 = (1, 0), g2 = (-1, 1): g0 = (0, 0.5), sqrt(phi) = 0.25,
    # g_w = (2x - 1, 1 - x), F(x) = 0.5 (1 - x) + 0.25 sqrt(5x^2 - 6x + 2),
    # F'(x) = 0 <=> 5x^2 - 6x + 1 = 0 with 5x - 3 >= 0: x = 1, w = (1, 0).
    # d = g0 + 0.25 g1 = (0.25, 0.5) = 0.75 g1 + 0.5 g2; / (1 + c^2) = 1.25;
    # times k = 2:
    weights, shared, _ = run(CAGrad(), [[1.0, 0.0], [-1.0, 1.0]])
    np.testing.assert_allclose(shared, [0.4, 0.8], atol=1e-6)
    np.testing.assert_allclose(weights, [1.2, 0.8], atol=1e-6)


def test_cagrad_single_task_and_bad_parameters():
    # one task: w = 1, g_w = g0, d = (1 + c) g0 / (1 + c^2) = 1.2 g0
    weights, shared, _ = run(CAGrad(), [[3.0, -4.0]])
    np.testing.assert_allclose(shared, [3.6, -4.8], atol=1e-6)
    np.testing.assert_allclose(weights, [1.2], atol=1e-6)
    for bad in (CAGrad(c=-1.0), CAGrad(rescale=3)):
        with pytest.raises(ValueError, match="CAGrad"):
            bad.setup(2, torch.ones(2), torch.device("cpu"))


# -------------------------------------------------------------- Aligned-MTL
def test_aligned_mtl_equalises_orthogonal_gradients():
    # orthogonal g of norms 2, 4, 1/2: G G^T = diag(4, 16, 1/4), lambda_min = 1/4,
    # B = 1/2 diag(1/2, 1/4, 2) = diag(1/4, 1/8, 1): the aligned gradients
    # B G = (1/2, 0, 0), (0, 1/2, 0), (0, 0, 1/2) all have the smallest norm.
    grads = [[2.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 0.5]]
    weights, shared, head = run(AlignedMTL(), grads)
    np.testing.assert_allclose(weights, [0.25, 0.125, 1.0])
    aligned = weights[:, None] * np.array(grads)
    np.testing.assert_allclose(np.linalg.norm(aligned, axis=1), [0.5, 0.5, 0.5])
    np.testing.assert_allclose(shared, [0.5, 0.5, 0.5])
    np.testing.assert_allclose(head, [1.0, 1.0, 1.0])  # heads: the prior


def test_aligned_mtl_weights_on_a_2x2_gram():
    # g1 = (1, 1, 0), g2 = (0, 1, 1): G G^T = [[2, 1], [1, 2]], eigenvalues 3 and 1
    # with eigenvectors (1, 1)/sqrt2 and (1, -1)/sqrt2, so with a = 1/sqrt3,
    # B = sqrt(1) (a/2 [[1, 1], [1, 1]] + 1/2 [[1, -1], [-1, 1]])
    #   = 1/2 [[a + 1, a - 1], [a - 1, a + 1]].
    # prior (1, 1): w = (a, a) = (1/sqrt3, 1/sqrt3), direction (1, 2, 1)/sqrt3
    a = 1 / math.sqrt(3)
    grads = [[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]]
    weights, shared, _ = run(AlignedMTL(), grads)
    np.testing.assert_allclose(weights, [a, a])
    np.testing.assert_allclose(shared, [a, 2 * a, a])
    # prior (2, 1): w = 1/2 (3a + 1, 3a - 1) = ((sqrt3 + 1)/2, (sqrt3 - 1)/2)
    weights, _, head = run(AlignedMTL(), grads, [2.0, 1.0])
    s3 = math.sqrt(3)
    np.testing.assert_allclose(weights, [(s3 + 1) / 2, (s3 - 1) / 2])
    np.testing.assert_allclose(head, [2.0, 1.0])


def test_aligned_mtl_drops_null_directions():
    # parallel g1 = (1, 0), g2 = (2, 0): G G^T = [[1, 2], [2, 4]], eigenvalues 0
    # (dropped) and 5 with v = (1, 2)/sqrt5; B = sqrt5 v v^T / sqrt5 = v v^T,
    # w = B (1, 1) = (3/5, 6/5), direction 3/5 g1 + 6/5 g2 = (3, 0)
    weights, shared, _ = run(AlignedMTL(), [[1.0, 0.0], [2.0, 0.0]])
    np.testing.assert_allclose(weights, [0.6, 1.2])
    np.testing.assert_allclose(shared, [3.0, 0.0], atol=1e-12)


# --------------------------------------------------------- absent tasks
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_absent_tasks_get_no_weight(strategy):
    grads = [[1.0, 0.0], [5.0, -7.0], [-1.0, 1.0]]
    # task 1 absent: the same as the two-task problem of tasks 0 and 2
    torch.manual_seed(0)
    weights, shared, head = run(strategy(), grads, present=[True, False, True])
    torch.manual_seed(0)
    two_weights, two_shared, two_head = run(strategy(), [grads[0], grads[2]])
    assert weights[1] == 0 and head[1] == 0
    np.testing.assert_allclose(weights[[0, 2]], two_weights, atol=1e-6)
    np.testing.assert_allclose(shared, two_shared, atol=1e-6)
    np.testing.assert_allclose(head[[0, 2]], two_head)
    # a task of weight 0 is left out in the same way
    torch.manual_seed(0)
    weights, zero_weight_shared, _ = run(strategy(), grads, [1.0, 0.0, 1.0])
    assert weights[1] == 0
    np.testing.assert_allclose(zero_weight_shared, two_shared, atol=1e-6)
    # one present task, and none: finite gradients
    weights, shared, head = run(strategy(), grads, present=[False, True, False])
    assert np.all(np.isfinite(shared)) and weights[0] == weights[2] == 0
    weights, shared, head = run(strategy(), grads, present=[False, False, False])
    np.testing.assert_array_equal(weights, 0)
    np.testing.assert_array_equal(shared, 0)
    np.testing.assert_array_equal(head, 0)


# ------------------------------------------------------------- end to end
@pytest.mark.parametrize("strategy", [PCGrad(), CAGrad(c=0.4), AlignedMTL()])
def test_fit_with_missing_labels(strategy):
    X, Y = load_digits_multitask(as_frame=False)
    X, Y = X[:300] / 16.0, Y[:300].astype(float)
    Y[::2, 1] = np.nan
    clf = MultiTaskClassifier(
        weighting=clone(strategy), hidden_layer_sizes=(16,), max_iter=5, batch_size=64,
        random_state=0,
    ).fit(X, Y)
    assert np.all(np.isfinite(clf.predict_proba(X)[1]))
    last = clf.history_[-1]
    for t in range(Y.shape[1]):
        assert np.isfinite(last[f"weight[task_{t}]"])
    assert clf.weighting_.get_params() == strategy.get_params()


def test_cagrad_converges_when_one_task_dominates():
    # issue 13's reproducer: one conflicting task's gradient is ~40 times the
    # others'. The conflict-averse direction must lower every task's loss to
    # first order: the optimum has min_t g_t . d = +1.906 (c = 2, no rescale;
    # so ill-conditioned that weights equal to 8 digits give 1.885 to 1.906);
    # 100 projected-gradient steps stopped at -275.4
    grads = np.array([[-120.0, 60.0, 90.0], [3.0, -2.0, 1.0], [-4.0, 3.0, -4.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # converges without a warning
        _, shared, _ = run(CAGrad(c=2.0, rescale=0), grads)
    shared = shared / 3  # the paper's d (the shared step is k d, k = 3 tasks)
    assert 1.85 <= (grads @ shared).min() <= 1.91
    # the dual optimum is a saddle point: ||d - g0|| = sqrt(phi), and no
    # other direction in the ball does better for the worst task
    g0 = grads.mean(0)
    sqrt_phi = 2.0 * np.linalg.norm(g0)
    assert np.linalg.norm(shared - g0) == pytest.approx(sqrt_phi, rel=1e-6)
    rng = np.random.RandomState(0)
    for _ in range(2000):
        u = rng.standard_normal(3)
        d = g0 + sqrt_phi * u / np.linalg.norm(u)
        assert (grads @ d).min() <= (grads @ shared).min() + 0.05
