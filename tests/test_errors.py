"""Bad input gets a clear error that says what is wrong, and where."""

import numpy as np
import pandas as pd
import pytest
from conftest import TINY

from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl.datasets import make_multitask_classification

rng = np.random.RandomState(0)
X = rng.normal(size=(40, 3))
Y = pd.DataFrame({"a": np.arange(40) % 2, "b": np.array(["x", "y", "z", "x"] * 10)})


def fit(**params):
    return MultiTaskClassifier(**{**TINY, **params})


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(task_weights=[1.0]), r"task_weights has 1 entries but Y has 2 task\(s\)"),
        (dict(task_weights=[1.0, -1.0]), "task_weights for task 'b' must be finite and >= 0"),
        (dict(task_weights=[np.nan, 1.0]), "task_weights for task 'a' must be finite"),
        (dict(task_weights=[1.0, "x"]), "task_weights for task 'b' must be a number"),
        (dict(task_weights=[0, 0]), "task_weights are all 0"),
        (dict(task_weights={"c": 1.0}), r"task_weights names unknown task\(s\) \['c'\]"),
        (dict(class_weight=[None]), "class_weight has 1 entries"),
        (dict(class_weight={"a": "balance"}), "class_weight for task 'a' must be None, 'balanced'"),
        (dict(class_weight={"b": {"w": 2.0}}), r"task 'b' names label\(s\) \['w'\]"),
        (dict(class_weight={"a": {0: -1.0}}), "task 'a', label 0: weights must be finite"),
        (dict(class_weight={"a": {0: 0, 1: 0}}), "task 'a' gives every label weight 0"),
        (dict(device="nonsense"), "device='nonsense' is not a torch device"),
        (dict(device="meta"), "device='meta' is not supported"),
        (dict(max_iter=0), "The 'max_iter' parameter"),
        (dict(dropout=1.0), "The 'dropout' parameter"),
        (dict(hidden_layer_sizes=(8, 0)), "hidden_layer_sizes must hold positive integers"),
    ],
)
def test_bad_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        fit(**params).fit(X, Y)


