"""Per-task metrics and scorers, checked against hand-computed values."""

import math

import numpy as np
import pandas as pd
import pytest
from conftest import TINY
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, classification_report, f1_score, roc_auc_score
from sklearn.metrics import log_loss as sk_log_loss
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, cross_validate
from sklearn.multioutput import ClassifierChain, MultiOutputClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl.datasets import load_digits_multitask
from sklearn_mtl.metrics import (
    classification_report_per_task,
    hamming_loss,
    make_task_scorer,
    mean_task_accuracy,
    subset_accuracy,
    task_scores,
    task_scoring,
)

TRAINED = dict(TINY, max_iter=10)
TASKS = ["digit", "parity", "ge5", "loops"]


# ------------------------------------------------------------------ hand data
@pytest.fixture
def mixed():
    """Three tasks, each with its own kind of missing label, and row 5 all missing.

    Known rows and verdicts (v right, x wrong):
      a (float, NaN):      rows 0 1 3 4 -> v v x v  accuracy 3/4
      b (object, None):    rows 0 2 3 4 -> v v x x  accuracy 1/2
      c (Int64, pd.NA):    rows 0 1 2 4 -> v x x x  accuracy 1/4
    Rows all right: only row 0 of the 5 rows with a known label.
    """
    Y_true = pd.DataFrame(
        {
            "a": [0, 1, np.nan, 1, 0, np.nan],
            "b": ["x", None, "y", "y", "x", None],
            "c": pd.array([1, 2, 2, pd.NA, 1, pd.NA], dtype="Int64"),
        }
    )
    Y_pred = np.array(
        [
            [0, "x", 1],
            [1, "x", 1],
            [1, "y", 1],
            [0, "x", 2],
            [0, "y", 2],
            [0, "x", 1],
        ],
        dtype=object,
    )
    return Y_true, Y_pred


WEIGHTS = np.arange(1.0, 7.0)  # rows weigh 1, 2, ..., 6


def test_task_scores_accuracy_leaves_out_each_kind_of_missing_label(mixed):
    Y_true, Y_pred = mixed
    np.testing.assert_allclose(task_scores(Y_true, Y_pred), [3 / 4, 1 / 2, 1 / 4])
    # the same with predictions as a DataFrame and truth as an object array
    Y_pred_frame = pd.DataFrame(Y_pred, columns=["a", "b", "c"])
    np.testing.assert_allclose(
        task_scores(Y_true.astype(object).to_numpy(), Y_pred_frame), [3 / 4, 1 / 2, 1 / 4]
    )
    # weighted: a right on rows 0 1 4 (1+2+5 of 1+2+4+5), b on 0 2 (1+3 of 1+3+4+5),
    # c on 0 (1 of 1+2+3+5)
    np.testing.assert_allclose(
        task_scores(Y_true, Y_pred, sample_weight=WEIGHTS), [8 / 12, 4 / 13, 1 / 11]
    )


def test_mean_subset_and_hamming_by_hand(mixed):
    Y_true, Y_pred = mixed
    assert mean_task_accuracy(Y_true, Y_pred) == pytest.approx(1 / 2)
    assert mean_task_accuracy(Y_true, Y_pred, sample_weight=WEIGHTS) == pytest.approx(
        (8 / 12 + 4 / 13 + 1 / 11) / 3
    )
    # row 5 has no known label and is left out (counted, it would make 2/6)
    assert subset_accuracy(Y_true, Y_pred) == pytest.approx(1 / 5)
    assert subset_accuracy(Y_true, Y_pred, sample_weight=WEIGHTS) == pytest.approx(1 / 15)
    # wrong: a row 3; b rows 3, 4; c rows 1, 2, 4 -> 6 of 12 known entries
    assert hamming_loss(Y_true, Y_pred) == pytest.approx(1 / 2)
    # known-entry weights 12 + 13 + 11 = 36; wrong ones 4 + (4+5) + (2+3+5) = 23
    assert hamming_loss(Y_true, Y_pred, sample_weight=WEIGHTS) == pytest.approx(23 / 36)


