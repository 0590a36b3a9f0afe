"""Gradient-based weighting strategies against hand-computed cases of their papers."""

import itertools

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl.datasets import load_digits_multitask
from sklearn_mtl.weighting._gradnorm import GradNorm, gradnorm_loss
from sklearn_mtl.weighting._imtl import IMTLG, impartial_coefficients
from sklearn_mtl.weighting._mgda import MGDA, min_norm_coefficients

CPU = torch.device("cpu")


def _setup(strategy, n_tasks, task_weights=None):
    weights = torch.ones(n_tasks) if task_weights is None else torch.tensor(task_weights)
    return strategy.setup(n_tasks, weights.float(), CPU)


def _linear_problem(grads, offsets=None, theta=None):
    """Losses ``L_t = g_t . theta + offset_t + h_t``: ``dL_t / dtheta = g_t`` and
    ``dL_t / dh_t = 1``, with ``theta`` shared and ``h`` the task-specific part."""
    grads = torch.tensor(grads, dtype=torch.float32)
    theta = torch.nn.Parameter(torch.ones(grads.shape[1]) if theta is None else
                               torch.tensor(theta, dtype=torch.float32))
    heads = torch.nn.Parameter(torch.zeros(len(grads)))
    offsets = torch.zeros(len(grads)) if offsets is None else torch.tensor(offsets)
    losses = grads @ theta + offsets + heads
    return losses, theta, heads


# ------------------------------------------------------------------------ MGDA
def test_mgda_two_tasks_closed_form():
    # g1 = (1, 0), g2 = (0, 2): alpha_1 = ((g2 - g1) . g2) / ||g1 - g2||^2 = 4 / 5
    gram = np.array([[1.0, 0.0], [0.0, 4.0]])
    np.testing.assert_allclose(min_norm_coefficients(gram), [0.8, 0.2], atol=1e-12)
    # g1 = (1, 0), g2 = (3, 0): g1 is itself the min-norm point, alpha = (1, 0)
    np.testing.assert_allclose(min_norm_coefficients(np.array([[1.0, 3.0], [3.0, 9.0]])),
                               [1.0, 0.0])


@pytest.mark.parametrize(
    "normalization, weights, direction",
    [
        # alpha = (0.8, 0.2); weights = 2 alpha; direction = 1.6 g1 + 0.4 g2
        ("none", [1.6, 0.4], [1.6, 0.8]),
        # s = ||g|| = (1, 2): unit gradients (1, 0), (0, 1) -> alpha = (.5, .5);
        # weights of the raw gradients 2 alpha / s = (1, .5): direction g1 + g2 / 2
        ("l2", [1.0, 0.5], [1.0, 1.0]),
        # s = L = (2, 2) at theta = (2, 1): alpha unchanged, direction halved
        ("loss", [0.8, 0.2], [0.8, 0.4]),
        # s = L ||g|| = (2, 4): normalized (.5, 0), (0, .5) -> alpha = (.5, .5);
        # weights 2 alpha / s = (.5, .25): direction g1 / 2 + g2 / 4
        ("loss+", [0.5, 0.25], [0.5, 0.5]),
    ],
)
def test_mgda_backward_hand_numbers(normalization, weights, direction):
    losses, theta, heads = _linear_problem([[1, 0], [0, 2]], theta=[2.0, 1.0])
    mgda = _setup(MGDA(normalization=normalization), 2)
    applied = mgda.backward(losses, torch.tensor([True, True]), [theta], [heads])
    np.testing.assert_allclose(applied.numpy(), weights, rtol=1e-5)
    np.testing.assert_allclose(theta.grad.numpy(), direction, rtol=1e-5)
    # the heads follow their own losses (task_weights 1), not the solved weights
    np.testing.assert_allclose(heads.grad.numpy(), [1.0, 1.0], rtol=1e-6)


def test_mgda_three_tasks_frank_wolfe_reaches_min_norm_point():
    # g_i = c_i e_i with c = (1, 2, 3): min sum alpha_i^2 c_i^2 on the simplex
    # gives alpha_i ~ 1 / c_i^2 = (36, 9, 4) / 49, a point of squared norm 36 / 49
    gram = np.diag([1.0, 4.0, 9.0])
    alpha = min_norm_coefficients(gram)
    np.testing.assert_allclose(alpha, np.array([36, 9, 4]) / 49, atol=1e-6)
    assert alpha @ gram @ alpha == pytest.approx(36 / 49, abs=1e-6)
    # g3 = (2, 2) lies beyond the segment g1 = (1, 0), g2 = (0, 1): the min-norm
    # point (.5, .5) is on a face, alpha = (.5, .5, 0) (reached with away steps)
    G = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
    np.testing.assert_allclose(min_norm_coefficients(G @ G.T), [0.5, 0.5, 0.0], atol=1e-6)


