"""Safe model files (sklearn_mtl.io): round trips, and every refusal."""

import io
import json
import pickle
import warnings

import numpy as np
import pytest
import torch
from conftest import TINY
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtl import GroupedMultiTaskClassifier, MultiTaskClassifier
from sklearn_mtl.architectures import MMoE
from sklearn_mtl.embeddings import PeriodicEmbedding
from sklearn_mtl.trunks import TorchTrunk
from sklearn_mtl.weighting import UncertaintyWeighting

pytest.importorskip("safetensors")
from sklearn_mtl.io import FORMAT_VERSION, ModelFileError, describe, load, save  # noqa: E402

SMALL = {**TINY, "max_iter": 4}


def _saved(estimator):
    buffer = io.BytesIO()
    save(estimator, buffer)
    return buffer.getvalue()


def _assert_same_predictions(a, b, X):
    pa, pb = a.predict_proba(X), b.predict_proba(X)
    for x, y in zip(pa if isinstance(pa, list) else [pa], pb if isinstance(pb, list) else [pb]):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


@pytest.fixture(scope="module")
def fitted(digits):
    X, Y, _, _ = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MultiTaskClassifier(**SMALL, batch_norm=True).fit(X[:400], Y[:400])


def _rewrite(data, edit):
    """``data`` with its safetensors header edited by ``edit(metadata)``."""
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + length])
    edit(header["__metadata__"])
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return len(text).to_bytes(8, "little") + text + data[8 + length:]


def _rewrite_model(data, edit):
    """``data`` with its model description edited by ``edit(model)``, and the
    digest recomputed, as a deliberate forger would."""
    from sklearn_mtl.io import _digest

    def change(metadata):
        model = json.loads(metadata["model"])
        edit(model)
        metadata["model"] = json.dumps(model)
        from safetensors.torch import load as load_tensors

        metadata["sha256"] = _digest(metadata["model"], load_tensors(data))

    return _rewrite(data, change)


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize("architecture", ["hard", "mmoe", "ple", "cgc"])
def test_round_trip_every_architecture(digits, architecture):
    X, Y, X_test, _ = digits
    clf = MultiTaskClassifier(**SMALL, architecture=architecture,
                              head_hidden_layer_sizes=(8,)).fit(X[:300], Y[:300])
    loaded = load(_saved(clf))
    _assert_same_predictions(clf, loaded, X_test[:100])
    assert loaded.get_params(deep=True).keys() == clf.get_params(deep=True).keys()
    assert repr(loaded) == repr(clf)
    assert loaded.n_iter_ == clf.n_iter_
    assert loaded.history_[-1, "train_loss"] == clf.history_[-1, "train_loss"]


def test_round_trip_conv_trunk_strings_and_objects(digits):
    X, Y, X_test, _ = digits
    Y = Y.astype(object)
    Y[:, 1] = np.where(Y[:, 1] == 1, "odd", "even")
    Y[::7, 2] = None  # missing labels
    clf = MultiTaskClassifier(
        **{**SMALL, "random_state": np.random.RandomState(3)}, trunk="conv",
        architecture=MMoE(n_experts=2, expert_hidden_layer_sizes=(8,)),
        weighting=UncertaintyWeighting(), task_weights={"task_0": 2.0},
    ).fit(X[:300], Y[:300])
    loaded = load(_saved(clf))
    _assert_same_predictions(clf, loaded, X_test[:100])
    assert isinstance(loaded.architecture, MMoE) and loaded.architecture.n_experts == 2
    assert isinstance(loaded.weighting, UncertaintyWeighting)
    assert loaded.task_weights == {"task_0": 2.0}
    assert loaded.classes_[1].dtype == clf.classes_[1].dtype
    assert loaded.predict(X_test[:5])[:, 1].tolist() == clf.predict(X_test[:5])[:, 1].tolist()


def test_every_data_derived_buffer_comes_from_the_file(fitted, digits):
    """The builder is called on a placeholder X: the scaling statistics and the
    batch-norm statistics must all be overwritten by the file's tensors."""
    loaded = load(_saved(fitted))
    saved = fitted.net_.module_.state_dict()
    rebuilt = loaded.net_.module_.state_dict()
    assert saved.keys() == rebuilt.keys()
    for key in saved:
        torch.testing.assert_close(rebuilt[key], saved[key].cpu(), rtol=0, atol=0)
    assert any("scaling" in key for key in saved)
    assert any("running_mean" in key for key in saved)
    assert not torch.all(rebuilt["trunk.scaling.center"] == 0)