def test_task_without_known_label_is_nan_and_left_out_of_the_mean():
    Y_true = np.array([[0, np.nan], [1, np.nan], [1, np.nan]])
    Y_pred = np.array([[0, 1], [0, 1], [1, 1]])
    scores = task_scores(Y_true, Y_pred)
    assert scores[0] == pytest.approx(2 / 3)
    assert np.isnan(scores[1])
    assert mean_task_accuracy(Y_true, Y_pred) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="no known label"):
        mean_task_accuracy(Y_true[:, 1:], Y_pred[:, 1:])
    with pytest.raises(ValueError, match="no known label"):
        subset_accuracy(Y_true[:, 1:], Y_pred[:, 1:])


def test_bool_and_float_labels_compare_by_value():
    # 1.0 (a float column because of NaN) equals the integer prediction 1
    Y_true = np.array([[1.0, True], [np.nan, False], [0.0, True]], dtype=object)
    Y_pred = np.array([[1, True], [0, True], [1, True]], dtype=object)
    np.testing.assert_allclose(task_scores(Y_true, Y_pred), [1 / 2, 2 / 3])
    assert subset_accuracy(Y_true, Y_pred) == pytest.approx(1 / 3)


# The binary task: known pairs (true, pred) give TN=1, FP=2, TP=4, FN=1; rows 1 and 6 are
# missing and predicted 0. The letter task: known rows 0 1 2 3 5 (true a b c a b, predicted
# a b b c b); the missing rows are predicted a, c, c, a, a.
BINARY_TRUE = [0, np.nan, 0, 0, 1, 1, np.nan, 1, 1, 1]
BINARY_PRED = [0, 0, 1, 1, 1, 1, 0, 1, 1, 0]
LETTER_TRUE = ["a", "b", "c", "a", None, "b", None, None, None, None]
LETTER_PRED = ["a", "b", "b", "c", "a", "b", "c", "c", "a", "a"]

# metric: (binary task, letter task)
HAND_SCORES = {
    "accuracy": (5 / 8, 3 / 5),
    # recall per class: binary 1/3 and 4/5; letters a 1/2, b 1, c 0
    "balanced_accuracy": (17 / 30, 1 / 2),
    "recall_macro": (17 / 30, 1 / 2),
    # precision per class: binary 1/2 and 4/6; letters a 1, b 2/3, c 0
    "precision_macro": (7 / 12, 5 / 9),
    # f1 per class: binary 2/5 and 8/11; letters a 2/3, b 4/5, c 0
    "f1_macro": (31 / 55, 22 / 45),
    "f1_micro": (5 / 8, 3 / 5),
    "f1_weighted": ((3 * 2 / 5 + 5 * 8 / 11) / 8, (2 * 2 / 3 + 2 * 4 / 5) / 5),
    # (TP*TN - FP*FN) / sqrt(...) = 2 / sqrt(6*5*3*2); multiclass (3*5 - 9) / sqrt(14*16)
    "matthews_corrcoef": (2 / math.sqrt(180), 6 / math.sqrt(14 * 16)),
    # (p_o - p_e) / (1 - p_e): (5/8 - 9/16) / (7/16); (3/5 - 9/25) / (16/25)
    "cohen_kappa": (1 / 7, 3 / 8),
}

BINARY_ONLY = {"f1": 8 / 11, "precision": 2 / 3, "recall": 4 / 5}


def _two_tasks(letter_missing):
    letters = LETTER_TRUE
    if letter_missing is pd.NA:
        letters = pd.array([pd.NA if v is None else v for v in letters], dtype="string")
    Y_true = pd.DataFrame({"bit": BINARY_TRUE, "letter": letters})
    Y_pred = pd.DataFrame({"bit": BINARY_PRED, "letter": LETTER_PRED})
    return Y_true, Y_pred


@pytest.mark.parametrize("letter_missing", [None, pd.NA], ids=["None", "pd.NA"])
@pytest.mark.parametrize("metric", sorted(HAND_SCORES))
def test_label_metrics_by_hand(metric, letter_missing):
    Y_true, Y_pred = _two_tasks(letter_missing)
    np.testing.assert_allclose(task_scores(Y_true, Y_pred, metric=metric), HAND_SCORES[metric])


