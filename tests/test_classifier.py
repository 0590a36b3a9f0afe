import io
import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from conftest import FAST
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.multioutput import MultiOutputClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklearn_mtl import MultiTaskClassifier


@pytest.fixture(scope="module")
def fitted(digits):
    X, Y, _, _ = digits
    return MultiTaskClassifier(**FAST).fit(X, Y)


def _task_accuracy(clf, X, Y):
    return (clf.predict(X) == Y).mean(axis=0)


# ---------------------------------------------------------------- basic API
def test_learns_every_task_and_predicts_shapes(fitted, digits):
    _, _, X_test, Y_test = digits
    Y_pred = fitted.predict(X_test)
    assert Y_pred.shape == Y_test.shape
    assert Y_pred.dtype.kind == "i"
    assert np.all(_task_accuracy(fitted, X_test, Y_test) > 0.9)
    probas = fitted.predict_proba(X_test)
    assert [p.shape for p in probas] == [(len(X_test), k) for k in (10, 2, 2, 3)]
    for p, log_p in zip(probas, fitted.predict_log_proba(X_test)):
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
        np.testing.assert_allclose(np.exp(log_p), p, rtol=1e-6, atol=1e-12)
    # predict is the argmax of predict_proba, in classes_ order
    for t, p in enumerate(probas):
        np.testing.assert_array_equal(fitted.classes_[t][p.argmax(1)], Y_pred[:, t])
    assert fitted.n_tasks_ == 4
    assert list(fitted.task_names_) == ["task_0", "task_1", "task_2", "task_3"]
    assert fitted.n_features_in_ == 64
    assert fitted.n_iter_ == len(fitted.history_) >= 1
    # one shared layer (FAST pins ensemble_size=1), one head per task
    assert fitted.ensemble_size_ == 1
    assert fitted.n_parameters_ == (64 * 64 + 64) + 64 * 17 + 17


def test_one_dimensional_y_behaves_like_a_single_task_classifier(digits):
    X, Y, X_test, Y_test = digits
    y = np.where(Y[:, 0] % 2 == 0, "even", "odd")
    clf = MultiTaskClassifier(**FAST).fit(X, y)
    assert isinstance(clf.classes_, np.ndarray)
    assert clf.classes_.tolist() == ["even", "odd"]
    pred = clf.predict(X_test)
    assert pred.shape == (len(X_test),)
    assert clf.predict_proba(X_test).shape == (len(X_test), 2)
    expected = np.where(Y_test[:, 0] % 2 == 0, "even", "odd")
    assert clf.score(X_test, expected) == pytest.approx((pred == expected).mean())
    assert clf.score(X_test, expected) > 0.9


def test_dataframe_targets_give_names_and_dtypes(digits_frame):
    X, Y = digits_frame
    Y = Y.assign(
        parity=np.where(Y["parity"] == 1, "odd", "even"), ge5=Y["ge5"].astype(bool)
    )
    clf = MultiTaskClassifier(**FAST).fit(X[:600], Y[:600])
    assert list(clf.task_names_) == ["digit", "parity", "ge5", "loops"]
    pred = clf.predict(X[600:700])
    assert pred.dtype == object
    assert pred[:, 1][0] in ("odd", "even")
    assert isinstance(pred[0, 2], (bool, np.bool_))
    assert set(clf.history_[-1]) >= {"train_loss", "train_loss[digit]", "train_loss[ge5]"}


def test_task_weights_by_name_and_zero_weight_leaves_head_untrained(digits):
    X, Y, _, _ = digits
    params = dict(FAST, weight_decay=0.0, max_iter=3)
    zero = MultiTaskClassifier(task_weights={"task_1": 0.0}, **params).fit(X, Y)
    np.testing.assert_array_equal(zero.task_weights_, [1.0, 0.0, 1.0, 1.0])
    weighted = MultiTaskClassifier(**params).fit(X, Y)
    # same seed, (almost) no learning: the heads as initialised
    start = _heads(MultiTaskClassifier(**dict(params, learning_rate_init=1e-12)).fit(X, Y))
    # rows 10:12 of the fused heads are task 1's head (after 10 digit classes)
    assert np.abs(_heads(zero)[10:12] - start[10:12]).max() < 1e-8
    assert np.abs(_heads(weighted)[10:12] - start[10:12]).max() > 1e-3
    assert np.abs(_heads(zero)[:10] - start[:10]).max() > 1e-3