def test_round_trip_one_dimensional_y_and_fitted_attributes(digits):
    X, Y, X_test, _ = digits
    clf = MultiTaskClassifier(**SMALL).fit(X[:300], Y[:300, 0])
    loaded = load(_saved(clf))
    _assert_same_predictions(clf, loaded, X_test[:50])
    for name in ("n_tasks_", "device_", "early_stopping_", "ensemble_size_", "n_features_in_"):
        assert getattr(loaded, name) == getattr(clf, name)
    np.testing.assert_array_equal(loaded.task_names_, clf.task_names_)
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)


def test_round_trip_grouped_and_pipeline(digits):
    X, Y, X_test, _ = digits
    grouped = GroupedMultiTaskClassifier(MultiTaskClassifier(**SMALL),
                                         task_groups=[[0, 2], [1], [3]]).fit(X[:300], Y[:300])
    loaded = load(_saved(grouped))
    _assert_same_predictions(grouped, loaded, X_test[:50])
    assert loaded.task_groups_ == grouped.task_groups_

    pytest.importorskip("skops")
    pipe = make_pipeline(StandardScaler(), MultiTaskClassifier(**SMALL)).fit(
        X[:300] * 16, Y[:300])
    loaded = load(_saved(pipe))
    _assert_same_predictions(pipe, loaded, X_test[:50] * 16)
    np.testing.assert_array_equal(loaded[0].mean_, pipe[0].mean_)


def test_file_on_disk_and_describe(fitted, tmp_path):
    path = tmp_path / "model.safetensors"
    save(fitted, path)
    model = describe(path)
    assert model["estimator"]["class"] == "sklearn_mtl.MultiTaskClassifier"
    assert model["estimator"]["params"]["batch_norm"] is True
    assert isinstance(load(path), MultiTaskClassifier)


def test_cuda_trained_model_loads_on_cpu(fitted, digits):
    """Simulated: the file says the model was trained on CUDA, with
    device='cuda'; loading places it on the CPU."""
    _, _, X_test, _ = digits

    def trained_on_cuda(model):
        estimator = model["estimator"]
        estimator["params"]["device"] = "cuda"
        estimator["fitted"]["device_"] = "cuda"

    loaded = load(_rewrite_model(_saved(fitted), trained_on_cuda))
    assert loaded.device_ == "cuda" and loaded.device == "cuda"
    assert loaded.net_.device == "cpu"
    assert all(p.device.type == "cpu" for p in loaded.net_.module_.parameters())
    _assert_same_predictions(fitted, loaded, X_test[:50])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_trained_model_loads_on_cpu_for_real(digits):
    X, Y, X_test, _ = digits
    clf = MultiTaskClassifier(**SMALL, device="cuda").fit(X[:300], Y[:300])
    loaded = load(_saved(clf), device="cpu")
    assert loaded.net_.module_.trunk.dense.layers[0].weight.device.type == "cpu"
    for a, b in zip(clf.predict_proba(X_test[:50]), loaded.predict_proba(X_test[:50])):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_loaded_model_can_continue_training(fitted, digits):
    X, Y, _, _ = digits
    loaded = load(_saved(fitted)).set_params(warm_start=True, max_iter=1)
    loaded.fit(X[:400], Y[:400])
    assert loaded.n_iter_ == fitted.n_iter_ + 1


# --------------------------------------------------------------------- refusals
def test_refuses_a_user_module_on_save(digits):
    X, Y, _, _ = digits
    clf = MultiTaskClassifier(**TINY, trunk=TorchTrunk(torch.nn.Linear, in_features=64,
                                                       out_features=8)).fit(X[:100], Y[:100])
    with pytest.raises(TypeError, match="TorchTrunk.*your own code"):
        save(clf, io.BytesIO())


def test_refuses_an_unknown_type(fitted):
    def inject(model):
        model["estimator"]["params"]["architecture"] = {
            "__object__": "os.system", "params": {}}

    with pytest.raises(ModelFileError, match="unknown type 'os.system'"):
        load(_rewrite_model(_saved(fitted), inject))

    def unknown_kind(model):
        model["estimator"]["fitted"]["n_iter_"] = {"__reduce__": ["os.system", "echo"]}

    with pytest.raises(ModelFileError, match="unknown content"):
        load(_rewrite_model(_saved(fitted), unknown_kind))

    def unknown_class(model):
        model["estimator"]["class"] = "builtins.eval"

    with pytest.raises(ModelFileError, match="unknown estimator type"):
        load(_rewrite_model(_saved(fitted), unknown_class))