@pytest.mark.parametrize("metric", sorted(BINARY_ONLY))
def test_binary_metrics_by_hand(metric):
    Y_true, Y_pred = _two_tasks(None)
    scores = task_scores(Y_true[["bit"]], Y_pred[["bit"]].to_numpy(), metric=metric)
    np.testing.assert_allclose(scores, [BINARY_ONLY[metric]])
    # a 1-D y is one task; string labels need their positive label
    y_str = np.where(np.isnan(BINARY_TRUE), None, np.where(Y_true["bit"] == 1, "on", "off"))
    pred_str = np.where(np.asarray(BINARY_PRED) == 1, "on", "off")
    scores = task_scores(y_str, pred_str, metric=metric, pos_label="on")
    np.testing.assert_allclose(scores, [BINARY_ONLY[metric]])


def test_callable_metric_gets_the_known_rows():
    Y_true, Y_pred = _two_tasks(None)
    np.testing.assert_allclose(
        task_scores(Y_true, Y_pred, metric=f1_score, average="macro"), HAND_SCORES["f1_macro"]
    )
    counts = task_scores(Y_true, Y_pred, metric=lambda y_true, y_pred: len(y_true))
    np.testing.assert_array_equal(counts, [8, 5])


# ------------------------------------------------------- probability metrics
@pytest.fixture
def probas():
    """Two tasks as predict_proba of a multi-output classifier returns them.

    bit:    rows 0 1 3 4 known (0 1 1 0); positive scores 0.6, 0.25 vs negative 0.2, 0.3
            -> 3 of 4 pairs ordered: AUC 3/4.
    letter: rows 0-3 known (a b c a). One-vs-rest AUC: a 3/4 ({0.6, 0.4} vs {0.5, 0.2}),
            b 2/3 (0.35 vs 0.3, 0.3, 0.4), c 1 (0.5 vs 0.1, 0.15, 0.2) -> macro 29/36.
    Row 2 of bit and row 4 of letter are missing, with probabilities that would change both.
    """
    Y_true = pd.DataFrame({"bit": [0, 1, np.nan, 1, 0], "letter": ["a", "b", "c", "a", None]})
    proba = [
        np.array([[0.8, 0.2], [0.4, 0.6], [0.1, 0.9], [0.75, 0.25], [0.7, 0.3]]),
        np.array(
            [
                [0.6, 0.3, 0.1],
                [0.5, 0.35, 0.15],
                [0.2, 0.3, 0.5],
                [0.4, 0.4, 0.2],
                [0.05, 0.9, 0.05],
            ]
        ),
    ]
    classes = [np.array([0, 1]), np.array(["a", "b", "c"])]
    return Y_true, proba, classes


def test_log_loss_and_roc_auc_on_per_task_probabilities(probas):
    Y_true, proba, classes = probas
    expected_loss = [
        -(math.log(0.8) + math.log(0.6) + math.log(0.25) + math.log(0.7)) / 4,
        -(math.log(0.6) + math.log(0.35) + math.log(0.5) + math.log(0.4)) / 4,
    ]
    np.testing.assert_allclose(
        task_scores(Y_true, proba, metric="log_loss", classes=classes), expected_loss
    )
    np.testing.assert_allclose(
        task_scores(Y_true, proba, metric="roc_auc", classes=classes), [3 / 4, 29 / 36]
    )
    # without classes, the sorted labels of Y_true name the columns when they all appear
    np.testing.assert_allclose(task_scores(Y_true, proba, metric="log_loss"), expected_loss)


def test_log_loss_uses_classes_when_a_label_is_absent(probas):
    Y_true, proba, classes = probas
    Y_true = Y_true.assign(letter=["a", "a", "c", "a", None])  # no "b"
    expected = -(math.log(0.6) + math.log(0.5) + math.log(0.5) + math.log(0.4)) / 4
    scores = task_scores(Y_true, proba, metric="log_loss", classes=classes)
    assert scores[1] == pytest.approx(expected)
    with pytest.raises(ValueError, match="pass classes=estimator.classes_"):
        task_scores(Y_true, proba, metric="log_loss")


