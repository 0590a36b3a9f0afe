import pickle

import numpy as np
import pytest
import torch
from conftest import FAST
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold
from torch import nn

from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl.architectures import PLE, HardSharing, MMoE
from sklearn_mtl.modules import MMoEBlock, PLEBlock
from sklearn_mtl.trunks import ConvTrunk, TorchTrunk, resolve_input_shape


class TinyNet(nn.Module):
    """A user's own trunk: its constructor takes n_features and a width."""

    def __init__(self, n_features, width=16):
        super().__init__()
        self.layer = nn.Linear(n_features, width)

    def forward(self, x):
        return torch.relu(self.layer(x))


def tiny_cnn(input_shape, channels=4):
    """A factory receiving images (n, C, H, W); no out_features attribute."""
    return nn.Sequential(nn.Conv2d(input_shape[0], channels, 3, padding=1), nn.ReLU(),
                         nn.Flatten())


# One representative configuration per architecture and trunk.
CONFIGS = {
    "hard-heads": dict(head_hidden_layer_sizes=(16,)),
    "mmoe": dict(architecture=MMoE(n_experts=3, expert_hidden_layer_sizes=(32,)),
                 hidden_layer_sizes=()),
    "ple": dict(architecture=PLE(n_levels=2, expert_hidden_layer_sizes=(32,)),
                hidden_layer_sizes=()),
    "cgc": dict(architecture="cgc"),
    "conv": dict(trunk=ConvTrunk(channels=(8,)), hidden_layer_sizes=(32,)),
    "torch": dict(trunk=TorchTrunk(TinyNet, width=32), hidden_layer_sizes=()),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_configuration_learns_with_missing_labels_and_pickles(name, digits):
    X, Y, X_test, Y_test = digits
    Y = Y.astype(float)
    Y[::3, 1] = np.nan
    clf = MultiTaskClassifier(**{**FAST, **CONFIGS[name]}).fit(X, Y)
    pred = clf.predict(X_test)
    assert pred.shape == Y_test.shape and pred.dtype.kind == "i"
    assert [p.shape[1] for p in clf.predict_proba(X_test)] == [10, 2, 2, 3]
    assert np.all((pred == Y_test).mean(axis=0) > 0.75)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X_test)[0], clf.predict_proba(X_test)[0])
    Z = clf.embed(X_test)
    assert Z.shape[0] == len(X_test) and Z.dtype == np.float32


def test_mmoe_gates_are_distributions_over_experts():
    torch.manual_seed(0)
    block = MMoEBlock(in_features=6, n_tasks=3, n_experts=4, expert_hidden=(5,))
    z = torch.randn(10, 6)
    gates = block.gate_weights(z)
    assert len(gates) == 3
    for g in gates:
        assert g.shape == (10, 4)
        assert torch.all(g >= 0)
        torch.testing.assert_close(g.sum(1), torch.ones(10))
    # each task's output is its gate's mixture of the expert outputs
    experts = torch.stack([e(z) for e in block.experts], dim=1)
    for g, out in zip(gates, block(z)):
        torch.testing.assert_close(out, (g.unsqueeze(-1) * experts).sum(1))


def test_ple_gates_mix_own_and_shared_experts():
    torch.manual_seed(0)
    block = PLEBlock(in_features=6, n_tasks=2, n_levels=2, n_shared_experts=2,
                     n_task_experts=1, expert_hidden=(5,))
    z = torch.randn(7, 6)
    outputs = block(z)
    assert [o.shape for o in outputs] == [(7, 5), (7, 5)]
    gates = block.gate_weights(z)
    assert [g.shape for g in gates] == [(7, 3), (7, 3)]  # 1 own + 2 shared experts
    for g in gates:
        torch.testing.assert_close(g.sum(1), torch.ones(7))
    # the last level has no shared gate: nothing feeds a further level
    assert block.levels[0].shared_gate is not None and block.levels[1].shared_gate is None