def test_mgda_identical_gradients_weigh_equally():
    losses, theta, heads = _linear_problem([[1, 2], [1, 2], [1, 2]])
    mgda = _setup(MGDA(), 3)
    applied = mgda.backward(losses, torch.ones(3, dtype=torch.bool), [theta], [heads])
    np.testing.assert_allclose(applied.numpy(), [1, 1, 1], rtol=1e-6)
    np.testing.assert_allclose(theta.grad.numpy(), [3, 6], rtol=1e-6)  # 3 * (1, 2)


def test_mgda_task_weights_scale_the_losses():
    # p = (2, 1) scales the losses: weighted gradients (2, 0), (0, 2) have the
    # min-norm point alpha = (.5, .5); raw weights 2 alpha p = (2, 1), direction
    # 2 g1 + g2 = (2, 2); the heads get the gradient of 2 L1 + L2.
    losses, theta, heads = _linear_problem([[1, 0], [0, 2]])
    mgda = _setup(MGDA(), 2, [2.0, 1.0])
    applied = mgda.backward(losses, torch.tensor([True, True]), [theta], [heads])
    np.testing.assert_allclose(applied.numpy(), [2.0, 1.0], rtol=1e-5)
    np.testing.assert_allclose(theta.grad.numpy(), [2.0, 2.0], rtol=1e-5)
    np.testing.assert_allclose(heads.grad.numpy(), [2.0, 1.0], rtol=1e-6)
    # a task of weight 0 leaves the solve: tasks 1, 3 alone give alpha = (0.8, 0.2)
    losses, theta, heads = _linear_problem([[1, 0], [5, 5], [0, 2]])
    mgda = _setup(MGDA(), 3, [1.0, 0.0, 1.0])
    applied = mgda.backward(losses, torch.ones(3, dtype=torch.bool), [theta], [heads])
    np.testing.assert_allclose(applied.numpy(), [1.6, 0.0, 0.4], rtol=1e-5)
    np.testing.assert_allclose(heads.grad.numpy(), [1.0, 0.0, 1.0], rtol=1e-6)


def test_mgda_solver_is_exact_on_an_ill_conditioned_face():
    # one gradient 100 times the others, the min-norm point on a face of the
    # simplex (three of six coefficients 0): the solver's point must be the one
    # found by enumerating every support S (the minimum of a^T G a on the
    # affine hull of S, kept when its coefficients are >= 0)
    G = np.array([[100.0, 20, 0, 0], [0, 1, 0, 0.1], [1, 1, 1, 0], [0.5, 0.2, 0, 1],
                  [0.9, 0.1, 0.1, 0.5], [0.2, 0.5, 0.3, 0.1]])
    gram = G @ G.T
    best = None
    for size in range(1, 7):
        for support in itertools.combinations(range(6), size):
            S = list(support)
            kkt = np.block([[gram[np.ix_(S, S)], np.ones((size, 1))],
                            [np.ones((1, size)), np.zeros((1, 1))]])
            solution = np.linalg.lstsq(kkt, np.r_[np.zeros(size), 1.0], rcond=None)[0]
            if solution[:size].min() >= -1e-12:
                point = np.zeros(6)
                point[S] = solution[:size]
                if best is None or point @ gram @ point < best @ gram @ best - 1e-15:
                    best = point
    alpha = min_norm_coefficients(gram)
    assert (alpha[:3] == 0).all() and alpha.min() >= 0
    np.testing.assert_allclose(alpha, best, atol=1e-9)
    # optimality: (G alpha)_t >= alpha^T G alpha, with equality on the support
    value, grad = alpha @ gram @ alpha, gram @ alpha
    assert value > 0.3 and grad.min() >= value * (1 - 1e-9)
    np.testing.assert_allclose(grad[alpha > 0], value, rtol=1e-9)