def test_roc_auc_positive_class_is_the_second_of_classes():
    y = np.array(["yes", "no", "yes", "no", None], dtype=object)
    proba = np.array([[0.4, 0.6], [0.8, 0.2], [0.75, 0.25], [0.7, 0.3], [0.0, 1.0]])
    # one task as a single-output classifier gives it: 1-D y and one 2-D array
    # positives {0.6, 0.25} vs negatives {0.2, 0.3}: 3 of 4 pairs ordered
    scores = task_scores(y, proba, metric="roc_auc", classes=[np.array(["no", "yes"])])
    np.testing.assert_allclose(scores, [3 / 4])


def test_positive_class_probabilities_as_classifier_chain_returns_them():
    Y_true = np.array([[1, 0], [0, 0], [np.nan, 1], [1, np.nan], [0, 1]])
    P = np.array([[0.9, 0.2], [0.3, 0.6], [0.5, 0.8], [0.6, 0.1], [0.7, 0.65]])
    # task 0: positives {0.9, 0.6} vs negatives {0.3, 0.7} -> 3/4
    # task 1: positives {0.8, 0.65} vs negatives {0.2, 0.6} -> 1
    np.testing.assert_allclose(task_scores(Y_true, P, metric="roc_auc"), [3 / 4, 1.0])
    expected_loss = [
        -(math.log(0.9) + math.log(0.7) + math.log(0.6) + math.log(0.3)) / 4,
        -(math.log(0.8) + math.log(0.4) + math.log(0.8) + math.log(0.65)) / 4,
    ]
    np.testing.assert_allclose(task_scores(Y_true, P, metric="log_loss"), expected_loss)
    classes = [np.array([0, 1]), np.array([0, 1])]
    np.testing.assert_allclose(
        task_scores(Y_true, P, metric="log_loss", classes=classes), expected_loss
    )


def test_callable_metric_gets_each_tasks_probabilities(probas):
    Y_true, proba, _ = probas
    shapes = task_scores(Y_true, proba, metric=lambda y, p: p.shape[0] * 10 + p.shape[1])
    np.testing.assert_array_equal(shapes, [42, 43])


# ----------------------------------------------------------------- estimator
def _digits(n=300):
    X, Y = load_digits_multitask(as_frame=False)
    return X[:n] / 16.0, Y[:n]


def _with_missing(Y, seed=0):
    rng = np.random.RandomState(seed)
    Y = Y.astype(float)
    Y[rng.rand(*Y.shape) < 0.25] = np.nan
    Y[:5] = np.nan  # rows with no known label at all
    return Y


def test_subset_accuracy_equals_multitask_score_with_missing_labels():
    X, Y = _digits()
    Y = _with_missing(Y)
    clf = MultiTaskClassifier(**TRAINED).fit(X[100:], Y[100:])
    X_test, Y_test = X[:100], Y[:100]
    Y_pred = clf.predict(X_test)
    expected = clf.score(X_test, Y_test)
    assert 0 < expected < 1
    assert subset_accuracy(Y_test, Y_pred) == pytest.approx(expected)
    weights = np.linspace(0.5, 2, 100)
    assert subset_accuracy(Y_test, Y_pred, sample_weight=weights) == pytest.approx(
        clf.score(X_test, Y_test, sample_weight=weights)
    )
    frame = pd.DataFrame(Y_test, columns=TASKS).astype("Int64")  # pd.NA
    assert subset_accuracy(frame, Y_pred) == pytest.approx(expected)
    # and per task, the accuracy on the known rows
    for t in range(4):
        known = ~np.isnan(Y_test[:, t])
        assert task_scores(Y_test, Y_pred)[t] == pytest.approx(
            np.mean(Y_pred[known, t] == Y_test[known, t])
        )


def _peer(name):
    if name == "MultiTaskClassifier":
        return MultiTaskClassifier(**TRAINED), {"hidden_layer_sizes": [(8,), (16,)]}
    if name == "MultiOutputClassifier":
        return MultiOutputClassifier(LogisticRegression()), {"estimator__C": [0.01, 1.0]}
    if name == "RandomForestClassifier":
        return RandomForestClassifier(n_estimators=10, random_state=0), {"max_depth": [1, None]}
    if name == "KNeighborsClassifier":
        return KNeighborsClassifier(), {"n_neighbors": [1, 15]}
    return ClassifierChain(LogisticRegression()), {"estimator__C": [0.01, 1.0]}


