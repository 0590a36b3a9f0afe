"""Ensembles of the shared layers, robust input scaling and label smoothing."""

import math
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import FAST
from sklearn.datasets import load_wine

from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl._loss import task_losses
from sklearn_mtl.modules._ensemble import PackedLinear, combine_members
from sklearn_mtl.modules._scaling import RobustScaling, robust_statistics


def test_packed_linear_is_k_independent_linear_layers():
    torch.manual_seed(0)
    layer = PackedLinear(3, 2, k=4)
    x = torch.randn(5, 4, 3)
    out = layer(x)
    for m in range(4):
        expected = x[:, m] @ layer.weight[m] + layer.bias[m]
        assert torch.allclose(out[:, m], expected, atol=1e-6)
    # members start from different weights
    assert not torch.allclose(layer.weight[0], layer.weight[1])


def test_combine_members_is_log_of_mean_probability_by_hand():
    # 1 row, 2 members, tasks of 2 and 1+... classes: [2, 3]
    logits = torch.tensor([[0.0, 1.0, 2.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0, 3.0]])
    out = combine_members(logits, 2, [2, 3])
    assert out.shape == (1, 5)

    def softmax(v):
        e = [math.exp(a) for a in v]
        return [a / sum(e) for a in e]

    p0 = [(a + b) / 2 for a, b in zip(softmax([0, 1]), softmax([1, 0]))]
    p1 = [(a + b) / 2 for a, b in zip(softmax([2, 0, 0]), softmax([0, 0, 3]))]
    expected = torch.log(torch.tensor(p0 + p1))
    assert torch.allclose(out[0], expected, atol=1e-6)


def test_robust_scaling_by_hand():
    X = np.array([[0.0, 5.0, 1.0], [1.0, 5.0, 1.0], [2.0, 5.0, 0.0], [3.0, 5.0, 1.0],
                  [100.0, 5.0, 1.0]])
    center, scale = robust_statistics(X)
    # column 0: quartiles 1 and 3, median 2; column 1 constant; column 2: the
    # quartiles coincide (1, 1), so half the range (1 - 0) / 2
    assert center.tolist() == [2.0, 5.0, 1.0]
    assert scale.tolist() == [2.0, 1.0, 0.5]
    out = RobustScaling(center, scale)(torch.tensor(X, dtype=torch.float32))
    z = (100.0 - 2.0) / 2.0
    assert out[4, 0].item() == pytest.approx(z / math.sqrt(1 + (z / 3) ** 2), rel=1e-5)
    assert out[4, 0].item() < 3.0  # the outlier is clipped smoothly
    assert out[1, 0].item() == pytest.approx(-0.5 / math.sqrt(1 + (0.5 / 3) ** 2), rel=1e-5)
    assert torch.all(out[:, 1] == 0)


def test_label_smoothing_by_hand():
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    codes = torch.tensor([[0]])
    losses, _ = task_losses(logits, codes, [3], label_smoothing=0.3)
    log_p = torch.log_softmax(logits[0], dim=0)
    # target distribution: 0.7 on the class, 0.3 spread over the 3 classes
    expected = -(0.7 * log_p[0] + 0.1 * log_p.sum())
    assert losses.item() == pytest.approx(expected.item(), rel=1e-6)


def test_ensemble_predicts_the_mean_of_its_members_probabilities(digits):
    X, Y, X_test, _ = digits
    clf = MultiTaskClassifier(**{**FAST, "ensemble_size": 3}).fit(X, Y)
    module = clf.net_.module_
    module.eval()
    with torch.no_grad():
        member = module(torch.as_tensor(X_test[:7], dtype=torch.float32)).view(7, 3, -1)
    proba = clf.predict_proba(X_test[:7])
    start = 0
    for t, k in enumerate(module.split_sizes):
        each = torch.softmax(member[:, :, start:start + k].double(), dim=2)
        assert not torch.allclose(each[:, 0], each[:, 1])  # the members differ
        np.testing.assert_allclose(proba[t], each.mean(dim=1).numpy(), atol=1e-5)
        start += k
    assert clf.predict(X_test).shape == (len(X_test), Y.shape[1])
    assert clf.embed(X_test[:7]).shape == (7, 64)


def test_ensemble_is_reproducible_and_pickles(digits):
    X, Y, X_test, _ = digits
    a = MultiTaskClassifier(**{**FAST, "ensemble_size": 2}).fit(X[:300], Y[:300])
    b = MultiTaskClassifier(**{**FAST, "ensemble_size": 2}).fit(X[:300], Y[:300])
    np.testing.assert_array_equal(a.predict_proba(X_test)[0], b.predict_proba(X_test)[0])
    loaded = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(loaded.predict(X_test), a.predict(X_test))