def test_cuda_requested_without_cuda(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available"):
        fit(device="cuda").fit(X, Y)


@pytest.mark.parametrize(
    "X_bad, Y_bad, message",
    [
        (np.full((40, 3), np.nan), Y, "Input X contains NaN"),
        (np.full((40, 3), np.inf), Y, "Input X contains infinity"),
        (np.empty((0, 3)), Y.iloc[:0], "0 sample"),
        (X, Y.iloc[:30], "inconsistent numbers of samples"),
        (X, Y.assign(b=np.nan), r"Task 'b' \(column 1\) has no observed label"),
        (X, Y.assign(b=np.linspace(0, 1, 40)), "continuous values in task 'b'"),
        (X, None, "requires y to be passed"),
    ],
)
def test_bad_data(X_bad, Y_bad, message):
    with pytest.raises(ValueError, match=message):
        fit().fit(X_bad, Y_bad)


def test_sample_weight_errors():
    with pytest.raises(ValueError, match="Negative values in data"):
        fit().fit(X, Y, sample_weight=-np.ones(40))
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(30,\)"):
        fit().fit(X, Y, sample_weight=np.ones(30))
    Y_missing = Y.astype(object)
    Y_missing.loc[:19, "a"] = None
    weight = np.r_[np.ones(20), np.zeros(20)]  # weight only where 'a' is unknown
    with pytest.raises(ValueError, match="sample_weight is 0 on every labelled row of task 'a'"):
        fit().fit(X, Y_missing, sample_weight=weight)


def test_prediction_time_errors():
    clf = fit().fit(X, Y)
    with pytest.raises(ValueError, match="X has 2 features, but MultiTaskClassifier is expecting"):
        clf.predict(X[:, :2])
    with pytest.raises(ValueError, match=r"y has 1 task\(s\) but the estimator was fitted with 2"):
        clf.score(X, Y[["a"]])
    with pytest.raises(ValueError, match="Labels of task 'a' are str but the estimator was fitted"):
        clf.score(X, Y.assign(a=Y["a"].astype(str)))
    with pytest.raises(ValueError, match="sample_weight must be finite and non-negative"):
        clf.score(X, Y, sample_weight=-np.ones(40))
    with pytest.raises(ValueError, match="inconsistent numbers of samples|rows"):
        clf.score(X, Y.iloc[:30])
    with pytest.raises(ValueError, match="no known label"):
        clf.score(X, Y.assign(a=np.nan, b=None))
    with pytest.raises(Exception, match="not fitted"):
        fit().predict(X)


def test_unseen_label_at_score_time_counts_as_wrong():
    clf = fit().fit(X, Y)
    unseen = Y.assign(b="never-seen")
    assert clf.score(X, unseen) == 0.0


def test_divergence_is_reported():
    with pytest.raises(ValueError, match="Training diverged at epoch"):
        fit(learning_rate_init=1e12, max_iter=20).fit(X * 1e6, Y)


def test_warm_start_refuses_a_changed_network():
    clf = fit(warm_start=True).fit(X, Y)
    clf.set_params(hidden_layer_sizes=(4,))
    with pytest.raises(ValueError, match=r"cannot change \['hidden_layer_sizes'\]"):
        clf.fit(X, Y)
    clf.set_params(hidden_layer_sizes=(8,))
    with pytest.raises(ValueError, match="same features, tasks"):
        clf.fit(X, Y.rename(columns={"a": "renamed"}))


def test_early_stopping_needs_two_labelled_rows():
    with pytest.raises(ValueError, match="at least 2 labelled samples"):
        fit(early_stopping=True).fit(X[:3], pd.DataFrame({"a": [0, None, None]}))


def test_batch_norm_survives_a_trailing_one_row_batch():
    # 41 rows with batch_size 8 leave one row for the last batch
    X41 = np.vstack([X, X[:1]])
    Y41 = pd.concat([Y, Y.iloc[:1]])
    # one network (an ensemble sees k rows per row) and no validation split:
    # every training batch reaches batch norm as it is cut
    clf = fit(batch_norm=True, batch_size=8, ensemble_size=1, early_stopping=False)
    clf.fit(X41, Y41)
    assert clf.predict(X41).shape == (41, 2)
    sizes = [row["train_batch_size"] for row in clf.history_[-1, "batches"]]
    assert sum(sizes) == 41 and min(sizes) >= 2 and sizes[-1] == 9  # the row joined a batch


def test_gradient_weighting_without_shared_layers_says_so():
    with pytest.raises(ValueError, match="the network has none"):
        fit(hidden_layer_sizes=(), weighting="mgda").fit(X, Y)


def test_even_kernel_on_odd_image():
    from sklearn_mtl.trunks import ConvTrunk

    X25 = rng.normal(size=(40, 25))
    clf = fit(trunk=ConvTrunk(channels=(4,), kernel_size=2)).fit(X25, Y)
    assert clf.predict(X25).shape == (40, 2)


def test_warm_start_with_array_valued_trunk_argument():
    from torch import nn

    from sklearn_mtl.trunks import TorchTrunk

    def factory(n_features, scale=None):
        return nn.Linear(n_features, 4)

    clf = fit(trunk=TorchTrunk(factory, scale=np.ones(3)), warm_start=True).fit(X, Y)
    clf.fit(X, Y)
    assert clf.n_iter_ == 4


def test_dataframe_with_string_or_category_columns_names_them():
    X = pd.DataFrame({"x": rng.standard_normal(40), "city": ["a", "b"] * 20,
                      "size": pd.Categorical(["s", "l"] * 20), "flag": [True, False] * 20})
    X_before = X.copy()
    y = np.arange(40) % 2
    with pytest.raises(ValueError, match=r"2 non-numeric column\(s\): 'city', 'size'.*OneHot"):
        MultiTaskClassifier(**TINY).fit(X, y)
    pd.testing.assert_frame_equal(X, X_before)
    clf = MultiTaskClassifier(**TINY).fit(X[["x", "flag"]], y)  # bool columns are numeric
    with pytest.raises(ValueError, match="1 non-numeric column\\(s\\): 'flag'"):
        clf.predict(X[["x", "flag"]].assign(flag=X["city"]))


def test_input_shape_without_a_trunk_is_an_error_not_ignored():
    with pytest.raises(ValueError, match=r"input_shape=\(1, 1, 3\) is only read by a conv"):
        MultiTaskClassifier(input_shape=(1, 1, 3), **TINY).fit(X, Y)


def test_a_finite_but_exploding_loss_is_divergence_with_advice():
    # a huge learning rate on unit-scale features: the loss stays finite but
    # grows far above where it started; the error says so and what to lower
    with pytest.raises(ValueError, match=r"diverged at epoch \d+: the mean training loss "
                                         r"rose to .*learning_rate_init \(now 1000\)"):
        fit(learning_rate_init=1e3, max_iter=50, hidden_layer_sizes=(8,),
            batch_size=200).fit(X, Y)
    # small batches: the loss explodes within the first epoch (to 1e6 for
    # this seed) and settles in the hundreds; caught at epoch 1
    Xs, Ys = make_multitask_classification(n_samples=300, n_features=8, n_tasks=3,
                                           n_informative=4, random_state=0)
    with pytest.raises(ValueError, match=r"diverged at epoch 1: .* at the initial weights"):
        fit(learning_rate_init=1e3, max_iter=50, batch_size=32).fit(Xs, Ys)


def test_batch_norm_on_one_row_names_the_parameter():
    with pytest.raises(ValueError, match="batch_norm=True needs at least 2 training rows"):
        fit(batch_norm=True, ensemble_size=1).fit(X[:1], Y[:1])


@pytest.mark.parametrize("size", [True, False, 1.0])
def test_ensemble_size_must_be_an_int_not_a_bool(size):
    with pytest.raises(ValueError, match=r"'ensemble_size' parameter .*\(not a bool\).*Got"):
        fit(ensemble_size=size).fit(X, Y)


def test_an_ensemble_too_large_for_memory_names_ensemble_size():
    # 10**9 members of a 64-wide layer: about 5e11 parameters, terabytes to train;
    # refused before anything is allocated, not a raw allocator error
    clf = fit(ensemble_size=10**9, hidden_layer_sizes=(64,))
    with pytest.raises(ValueError, match=r"ensemble_size=1000000000 member\(s\).*"
                                         r"GiB to train.*lower ensemble_size"):
        clf.fit(X, Y)