PEERS = [
    "MultiTaskClassifier",
    "MultiOutputClassifier",
    "RandomForestClassifier",
    "KNeighborsClassifier",
    "ClassifierChain",
]


def _peer_data(name):
    X, Y = _digits()
    if name == "ClassifierChain":
        return X, Y[:, [1, 2]], ["parity", "ge5"]  # binary tasks only
    if name == "MultiTaskClassifier":
        return X, _with_missing(Y), TASKS
    return X, Y, TASKS


@pytest.mark.parametrize("name", PEERS)
def test_scorers_in_cross_validate_match_scikit_learn_metrics(name):
    X, Y, tasks = _peer_data(name)
    estimator, _ = _peer(name)
    scoring = {
        **task_scoring(tasks),
        "neg_log_loss": make_task_scorer("log_loss"),
        "auc_parity": make_task_scorer("roc_auc", task=tasks.index("parity")),
        "worst": make_task_scorer("accuracy", aggregate="min"),
    }
    cv = KFold(3, shuffle=True, random_state=0)
    result = cross_validate(
        estimator, X, Y, cv=cv, scoring=scoring, return_estimator=True, return_indices=True
    )
    for fold, (fitted, test) in enumerate(zip(result["estimator"], result["indices"]["test"])):
        Y_test, Y_pred = Y[test], fitted.predict(X[test])
        proba = fitted.predict_proba(X[test])
        accuracies, losses = [], []
        for t, task in enumerate(tasks):
            known = ~np.isnan(Y_test[:, t].astype(float))
            y_true = Y_test[known, t].astype(int)
            accuracies.append(accuracy_score(y_true, Y_pred[known, t].astype(int)))
            if name == "ClassifierChain":  # (n, n_tasks) positive-class probabilities
                p = proba[known, t]
                losses.append(sk_log_loss(y_true, p, labels=[0, 1]))
            else:
                p = proba[t][known]
                losses.append(sk_log_loss(y_true, p, labels=fitted.classes_[t]))
            if task == "parity":
                auc = roc_auc_score(y_true, p if p.ndim == 1 else p[:, 1])
            assert result[f"test_accuracy_{task}"][fold] == pytest.approx(accuracies[-1])
        assert result["test_mean"][fold] == pytest.approx(np.mean(accuracies))
        assert result["test_worst"][fold] == pytest.approx(np.min(accuracies))
        assert result["test_neg_log_loss"][fold] == pytest.approx(-np.mean(losses))
        assert result["test_auc_parity"][fold] == pytest.approx(auc)
    assert np.all(result["test_neg_log_loss"] < 0)


@pytest.mark.parametrize("name", PEERS)
def test_scorers_in_grid_search_refit_on_the_mean(name):
    X, Y, tasks = _peer_data(name)
    estimator, grid = _peer(name)
    scoring = {**task_scoring(tasks), "neg_log_loss": make_task_scorer("log_loss")}
    # an explicit KFold: with an int, check_cv runs type_of_target, which rejects NaN in Y
    cv = KFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(estimator, grid, scoring=scoring, refit="mean", cv=cv).fit(X, Y)
    results = search.cv_results_
    per_task = np.mean([results[f"mean_test_accuracy_{t}"] for t in tasks], axis=0)
    np.testing.assert_allclose(results["mean_test_mean"], per_task)
    assert search.best_index_ == np.argmax(results["mean_test_mean"])
    assert search.best_score_ == pytest.approx(results["mean_test_mean"].max())
    assert np.all(results["mean_test_neg_log_loss"] < 0)
    assert hasattr(search.best_estimator_, "predict")


# ---------------------------------------------------------- naming the task
def test_task_by_name_from_dataframe_columns_equals_task_by_index():
    X, Y = _digits()
    frame = pd.DataFrame(Y, columns=TASKS)
    estimator = MultiOutputClassifier(LogisticRegression())
    by_name = cross_val_score(estimator, X, frame, cv=3, scoring=make_task_scorer(task="ge5"))
    by_index = cross_val_score(estimator, X, Y, cv=3, scoring=make_task_scorer(task=2))
    np.testing.assert_allclose(by_name, by_index)
    by_last = cross_val_score(estimator, X, Y, cv=3, scoring=make_task_scorer(task=-2))
    np.testing.assert_allclose(by_last, by_index)
    assert not np.allclose(
        by_index, cross_val_score(estimator, X, Y, cv=3, scoring=make_task_scorer(task=1))
    )