def _heads(clf):
    return clf.net_.module_.heads.linear.weight.detach().numpy().copy()


# ----------------------------------------------------------- missing labels
def test_hidden_labels_of_one_task_do_not_break_the_others(digits):
    X, Y, X_test, Y_test = digits
    full = _task_accuracy(MultiTaskClassifier(**FAST).fit(X, Y), X_test, Y_test)

    rng = np.random.RandomState(1)
    Y_missing = Y.astype(float)
    hidden = rng.rand(len(Y)) < 0.7
    Y_missing[hidden, 1] = np.nan  # hide 70% of the parity labels
    Y_before = Y_missing.copy()
    clf = MultiTaskClassifier(**FAST).fit(X, Y_missing)
    np.testing.assert_array_equal(Y_missing, Y_before)  # caller's Y untouched
    partial = _task_accuracy(clf, X_test, Y_test)

    assert clf.predict(X_test).dtype.kind == "i"  # NaN-holding float labels decode as ints
    assert np.all(partial[[0, 2, 3]] > full[[0, 2, 3]] - 0.03)
    assert partial[1] > 0.85  # the task still learns from its 30% of labels


def test_dataframe_with_missing_entries_and_score_ignores_them(digits_frame):
    X, Y = digits_frame
    Y = Y.astype(object)
    Y.loc[::3, "digit"] = None
    Y.loc[1::5, "loops"] = np.nan
    Y["parity"] = pd.array(
        np.where(Y["parity"].to_numpy() == 1, "odd", "even"), dtype="string"
    )
    Y.loc[2::7, "parity"] = pd.NA
    clf = MultiTaskClassifier(**FAST).fit(X[:1200], Y[:1200])
    assert clf.classes_[1].tolist() == ["even", "odd"]
    test_X, test_Y = X[1200:], Y[1200:]
    pred = clf.predict(test_X)
    observed = test_Y.notna().to_numpy()
    truth = test_Y.astype(object).to_numpy()
    equal = np.array(
        [[o and p == t for p, t, o in zip(*row)] for row in zip(pred, truth, observed)]
    )
    rows_right = np.all(equal | ~observed, axis=1)
    assert clf.score(test_X, test_Y) == pytest.approx(rows_right[observed.any(1)].mean())
    assert clf.score(test_X, test_Y) > 0.7


def test_task_with_one_observed_class_predicts_it(digits):
    X, Y, X_test, _ = digits
    Y = Y.astype(object)
    Y[:, 2] = "always"
    Y[::2, 2] = None
    clf = MultiTaskClassifier(**FAST).fit(X, Y)
    assert clf.classes_[2].tolist() == ["always"]
    assert np.all(clf.predict(X_test)[:, 2] == "always")
    np.testing.assert_array_equal(clf.predict_proba(X_test)[2], 1.0)


# -------------------------------------------------------------- weights
def test_sample_weight_zero_removes_corrupted_rows(digits):
    X, Y, X_test, Y_test = digits
    rng = np.random.RandomState(0)
    corrupted = rng.rand(len(Y)) < 0.6
    Y_noisy = Y.copy()
    Y_noisy[corrupted, 0] = (Y[corrupted, 0] + 1) % 10  # systematic: most rows lie
    weights = np.where(corrupted, 0.0, 1.0)
    noisy = _task_accuracy(MultiTaskClassifier(**FAST).fit(X, Y_noisy), X_test, Y_test)[0]
    cleaned = MultiTaskClassifier(**FAST).fit(X, Y_noisy, sample_weight=weights)
    assert noisy < 0.5
    assert _task_accuracy(cleaned, X_test, Y_test)[0] > 0.85


