import pickle
from numbers import Integral

import numpy as np
import pytest
import torch
from conftest import FAST, TINY
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    validate_parameter_constraints,
)
from torch import nn

from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl._build import resolve_trunk
from sklearn_mtl.architectures import ARCHITECTURES, PLE, BaseArchitecture, HardSharing, MMoE
from sklearn_mtl.modules import LinearHeads, MMoEBlock, PLEBlock, TaskHeads
from sklearn_mtl.modules._mlp import ACTIVATIONS
from sklearn_mtl.trunks import TRUNKS, ConvTrunk, TorchTrunk, resolve_input_shape


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




def _tiny_problem(n_features=4):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, n_features))
    return X, np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(int)


@pytest.mark.parametrize(
    "params, owner, parameter",
    [
        (dict(architecture=MMoE(n_experts=0)), "MMoE", "n_experts"),
        (dict(architecture=MMoE(n_experts=2.5)), "MMoE", "n_experts"),
        (dict(architecture=MMoE(expert_hidden_layer_sizes=())), "MMoE",
         "expert_hidden_layer_sizes"),
        (dict(architecture=MMoE(expert_hidden_layer_sizes=(8, 0))), "MMoE",
         "expert_hidden_layer_sizes"),
        (dict(architecture=MMoE(dropout=1.5)), "MMoE", "dropout"),
        (dict(architecture=PLE(n_levels=0)), "PLE", "n_levels"),
        (dict(architecture=PLE(n_task_experts=-1)), "PLE", "n_task_experts"),
        (dict(architecture=PLE(expert_hidden_layer_sizes="64")), "PLE",
         "expert_hidden_layer_sizes"),
        (dict(architecture=PLE(dropout=1.5)), "PLE", "dropout"),
        (dict(trunk=ConvTrunk(channels=(4, 0)), input_shape=(1, 2, 2)), "ConvTrunk", "channels"),
        (dict(trunk=ConvTrunk(kernel_size=0), input_shape=(1, 2, 2)), "ConvTrunk",
         "kernel_size"),
        (dict(trunk=ConvTrunk(batch_norm="yes"), input_shape=(1, 2, 2)), "ConvTrunk",
         "batch_norm"),
        (dict(trunk=TorchTrunk(3)), "TorchTrunk", "module"),
        (dict(trunk=TorchTrunk(nn.Linear(4, 4))), "TorchTrunk", "module"),
    ],
)
def test_invalid_architecture_or_trunk_parameter_names_it(params, owner, parameter):
    # validated by the bases' build(), from each class's _parameter_constraints
    X, Y = _tiny_problem()
    with pytest.raises(InvalidParameterError,
                       match=rf"The '{parameter}' parameter of {owner} must be"):
        MultiTaskClassifier(**{**TINY, **params}).fit(X, Y)


def test_ple_needs_an_expert_per_gate():
    X, Y = _tiny_problem()
    with pytest.raises(InvalidParameterError,
                       match=r"PLE: n_shared_experts \+ n_task_experts must be at least 1"):
        MultiTaskClassifier(**TINY, architecture=PLE(n_shared_experts=0, n_task_experts=0)
                            ).fit(X, Y)


def _registered():
    objects = {f"architecture {name}": factory() for name, factory in ARCHITECTURES.items()}
    objects.update({f"trunk {name}": cls() for name, cls in TRUNKS.items()})
    return objects


@pytest.mark.parametrize("name, obj", list(_registered().items()))
def test_every_registered_object_constrains_every_parameter(name, obj):
    assert set(obj._parameter_constraints) == set(obj.get_params())
    # the defaults satisfy them
    validate_parameter_constraints(obj._parameter_constraints, obj.get_params(),
                                   type(obj).__name__)


@pytest.mark.parametrize("architecture", [MMoE(n_experts=2, expert_hidden_layer_sizes=(8, 8)),
                                          PLE(n_levels=2, expert_hidden_layer_sizes=(8,))])
def test_experts_use_the_estimators_activation(architecture):
    X, Y = _tiny_problem()
    clf = MultiTaskClassifier(**TINY, architecture=architecture, activation="tanh").fit(X, Y)
    block = clf.net_.module_.block
    kinds = {type(m) for m in block.modules()}
    assert nn.Tanh in kinds and nn.ReLU not in kinds


def test_trunk_names_are_the_registry(monkeypatch):
    X, Y = _tiny_problem(n_features=4)
    for name, cls in TRUNKS.items():
        assert type(resolve_trunk(name)) is cls
        MultiTaskClassifier(**TINY, trunk=name).fit(X, Y)  # the estimator accepts each name
    with pytest.raises(InvalidParameterError, match="The 'trunk' parameter") as error:
        MultiTaskClassifier(**TINY, trunk="resnet").fit(X, Y)
    assert all(repr(name) in str(error.value) for name in TRUNKS)
    # the estimator looks names up in the registry, not in a list of its own
    monkeypatch.setitem(TRUNKS, "tiny", lambda: TorchTrunk(TinyNet, width=3))
    assert resolve_trunk("tiny").get_params()["width"] == 3


class SeparateHeads(HardSharing):
    """Hard sharing that keeps one head module per task."""

    def build_heads(self, in_features, n_classes, **context):
        return TaskHeads(in_features, n_classes)