@pytest.mark.parametrize("pipeline", [False, True])
def test_task_by_name_from_the_estimators_task_names(pipeline):
    X, Y = _digits()
    frame = pd.DataFrame(Y, columns=TASKS)
    estimator = MultiTaskClassifier(**TRAINED)
    if pipeline:
        estimator = make_pipeline(StandardScaler(), estimator)
    estimator.fit(X[100:], frame[100:])
    X_test, Y_test = X[:100], Y[:100]  # y as a plain array: names come from the estimator
    Y_pred = np.asarray(estimator.predict(X_test))
    assert make_task_scorer(task="ge5")(estimator, X_test, Y_test) == pytest.approx(
        accuracy_score(Y_test[:, 2], Y_pred[:, 2].astype(int))
    )
    with pytest.raises(ValueError, match=r"Unknown task 'colour'.*'parity'"):
        make_task_scorer(task="colour")(estimator, X_test, Y_test)


def test_unknown_or_unresolvable_task_names_raise_clear_errors():
    X, Y = _digits(120)
    frame = pd.DataFrame(Y, columns=TASKS)
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, Y)
    with pytest.raises(ValueError, match=r"Unknown task 'colour'; the tasks in the columns"):
        make_task_scorer(task="colour")(forest, X, frame)
    with pytest.raises(ValueError, match="Cannot find task 'parity'.*by its index"):
        make_task_scorer(task="parity")(forest, X, Y)
    with pytest.raises(ValueError, match="out of range"):
        make_task_scorer(task=4)(forest, X, Y)
    with pytest.raises(TypeError, match="task must be"):
        make_task_scorer(task=1.5)


def test_task_scoring_keys_and_positions():
    assert list(task_scoring(3)) == [
        "accuracy_task_0",
        "accuracy_task_1",
        "accuracy_task_2",
        "mean",
    ]
    frame = pd.DataFrame(np.zeros((2, 2)), columns=["a b", "a-b"])
    assert list(task_scoring(frame, "f1_macro")) == ["f1_macro_a_b", "f1_macro_a_b_2", "mean"]
    # a named task falls back on its position when y is an array without names
    X, Y = _digits(120)
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, Y)
    scoring = task_scoring(TASKS)
    Y_pred = forest.predict(X[:40])
    for t, task in enumerate(TASKS):
        assert scoring[f"accuracy_{task}"](forest, X[:40], Y[:40]) == pytest.approx(
            accuracy_score(Y[:40, t], Y_pred[:, t])
        )
    with pytest.raises(ValueError, match="duplicate"):
        task_scoring(["a", "a"])


class _Fixed(ClassifierMixin, BaseEstimator):
    """Returns the predictions it was given, whatever X."""

    def __init__(self, labels=None, proba=None, classes=None):
        self.labels = labels
        self.proba = proba
        self.classes = classes

    def fit(self, X, y):
        self.classes_ = self.classes
        return self

    def predict(self, X):
        return self.labels

    def predict_proba(self, X):
        return self.proba


def test_scorer_aggregates_signed_scores(probas):
    Y_true = np.array([[0, 1, 0], [1, 1, 0], [1, 0, 1], [0, 0, 1]])
    labels = np.array([[0, 1, 1], [1, 1, 1], [1, 0, 0], [0, 1, 1]])  # 1, 3/4, 1/4
    fixed = _Fixed(labels=labels).fit(None, None)
    X = np.zeros((4, 1))
    assert make_task_scorer()(fixed, X, Y_true) == pytest.approx(2 / 3)
    assert make_task_scorer(aggregate="median")(fixed, X, Y_true) == pytest.approx(3 / 4)
    assert make_task_scorer(aggregate="min")(fixed, X, Y_true) == pytest.approx(1 / 4)
    # losses are negated, so "min" is the worst task
    Y_true, proba, classes = probas
    fixed = _Fixed(proba=proba, classes=classes).fit(None, None)
    losses = task_scores(Y_true, proba, metric="log_loss", classes=classes)
    X = np.zeros((5, 1))
    assert make_task_scorer("log_loss")(fixed, X, Y_true) == pytest.approx(-losses.mean())
    assert make_task_scorer("log_loss", aggregate="min")(fixed, X, Y_true) == pytest.approx(
        -losses.max()
    )
    assert make_task_scorer("roc_auc", task="letter")(fixed, X, Y_true) == pytest.approx(29 / 36)
    # a callable loss on probabilities behaves as the named one
    scorer = make_task_scorer(
        sk_log_loss, task="bit", response_method="predict_proba", greater_is_better=False
    )
    assert scorer(fixed, X, Y_true) == pytest.approx(-losses[0])