def test_auto_ensemble_has_four_members_with_hidden_layers_else_one(digits):
    X, Y, _, _ = digits
    clf = MultiTaskClassifier(**dict(FAST, max_iter=2, ensemble_size="auto"))
    clf.fit(X[:100], Y[:100])
    assert clf.ensemble_size_ == 4
    assert clf.net_.module_.ensemble_size == 4
    from sklearn_mtl.architectures import MMoE

    clf = MultiTaskClassifier(**dict(FAST, max_iter=2, hidden_layer_sizes=(),
                                     ensemble_size="auto"),
                              architecture=MMoE(n_experts=2)).fit(X[:100], Y[:100])
    assert clf.ensemble_size_ == 1


def test_ensemble_needs_a_hidden_layer(digits):
    X, Y, _, _ = digits
    clf = MultiTaskClassifier(hidden_layer_sizes=(), ensemble_size=4, max_iter=2)
    with pytest.raises(ValueError, match="ensemble_size=4 needs at least one shared hidden"):
        clf.fit(X[:50], Y[:50])


def test_robust_input_scaling_trains_on_raw_features_without_warning():
    X, y = load_wine(return_X_y=True)
    rng = np.random.RandomState(0)
    order = rng.permutation(len(X))
    train, test = order[:120], order[120:]
    X_before = X.copy()
    raw = MultiTaskClassifier(hidden_layer_sizes=(64,), input_scaling=None, random_state=0)
    with pytest.warns(UserWarning, match="far from unit scale"):
        raw.fit(X[train], y[train])
    robust = MultiTaskClassifier(hidden_layer_sizes=(64,), input_scaling="robust",
                                 random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        robust.fit(X[train], y[train])
    assert not [w for w in caught if "unit scale" in str(w.message)]
    np.testing.assert_array_equal(X, X_before)  # the caller's X is untouched
    raw_acc = np.mean(raw.predict(X[test]) == y[test])
    robust_acc = np.mean(robust.predict(X[test]) == y[test])
    assert robust_acc >= 0.9 > raw_acc


def test_new_parameters_cannot_change_under_warm_start(digits):
    X, Y, _, _ = digits
    clf = MultiTaskClassifier(warm_start=True, **dict(FAST, max_iter=2)).fit(X[:100], Y[:100])
    clf.set_params(ensemble_size=2)
    with pytest.raises(ValueError, match="ensemble_size"):
        clf.fit(X[:100], Y[:100])


def test_groups_keep_each_group_on_one_side_of_the_validation_split():
    from sklearn_mtl._data import TensorData, ValidationSplit

    rng = np.random.RandomState(0)
    groups = np.repeat(np.arange(40), 5)  # 40 units, 5 rows each
    codes = torch.as_tensor(rng.randint(0, 2, size=(200, 2)))
    data = TensorData(torch.zeros(200, 3), codes)
    train, valid = ValidationSplit(0.2, seed=0, groups=groups)(data)
    train_groups = set(groups[train.rows.numpy()])
    valid_groups = set(groups[valid.rows.numpy()])
    assert not train_groups & valid_groups
    assert len(valid.rows) == 40  # 8 whole groups: the fraction, in groups
    assert len(train.rows) + len(valid.rows) == 200
    # without groups, rows of one group land on both sides
    train, valid = ValidationSplit(0.2, seed=0)(data)
    assert set(groups[train.rows.numpy()]) & set(groups[valid.rows.numpy()])


def test_groups_pass_through_fit_and_are_checked(digits):
    X, Y, _, _ = digits
    groups = np.repeat(np.arange(60), 5)
    clf = MultiTaskClassifier(**dict(FAST, max_iter=3)).fit(X[:300], Y[:300], groups=groups)
    assert clf.early_stopping_
    with pytest.raises(ValueError, match="one entry per row of X"):
        MultiTaskClassifier(**FAST).fit(X[:300], Y[:300], groups=groups[:10])
    with pytest.raises(ValueError, match="at least 2 groups"):
        MultiTaskClassifier(**FAST).fit(X[:300], Y[:300], groups=np.zeros(300))


def test_ctrl_c_propagates_and_leaves_a_usable_model(digits, monkeypatch):
    from sklearn_mtl._net import MultiTaskNet

    X, Y, X_test, _ = digits
    original = MultiTaskNet.run_single_epoch
    calls = {"n": 0}

    def interrupt_at_third_epoch(self, iterator, training, *args, **kwargs):
        if training:
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt  # what Ctrl-C raises inside the loop
        return original(self, iterator, training, *args, **kwargs)

    monkeypatch.setattr(MultiTaskNet, "run_single_epoch", interrupt_at_third_epoch)
    clf = MultiTaskClassifier(**dict(FAST, max_iter=50))
    with pytest.warns(UserWarning, match="interrupted during epoch 3, after 2 complete"):
        with pytest.raises(KeyboardInterrupt):
            clf.fit(X, Y)
    assert clf.n_iter_ == 2
    assert clf.predict(X_test).shape == (len(X_test), Y.shape[1])  # usable


def test_early_stopping_is_not_mistaken_for_ctrl_c(digits):
    X, Y, _, _ = digits
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        clf = MultiTaskClassifier(n_iter_no_change=2, **dict(FAST, max_iter=200)).fit(X, Y)
    assert clf.n_iter_ < 200


def test_robust_scaling_stays_finite_on_extreme_float32_columns():
    # issue 18: a column of +-3e38 had an inter-quartile range of 6e38, inf in
    # float32, and the column was scaled to 0 (or NaN)
    X = np.array([[-3e38], [-3e38], [3e38], [3e38], [1.0]], dtype=np.float32)
    center, scale = robust_statistics(X)
    assert np.isfinite(center).all() and np.isfinite(scale).all()
    out = RobustScaling(center, scale)(torch.tensor(X))
    assert torch.isfinite(out).all()
    assert out[0, 0] < -0.5 and out[2, 0] > 0.5  # the sign is kept
    # values far beyond the training scale (even ones whose (x - center)
    # overflows float32) clip to +-3 like any outlier, not to 0 or NaN
    layer = RobustScaling(np.zeros(1), np.ones(1))
    far = layer(torch.tensor([[1e20], [-3e38], [3e38]]))
    assert torch.allclose(far, torch.tensor([[3.0], [-3.0], [3.0]]))
    extreme = RobustScaling(np.full(1, -3e38), np.ones(1))(torch.tensor([[3e38]]))
    assert torch.allclose(extreme, torch.tensor([[3.0]]))


def test_an_informative_column_of_extreme_floats_is_used():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1], 100)
    X = np.column_stack([np.where(y == 1, 3e38, -3e38), rng.normal(size=200)])
    X = X.astype(np.float32)
    X_before = X.copy()
    clf = MultiTaskClassifier(**dict(FAST, max_iter=10, ensemble_size=1,
                                     early_stopping=False, input_scaling="robust"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scikit-learn's finite check
        clf.fit(X, y)
        flipped = X.copy()
        flipped[:, 0] *= -1
        assert np.mean(clf.predict(X) == y) == 1.0
        assert np.mean(clf.predict(flipped) == y) == 0.0
        assert np.abs(clf.predict_proba(X) - clf.predict_proba(flipped)).max() > 0.25
    np.testing.assert_array_equal(X, X_before)  # the caller's X is untouched


def test_warm_start_takes_auto_and_its_resolved_size_as_the_same(digits):
    X, Y, _, _ = digits
    clf = MultiTaskClassifier(warm_start=True, **dict(FAST, max_iter=2, ensemble_size="auto"))
    clf.fit(X[:100], Y[:100])
    assert clf.ensemble_size_ == 4
    clf.set_params(ensemble_size=4)  # what "auto" resolved to: the same network
    clf.fit(X[:100], Y[:100])
    clf.set_params(ensemble_size="auto")
    clf.fit(X[:100], Y[:100])
    assert clf.n_iter_ == 6 and clf.ensemble_size_ == 4  # continued, not retrained
    clf.set_params(ensemble_size=2)
    with pytest.raises(ValueError, match=r"cannot change \['ensemble_size'\]"):
        clf.fit(X[:100], Y[:100])


@pytest.mark.parametrize("missing", [np.nan, None, pd.NA])
@pytest.mark.parametrize("dtype", [object, "string"])
def test_groups_with_missing_labels_are_refused(digits, missing, dtype):
    X, Y, _, _ = digits
    groups = pd.Series([f"p{i // 5}" for i in range(100)], dtype=object)
    groups[7] = missing
    groups[42] = missing
    groups = groups.astype(dtype)
    before = groups.copy()
    clf = MultiTaskClassifier(**dict(FAST, max_iter=2, early_stopping=True))
    with pytest.raises(ValueError, match=r"groups contains 2 missing value\(s\).*row 7"):
        clf.fit(X[:100], Y[:100], groups=groups)
    pd.testing.assert_series_equal(groups, before)
    # the dtypes refused before still are, with the same message
    for bad in (np.where(np.arange(100) == 3, np.nan, 1.0),
                pd.Series(np.arange(100) // 5, dtype="Int64").mask(np.arange(100) == 3)):
        with pytest.raises(ValueError, match=r"groups contains 1 missing value\(s\).*row 3"):
            clf.fit(X[:100], Y[:100], groups=bad)