def test_class_weight_balanced_raises_recall_of_rare_class(digits):
    X, Y, X_test, Y_test = digits
    rare = (Y[:, 0] == 0).astype(int)  # ~10% positives
    Y2 = np.column_stack([Y[:, 1], rare])
    params = dict(FAST, hidden_layer_sizes=(8,), max_iter=5)
    plain = MultiTaskClassifier(**params).fit(X, Y2)
    balanced = MultiTaskClassifier(class_weight=[None, "balanced"], **params).fit(X, Y2)
    w = balanced.class_weight_[1]
    np.testing.assert_allclose(w, len(rare) / (2 * np.bincount(rare)), rtol=1e-6)
    assert balanced.class_weight_[0] is None
    positives = (Y_test[:, 0] == 0)
    recall_plain = (plain.predict(X_test)[positives, 1] == 1).mean()
    recall_balanced = (balanced.predict(X_test)[positives, 1] == 1).mean()
    assert recall_balanced >= recall_plain
    assert balanced.predict(X_test)[:, 1].mean() > plain.predict(X_test)[:, 1].mean()


# ------------------------------------------------------------ inputs
def test_sparse_input_matches_dense(digits):
    X, Y, X_test, _ = digits
    dense = MultiTaskClassifier(**FAST).fit(X, Y)
    sparse = MultiTaskClassifier(**FAST).fit(sp.csr_matrix(X), Y)
    np.testing.assert_allclose(
        dense.predict_proba(X_test)[0], sparse.predict_proba(sp.csc_matrix(X_test))[0],
        atol=1e-4,
    )


def test_callers_data_is_not_modified(digits_frame):
    X, Y = digits_frame
    X = X[:300].copy()
    Y = Y[:300].astype(float)
    Y.iloc[::4, 1] = np.nan
    X_before, Y_before = X.copy(), Y.copy()
    clf = MultiTaskClassifier(**dict(FAST, max_iter=2)).fit(X, Y)
    clf.predict(X)
    clf.score(X, Y)
    np.testing.assert_array_equal(X, X_before)
    pd.testing.assert_frame_equal(Y, Y_before)


# -------------------------------------------------- reproducibility, state
def test_same_seed_same_predictions_and_global_rng_untouched(digits):
    X, Y, X_test, _ = digits
    params = dict(FAST, max_iter=3, dropout=0.3)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = MultiTaskClassifier(**params).fit(X, Y).predict_proba(X_test)
    assert torch.equal(torch.get_rng_state(), state)
    b = MultiTaskClassifier(**params).fit(X, Y).predict_proba(X_test)
    for pa, pb in zip(a, b):
        np.testing.assert_array_equal(pa, pb)
    c = MultiTaskClassifier(**dict(params, random_state=1)).fit(X, Y).predict_proba(X_test)
    assert not np.array_equal(a[0], c[0])


def test_pickle_and_joblib_round_trip_predict_identically(fitted, digits):
    _, _, X_test, _ = digits
    expected = fitted.predict_proba(X_test)
    for restored in (
        pickle.loads(pickle.dumps(fitted)),
        _joblib_round_trip(fitted),
    ):
        for p, q in zip(expected, restored.predict_proba(X_test)):
            np.testing.assert_array_equal(p, q)
        assert restored.net_.module is restored.net_.module_


def _joblib_round_trip(obj):
    buffer = io.BytesIO()
    joblib.dump(obj, buffer)
    buffer.seek(0)
    return joblib.load(buffer)


