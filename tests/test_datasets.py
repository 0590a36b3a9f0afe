"""The bundled and synthetic multi-task problems of ``sklearn_mtl.datasets``."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from sklearn_mtl.datasets import (
    DIGIT_TASKS,
    load_digits_multitask,
    make_multitask_classification,
)

# ------------------------------------------------------------------- digits


def test_digits_task_labels_follow_their_definitions():
    X, Y = load_digits_multitask(tasks=list(DIGIT_TASKS), as_frame=True)
    digit = Y["digit"].to_numpy()
    assert X.shape == (1797, 64)
    assert list(Y.columns) == ["digit", "parity", "ge5", "loops", "prime"]
    assert np.array_equal(Y["parity"], digit % 2)
    assert np.array_equal(Y["ge5"], (digit >= 5).astype(int))
    assert np.array_equal(Y["prime"], np.isin(digit, [2, 3, 5, 7]).astype(int))
    loops = {0: 1, 1: 0, 2: 0, 3: 0, 4: 1, 5: 0, 6: 1, 7: 0, 8: 2, 9: 1}
    assert np.array_equal(Y["loops"], [loops[d] for d in digit])
    # every task has every one of its labels
    assert sorted(set(digit)) == list(range(10))
    assert sorted(set(Y["loops"])) == [0, 1, 2]


def test_digits_as_array_keeps_the_task_order():
    _, frame = load_digits_multitask(tasks=("prime", "digit"), as_frame=True)
    X, Y = load_digits_multitask(tasks=("prime", "digit"), as_frame=False)
    assert Y.dtype == np.int64 and Y.shape == (1797, 2)
    assert np.array_equal(Y, frame.to_numpy())
    assert np.array_equal(Y[:, 0], np.isin(Y[:, 1], [2, 3, 5, 7]))


@pytest.mark.parametrize("tasks", [("digit", "colour"), ()])
def test_digits_unknown_or_no_task_is_an_error(tasks):
    with pytest.raises(ValueError, match="Unknown task"):
        load_digits_multitask(tasks=tasks)


# ---------------------------------------------------------------- synthetic


def test_shapes_and_dtypes():
    X, Y = make_multitask_classification(
        n_samples=300, n_features=7, n_tasks=5, n_informative=4, random_state=0
    )
    assert X.shape == (300, 7) and X.dtype == np.float64
    assert Y.shape == (300, 5) and Y.dtype == np.int64
    assert set(np.unique(Y)) == {0, 1}


def test_as_frame_names_the_tasks():
    X, Y = make_multitask_classification(n_samples=50, n_tasks=3, random_state=0, as_frame=True)
    _, Y_array = make_multitask_classification(n_samples=50, n_tasks=3, random_state=0)
    assert isinstance(X, np.ndarray)
    assert isinstance(Y, pd.DataFrame)
    assert list(Y.columns) == ["task_0", "task_1", "task_2"]
    assert np.array_equal(Y.to_numpy(), Y_array)


def test_same_seed_same_data_other_seed_other_data():
    first = make_multitask_classification(n_samples=200, random_state=3)
    second = make_multitask_classification(n_samples=200, random_state=np.random.RandomState(3))
    other = make_multitask_classification(n_samples=200, random_state=4)
    for a, b in zip(first, second):
        assert np.array_equal(a, b)
    assert not np.array_equal(first[0], other[0])
    assert not np.array_equal(first[1], other[1])


def test_tasks_do_not_depend_on_n_samples():
    X_small, Y_small = make_multitask_classification(n_samples=100, noise=0.0, random_state=0)
    X_big, Y_big = make_multitask_classification(n_samples=1000, noise=0.0, random_state=0)
    assert np.array_equal(X_small, X_big[:100])
    assert np.array_equal(Y_small, Y_big[:100])


def test_every_class_is_present_and_classes_are_balanced():
    n_classes = [2, 3, 5, 11]
    _, Y = make_multitask_classification(
        n_samples=4000, n_tasks=4, n_classes=n_classes, n_informative=10, random_state=0
    )
    for t, k in enumerate(n_classes):
        shares = np.bincount(Y[:, t], minlength=k) / len(Y)
        assert len(shares) == k, f"task {t} has labels outside 0..{k - 1}"
        # each class has probability exactly 1/k: only sampling noise remains
        np.testing.assert_allclose(shares, 1 / k, atol=0.035, err_msg=f"task {t}")


def test_noise_blurs_the_labels():
    def accuracy(noise):
        X, Y = make_multitask_classification(
            n_samples=2000, n_tasks=1, noise=noise, random_state=0
        )
        return LogisticRegression().fit(X[:1000], Y[:1000, 0]).score(X[1000:], Y[1000:, 0])

    assert accuracy(0.0) > 0.95
    assert accuracy(2.0) < 0.8


def _transfer_accuracy(relatedness, seed):
    """Accuracy on task 0 of a model that sees only the 3 directions the other
    tasks' linear models found most useful."""
    X, Y = make_multitask_classification(
        n_samples=2000, n_features=20, n_tasks=9, n_informative=3,
        relatedness=relatedness, random_state=seed,
    )
    train, test = slice(0, 1000), slice(1000, None)
    others = np.vstack(
        [LogisticRegression().fit(X[train], Y[train, t]).coef_ for t in range(1, 9)]
    )
    basis = np.linalg.svd(others, full_matrices=False)[2][:3].T  # (20, 3)
    model = LogisticRegression().fit(X[train] @ basis, Y[train, 0])
    return model.score(X[test] @ basis, Y[test, 0])


@pytest.mark.parametrize("seed", [0, 1])
def test_relatedness_decides_whether_other_tasks_features_serve_task_0(seed):
    # relatedness=1: the other tasks read the very directions task 0 reads;
    # relatedness=0: they read their own, and 3 of 20 directions carry little of task 0
    related = _transfer_accuracy(1.0, seed)
    unrelated = _transfer_accuracy(0.0, seed)
    partly = _transfer_accuracy(0.7, seed)
    assert related > 0.9
    assert unrelated < 0.75
    assert unrelated < partly < related


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(n_samples=0), "n_samples must be an integer >= 1; got 0"),
        (dict(n_features=2.5), "n_features must be an integer >= 1; got 2.5"),
        (dict(n_tasks=True), "n_tasks must be an integer >= 1; got True"),
        (dict(n_classes=1), "n_classes of task 0 must be an integer >= 2; got 1"),
        (dict(n_tasks=2, n_classes=[2, 3, 4]), "n_classes has 3 entries but n_tasks=2"),
        (dict(n_classes="2"), "n_classes must be an int or a sequence"),
        (dict(n_tasks=2, n_classes=[2, 1.5]), "n_classes of task 1 must be an integer"),
        (dict(n_informative=21), "n_informative=21 exceeds n_features=20"),
        (dict(n_informative=2, n_classes=4), "Task 0 has 4 classes, which need n_informative >= 3"),
        (dict(relatedness=1.5), r"relatedness must be a finite number in \[0.0, 1.0\]"),
        (dict(relatedness=np.nan), "relatedness must be a finite number"),
        (dict(noise=-0.1), "noise must be a finite number >= 0.0; got -0.1"),
    ],
)
def test_invalid_arguments_say_what_is_wrong(params, message):
    with pytest.raises(ValueError, match=message):
        make_multitask_classification(**params)
