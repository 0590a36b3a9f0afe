"""Task affinity during fit (TAG look-ahead steps, Fifty et al., 2021)."""

import copy
import pickle

import numpy as np
import pytest
import torch
from conftest import TINY

from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl._affinity import lookahead_affinity
from sklearn_mtl._random import rng_state, set_rng_state
from sklearn_mtl.datasets import make_multitask_classification
from sklearn_mtl.grouping import suggest_task_groups

MEASURED = dict(TINY, hidden_layer_sizes=(32,), max_iter=4, batch_size=64, early_stopping=False)


def test_lookahead_affinity_matches_hand_computation():
    # theta = 1, L_0 = theta^2, L_1 = (theta - 3)^2, lr = 0.1
    theta = torch.nn.Parameter(torch.tensor(1.0))

    def losses_at(value):
        return torch.stack([value**2, (value - 3) ** 2])

    losses = losses_at(theta)
    Z = lookahead_affinity(losses, torch.tensor([True, True]), [theta], [0.1],
                           lambda values: losses_at(values[0]))
    # step on L_0: grad 2 -> theta 0.8: L_0 0.64 (from 1), L_1 4.84 (from 4)
    # step on L_1: grad -4 -> theta 1.4: L_0 1.96 (from 1), L_1 2.56 (from 4)
    expected = np.array([[1 - 0.64 / 1, 1 - 4.84 / 4],
                         [1 - 1.96 / 1, 1 - 2.56 / 4]])
    np.testing.assert_allclose(Z.numpy(), expected, rtol=1e-6)
    assert theta.item() == 1.0 and theta.grad is None


def test_lookahead_affinity_skips_absent_tasks():
    theta = torch.nn.Parameter(torch.tensor(1.0))

    def losses_at(value):
        # task 1 has no labelled row: loss exactly 0, no gradient
        return torch.stack([value**2, value * 0.0, (value - 3) ** 2])

    Z = lookahead_affinity(losses_at(theta), torch.tensor([True, False, True]), [theta],
                           [0.1], lambda values: losses_at(values[0])).numpy()
    assert np.isnan(Z[1]).all() and np.isnan(Z[:, 1]).all()
    np.testing.assert_allclose(Z[0, 2], 1 - 4.84 / 4, rtol=1e-6)


def _batch(net, X, Y):
    Xb = torch.from_numpy(X.astype(np.float32))
    codes = torch.from_numpy(Y.astype(np.int64))
    return Xb, (codes, None)


@pytest.mark.parametrize("options", [dict(dropout=0.3), dict(batch_norm=True, ensemble_size=1)])
def test_net_affinity_equals_explicit_lookahead_steps(options):
    """The functional look-ahead equals stepping a copy of the network by hand,
    and leaves parameters, buffers and the RNG as the step found them."""
    X, Y = make_multitask_classification(200, n_features=8, n_informative=4, n_tasks=3,
                                         random_state=0)
    clf = MultiTaskClassifier(**{**MEASURED, **options}).fit(X, Y)
    net = clf.net_
    for group in net.optimizer_.param_groups:
        group["lr"] = 0.3  # a large step: affinities far above float32 noise
    net._class_weights_dev = None
    net._shared, net._specific = net._split_parameters()
    net._set_training(True)
    Xb, yb = _batch(net, X[:64], Y[:64])
    start = rng_state("cpu")
    losses, denominators = net.get_task_losses(net.infer(Xb), yb, training=True)
    after_forward = rng_state("cpu")
    before_state = copy.deepcopy(net.module_.state_dict())
    Z = net.task_affinity(Xb, yb, losses, denominators > 0, start).numpy()
    assert torch.equal(torch.get_rng_state(), after_forward[0])
    for name, value in net.module_.state_dict().items():
        assert torch.equal(value, before_state[name]), name

    expected = np.empty((3, 3))
    for i in range(3):
        module = copy.deepcopy(net.module_)
        shared = [p for p in module.shared_parameters() if p.requires_grad]
        set_rng_state(start, "cpu")
        own = net.get_task_losses(module(Xb), yb, training=True)[0]
        grads = torch.autograd.grad(own[i], shared)
        with torch.no_grad():
            for p, g in zip(shared, grads):
                p -= 0.3 * g
            set_rng_state(start, "cpu")
            stepped = net.get_task_losses(module(Xb), yb, training=True)[0]
        expected[i] = 1 - (stepped / own.detach()).numpy()
    np.testing.assert_allclose(Z, expected, rtol=1e-4, atol=1e-6)
    assert np.abs(expected).max() > 1e-3