def test_pickle_holds_no_tensor_outside_skorch_device_aware_state(digits):
    """Tensors pickled the plain way would be bound to the training device (and a
    CUDA-trained model would then fail to load on a CPU-only machine); skorch
    maps only its own module/optimizer/criterion state to the loading device."""
    X, Y, _, _ = digits
    clf = MultiTaskClassifier(**dict(FAST, max_iter=3, early_stopping=True)).fit(X, Y)
    found = []

    class Spy(pickle.Pickler):
        def reducer_override(self, obj):
            if isinstance(obj, (torch.Tensor, torch.nn.Module, torch.optim.Optimizer)):
                found.append(type(obj).__name__)
            if isinstance(obj, torch.Generator):
                found.append("Generator")
            return NotImplemented

    Spy(io.BytesIO()).dump(clf)
    assert found == []


def test_clone_gives_unfitted_copy_with_same_params(fitted):
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "net_")


# ------------------------------------------------------ training options
def test_verbose_prints_per_task_losses_and_zero_is_silent(digits, capsys):
    X, Y, _, _ = digits
    MultiTaskClassifier(**dict(FAST, max_iter=2)).fit(X, Y)
    assert capsys.readouterr().out == ""
    MultiTaskClassifier(**dict(FAST, max_iter=2, verbose=1)).fit(X, Y)
    out = capsys.readouterr().out
    assert "train_loss[task_0]" in out and "train_loss[task_3]" in out


def test_early_stopping_restores_best_validation_epoch(digits):
    X, Y, _, _ = digits
    clf = MultiTaskClassifier(
        **dict(FAST, max_iter=200, early_stopping=True, n_iter_no_change=3,
               learning_rate_init=5e-3)
    ).fit(X, Y)
    history = clf.history_
    valid = history[:, "valid_loss"]
    assert clf.n_iter_ < 200
    best = int(np.argmin(valid))
    assert clf.n_iter_ - 1 - best >= 3  # stopped after 3 epochs without improvement
    assert {"valid_loss[task_0]", "valid_acc"} <= set(history[-1])
    # the restored weights are the best epoch's: the validation loss of the
    # fitted model, recomputed on the held-out rows, is the best epoch's, not
    # the last one's
    from sklearn_mtl._data import ValidationSplit

    seed = int(np.random.RandomState(0).randint(np.iinfo(np.int32).max))
    data = clf.net_.prepare_data(np.asarray(X, dtype=np.float32), Y.astype(np.int64))
    _, valid_rows = ValidationSplit(clf.validation_fraction, seed)(data)
    rows = valid_rows.rows.numpy()
    log_p = clf.predict_log_proba(X[rows])
    recomputed = np.mean([-np.mean(lp[np.arange(len(rows)), Y[rows, t]])
                          for t, lp in enumerate(log_p)])
    assert recomputed == pytest.approx(valid[best], rel=1e-4)
    assert abs(valid[-1] - valid[best]) > 1e-3


def test_stops_on_training_plateau_without_early_stopping(digits):
    X, Y, _, _ = digits
    clf = MultiTaskClassifier(
        **dict(FAST, max_iter=500, tol=10.0, n_iter_no_change=2, early_stopping=False)
    )
    clf.fit(X, Y)
    assert clf.n_iter_ == 3  # the first epoch, then 2 without improving by 10
    assert "valid_loss" not in clf.history_[-1]


