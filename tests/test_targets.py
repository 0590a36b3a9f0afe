import numpy as np
import pandas as pd
import pytest

from sklearn_mtl._targets import MISSING, decode, encode_targets, output_dtype


def test_numeric_columns_with_nan_become_integer_classes():
    Y = np.array([[0, 5.0], [1, np.nan], [2, 7.0], [1, 5.0]])
    codes, enc = encode_targets(Y)
    assert codes.tolist() == [[0, 0], [1, MISSING], [2, 1], [1, 0]]
    assert [c.tolist() for c in enc.classes] == [[0, 1, 2], [5, 7]]
    assert all(c.dtype.kind == "i" for c in enc.classes)
    assert list(enc.task_names) == ["task_0", "task_1"]
    assert not enc.one_dimensional


def test_mixed_label_types_across_columns_and_none():
    Y = [["a", True, 3], [None, False, 1], ["b", True, None]]
    codes, enc = encode_targets(Y)
    assert codes.tolist() == [[0, 1, 1], [MISSING, 0, 0], [1, 1, MISSING]]
    assert enc.classes[0].tolist() == ["a", "b"]
    assert enc.classes[1].dtype == np.dtype(bool)
    assert enc.classes[2].tolist() == [1, 3]
    decoded = decode(np.array([[1, 0, 1]]), enc)
    assert decoded.dtype == object
    assert decoded.tolist() == [["b", False, 3]]


def test_pandas_nullable_dtypes_keep_their_kind():
    Y = pd.DataFrame(
        {
            "n": pd.array([1, None, 3], dtype="Int64"),
            "b": pd.array([True, None, False], dtype="boolean"),
            "s": pd.array(["x", "y", None], dtype="string"),
        }
    )
    codes, enc = encode_targets(Y)
    assert list(enc.task_names) == ["n", "b", "s"]
    assert codes[:, 0].tolist() == [0, MISSING, 1]
    assert codes[:, 1].tolist() == [1, MISSING, 0]
    assert codes[:, 2].tolist() == [0, 1, MISSING]
    assert enc.classes[0].dtype.kind == "i"
    assert enc.classes[1].dtype == np.dtype(bool)
    assert enc.classes[2].tolist() == ["x", "y"]
    assert enc.classes[2].dtype.kind == "U"


def test_output_dtype_rules():
    ints = [np.array([0, 1]), np.array([3, 4], dtype=np.int32)]
    assert output_dtype(ints).kind == "i"
    assert output_dtype([np.array([False, True])] * 2) == np.dtype(bool)
    assert output_dtype([np.array(["a", "bb"]), np.array(["c"])]).kind == "U"
    assert output_dtype([np.array([0, 1]), np.array(["a", "b"])]) == np.dtype(object)


def test_one_dimensional_series_keeps_name():
    codes, enc = encode_targets(pd.Series(["u", "v", "u"], name="kind"))
    assert enc.one_dimensional
    assert list(enc.task_names) == ["kind"]
    assert decode(codes, enc).tolist() == ["u", "v", "u"]


@pytest.mark.parametrize(
    "Y, message",
    [
        (np.array([[0, np.nan], [1, np.nan]]), "Task 'task_1' \\(column 1\\) has no observed"),
        (np.array([[0, 0.5], [1, 1.5]]), "Unknown label type: continuous values in task 'task_1'"),
        (np.array([[0, np.inf], [1, 1.0]]), "infinity in task 'task_1'"),
        ([[1, "a"], ["b", "c"]], "Task 'task_0' mixes label types"),
        (np.zeros((3, 0)), "0 columns"),
        (np.zeros((2, 2, 2)), "must be 1-D"),
        (pd.DataFrame([[0, 1]], columns=["a", "a"]), "duplicate column names"),
    ],
)
def test_bad_targets_name_the_task(Y, message):
    with pytest.raises(ValueError, match=message):
        encode_targets(Y)