def test_custom_module_round_trips_through_clone_and_grid_search(digits):
    X, Y, _, _ = digits
    clf = MultiTaskClassifier(**{**FAST, "max_iter": 3, "hidden_layer_sizes": ()},
                              trunk=TorchTrunk(TinyNet, width=8))
    params = clf.get_params()
    assert params["trunk__width"] == 8 and params["trunk__module"] is TinyNet
    copy = clone(clf)
    assert copy.trunk is not clf.trunk
    assert copy.trunk.get_params() == {"module": TinyNet, "width": 8}
    search = GridSearchCV(
        clf,
        {"trunk__width": [4, 12], "architecture": [HardSharing(), MMoE(n_experts=2)]},
        cv=KFold(2),
    ).fit(X[:300], Y[:300])
    assert search.best_params_["trunk__width"] in (4, 12)
    best = search.best_estimator_
    assert best.trunk.module_params["width"] == search.best_params_["trunk__width"]
    layer = best.net_.module_.trunk.extractor.module.layer
    assert layer.out_features == best.trunk.module_params["width"]
    assert clf.trunk.module_params == {"width": 8}  # the search cloned, never mutated


def test_nested_architecture_parameters_are_grid_searchable(digits):
    X, Y, _, _ = digits
    clf = MultiTaskClassifier(**{**FAST, "max_iter": 2}, architecture=MMoE(n_experts=2))
    clf.set_params(architecture__n_experts=5)
    clf.fit(X[:200], Y[:200])
    assert len(clf.net_.module_.block.experts) == 5


def test_factory_trunk_receives_images(digits):
    X, Y, X_test, _ = digits
    clf = MultiTaskClassifier(**{**FAST, "max_iter": 3},
                              trunk=TorchTrunk(tiny_cnn, channels=3), input_shape=(1, 8, -1))
    clf.fit(X, Y)
    assert clf.embed(X_test).shape == (len(X_test), 64)  # 64 hidden units after 3*8*8
    assert clf.net_.module_.trunk.extractor.out_features == 3 * 8 * 8


def test_embedding_feeds_another_estimator(digits):
    X, Y, X_test, Y_test = digits
    clf = MultiTaskClassifier(**FAST).fit(X, Y[:, 1:])  # never sees the digit itself
    logistic = LogisticRegression(max_iter=1000).fit(clf.embed(X), Y[:, 0])
    assert logistic.score(clf.embed(X_test), Y_test[:, 0]) > 0.8


def test_input_shape_resolution_and_errors():
    assert resolve_input_shape((1, -1, 8), 64) == (1, 8, 8)
    assert resolve_input_shape((3, 4, 4), 48) == (3, 4, 4)
    with pytest.raises(ValueError, match="not a multiple of 8"):
        resolve_input_shape((1, -1, 8), 60)
    with pytest.raises(ValueError, match="at most one -1"):
        resolve_input_shape((-1, -1, 8), 64)
    with pytest.raises(ValueError, match="holds 48 values but X has 64"):
        resolve_input_shape((3, 4, 4), 64)
    X = np.random.RandomState(0).normal(size=(20, 10))
    with pytest.raises(ValueError, match="10 features, which is not a square image"):
        MultiTaskClassifier(trunk="conv", max_iter=1).fit(X, np.arange(20) % 2)


@pytest.mark.parametrize(
    "architecture, message",
    [
        (MMoE(n_experts=0), "n_experts must be an integer >= 1"),
        (MMoE(expert_hidden_layer_sizes=()), "expert_hidden_layer_sizes must be a non-empty"),
        (PLE(n_shared_experts=0, n_task_experts=0), "must be at least 1"),
        (PLE(n_levels=0), "n_levels must be an integer >= 1"),
    ],
)
def test_bad_architecture_sizes(architecture, message):
    X = np.random.RandomState(0).normal(size=(20, 4))
    with pytest.raises(ValueError, match=message):
        MultiTaskClassifier(architecture=architecture, max_iter=1).fit(X, np.arange(20) % 2)


def test_warm_start_refuses_a_changed_architecture(digits):
    X, Y, _, _ = digits
    clf = MultiTaskClassifier(**{**FAST, "max_iter": 1}, architecture=MMoE(n_experts=2),
                              warm_start=True).fit(X[:100], Y[:100])
    clf.set_params(architecture__n_experts=3)
    with pytest.raises(ValueError, match=r"cannot change \['architecture'\]"):
        clf.fit(X[:100], Y[:100])