def test_convergence_warning_only_when_max_iter_cuts_training(digits):
    X, Y, _, _ = digits
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        MultiTaskClassifier(**dict(FAST, max_iter=3)).fit(X, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        MultiTaskClassifier(**dict(FAST, max_iter=50, tol=10.0, n_iter_no_change=2)).fit(X, Y)


def test_feature_names_are_recorded_and_checked(digits_frame):
    X, Y = digits_frame
    X = pd.DataFrame(X[:200], columns=[f"px{i}" for i in range(64)])
    clf = MultiTaskClassifier(**dict(FAST, max_iter=2)).fit(X, Y[:200])
    assert list(clf.feature_names_in_) == list(X.columns)
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(X[X.columns[::-1]])


def test_warm_start_continues_training(digits):
    X, Y, X_test, Y_test = digits
    clf = MultiTaskClassifier(**dict(FAST, max_iter=2, warm_start=True, tol=0)).fit(X, Y)
    first = _task_accuracy(clf, X_test, Y_test).mean()
    weights = clf.net_.module_.heads.linear.weight.detach().clone()
    clf.fit(X, Y)
    assert clf.n_iter_ == 4
    assert not torch.equal(weights, clf.net_.module_.heads.linear.weight)
    assert _task_accuracy(clf, X_test, Y_test).mean() >= first - 0.01
    with pytest.raises(ValueError, match="warm_start=True needs the same"):
        clf.fit(X, Y[:, :2])


# ---------------------------------------------------- scikit-learn tooling
def test_pipeline_with_column_transformer_on_dataframes():
    rng = np.random.RandomState(0)
    n = 400
    X = pd.DataFrame(
        {
            "colour": rng.choice(["red", "green", "blue"], n),
            "size": rng.normal(10, 3, n),
            "weight": rng.normal(50, 10, n),
        }
    )
    Y = pd.DataFrame(
        {
            "is_red": np.where(X["colour"] == "red", "yes", "no"),
            "big": np.where(X["size"] > 10, "big", "small"),
        }
    ).astype(object)
    Y.loc[rng.rand(n) < 0.2, "big"] = None
    pre = ColumnTransformer(
        [("cat", OneHotEncoder(), ["colour"]), ("num", StandardScaler(), ["size", "weight"])]
    )
    model = make_pipeline(pre, MultiTaskClassifier(**dict(FAST, max_iter=40)))
    model.fit(X[:300], Y[:300])
    pred = model.predict(X[300:])
    assert pred.shape == (100, 2)
    assert set(pred[:, 0]) <= {"yes", "no"}
    assert model.score(X[300:], Y[300:]) > 0.8
    assert list(model[-1].task_names_) == ["is_red", "big"]


def test_grid_search_over_task_weights_and_layers_in_parallel(digits):
    X, Y, _, _ = digits
    search = GridSearchCV(
        make_pipeline(StandardScaler(), MultiTaskClassifier(**dict(FAST, max_iter=5))),
        {
            "multitaskclassifier__task_weights": [[1, 1, 1, 1], [1, 0.1, 0.1, 0.1]],
            "multitaskclassifier__hidden_layer_sizes": [(32,), (64,)],
        },
        cv=2,
        n_jobs=2,
    )
    search.fit(X[:600], Y[:600])
    assert len(search.cv_results_["mean_test_score"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_score_ > 0.1  # subset accuracy of 4 tasks: chance is ~0.01
    assert search.best_params_ in search.cv_results_["params"]
    assert search.best_estimator_[-1].n_tasks_ == 4


def test_cross_validate_against_multioutput_on_the_same_folds(digits):
    X, Y, _, _ = digits
    folds = KFold(3, shuffle=True, random_state=0)
    ours = cross_validate(
        MultiTaskClassifier(**FAST), X, Y, cv=folds, return_indices=True,
        return_estimator=True,
    )
    peer = cross_validate(
        MultiOutputClassifier(LogisticRegression(max_iter=500)), X, Y, cv=folds,
        return_indices=True, return_estimator=True,
    )
    # both report subset accuracy (every task right), so the scores compare
    for result in (ours, peer):
        for estimator, test, score in zip(result["estimator"], result["indices"]["test"],
                                          result["test_score"]):
            subset = np.mean(np.all(estimator.predict(X[test]) == Y[test], axis=1))
            assert score == pytest.approx(subset)
    assert ours["test_score"].mean() > peer["test_score"].mean() - 0.1


def test_warm_start_after_pickling_continues_like_in_memory(digits):
    X, Y, X_test, _ = digits
    clf = MultiTaskClassifier(**dict(FAST, max_iter=2, warm_start=True)).fit(X, Y)
    restored = pickle.loads(pickle.dumps(clf))
    clf.fit(X, Y)
    restored.fit(X, Y)
    np.testing.assert_allclose(
        restored.predict_proba(X_test)[0], clf.predict_proba(X_test)[0], atol=1e-6
    )