def test_refuses_an_unknown_parameter_or_attribute(fitted):
    def new_param(model):
        model["estimator"]["params"]["from_the_future"] = 1

    with pytest.raises(ModelFileError, match="no parameter"):
        load(_rewrite_model(_saved(fitted), new_param))

    def method_override(model):
        model["estimator"]["fitted"]["predict"] = 1

    with pytest.raises(ModelFileError, match="not a fitted attribute"):
        load(_rewrite_model(_saved(fitted), method_override))


def test_refuses_a_newer_format_version(fitted):
    def newer(metadata):
        metadata["format_version"] = str(FORMAT_VERSION + 1)

    with pytest.raises(ModelFileError, match="newer than the version"):
        load(_rewrite(_saved(fitted), newer))


def test_refuses_tampered_bytes(fitted):
    data = bytearray(_saved(fitted))
    data[-5] ^= 0x01  # a bit of the last tensor
    with pytest.raises(ModelFileError, match="SHA-256"):
        load(bytes(data))

    def altered(metadata):
        metadata["model"] = metadata["model"].replace('"max_iter": 4', '"max_iter": 5')

    with pytest.raises(ModelFileError, match="SHA-256"):
        load(_rewrite(_saved(fitted), altered))


def test_refuses_extra_or_missing_tensors(fitted):
    from safetensors.torch import load as load_tensors
    from safetensors.torch import save as save_tensors

    from sklearn_mtl.io import _digest

    data = _saved(fitted)
    length = int.from_bytes(data[:8], "little")
    metadata = json.loads(data[8:8 + length])["__metadata__"]
    tensors = load_tensors(data)
    for change in ("extra", "missing"):
        edited = dict(tensors)
        if change == "extra":
            edited["payload"] = torch.zeros(3)
        else:
            edited.pop("heads.linear.weight")
        forged = {**metadata, "sha256": _digest(metadata["model"], edited)}
        with pytest.raises(ModelFileError, match="no part of the model uses|has no tensor"):
            load(save_tensors(edited, metadata=forged))


def test_refuses_a_truncated_file(fitted):
    data = _saved(fitted)
    for cut in (len(data) - 10, 100, 5):
        with pytest.raises(ModelFileError, match="cut short|damaged|only 5 bytes"):
            load(data[:cut])


def test_refuses_a_pickle_in_disguise(fitted, tmp_path):
    """A pickle (or torch.save zip) named like a model file is never unpickled."""
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ModelFileError, match="not a sklearn_mtl model file"):
        load(path)
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(ModelFileError, match="not a sklearn_mtl model file"):
        load(path)
    assert not marker.exists()


def test_refuses_a_foreign_safetensors_file():
    from safetensors.torch import save as save_tensors

    with pytest.raises(ModelFileError, match="does not name the format"):
        load(save_tensors({"w": torch.ones(2)}))
    with pytest.raises(ModelFileError, match="fields"):
        load(save_tensors({"w": torch.ones(2)}, metadata={
            "format": "sklearn_mtl.model", "format_version": "1", "model": "{}",
            "sha256": "0", "code": "print(1)"}))


def _user_function(X):
    return 2 * X


def test_pipeline_steps_that_skops_does_not_trust_are_refused(digits):
    """Your own function in a FunctionTransformer is code: refused on save."""
    pytest.importorskip("skops")
    from sklearn.preprocessing import FunctionTransformer

    X, Y, _, _ = digits
    pipe = make_pipeline(FunctionTransformer(_user_function), MultiTaskClassifier(**TINY)).fit(
        X[:100], Y[:100])
    with pytest.raises(TypeError, match="does not trust"):
        save(pipe, io.BytesIO())


def test_refuses_a_data_derived_buffer_that_would_be_lost(digits):
    """A buffer outside the state dict (persistent=False) that a network built
    from the parameters does not reproduce: saving refuses rather than lose it."""
    X, Y, _, _ = digits
    clf = MultiTaskClassifier(**TINY).fit(X[:100], Y[:100])
    save(clf, io.BytesIO())  # the package's own modules pass the check
    clf.net_.module_.trunk.register_buffer("bin_edges", torch.rand(4), persistent=False)
    with pytest.raises(TypeError, match="non-persistent buffer.*bin_edges"):
        save(clf, io.BytesIO())


