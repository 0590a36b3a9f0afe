"""Grouping advice, the affinity plot, GroupedMultiTaskClassifier and planted groups."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import TINY
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from sklearn_mtl import GroupedMultiTaskClassifier, MultiTaskClassifier
from sklearn_mtl.datasets import make_multitask_classification
from sklearn_mtl.grouping import TaskGrouping, plot_task_affinity, suggest_task_groups
from sklearn_mtl.metrics import subset_accuracy
from sklearn_mtl.model_selection import compare_single_task

SMALL = dict(TINY, max_iter=3, batch_size=64, early_stopping=False)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


# ------------------------------------------------------------ the advice
def _partitions(items):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for partition in _partitions(rest):
        for k in range(len(partition)):
            yield partition[:k] + [[first] + partition[k]] + partition[k + 1:]
        yield [[first]] + partition


def _score(affinity, partition):
    total = 0.0
    for group in partition:
        for j in group:
            others = [i for i in group if i != j]
            if others:
                total += np.mean([affinity[i, j] for i in others])
    return total


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("max_groups", [None, 2])
def test_exact_search_finds_the_best_partition(seed, max_groups):
    rng = np.random.RandomState(seed)
    affinity = rng.normal(size=(6, 6))
    result = suggest_task_groups(affinity, max_groups=max_groups)
    allowed = [p for p in _partitions(list(range(6)))
               if max_groups is None or len(p) <= max_groups]
    best = max(_score(affinity, p) for p in allowed)
    assert result.method == "exact"
    assert result.score == pytest.approx(best)
    assert _score(affinity, result.groups) == pytest.approx(result.score)
    assert max_groups is None or result.n_groups <= max_groups
    assert sorted(t for g in result.groups for t in g) == list(range(6))
    np.testing.assert_allclose(result.group_scores.sum(), result.score)


def test_hand_computed_example_and_names():
    affinity = np.array([[0.0, 0.3, -0.2], [0.2, 0.0, -0.1], [-0.1, -0.3, 0.0]])
    result = suggest_task_groups(affinity, task_names=["a", "b", "c"])
    assert result.groups == [["a", "b"], ["c"]]
    np.testing.assert_allclose(result.task_scores, [0.2, 0.3, 0.0])
    np.testing.assert_allclose(result.group_scores, [0.5, 0.0])
    assert "[a, b]" in str(result)
    # forced into one group, all three pay for c: (0.05 + 0.0 - 0.15)
    assert suggest_task_groups(affinity, max_groups=1).score == pytest.approx(-0.1)


def test_negative_affinity_splits_and_scale_does_not_matter():
    affinity = -np.ones((4, 4))
    assert suggest_task_groups(affinity).groups == [[0], [1], [2], [3]]
    rng = np.random.RandomState(0)
    A = rng.normal(size=(7, 7))
    assert suggest_task_groups(A).groups == suggest_task_groups(1e-5 * A).groups


def test_ties_go_to_fewer_groups_and_diagonal_is_ignored():
    affinity = np.diag([5.0, -5.0, 1.0])  # no pair affinity at all
    assert suggest_task_groups(affinity).groups == [[0, 1, 2]]


def test_nan_pairs_count_as_no_evidence():
    affinity = np.array([[np.nan, 0.5, np.nan], [0.5, np.nan, -0.2], [np.nan, -0.2, 1.0]])
    assert suggest_task_groups(affinity).groups == [[0, 1], [2]]


def _blocks(sizes, seed, strength=1.0, noise=0.1):
    rng = np.random.RandomState(seed)
    n = sum(sizes)
    labels = np.repeat(np.arange(len(sizes)), sizes)
    perm = rng.permutation(n)
    labels = labels[perm]
    A = np.where(labels[:, None] == labels[None, :], strength, -0.2 * strength)
    A = A + noise * rng.normal(size=(n, n))
    truth = [sorted(np.flatnonzero(labels == g).tolist()) for g in range(len(sizes))]
    return A, sorted(truth)


@pytest.mark.parametrize("seed", range(3))
def test_heuristic_recovers_planted_blocks_above_exact_limit(seed):
    # groups of at most three: the mean-affinity objective cannot tell a
    # larger group from its split into smaller groups of equally related tasks
    A, truth = _blocks([3, 3, 3, 2, 2, 1, 1], seed)  # 15 tasks
    result = suggest_task_groups(A)
    assert result.method == "heuristic"
    assert sorted(result.groups) == truth
    capped = suggest_task_groups(A, max_groups=3)
    assert capped.n_groups <= 3


def test_heuristic_matches_exact_on_small_block_problems():
    from sklearn_mtl import grouping

    for seed in range(5):
        A, truth = _blocks([3, 3, 2], seed)
        exact = suggest_task_groups(A)
        labels = grouping._heuristic(grouping._check_affinity(A), 8)
        assert grouping._total(grouping._check_affinity(A), labels) == pytest.approx(
            exact.score)
        assert sorted(exact.groups) == truth


@pytest.mark.parametrize("bad, message", [
    (np.zeros((2, 3)), "square"),
    (np.zeros((0, 0)), "square"),
])
def test_advice_input_errors(bad, message):
    with pytest.raises(ValueError, match=message):
        suggest_task_groups(bad)


def test_advice_parameter_errors():
    with pytest.raises(ValueError, match="max_groups"):
        suggest_task_groups(np.zeros((3, 3)), max_groups=0)
    with pytest.raises(ValueError, match="task_names has 2 names"):
        suggest_task_groups(np.zeros((3, 3)), task_names=["a", "b"])


def test_plot_task_affinity_outlines_groups():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    affinity = np.array([[0.0, 0.3, -0.2], [0.2, 0.0, -0.1], [-0.1, -0.3, 0.0]])
    grouping = suggest_task_groups(affinity, task_names=["a", "b", "c"])
    ax = plot_task_affinity(grouping)
    rectangles = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(rectangles) == 2
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    shown = ax.images[0].get_array()
    assert np.ma.is_masked(shown[0, 0]) or np.isnan(shown[0, 0])  # diagonal left blank
    ax = plot_task_affinity(affinity, groups=[[2], [0, 1]], task_names=["a", "b", "c"])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["c", "a", "b"]
    plt.close("all")


# ------------------------------------------------------- planted groups
def test_planted_groups_relate_tasks_within_groups_only():
    X, Y = make_multitask_classification(
        3000, n_features=400, n_informative=1, n_tasks=4, task_groups=[[0, 2], [1, 3]],
        relatedness=1.0, noise=0.05, random_state=0)
    corr = np.abs(np.corrcoef(Y.T))
    assert corr[0, 2] > 0.9 and corr[1, 3] > 0.9
    assert corr[0, 1] < 0.2 and corr[2, 3] < 0.2 and corr[0, 3] < 0.2


def test_planted_groups_default_is_one_group():
    a = make_multitask_classification(50, n_tasks=3, random_state=1)
    b = make_multitask_classification(50, n_tasks=3, random_state=1, task_groups=[[0, 1, 2]])
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("groups, message", [
    ([[0, 1]], r"Task\(s\) \[2\] are in no group"),
    ([[0, 1], [1, 2]], "Task 1 is in task_groups"),
    ([[0, 1, 5]], "task indices run from 0 to 2"),
    ([[0, 1], []], "non-empty"),
    ("01", "list of lists"),
])
def test_planted_groups_errors(groups, message):
    with pytest.raises(ValueError, match=message):
        make_multitask_classification(20, n_tasks=3, task_groups=groups)


# ------------------------------------------------- the grouped estimator
@pytest.fixture(scope="module")
def problem():
    X, Y = make_multitask_classification(240, n_features=8, n_informative=4, n_tasks=4,
                                         n_classes=[2, 3, 2, 4], random_state=0)
    frame = pd.DataFrame(Y, columns=["w", "x", "y", "z"])
    frame["x"] = np.array(["a", "b", "c"])[Y[:, 1]]  # string labels in one task
    return X, frame


def test_grouped_predictions_follow_the_original_order(problem):
    X, Y = problem
    clf = GroupedMultiTaskClassifier(MultiTaskClassifier(**SMALL),
                                     task_groups=[["z", "w"], [1], ["y"]]).fit(X, Y)
    assert clf.task_groups_ == [["z", "w"], ["x"], ["y"]]
    assert list(clf.task_names_) == ["w", "x", "y", "z"] and clf.n_tasks_ == 4
    # each group's own model, fitted alone, predicts the same columns
    alone = MultiTaskClassifier(**SMALL).fit(X, Y[["z", "w"]])
    pred = clf.predict(X)
    assert pred.shape == (240, 4)
    np.testing.assert_array_equal(pred[:, [3, 0]], alone.predict(X))
    assert set(pred[:, 1]) <= {"a", "b", "c"}
    proba = clf.predict_proba(X)
    assert [p.shape[1] for p in proba] == [2, 3, 2, 4]
    np.testing.assert_allclose(proba[3], alone.predict_proba(X)[0])
    assert [list(c) for c in clf.classes_][1] == ["a", "b", "c"]
    log_proba = clf.predict_log_proba(X)
    np.testing.assert_allclose(np.exp(log_proba[0]), proba[0], rtol=1e-6)
    assert clf.score(X, Y) == pytest.approx(subset_accuracy(Y, pred))
    # a group of one is a single-task model on a one-column Y
    assert clf.estimators_[1].n_tasks_ == 1


def test_grouped_missing_labels_and_pickle(problem):
    X, Y = problem
    Y = Y.copy()
    Y.loc[::3, "w"] = np.nan
    Y.loc[1::4, "x"] = None
    clf = GroupedMultiTaskClassifier(MultiTaskClassifier(**SMALL),
                                     task_groups=[[0, 1], [2, 3]]).fit(X, Y)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    # subset accuracy over the labelled entries of each row
    Y_pred, labelled = clf.predict(X), Y.notna().to_numpy()
    right = (Y_pred.astype(object) == Y.to_numpy()) | ~labelled
    assert clf.score(X, Y) == pytest.approx(np.mean(right.all(axis=1)))


@pytest.mark.parametrize("groups, message", [
    ([[0, 1], [1, 2, 3]], "Task 'x' is in task_groups\\[0\\] and task_groups\\[1\\]"),
    ([[0, 1], [2]], r"Task\(s\) \['z'\] are in no group"),
    ([["w", "x"], ["y", "q"]], "unknown task 'q'"),
    ([[0, 1], [2, 7]], "task index 7"),
    ([[0, 1, 2, 3], []], "groups\\[1\\] is empty"),
    ([0, 1, 2, 3], "is not a list of tasks"),
])
def test_grouped_validates_groups(problem, groups, message):
    X, Y = problem
    clf = GroupedMultiTaskClassifier(MultiTaskClassifier(**SMALL), task_groups=groups)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, Y)


def _duplicated_tasks():
    X, Y = make_multitask_classification(400, n_features=20, n_informative=4, n_tasks=2,
                                         relatedness=0.0, random_state=0)
    return X, Y[:, [0, 1, 0, 1]]


def test_grouped_auto_measures_and_groups():
    X, Y = _duplicated_tasks()
    base = MultiTaskClassifier(hidden_layer_sizes=(32,), max_iter=8, random_state=0)
    clf = GroupedMultiTaskClassifier(base, affinity_every=1).fit(X, Y)
    assert clf.task_groups_ == [["task_0", "task_2"], ["task_1", "task_3"]]
    assert isinstance(clf.grouping_, TaskGrouping)
    assert clf.task_affinity_.shape == (4, 4)
    assert base.affinity_every is None  # the user's estimator is left alone
    capped = clone(clf).set_params(max_groups=1).fit(X, Y)
    assert capped.task_groups_ == [["task_0", "task_1", "task_2", "task_3"]]
    # one group of all tasks: the measuring fit is the model, equal to a plain fit
    plain = clone(base).fit(X, Y)
    np.testing.assert_array_equal(capped.predict_proba(X)[0], plain.predict_proba(X)[0])


def test_grouped_auto_needs_an_estimator_that_measures():
    from sklearn.linear_model import LogisticRegression
    from sklearn.multioutput import MultiOutputClassifier

    X, Y = _duplicated_tasks()
    clf = GroupedMultiTaskClassifier(MultiOutputClassifier(LogisticRegression()))
    with pytest.raises(TypeError, match="pass the groups explicitly"):
        clf.fit(X, Y)
    # explicit groups work with any multi-output classifier
    clf.set_params(task_groups=[[0, 2], [1, 3]]).fit(X, Y)
    assert clf.predict(X).shape == (400, 4)


def test_grouped_one_dimensional_y():
    X, Y = _duplicated_tasks()
    clf = GroupedMultiTaskClassifier(MultiTaskClassifier(**SMALL)).fit(X, Y[:, 0])
    assert clf.predict(X).shape == (400,)
    assert clf.predict_proba(X).shape == (400, 2)
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    assert clf.task_groups_ == [["y"]] and list(clf.task_names_) == ["y"]  # as MultiTaskClassifier


def test_grid_search_compares_groupings_on_the_same_folds():
    X, Y = _duplicated_tasks()
    search = GridSearchCV(
        GroupedMultiTaskClassifier(MultiTaskClassifier(**SMALL), affinity_every=1),
        {"task_groups": [[[0, 1, 2, 3]], [[0], [1], [2], [3]], "auto"]},
        cv=KFold(2, shuffle=True, random_state=0),
    ).fit(X, Y)
    assert len(search.cv_results_["params"]) == 3
    # each candidate is scored on the same folds as it would be alone
    folds = KFold(2, shuffle=True, random_state=0)
    alone = [
        cross_val_score(MultiTaskClassifier(**SMALL), X, Y, cv=folds),
        cross_val_score(GroupedMultiTaskClassifier(MultiTaskClassifier(**SMALL),
                                                   task_groups=[[0], [1], [2], [3]]),
                        X, Y, cv=folds),
    ]
    for candidate, scores in enumerate(alone):
        found = [search.cv_results_[f"split{k}_test_score"][candidate] for k in range(2)]
        np.testing.assert_allclose(found, scores)
    assert not np.allclose(alone[0], alone[1])  # the groupings are different models


def test_compare_single_task_accepts_grouped_on_either_side():
    X, Y = _duplicated_tasks()
    grouped = GroupedMultiTaskClassifier(MultiTaskClassifier(**SMALL),
                                         task_groups=[[0, 2], [1, 3]])
    result = compare_single_task(grouped, X[:200], Y[:200], cv=2)
    assert result.multitask_scores.shape == (2, 4)
    assert result.multitask_n_parameters == sum(
        e.n_parameters_ for e in clone(grouped).fit(X[:100], Y[:100]).estimators_)
    assert np.isfinite(result.single_task_scores).all()  # baseline: the inner model
    against = compare_single_task(MultiTaskClassifier(**SMALL), X[:200], Y[:200], cv=2,
                                  baseline=GroupedMultiTaskClassifier(
                                      MultiTaskClassifier(**SMALL)))
    assert np.isfinite(against.single_task_scores).all()


def test_the_old_name_of_task_groups_says_so():
    X, Y = _duplicated_tasks()
    with pytest.raises(TypeError, match=r"renamed `task_groups`.*task_groups=\[\[0\], \[1"):
        GroupedMultiTaskClassifier(groups=[[0], [1, 2, 3]]).fit(X, Y)
    clf = GroupedMultiTaskClassifier().set_params(groups=[[0], [1, 2, 3]])
    with pytest.raises(TypeError, match="renamed `task_groups`"):
        clf.fit(X, Y)


def test_advice_on_a_matrix_of_strings_names_the_affinity_matrix():
    with pytest.raises(ValueError, match="affinity must be a numeric .* not numbers"):
        suggest_task_groups([["a", "b"], ["c", "d"]])
    with pytest.raises(ValueError, match="affinity must be a numeric"):
        plot_task_affinity([["a", "b"], ["c", "d"]])


def test_no_measured_pair_keeps_one_group_and_says_so():
    # the documented rule: nothing to gain either way -> fewer groups; with no
    # measured pair at all, a warning that the advice rests on no evidence
    affinity = np.full((3, 3), np.nan)
    before = affinity.copy()
    with pytest.warns(UserWarning, match="no measured pair"):
        grouping = suggest_task_groups(affinity)
    assert grouping.groups == [[0, 1, 2]]
    np.testing.assert_array_equal(affinity, before)  # the caller's matrix untouched
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # zeros are measured evidence of no effect: the same advice, no warning
        assert suggest_task_groups(np.zeros((3, 3))).groups == [[0, 1, 2]]
        # a task with no affinity either way stays out of a group it would dilute
        partial = np.array([[0, 0.5, np.nan], [0.5, 0, np.nan], [np.nan, np.nan, 0]])
        assert suggest_task_groups(partial).groups == [[0, 1], [2]]


def test_grouped_auto_without_shared_layers_says_what_to_change():
    X, Y = _duplicated_tasks()
    clf = GroupedMultiTaskClassifier(MultiTaskClassifier(**dict(SMALL, hidden_layer_sizes=())))
    with pytest.raises(ValueError,
                       match=r"task_groups='auto' .* shares no trainable parameter") as info:
        clf.fit(X, Y)
    message = str(info.value)
    assert "affinity_every=" not in message  # a value the user never set
    assert "task_groups=[['task_0', 'task_1', 'task_2', 'task_3']]" in message
    # the groups it suggests work
    clf.set_params(task_groups=[["task_0", "task_1", "task_2", "task_3"]]).fit(X, Y)
    assert clf.predict(X).shape == (400, 4)
