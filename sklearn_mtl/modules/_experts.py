"""Architecture blocks: hard sharing, and mixtures of experts with per-task gates.

A block maps a shared representation ``z`` of shape ``(n, d)`` to one
representation per task (a list of ``(n, out_features)`` tensors) and says,
through ``shared_parameters()``, which of its parameters every task depends on
(see :meth:`sklearn_mtl.architectures.BaseArchitecture.build`).
"""

import torch
from torch import nn

from ._mlp import MLPTrunk


class HardSharingBlock(nn.Module):
    """Every task reads the shared representation as it is."""

    def __init__(self, in_features, n_tasks):
        super().__init__()
        self.n_tasks = n_tasks
        self.out_features = in_features

    def shared_parameters(self):
        """None: the block owns no parameter (the trunk's are shared)."""
        return []

    def forward(self, z):
        return [z] * self.n_tasks


def _experts(n, in_features, hidden, activation, dropout):
    return nn.ModuleList(
        MLPTrunk(in_features, hidden, activation=activation, dropout=dropout) for _ in range(n)
    )


def _mix(gate_logits, expert_outputs):
    """Softmax-gated sum of expert outputs: (n, E) x (n, E, d) -> (n, d)."""
    weights = torch.softmax(gate_logits, dim=1)
    return torch.bmm(weights.unsqueeze(1), expert_outputs).squeeze(1)


class MMoEBlock(nn.Module):
    """Multi-gate mixture of experts (Ma et al., 2018).

    ``f_k(z) = sum_i g_k(z)_i * e_i(z)`` with shared experts ``e_i`` (MLPs) and
    one gate per task ``g_k(z) = softmax(W_k z)``.

    Parameters
    ----------
    in_features : int
    n_tasks : int
    n_experts : int
    expert_hidden : sequence of int
        Hidden layers of each expert; its last size is the output width.
    activation : str
    dropout : float
    """

    def __init__(self, in_features, n_tasks, n_experts, expert_hidden, activation="relu",
                 dropout=0.0):
        super().__init__()
        self.experts = _experts(n_experts, in_features, expert_hidden, activation, dropout)
        self.gates = nn.ModuleList(nn.Linear(in_features, n_experts) for _ in range(n_tasks))
        self.out_features = self.experts[0].out_features

    def shared_parameters(self):
        """The experts' parameters (the gates are each task's own)."""
        return self.experts.parameters()

    def gate_weights(self, z):
        """Each task's mixture weights over the experts: list of ``(n, n_experts)``."""
        return [torch.softmax(gate(z), dim=1) for gate in self.gates]

    def forward(self, z):
        outputs = torch.stack([expert(z) for expert in self.experts], dim=1)
        return [_mix(gate(z), outputs) for gate in self.gates]


class _ExtractionLevel(nn.Module):
    """One extraction layer of PLE, a customized gate control (CGC) unit.

    Task ``k`` mixes its own experts and the shared experts with its gate; the
    shared path (all but the last level) mixes every expert with a shared gate.
    """

    def __init__(self, in_features, n_tasks, n_shared, n_specific, hidden, activation,
                 dropout, last):
        super().__init__()
        self.n_tasks = n_tasks
        self.shared = _experts(n_shared, in_features, hidden, activation, dropout)
        self.specific = nn.ModuleList(
            _experts(n_specific, in_features, hidden, activation, dropout)
            for _ in range(n_tasks)
        )
        self.task_gates = nn.ModuleList(
            nn.Linear(in_features, n_specific + n_shared) for _ in range(n_tasks)
        )
        self.shared_gate = (
            None if last else nn.Linear(in_features, n_tasks * n_specific + n_shared)
        )
        self.out_features = hidden[-1] if len(hidden) else in_features

    def forward(self, task_inputs, shared_input):
        shared_out = [e(shared_input) for e in self.shared]
        specific_out = [[e(x) for e in experts] for experts, x in zip(self.specific, task_inputs)]
        task_outputs = [
            _mix(gate(x), torch.stack(own + shared_out, dim=1))
            for gate, x, own in zip(self.task_gates, task_inputs, specific_out)
        ]
        if self.shared_gate is None:
            return task_outputs, None
        everything = [e for own in specific_out for e in own] + shared_out
        shared_next = _mix(self.shared_gate(shared_input), torch.stack(everything, dim=1))
        return task_outputs, shared_next


class PLEBlock(nn.Module):
    """Progressive layered extraction (Tang et al., 2020); one level is CGC.

    At level ``j`` task ``k`` computes
    ``g_k^j = softmax(W_k^j g_k^{j-1}) . [E_k^j(g_k^{j-1}), E_s^j(g_s^{j-1})]`` and
    the shared path ``g_s^j = softmax(W_s^j g_s^{j-1}) . [all experts of level j]``,
    with ``g_k^0 = g_s^0 = z``.

    Parameters
    ----------
    in_features : int
    n_tasks : int
    n_levels : int
    n_shared_experts, n_task_experts : int
    expert_hidden : sequence of int
    activation : str
    dropout : float
    """

    def __init__(self, in_features, n_tasks, n_levels, n_shared_experts, n_task_experts,
                 expert_hidden, activation="relu", dropout=0.0):
        super().__init__()
        levels = []
        width = in_features
        for j in range(n_levels):
            level = _ExtractionLevel(
                width, n_tasks, n_shared_experts, n_task_experts, expert_hidden, activation,
                dropout, last=j == n_levels - 1,
            )
            levels.append(level)
            width = level.out_features
        self.levels = nn.ModuleList(levels)
        self.n_tasks = n_tasks
        self.out_features = width

    def shared_parameters(self):
        """The shared experts and shared gates of every level."""
        for level in self.levels:
            yield from level.shared.parameters()
            if level.shared_gate is not None:
                yield from level.shared_gate.parameters()

    def gate_weights(self, z):
        """Each task's mixture weights at the last level: list of ``(n, n_experts)``."""
        task_inputs, shared = [z] * self.n_tasks, z
        for level in self.levels[:-1]:
            task_inputs, shared = level(task_inputs, shared)
        return [
            torch.softmax(gate(x), dim=1)
            for gate, x in zip(self.levels[-1].task_gates, task_inputs)
        ]

    def forward(self, z):
        task_inputs, shared = [z] * self.n_tasks, z
        for level in self.levels:
            task_inputs, shared = level(task_inputs, shared)
        return task_inputs