# ---------------------------------------------------------------------- IMTL-G
def test_imtlg_two_tasks_hand_numbers():
    # g1 = (1, 0), g2 = (0, 2): D = (1, -2), U = (1, -1), D U^T = 3, g1 U^T = 1
    # -> alpha = (2/3, 1/3), d = (2/3, 2/3): projections on u1 = (1, 0) and
    # u2 = (0, 1) are both 2/3
    losses, theta, heads = _linear_problem([[1, 0], [0, 2]])
    imtl = _setup(IMTLG(), 2)
    applied = imtl.backward(losses, torch.tensor([True, True]), [theta], [heads])
    # at the scale of static weighting: 2 alpha, and 2 d
    np.testing.assert_allclose(applied.numpy(), [4 / 3, 2 / 3], rtol=1e-5)
    np.testing.assert_allclose(theta.grad.numpy(), [4 / 3, 4 / 3], rtol=1e-5)
    np.testing.assert_allclose(heads.grad.numpy(), [1.0, 1.0], rtol=1e-6)
    # g1 = (2, 0), g2 = (3, 4): u2 = (.6, .8), D = (-1, -4), U = (.4, -.8),
    # D U^T = 2.8, g1 U^T = .8 -> alpha = (5/7, 2/7), d = (16/7, 8/7), and
    # d . u1 = 16/7 = .6 * 16/7 + .8 * 8/7 = d . u2
    grads = torch.tensor([[2.0, 0.0], [3.0, 4.0]], dtype=torch.float64)
    alpha = impartial_coefficients(grads @ grads.T)
    np.testing.assert_allclose(alpha.numpy(), [5 / 7, 2 / 7], rtol=1e-5)
    d = alpha @ grads
    np.testing.assert_allclose(d.numpy(), [16 / 7, 8 / 7], rtol=1e-5)
    units = grads / grads.norm(dim=1, keepdim=True)
    np.testing.assert_allclose((units @ d).numpy(), [16 / 7, 16 / 7], rtol=1e-5)


def test_imtlg_equal_projections_on_every_task():
    grads = torch.tensor([[1.0, 0.0, 0.5], [0.2, 3.0, 0.0], [-0.5, 0.4, 2.0]],
                         dtype=torch.float64)
    alpha = impartial_coefficients(grads @ grads.T)
    assert float(alpha.sum()) == pytest.approx(1.0)
    projections = (grads / grads.norm(dim=1, keepdim=True)) @ (alpha @ grads)
    np.testing.assert_allclose(projections.numpy(), projections[0].item(), rtol=1e-5)
    # parallel gradients make D U^T singular: the pseudo-inverse keeps it finite
    parallel = torch.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=torch.float64)
    alpha = impartial_coefficients(parallel @ parallel.T)
    assert torch.isfinite(alpha).all() and float(alpha.sum()) == pytest.approx(1.0)


def test_imtlg_task_weights_set_the_ratio_of_projections():
    # the preference p = (2, 1): d . u_1 = 2 d . u_2, and the heads get 2 L1 + L2
    losses, theta, heads = _linear_problem([[2, 0], [3, 4]])
    imtl = _setup(IMTLG(), 2, [2.0, 1.0])
    applied = imtl.backward(losses, torch.tensor([True, True]), [theta], [heads])
    d = theta.grad.double()
    grads = torch.tensor([[2.0, 0.0], [3.0, 4.0]], dtype=torch.float64)
    projections = (grads / grads.norm(dim=1, keepdim=True)) @ d
    assert float(projections[0] / projections[1]) == pytest.approx(2.0, rel=1e-5)
    assert float(applied.sum()) == pytest.approx(3.0, rel=1e-5)  # sum of the weights
    np.testing.assert_allclose(heads.grad.numpy(), [2.0, 1.0], rtol=1e-6)


# -------------------------------------------------------------------- GradNorm
def test_gradnorm_loss_hand_numbers():
    # G = w * ||grad|| = (.5 * 5, 1.5 * 10) = (2.5, 15), G_bar = 8.75;
    # r = (.2, .8) / .5 = (.4, 1.6), alpha = 2: target = 8.75 * (.16, 2.56) = (1.4, 22.4)
    # L_grad = |2.5 - 1.4| + |15 - 22.4| = 8.5; dL/dw = (+5, -10)
    w = torch.tensor([0.5, 1.5], requires_grad=True)
    loss = gradnorm_loss(w, torch.tensor([5.0, 10.0]), torch.tensor([0.2, 0.8]), alpha=2.0)
    assert loss.item() == pytest.approx(8.5, rel=1e-5)
    loss.backward()
    np.testing.assert_allclose(w.grad.numpy(), [5.0, -10.0], rtol=1e-6)