@pytest.mark.parametrize(
    "architecture, head_hidden_layer_sizes, heads",
    [(HardSharing(), (), LinearHeads), (HardSharing(), (4,), TaskHeads),
     (MMoE(n_experts=2), (), TaskHeads), (SeparateHeads(), (), TaskHeads)],
)
def test_the_architecture_makes_its_heads(architecture, head_hidden_layer_sizes, heads):
    X, Y = _tiny_problem()
    clf = MultiTaskClassifier(**TINY, architecture=architecture,
                              head_hidden_layer_sizes=head_hidden_layer_sizes).fit(X, Y)
    assert type(clf.net_.module_.heads) is heads


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_every_block_names_its_shared_parameters(name):
    block = ARCHITECTURES[name]().build(6, 3, activation="relu")
    shared = list(block.shared_parameters())
    assert {id(p) for p in shared} <= {id(p) for p in block.parameters()}
    if name == "hard":
        assert shared == []
    else:  # experts are shared, and each task's gate is its own
        gates = block.gates if name == "mmoe" else block.levels[-1].task_gates
        assert shared and not {id(p) for p in gates.parameters()} & {id(p) for p in shared}


# ---------------------------------------------------------- a user's own architecture
class ResidualBlock(nn.Module):
    """Each task adds its own low-rank correction to a shared projection."""

    def __init__(self, in_features, n_tasks, width, activation):
        super().__init__()
        self.shared = nn.Sequential(nn.Linear(in_features, width), ACTIVATIONS[activation]())
        self.own = nn.ModuleList(nn.Linear(in_features, width) for _ in range(n_tasks))
        self.out_features = width

    def shared_parameters(self):
        return self.shared.parameters()

    def forward(self, z):
        base = self.shared(z)
        return [base + own(z) for own in self.own]


class Residual(BaseArchitecture):
    _parameter_constraints = {"width": [Interval(Integral, 1, None, closed="left")]}

    def __init__(self, width=8):
        self.width = width

    def _build(self, in_features, n_tasks, *, activation):
        return ResidualBlock(in_features, n_tasks, self.width, activation)


def test_a_custom_architecture_fits_clones_validates_and_searches(digits):
    X, Y, X_test, _ = digits
    X, Y = X[:300], Y[:300]
    clf = MultiTaskClassifier(**{**TINY, "hidden_layer_sizes": (16,)},
                              architecture=Residual(width=6), weighting="pcgrad").fit(X, Y)
    block = clf.net_.module_.block
    assert isinstance(block, ResidualBlock) and block.out_features == 6
    assert [p.shape[1] for p in clf.predict_proba(X_test)] == [10, 2, 2, 3]
    assert type(clf.net_.module_.heads) is TaskHeads
    shared = {id(p) for p in clf.net_.module_.shared_parameters()}
    assert {id(p) for p in block.shared.parameters()} <= shared
    assert not {id(p) for p in block.own.parameters()} & shared

    copy = clone(clf)
    assert copy.architecture is not clf.architecture
    assert copy.get_params()["architecture__width"] == 6
    copy.set_params(architecture__width=3).fit(X, Y)
    assert copy.net_.module_.block.out_features == 3 and clf.architecture.width == 6

    with pytest.raises(InvalidParameterError, match="The 'width' parameter of Residual"):
        clone(clf).set_params(architecture__width=0).fit(X, Y)

    search = GridSearchCV(clf, {"architecture__width": [2, 4]}, cv=KFold(2)).fit(X, Y)
    assert search.best_params_["architecture__width"] in (2, 4)
    best = search.best_estimator_
    assert best.net_.module_.block.out_features == best.architecture.width


class NoSharedParameters(BaseArchitecture):
    """A block that forgets to say which of its parameters are shared."""

    def _build(self, in_features, n_tasks, *, activation):
        block = ResidualBlock(in_features, n_tasks, 4, activation)
        block.shared_parameters = None
        return block


def test_a_block_without_shared_parameters_is_a_clear_error_at_fit():
    X, Y = _tiny_problem()
    with pytest.raises(TypeError, match=r"NoSharedParameters._build returned a ResidualBlock, "
                                        r"which has no shared_parameters\(\) method"):
        MultiTaskClassifier(**TINY, architecture=NoSharedParameters()).fit(X, Y)


def test_warm_start_refuses_a_changed_architecture(digits):
    X, Y, _, _ = digits
    clf = MultiTaskClassifier(**{**FAST, "max_iter": 1}, architecture=MMoE(n_experts=2),
                              warm_start=True).fit(X[:100], Y[:100])
    clf.set_params(architecture__n_experts=3)
    with pytest.raises(ValueError, match=r"cannot change \['architecture'\]"):
        clf.fit(X[:100], Y[:100])


def test_every_registry_maps_names_to_classes():
    from sklearn_mtl.architectures import ARCHITECTURES, CGC, PLE
    from sklearn_mtl.embeddings import EMBEDDINGS
    from sklearn_mtl.weighting import WEIGHTINGS

    for registry in (ARCHITECTURES, TRUNKS, EMBEDDINGS, WEIGHTINGS):
        assert all(isinstance(value, type) for value in registry.values())
    # "cgc" is PLE with one level: the same network
    torch.manual_seed(0)
    a = CGC(n_shared_experts=1).build(6, 3, activation="relu")
    torch.manual_seed(0)
    b = PLE(n_levels=1, n_shared_experts=1).build(6, 3, activation="relu")
    x = torch.randn(4, 6)
    torch.testing.assert_close(a(x), b(x))