def test_round_trip_grouped_auto_keeps_the_grouping(digits):
    X, Y, X_test, _ = digits
    grouped = GroupedMultiTaskClassifier(MultiTaskClassifier(**TINY), affinity_every=2).fit(
        X[:300], Y[:300])
    loaded = load(_saved(grouped))
    _assert_same_predictions(grouped, loaded, X_test[:50])
    assert loaded.grouping_.groups == grouped.grouping_.groups
    np.testing.assert_array_equal(loaded.task_affinity_, grouped.task_affinity_)


def test_refuses_a_pipeline_step_swapped_for_untrusted_skops_bytes(digits):
    """A forged file whose scikit-learn step names a function of the
    attacker's choosing: skops' audit refuses it, nothing is called."""
    sio = pytest.importorskip("skops.io")
    from sklearn.preprocessing import FunctionTransformer

    X, Y, _, _ = digits
    pipe = make_pipeline(StandardScaler(), MultiTaskClassifier(**TINY)).fit(X[:100], Y[:100])
    data = _saved(pipe)
    hostile = np.frombuffer(sio.dumps(FunctionTransformer(_user_function)), dtype=np.uint8)

    from safetensors.torch import load as load_tensors
    from safetensors.torch import save as save_tensors

    from sklearn_mtl.io import _digest

    length = int.from_bytes(data[:8], "little")
    metadata = json.loads(data[8:8 + length])["__metadata__"]
    tensors = load_tensors(data)
    tensors["steps.0.skops"] = torch.from_numpy(hostile.copy())
    metadata["sha256"] = _digest(metadata["model"], tensors)
    with pytest.raises(ModelFileError, match="does not trust"):
        load(save_tensors(tensors, metadata=metadata))


def test_package_imports_without_the_deploy_extra():
    import subprocess
    import sys

    blocked = ["safetensors", "skops", "onnx", "onnxruntime", "onnxscript", "skl2onnx"]
    code = (
        f"import sys\nfor name in {blocked!r}:\n    sys.modules[name] = None\n"
        "import sklearn_mtl, sklearn_mtl.io, sklearn_mtl.onnx\n"
        "for call in (lambda: sklearn_mtl.io.save(None, 'x'),\n"
        "             lambda: sklearn_mtl.onnx.to_onnx(None)):\n"
        "    try:\n        call()\n    except ImportError as exc:\n"
        "        print('deploy' in str(exc))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]


def test_round_trip_dataframes_keep_feature_and_task_names(digits_frame):
    pd = pytest.importorskip("pandas")
    X, Y = digits_frame
    X = pd.DataFrame(X, columns=[f"pixel_{j}" for j in range(X.shape[1])])
    clf = MultiTaskClassifier(**TINY).fit(X[:200], Y[:200])
    loaded = load(_saved(clf))
    np.testing.assert_array_equal(loaded.feature_names_in_, clf.feature_names_in_)
    assert list(loaded.task_names_) == list(Y.columns)
    _assert_same_predictions(clf, loaded, X[200:260])
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(X[200:210].rename(columns=lambda c: f"{c}_renamed"))


@pytest.mark.parametrize("options", [
    dict(numerical_embedding="piecewise_linear", linear_path=True, ensemble_size=4),
    dict(numerical_embedding=PeriodicEmbedding(n_frequencies=4), ensemble_size=1),
])
def test_round_trip_numerical_embeddings_and_linear_path(digits, options):
    X, Y, X_test, _ = digits
    clf = MultiTaskClassifier(**{**SMALL, **options}).fit(X[:300], Y[:300])
    loaded = load(_saved(clf))
    _assert_same_predictions(clf, loaded, X_test[:100])
    # the bins come from the file, not from the placeholder rows of the rebuild
    if options["numerical_embedding"] == "piecewise_linear":
        torch.testing.assert_close(loaded.net_.module_.trunk.embedding.left,
                                   clf.net_.module_.trunk.embedding.left)
    # continuing to train keeps the loaded linear path: it is not refitted
    if options.get("linear_path"):
        weight = loaded.net_.module_.linear_path.weight.detach().clone()
        loaded.set_params(warm_start=True, max_iter=1, learning_rate_init=1e-12)
        loaded.fit(X[:300], Y[:300])
        torch.testing.assert_close(loaded.net_.module_.linear_path.weight, weight)
