import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import FAST  # noqa: E402
from sklearn.base import BaseEstimator, ClassifierMixin  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import KFold  # noqa: E402
from sklearn.multioutput import MultiOutputClassifier  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sklearn_mtl import MultiTaskClassifier  # noqa: E402
from sklearn_mtl.model_selection import (  # noqa: E402
    MultiTaskComparison,
    _single_task_version,
    compare_single_task,
    count_parameters,
    plot_loss_curves,
)

SEEN = []  # (role, sorted row ids) of every fit and predict of SpyClassifier


class SpyClassifier(ClassifierMixin, BaseEstimator):
    """Records which rows (ids in column 0 of X) it is fitted and scored on."""

    def __init__(self, role="multitask"):
        self.role = role

    def fit(self, X, y):
        y = np.asarray(y)
        SEEN.append((self.role + ":fit", np.sort(np.asarray(X)[:, 0]).astype(int)))
        self.one_dim_ = y.ndim == 1
        Y = y[:, None] if self.one_dim_ else y
        self.classes_ = [np.unique(c[~pd.isna(c)]) for c in Y.T]
        self.first_ = [c[0] for c in self.classes_]
        return self

    def predict(self, X):
        SEEN.append((self.role + ":predict", np.sort(np.asarray(X)[:, 0]).astype(int)))
        out = np.tile(np.array(self.first_, dtype=object), (len(X), 1))
        return out[:, 0] if self.one_dim_ else out


def test_both_sides_use_identical_folds_and_only_observed_rows():
    rng = np.random.RandomState(0)
    n = 30
    X = np.column_stack([np.arange(n), rng.normal(size=n)])
    Y = np.column_stack([rng.randint(0, 2, n), rng.randint(0, 3, n)]).astype(float)
    Y[::4, 1] = np.nan  # task 1 unknown on every 4th row
    observed1 = ~np.isnan(Y[:, 1])
    SEEN.clear()
    folds = list(KFold(3, shuffle=True, random_state=1).split(X))
    result = compare_single_task(
        SpyClassifier("multitask"), X, Y, baseline=SpyClassifier("single"), cv=folds
    )
    mt_fits = [ids for role, ids in SEEN if role == "multitask:fit"]
    mt_tests = [ids for role, ids in SEEN if role == "multitask:predict"]
    st_fits = [ids for role, ids in SEEN if role == "single:fit"]
    st_tests = [ids for role, ids in SEEN if role == "single:predict"]
    assert len(mt_fits) == 3 and len(st_fits) == 6
    for f, (train, test) in enumerate(folds):
        np.testing.assert_array_equal(mt_fits[f], np.sort(train))
        np.testing.assert_array_equal(mt_tests[f], np.sort(test))
        # single-task models: task 0 on the same rows, task 1 on its labelled rows only
        np.testing.assert_array_equal(st_fits[2 * f], np.sort(train))
        np.testing.assert_array_equal(st_fits[2 * f + 1], np.sort(train[observed1[train]]))
        np.testing.assert_array_equal(st_tests[2 * f], np.sort(test))
        np.testing.assert_array_equal(st_tests[2 * f + 1], np.sort(test[observed1[test]]))
    for (a_train, a_test), (b_train, b_test) in zip(result.folds, folds):
        np.testing.assert_array_equal(a_train, b_train)
        np.testing.assert_array_equal(a_test, b_test)


def _comparison(mt, st, greater_is_better=True):
    mt, st = np.atleast_2d(mt), np.atleast_2d(st)
    return MultiTaskComparison(
        task_names=["a", "b"], metric="m", multitask_name="MT", single_task_name="ST",
        multitask_scores=mt, single_task_scores=st, multitask_fit_time=1.0,
        single_task_fit_time=2.0, multitask_n_parameters=10, single_task_n_parameters=None,
        folds=[None] * len(mt), greater_is_better=greater_is_better,
    )


def test_delta_m_by_hand():
    # task a: (0.9 - 0.8) / 0.8 = +12.5 %, task b: (0.6 - 0.8) / 0.8 = -25 % -> mean -6.25 %
    result = _comparison([[0.9, 0.6], [0.9, 0.6]], [[0.8, 0.8], [0.8, 0.8]])
    assert result.delta_m == pytest.approx(-6.25)
    # lower is better (a loss): the signs flip
    loss = _comparison([[0.9, 0.6]], [[0.8, 0.8]], greater_is_better=False)
    assert loss.delta_m == pytest.approx(6.25)
    text = str(result)
    assert "Δm = -6.25 %" in text and "n/a" in text and "0.900 ± 0.000" in text
    frame = result.to_frame()
    assert frame.loc["b", "difference"] == pytest.approx(-0.2)


