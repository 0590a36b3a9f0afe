"""What the defaults do on their own: early stopping when there is data for it,
and a warning when features are far from unit scale."""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import TINY
from sklearn.base import clone
from sklearn.datasets import load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtl import MultiTaskClassifier

# this file tests the defaults themselves: TINY without the options it pins
SHORT = {k: v for k, v in TINY.items()
         if k not in ("ensemble_size", "early_stopping", "input_scaling")}
SHORT["max_iter"] = 3
# the unit-scale warning is for networks that read X as given
UNSCALED = dict(SHORT, input_scaling=None)


def _data(n, n_features=5, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, n_features))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(int)
    return X, Y


def test_auto_early_stopping_turns_on_from_100_labelled_rows():
    X, Y = _data(100)
    clf = MultiTaskClassifier(**SHORT).fit(X, Y)
    assert clf.early_stopping_ is True
    assert "valid_loss" in clf.history_[-1]

    clf = MultiTaskClassifier(**SHORT).fit(X[:99], Y[:99])
    assert clf.early_stopping_ is False
    assert "valid_loss" not in clf.history_[-1]


def test_auto_early_stopping_counts_labelled_rows_and_fraction():
    X, Y = _data(150)
    Y = Y.astype(float)
    Y[90:] = np.nan  # 60 rows without any label cannot validate
    clf = MultiTaskClassifier(**SHORT).fit(X, Y)
    assert clf.early_stopping_ is False  # 150 rows, but 90 labelled x 0.1 < 10
    Y[90:100, 1] = 1  # one label is enough for a row to count
    clf = MultiTaskClassifier(**SHORT).fit(X, Y)
    assert clf.early_stopping_ is True
    # a larger fraction reaches 10 validation rows sooner
    clf = MultiTaskClassifier(validation_fraction=0.2, **SHORT).fit(X[:50], Y[:50])
    assert clf.early_stopping_ is True


@pytest.mark.parametrize("value", [True, False])
def test_explicit_early_stopping_is_obeyed(value):
    X, Y = _data(30 if value else 300)
    clf = MultiTaskClassifier(**{**SHORT, "early_stopping": value}).fit(X, Y)
    assert clf.early_stopping_ is value
    assert ("valid_loss" in clf.history_[-1]) is value


def test_invalid_early_stopping_names_the_parameter():
    X, Y = _data(20)
    with pytest.raises(ValueError, match="'early_stopping' parameter"):
        MultiTaskClassifier(early_stopping="yes").fit(X, Y)


def test_unscaled_features_warn_with_the_worst_column():
    X, y = load_wine(return_X_y=True, as_frame=True)
    X_before = X.copy()
    with pytest.warns(UserWarning, match=r"'proline' \(column 12\) with mean 746.9"):
        MultiTaskClassifier(**UNSCALED).fit(X, y)
    pd.testing.assert_frame_equal(X, X_before)  # nothing of the caller's data changes
    with pytest.warns(UserWarning, match=r"largest is column 12 with mean"):
        MultiTaskClassifier(**UNSCALED).fit(X.to_numpy(), y)


def test_standardized_or_sparse_features_do_not_warn():
    X, y = load_wine(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)  # 3 epochs on purpose
        make_pipeline(StandardScaler(), MultiTaskClassifier(**UNSCALED)).fit(X, y)
        # digits' raw 0-16 pixels train fine (benchmarks/accuracy.py): no warning
        MultiTaskClassifier(**UNSCALED).fit(np.tile(np.arange(17.0), (20, 1)), np.arange(20) % 2)
        # sparse counts are left alone: centring them would densify
        MultiTaskClassifier(**UNSCALED).fit(sp.csr_matrix(X * 100), y)


def test_unscaled_warning_only_on_a_fresh_fit():
    X, y = load_wine(return_X_y=True)
    clf = MultiTaskClassifier(warm_start=True, **UNSCALED)
    with pytest.warns(UserWarning, match="far from unit scale"):
        clf.fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)  # 3 epochs on purpose
        clone(clf).set_params(warm_start=False)  # clone is not a fit
        clf.fit(X, y)


def test_early_stopping_split_copies_no_features():
    # early stopping is on by default: holding out validation rows must not
    # copy X, the batches gather their rows from the caller's array
    from sklearn_mtl._data import ValidationSplit

    X, Y = _data(200)
    X = np.ascontiguousarray(X, dtype=np.float32)
    clf = MultiTaskClassifier(**SHORT).fit(X, Y)
    codes = np.where(Y >= 0, Y, -1).astype(np.int64)
    data = clf.net_.prepare_data(X, codes)
    train, valid = ValidationSplit(0.1, seed=0)(data)
    assert len(train) == 180 and len(valid) == 20
    for part in (train, valid):
        assert part.X.data_ptr() == data.X.data_ptr() and np.shares_memory(part.X.numpy(), X)
    # every row is in exactly one part, and a batch holds the rows it names
    seen = np.concatenate([train.rows.numpy(), valid.rows.numpy()])
    assert sorted(seen) == list(range(200))
    X_batch, (codes_batch, _) = valid.batch(slice(0, 5))
    np.testing.assert_array_equal(X_batch.numpy(), X[valid.rows[:5].numpy()])
    np.testing.assert_array_equal(codes_batch.numpy(), codes[valid.rows[:5].numpy()])