def test_gradnorm_backward_hand_numbers():
    W = torch.nn.Parameter(torch.ones(1, 2))
    grads = torch.tensor([[3.0, 4.0], [6.0, 8.0]])  # ||dL_t / dW|| = 5, 10

    def losses(offsets):
        return grads @ W[0] - torch.tensor(offsets)

    gradnorm = _setup(GradNorm(alpha=2.0), 2)
    # first batch: L(0) = (7, 14), r = (1, 1), G = (5, 10), target = G_bar = 7.5
    # -> w.grad = (sign(5 - 7.5) 5, sign(10 - 7.5) 10) = (-5, 10)
    applied = gradnorm.backward(losses([0, 0]), torch.tensor([True, True]), [W], [])
    np.testing.assert_allclose(gradnorm.loss_weights_.grad.numpy(), [-5.0, 10.0])
    np.testing.assert_allclose(gradnorm.initial_losses_.numpy(), [7.0, 14.0])
    np.testing.assert_allclose(applied.numpy(), [1.0, 1.0])
    # an optimizer step left w = (1, 3): renormalised to sum 2, w = (.5, 1.5);
    # L = (1.4, 11.2), L / L(0) = (.2, .8): the case of test_gradnorm_loss_hand_numbers
    with torch.no_grad():
        gradnorm.loss_weights_.copy_(torch.tensor([1.0, 3.0]))
    W.grad = None
    applied = gradnorm.backward(losses([5.6, 2.8]), torch.tensor([True, True]), [W], [])
    np.testing.assert_allclose(gradnorm.loss_weights_.detach().numpy(), [0.5, 1.5])
    np.testing.assert_allclose(gradnorm.loss_weights_.grad.numpy(), [5.0, -10.0], rtol=1e-5)
    np.testing.assert_allclose(applied.numpy(), [0.5, 1.5])
    # the network gets the gradient of sum_t w_t L_t: .5 (3, 4) + 1.5 (6, 8)
    np.testing.assert_allclose(W.grad.numpy(), [[10.5, 14.0]], rtol=1e-6)


def test_gradnorm_weights_stay_positive_and_sum_to_n_tasks():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    gradnorm = _setup(GradNorm(), 3)
    optimizer = torch.optim.SGD(list(net.parameters()) + gradnorm.parameters(), lr=0.5)
    X, targets = torch.randn(32, 3), torch.randn(32, 3) * torch.tensor([1.0, 5.0, 0.1])
    for _ in range(20):
        optimizer.zero_grad(set_to_none=True)
        losses = ((net(X) - targets) ** 2).mean(0)
        gradnorm.backward(losses, torch.ones(3, dtype=torch.bool), list(net[0].parameters()),
                          list(net[2].parameters()))
        optimizer.step()
    # the last step moved w; the next backward makes it positive, summing to 3
    gradnorm.backward(losses.detach().requires_grad_(), torch.zeros(3, dtype=torch.bool),
                      [], [])
    w = gradnorm.loss_weights_.detach()
    assert (w > 0).all() and float(w.sum()) == pytest.approx(3.0)


# --------------------------------------------------------- all: absent tasks, fit
STRATEGIES = [MGDA(), MGDA(normalization="l2"), MGDA(normalization="loss+"), IMTLG(),
              GradNorm()]


def _network_losses(present):
    torch.manual_seed(0)
    trunk, heads = torch.nn.Linear(3, 4), torch.nn.Linear(4, len(present))
    z = torch.tanh(trunk(torch.randn(16, 3)))
    squared = (heads(z) - 1) ** 2
    mask = torch.tensor(present, dtype=torch.float32)
    # like the per-task loss: exactly 0 and no gradient for an absent task
    losses = (squared * mask).mean(0)
    return losses, list(trunk.parameters()), list(heads.parameters())


@pytest.mark.parametrize("strategy", STRATEGIES, ids=repr)
@pytest.mark.parametrize(
    "present", [[True, False, True], [False, True, False], [False, False, False]]
)
def test_absent_tasks_get_weight_zero_and_finite_gradients(strategy, present):
    losses, shared, specific = _network_losses(present)
    strategy = _setup(clone(strategy), 3)
    weights = strategy.backward(losses, torch.tensor(present), shared, specific)
    assert torch.isfinite(weights).all()
    assert all(w == 0 for w, p in zip(weights.tolist(), present) if not p)
    assert weights.sum() > 0 or not any(present)
    for p in shared + specific + strategy.parameters():
        assert p.grad is None or torch.isfinite(p.grad).all()
    if isinstance(strategy, GradNorm):
        absent = ~torch.tensor(present)
        assert (strategy.initial_losses_[absent] == 0).all()
        if strategy.loss_weights_.grad is not None:
            assert (strategy.loss_weights_.grad[absent] == 0).all()


@pytest.mark.parametrize("strategy", [MGDA(), IMTLG(), GradNorm()], ids=repr)
def test_fit_with_missing_labels(strategy):
    X, Y = load_digits_multitask(as_frame=False)
    X, Y = X[:300] / 16.0, Y[:300].astype(float)
    Y[np.random.RandomState(0).rand(300) < 0.5, 1] = np.nan
    clf = MultiTaskClassifier(
        weighting=strategy, hidden_layer_sizes=(16,), max_iter=5, random_state=0
    ).fit(X, Y)
    assert all(np.isfinite(p).all() for p in clf.predict_proba(X))
    last = clf.history_[-1]
    weights = [last[f"weight[task_{t}]"] for t in range(Y.shape[1])]
    assert np.isfinite(weights).all() and min(weights) > 0