def test_default_baseline_resets_weights_and_slices_per_task_options():
    mtl = MultiTaskClassifier(task_weights=[1.0, 0.2], class_weight=[None, "balanced"])
    single = _single_task_version(make_pipeline(StandardScaler(), mtl), 1, "b")
    assert single[-1].task_weights is None
    assert single[-1].class_weight == "balanced"
    adaptive = MultiTaskClassifier(weighting="mgda")
    assert _single_task_version(adaptive, 0, "a").weighting == "static"
    by_name = MultiTaskClassifier(class_weight={"b": {0: 2.0}})
    assert _single_task_version(by_name, 0, "a").class_weight is None
    assert _single_task_version(by_name, 1, "b").class_weight == {0: 2.0}
    assert mtl.task_weights == [1.0, 0.2]  # the caller's estimator is untouched


def test_count_parameters_of_peers(digits):
    X, Y, _, _ = digits
    X, Y = X[:200], Y[:200]
    lr = LogisticRegression(max_iter=200).fit(X, Y[:, 0])
    assert count_parameters(lr) == 10 * 64 + 10
    mlp = MLPClassifier(hidden_layer_sizes=(5,), max_iter=5).fit(X, Y[:, 1])
    assert count_parameters(mlp) == 64 * 5 + 5 + 5 * 1 + 1
    multi = MultiOutputClassifier(LogisticRegression(max_iter=200)).fit(X, Y[:, 1:3])
    assert count_parameters(make_pipeline(StandardScaler(), multi)) == 2 * (64 + 1)
    assert count_parameters(RandomForestClassifier(n_estimators=2).fit(X, Y)) is None


def test_compare_on_digits_with_missing_labels_and_plots(digits):
    X, Y, _, _ = digits
    Y = pd.DataFrame(Y[:400, :2], columns=["digit", "parity"]).astype(float)
    Y.iloc[::3, 1] = np.nan
    clf = MultiTaskClassifier(**FAST)
    result = compare_single_task(clf, X[:400], Y, cv=3)
    assert result.task_names == ["digit", "parity"]
    assert result.multitask_scores.shape == result.single_task_scores.shape == (3, 2)
    assert np.all((result.multitask_scores > 0.5) & (result.multitask_scores <= 1))
    # one shared layer (FAST pins ensemble_size=1), one head per task
    assert result.multitask_n_parameters == (64 * 64 + 64) + 64 * 12 + 12
    # one single-task net per task: trunk twice, heads of 10 and 2 classes
    assert result.single_task_n_parameters == 2 * (64 * 64 + 64) + 64 * 12 + 12
    assert result.single_task_name == "single-task MultiTaskClassifier"
    ax = result.plot()
    assert len(ax.patches) == 4
    fitted = MultiTaskClassifier(**dict(FAST, max_iter=3, early_stopping=True)).fit(X[:400], Y)
    ax = plot_loss_curves(fitted)
    assert len(ax.get_lines()) == 4  # train and valid curve per task


def test_compare_with_probability_metric_and_logistic_baseline(digits):
    X, Y, _, _ = digits
    clf = MultiTaskClassifier(**dict(FAST, max_iter=10))
    result = compare_single_task(
        clf, X[:300], Y[:300, 1:3], baseline=LogisticRegression(max_iter=500), cv=2,
        metric="log_loss", task_names=["parity", "ge5"],
    )
    assert not result.greater_is_better
    assert np.all(result.multitask_scores > 0)
    assert result.single_task_n_parameters == 2 * (64 + 1)


def test_compare_rejects_one_dimensional_y(digits):
    X, Y, _, _ = digits
    with pytest.raises(ValueError, match="needs a multi-task Y"):
        compare_single_task(MultiTaskClassifier(), X, Y[:, 0])


def test_baseline_gets_clean_labels_and_stratified_cv_is_refused(digits):
    X, Y, _, _ = digits
    Y = pd.DataFrame(
        {"a": pd.array([True, False, None] * 20, dtype="boolean"),
         "b": np.array([1, 2, None] * 20, dtype=object)}
    )
    result = compare_single_task(
        MultiTaskClassifier(**dict(FAST, max_iter=2)), X[:60], Y, cv=3,
        baseline=RandomForestClassifier(n_estimators=5, random_state=0),
    )
    assert np.all(np.isfinite(result.single_task_scores))
    from sklearn.model_selection import StratifiedKFold

    with pytest.raises(ValueError, match="cannot split without a target"):
        compare_single_task(MultiTaskClassifier(), X[:60], Y, cv=StratifiedKFold(3))


def test_plain_baseline_is_put_behind_the_pipelines_preprocessing():
    # the README's call: a pipeline that encodes a string column, and a plain
    # LogisticRegression as the baseline, which could not read that column
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.RandomState(0)
    X = pd.DataFrame({"x": rng.standard_normal(120), "colour": rng.choice(["a", "b"], 120)})
    Y = pd.DataFrame({"pos": (X["x"] > 0).astype(int), "is_a": (X["colour"] == "a")})
    pipe = make_pipeline(
        ColumnTransformer([("num", StandardScaler(), ["x"]),
                           ("cat", OneHotEncoder(), ["colour"])]),
        MultiTaskClassifier(**dict(FAST, max_iter=5)),
    )
    result = compare_single_task(pipe, X, Y, baseline=LogisticRegression(), cv=2)
    assert result.single_task_name == "single-task LogisticRegression"
    assert np.all(result.single_task_scores > 0.9)  # it saw the encoded colour
