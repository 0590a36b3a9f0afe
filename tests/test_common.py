"""scikit-learn's common estimator checks over every public configuration:
the default network and one representative configuration of each
architecture and trunk."""

import torch
from conftest import CHECKS
from sklearn.utils.estimator_checks import parametrize_with_checks
from torch import nn

from sklearn_mtl import GroupedMultiTaskClassifier, MultiTaskClassifier
from sklearn_mtl.architectures import PLE, MMoE
from sklearn_mtl.embeddings import PeriodicEmbedding
from sklearn_mtl.trunks import ConvTrunk, TorchTrunk


class Bottleneck(nn.Module):
    """A user-defined trunk, as a TorchTrunk would wrap it."""

    def __init__(self, n_features, width=16):
        super().__init__()
        self.linear = nn.Linear(n_features, width)

    def forward(self, x):
        return torch.tanh(self.linear(x))


ESTIMATORS = [
    MultiTaskClassifier(**CHECKS),
    MultiTaskClassifier(**{**CHECKS, "hidden_layer_sizes": ()},
                        architecture=MMoE(n_experts=3, expert_hidden_layer_sizes=(32,))),
    MultiTaskClassifier(**{**CHECKS, "hidden_layer_sizes": ()},
                        architecture=PLE(n_levels=2, expert_hidden_layer_sizes=(32,))),
    MultiTaskClassifier(**CHECKS, head_hidden_layer_sizes=(16,)),
    # numerical embeddings and the linear path (with the default ensemble)
    MultiTaskClassifier(**CHECKS, numerical_embedding="piecewise_linear", linear_path=True),
    MultiTaskClassifier(**CHECKS, numerical_embedding=PeriodicEmbedding(n_frequencies=4)),
    # common-check data has 2 to 10 features: read each row as a 1 x n image
    MultiTaskClassifier(**CHECKS, trunk=ConvTrunk(channels=(8,)), input_shape=(1, 1, -1)),
    MultiTaskClassifier(**CHECKS, trunk=TorchTrunk(Bottleneck, width=32)),
    # groups="auto": multi-output checks measure affinity and fit one network per group
    GroupedMultiTaskClassifier(MultiTaskClassifier(**CHECKS), affinity_every=1),
]

# Every expected failure, with its reason, in one place. They hold for every
# configuration above: no check fails for one architecture or trunk only.
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": (
        "stochastic mini-batch training: a weight of 2 and a repeated row give "
        "the same expected gradient, not the same batches (scikit-learn runs "
        "this check on MLPClassifier only with lbfgs)"
    ),
    "check_sample_weight_equivalence_on_sparse_data": (
        "stochastic mini-batch training, as for dense data"
    ),
}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    torch.set_num_threads(1)
    check(estimator)
