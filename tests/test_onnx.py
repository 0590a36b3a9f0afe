"""ONNX export (sklearn_mtl.onnx): parity with predict_proba and predict,
checked with onnxruntime on held-back rows."""

import warnings

import numpy as np
import pytest
import torch
from conftest import TINY
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtl import GroupedMultiTaskClassifier, MultiTaskClassifier
from sklearn_mtl.embeddings import PeriodicEmbedding
from sklearn_mtl.trunks import TorchTrunk

pytest.importorskip("onnx")
pytest.importorskip("onnxscript")
ort = pytest.importorskip("onnxruntime")
from sklearn_mtl.onnx import to_onnx  # noqa: E402

# enough training that the predicted labels vary, so label parity means something
SMALL = {**TINY, "max_iter": 6, "early_stopping": False}
ATOL = 1e-5


def _run(model, X):
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"X": X})))


def _assert_parity(estimator, X, dtype=np.float32, **kwargs):
    model = to_onnx(estimator, **kwargs)
    outputs = _run(model, X.astype(dtype))
    proba = estimator.predict_proba(X)
    proba = proba if isinstance(proba, list) else [proba]
    labels = np.asarray(estimator.predict(X)).reshape(len(X), -1)
    n_tasks = len(proba)
    assert list(outputs) == [f"label_{t}" for t in range(n_tasks)] + [
        f"probabilities_{t}" for t in range(n_tasks)]
    for t in range(n_tasks):
        assert outputs[f"probabilities_{t}"].dtype == np.float32
        np.testing.assert_allclose(outputs[f"probabilities_{t}"], proba[t], rtol=0, atol=ATOL)
        np.testing.assert_array_equal(outputs[f"label_{t}"], labels[:, t])
    assert any(len(np.unique(labels[:, t])) > 1 for t in range(n_tasks))
    return outputs


@pytest.mark.parametrize("architecture", ["hard", "mmoe", "ple", "cgc"])
def test_parity_every_architecture_with_the_packed_ensemble(digits, architecture):
    X, Y, X_test, _ = digits
    clf = MultiTaskClassifier(**{**SMALL, "ensemble_size": 3}, architecture=architecture,
                              batch_norm=True).fit(X[:400], Y[:400])
    outputs = _assert_parity(clf, X_test[:300])
    assert outputs["label_0"].dtype == np.int64


def test_parity_conv_trunk_string_labels_single_network(digits):
    X, Y, X_test, _ = digits
    Y = Y.astype(object)
    Y[:, 1] = np.where(Y[:, 1] == 1, "odd", "even")
    Y[:, 3] = np.array(["none", "one", "two"])[Y[:, 3].astype(int)]
    clf = MultiTaskClassifier(**{**SMALL, "ensemble_size": 1}, trunk="conv",
                              head_hidden_layer_sizes=(8,)).fit(X[:400], Y[:400])
    outputs = _assert_parity(clf, X_test[:200])
    assert set(outputs["label_1"]) <= {"odd", "even"}
    # one row at a time, as a server answers a request
    single = _run(to_onnx(clf), X_test[:1].astype(np.float32))
    assert single["label_1"][0] == clf.predict(X_test[:1])[0, 1]


def test_parity_one_dimensional_y_and_float64_input(digits):
    X, Y, X_test, _ = digits
    clf = MultiTaskClassifier(**SMALL).fit(X[:400], Y[:400, 0])
    _assert_parity(clf, X_test[:200], dtype=np.float64, input_dtype="float64")


def test_parity_torch_trunk(digits):
    X, Y, X_test, _ = digits
    trunk = TorchTrunk(torch.nn.Linear, in_features=64, out_features=16)
    clf = MultiTaskClassifier(**SMALL, trunk=trunk).fit(X[:400], Y[:400])
    _assert_parity(clf, X_test[:200])


class _DataDependent(torch.nn.Module):
    """Python control flow on the values of the input: not exportable."""

    out_features = 64

    def forward(self, x):
        if x.sum() > 0:
            return x
        return -x


def test_untraceable_torch_trunk_is_a_clear_error(digits):
    X, Y, _, _ = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MultiTaskClassifier(**TINY, trunk=TorchTrunk(_DataDependent)).fit(
            X[:100], Y[:100])
    with pytest.raises(ValueError, match="could not be exported to ONNX"):
        to_onnx(clf)


def test_bfloat16_precision_is_a_clear_error(digits):
    X, Y, _, _ = digits
    clf = MultiTaskClassifier(**TINY, precision="bfloat16").fit(X[:100], Y[:100])
    with pytest.raises(ValueError, match="precision='float32'"):
        to_onnx(clf)


def test_parity_grouped_estimator(digits):
    X, Y, X_test, _ = digits
    Y = Y.astype(object)
    Y[:, 1] = np.where(Y[:, 1] == 1, "odd", "even")
    grouped = GroupedMultiTaskClassifier(MultiTaskClassifier(**SMALL),
                                         task_groups=[[3, 1], [0], [2]]).fit(X[:400], Y[:400])
    outputs = _assert_parity(grouped, X_test[:200])
    assert outputs["label_1"].dtype == object and outputs["label_0"].dtype == np.int64


def test_parity_pipeline_with_standard_scaler(digits):
    pytest.importorskip("skl2onnx")
    X, Y, X_test, _ = digits
    pipe = make_pipeline(StandardScaler(), MultiTaskClassifier(**{**SMALL, "input_scaling": None}))
    pipe.fit(X[:400] * 16, Y[:400])
    _assert_parity(pipe, X_test[:200] * 16)
    _assert_parity(pipe, X_test[:200] * 16, dtype=np.float64, input_dtype="float64")


def test_skl2onnx_converts_a_pipeline_after_registration(digits):
    skl2onnx = pytest.importorskip("skl2onnx")
    from skl2onnx.common.data_types import FloatTensorType

    from sklearn_mtl.onnx import register_skl2onnx_converter

    X, Y, X_test, _ = digits
    Y = Y.astype(str)
    pipe = make_pipeline(StandardScaler(), MultiTaskClassifier(**SMALL)).fit(X[:300], Y[:300])
    register_skl2onnx_converter()
    model = skl2onnx.to_onnx(pipe, initial_types=[("input", FloatTensorType([None, 64]))],
                             target_opset={"": 18, "ai.onnx.ml": 3})
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    labels = session.run(["label_0", "label_3"], {"input": X_test[:50].astype(np.float32)})
    expected = pipe.predict(X_test[:50])
    np.testing.assert_array_equal(labels[0], expected[:, 0])
    np.testing.assert_array_equal(labels[1], expected[:, 3])


@pytest.mark.parametrize("options", [
    dict(numerical_embedding="piecewise_linear", linear_path=True, ensemble_size=4),
    dict(numerical_embedding=PeriodicEmbedding(n_frequencies=4, lite=False), ensemble_size=1),
])
def test_parity_numerical_embeddings_and_linear_path(digits, options):
    X, Y, X_test, _ = digits
    clf = MultiTaskClassifier(**{**SMALL, **options}).fit(X[:400], Y[:400])
    _assert_parity(clf, X_test[:300])