def test_measuring_affinity_does_not_change_training():
    X, Y = make_multitask_classification(300, n_features=8, n_informative=4, n_tasks=3,
                                         random_state=0)
    options = dict(MEASURED, dropout=0.2, batch_norm=True, max_iter=3)
    plain = MultiTaskClassifier(**options).fit(X, Y)
    torch_state = torch.get_rng_state()
    measured = MultiTaskClassifier(**options, affinity_every=1).fit(X, Y)
    assert torch.equal(torch.get_rng_state(), torch_state)
    for a, b in zip(plain.predict_proba(X), measured.predict_proba(X)):
        np.testing.assert_array_equal(a, b)
    assert plain.history_[:, "train_loss"] == measured.history_[:, "train_loss"]
    assert not hasattr(plain, "task_affinity_")


def test_affinity_attributes_and_history():
    X, Y = make_multitask_classification(300, n_features=8, n_informative=4, n_tasks=3,
                                         random_state=0)
    clf = MultiTaskClassifier(**MEASURED, affinity_every=2).fit(X, Y)
    A = clf.task_affinity_
    assert A.shape == (3, 3) and np.isfinite(A).all()
    per_epoch = np.array(clf.history_[:, "task_affinity"])
    assert per_epoch.shape == (clf.n_iter_, 3, 3)
    # 5 batches per epoch, measured every 2 steps over 4 epochs: steps 0, 2, ..., 18
    counts = dict(clf.net_.callbacks_)["affinity_probe"].count_
    assert (counts == 10).all()
    # the fitted matrix is the mean over steps: here equal counts per epoch (3, 2, 3, 2)
    weights = np.array([3, 2, 3, 2])[:, None, None]
    np.testing.assert_allclose(A, (per_epoch * weights).sum(0) / 10, rtol=1e-10)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.task_affinity_, A)


def test_affinity_every_auto_scales_with_tasks():
    X, Y = make_multitask_classification(120, n_features=8, n_informative=4, n_tasks=4,
                                         random_state=0)
    clf = MultiTaskClassifier(**MEASURED, affinity_every="auto").fit(X, Y)
    assert dict(clf.net_.callbacks_)["affinity_probe"].every == 3 * 4
    assert clf.task_affinity_.shape == (4, 4)


def test_missing_labels_skip_pairs_never_labelled_together():
    X, Y = make_multitask_classification(128, n_features=8, n_informative=4, n_tasks=3,
                                         random_state=0)
    Y = Y.astype(float)
    Y[64:, 1] = np.nan  # task 1 labelled only in the first 64 rows
    Y[:64, 2] = np.nan  # task 2 only in the last 64
    clf = MultiTaskClassifier(**MEASURED, affinity_every=1, shuffle=False).fit(X, Y)
    A = clf.task_affinity_
    assert np.isnan(A[1, 2]) and np.isnan(A[2, 1])
    assert np.isfinite(A[0, 1]) and np.isfinite(A[2, 0])


def test_duplicated_tasks_have_the_highest_affinity():
    """Two copies of each of two unrelated tasks: each copy is the other's
    strongest helper, and the advice pairs them."""
    X, Y = make_multitask_classification(400, n_features=20, n_informative=4, n_tasks=2,
                                         relatedness=0.0, random_state=0)
    Y = Y[:, [0, 1, 0, 1]]
    clf = MultiTaskClassifier(hidden_layer_sizes=(32,), max_iter=8, random_state=0,
                              affinity_every=1).fit(X, Y)
    A = clf.task_affinity_.copy()
    np.fill_diagonal(A, -np.inf)
    assert list(A.argmax(axis=0)) == [2, 3, 0, 1]
    assert suggest_task_groups(clf.task_affinity_).groups == [[0, 2], [1, 3]]


def test_no_shared_parameters_is_a_clear_error():
    X, Y = make_multitask_classification(60, n_features=5, n_informative=3, n_tasks=2,
                                         random_state=0)
    clf = MultiTaskClassifier(hidden_layer_sizes=(), ensemble_size=1, max_iter=2,
                              affinity_every=1)
    with pytest.raises(ValueError, match="affinity_every=1.*no trainable shared"):
        clf.fit(X, Y)


def test_affinity_every_is_validated():
    X, Y = make_multitask_classification(60, n_features=5, n_informative=3, n_tasks=2,
                                         random_state=0)
    with pytest.raises(ValueError, match="affinity_every"):
        MultiTaskClassifier(affinity_every=0).fit(X, Y)