def test_scorer_repr():
    assert repr(make_task_scorer()) == "make_task_scorer('accuracy')"
    assert (
        repr(make_task_scorer("log_loss", task="parity"))
        == "make_task_scorer('log_loss', task='parity')"
    )
    assert repr(make_task_scorer("f1", aggregate="min", pos_label="yes")) == (
        "make_task_scorer('f1', aggregate='min', pos_label='yes')"
    )
    assert repr(make_task_scorer(f1_score, task=0, average="macro")) == (
        "make_task_scorer(f1_score, task=0, average='macro')"
    )


# ----------------------------------------------------------------- reports
def test_classification_report_per_task(mixed):
    Y_true, Y_pred = mixed
    report = classification_report_per_task(Y_true, Y_pred, digits=3)
    blocks = report.split("\n\n\n")
    headings = [block.splitlines()[0] for block in blocks]
    assert headings == [
        "a (4 of 6 rows labelled)",
        "b (4 of 6 rows labelled)",
        "c (4 of 6 rows labelled)",
    ]
    expected_b = classification_report(
        np.array(["x", "y", "y", "x"]), np.array(["x", "y", "x", "y"]), digits=3
    )
    assert expected_b.strip() in blocks[1]
    dicts = classification_report_per_task(Y_true, Y_pred, output_dict=True)
    assert list(dicts) == ["a", "b", "c"]
    assert [dicts[t]["accuracy"] for t in "abc"] == [3 / 4, 1 / 2, 1 / 4]
    # sample_weight is restricted to each task's known rows: c right on row 0 only
    weighted = classification_report_per_task(
        Y_true, Y_pred, output_dict=True, sample_weight=WEIGHTS
    )
    assert weighted["c"]["accuracy"] == pytest.approx(1 / 11)
    plain = classification_report_per_task(Y_true.to_numpy(), Y_pred)
    assert plain.splitlines()[0] == "task_0 (4 of 6 rows labelled)"
    named = classification_report_per_task(Y_true.to_numpy(), Y_pred, task_names=["u", "v", "w"])
    assert named.splitlines()[0] == "u (4 of 6 rows labelled)"


# ------------------------------------------------------------------ errors
def test_errors_say_what_to_do(mixed, probas):
    Y_true, Y_pred = mixed
    with pytest.raises(ValueError, match=r"Unknown metric 'acc'.*'accuracy'"):
        task_scores(Y_true, Y_pred, metric="acc")
    with pytest.raises(ValueError, match="Y_pred has 2 task"):
        task_scores(Y_true, Y_pred[:, :2])
    with pytest.raises(ValueError, match="strings never equal numbers"):
        task_scores(Y_true[["b"]], np.array([[1], [0], [1], [0], [1], [0]]))
    Y_bin, proba, _ = probas
    with pytest.raises(ValueError, match="pass estimator.predict"):
        subset_accuracy(Y_bin, proba)
    with pytest.raises(ValueError, match="needs predicted probabilities"):
        task_scores(Y_bin[["bit"]], np.array([[0], [1], [1], [1], [0]]), metric="log_loss")
    with pytest.raises(ValueError, match="aggregate must be"):
        make_task_scorer(aggregate="max")
    with pytest.raises(ValueError, match="for a callable metric"):
        make_task_scorer("accuracy", greater_is_better=False)
    with pytest.raises(ValueError, match="sample_weight has shape"):
        task_scores(Y_true, Y_pred, sample_weight=[1.0, 2.0])
