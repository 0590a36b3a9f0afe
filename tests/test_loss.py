import math

import torch

from sklearn_mtl._loss import task_losses


def _ce(logits, target):
    return -(logits[target] - math.log(sum(math.exp(v) for v in logits)))


def test_masked_weighted_mean_per_task_by_hand():
    # task 0: 2 classes, task 1: 3 classes
    logits = torch.tensor(
        [[1.0, 0.0, 0.5, 0.0, -1.0], [0.0, 2.0, 0.0, 1.0, 0.0], [0.3, 0.3, 2.0, 0.0, 0.0]],
        requires_grad=True,
    )
    codes = torch.tensor([[0, 2], [1, -1], [-1, 0]])
    sample_weight = torch.tensor([1.0, 2.0, 3.0])
    class_weights = [torch.tensor([1.0, 4.0]), None]
    losses, denominators = task_losses(logits, codes, [2, 3], class_weights, sample_weight)

    # task 0: rows 0 (class 0, w=1*1) and 1 (class 1, w=2*4); row 2 missing
    l00 = _ce([1.0, 0.0], 0)
    l01 = _ce([0.0, 2.0], 1)
    expected0 = (1 * l00 + 8 * l01) / 9
    # task 1: rows 0 (class 2, w=1) and 2 (class 0, w=3); row 1 missing
    l10 = _ce([0.5, 0.0, -1.0], 2)
    l12 = _ce([2.0, 0.0, 0.0], 0)
    expected1 = (1 * l10 + 3 * l12) / 4
    assert torch.allclose(losses, torch.tensor([expected0, expected1]), atol=1e-6)
    assert denominators.tolist() == [9.0, 4.0]

    # a missing label sends no gradient into its task's logits
    losses.sum().backward()
    assert torch.all(logits.grad[2, :2] == 0)
    assert torch.all(logits.grad[1, 2:] == 0)


def test_task_without_labels_in_batch_is_zero_without_gradient():
    logits = torch.randn(4, 5, requires_grad=True)
    codes = torch.tensor([[0, -1], [1, -1], [1, -1], [0, -1]])
    losses, denominators = task_losses(logits, codes, [2, 3])
    assert losses[1].item() == 0.0
    assert denominators[1].item() == 0.0
    assert torch.isfinite(losses).all()
    losses[1].backward()
    assert torch.all(logits.grad == 0)


def test_single_class_task_has_zero_loss():
    logits = torch.randn(3, 3)
    codes = torch.tensor([[0, 1], [0, 0], [0, 1]])
    losses, _ = task_losses(logits, codes, [1, 2])
    assert losses[0].item() == 0.0


def _reference(logits, codes, split_sizes, class_weights, sample_weight):
    """One task at a time, straight from the definition."""
    losses, denominators = [], []
    for t, chunk in enumerate(torch.split(logits, split_sizes, dim=1)):
        rows = codes[:, t] >= 0
        y = codes[rows, t]
        w = sample_weight[rows]
        if class_weights[t] is not None:
            w = w * class_weights[t][y]
        nll = torch.nn.functional.cross_entropy(chunk[rows], y, reduction="none")
        denominators.append(w.sum())
        losses.append((w * nll).sum() / w.sum() if w.sum() > 0 else torch.tensor(0.0))
    return torch.stack(losses), torch.stack(denominators)


def test_grouped_tasks_match_the_one_task_at_a_time_definition():
    # tasks 0 and 2 have 2 classes (non-adjacent columns), task 1 has 3, task 3 has 2
    torch.manual_seed(0)
    sizes = [2, 3, 2, 2]
    logits = torch.randn(50, sum(sizes), requires_grad=True)
    codes = torch.stack([torch.randint(0, k, (50,)) for k in sizes], dim=1)
    codes[torch.rand(50, 4) < 0.3] = -1
    codes[:, 3] = -1  # a task absent from the batch
    class_weights = [torch.tensor([1.0, 3.0]), None, torch.tensor([0.5, 2.0]), None]
    sample_weight = torch.rand(50) + 0.1
    losses, denominators = task_losses(logits, codes, sizes, class_weights, sample_weight)
    expected, expected_den = _reference(logits, codes, sizes, class_weights, sample_weight)
    torch.testing.assert_close(losses, expected)
    torch.testing.assert_close(denominators, expected_den)
    (grad,) = torch.autograd.grad(losses.sum(), logits)
    (expected_grad,) = torch.autograd.grad(expected.sum(), logits)
    torch.testing.assert_close(grad, expected_grad)
