"""Safe model files: save and load fitted estimators without pickle.

A model file is one `safetensors <https://github.com/huggingface/safetensors>`_
file. Its tensors are the weights and persistent buffers (fitted scaling
statistics, batch-norm statistics) of every network, under the names of the
module's ``state_dict``, plus the saved bytes of any
scikit-learn step of a Pipeline (written by ``skops.io``). Its header's
``__metadata__`` holds four strings:

* ``"format"``: ``"sklearn_mtl.model"``;
* ``"format_version"``: an integer, :data:`FORMAT_VERSION` when written;
* ``"model"``: a JSON document describing the estimator: its class (one of a
  fixed list), its parameters (plain JSON values, or parameter objects of the
  package's registries, described the same way), its fitted attributes
  (plain values and arrays of numbers or strings), and which tensors belong
  to which network;
* ``"sha256"``: a SHA-256 digest of the JSON document and every tensor, in
  name order, that :func:`load` checks before it builds anything.

Loading reads the JSON, refuses anything it does not know, rebuilds each
network from its parameters with the estimator's own builder, and copies the
tensors into it (``load_state_dict(strict=True)``: every tensor of the file
is used, and every parameter and buffer of the network comes from the file).
No code from the file is run: the file names classes only through a fixed
table, and it holds no pickle.
"""

import hashlib
import json
import keyword
import math
import os
import re
from dataclasses import fields

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from . import __version__
from ._callbacks import AffinityProbe
from ._classifier import MultiTaskClassifier
from ._grouped import GroupedMultiTaskClassifier
from ._optional import require
from ._targets import TaskEncoding
from ._validation import _resolve_device
from .architectures import ARCHITECTURES
from .embeddings import EMBEDDINGS
from .grouping import TaskGrouping
from .trunks import TRUNKS, BaseTrunk
from .weighting import WEIGHTINGS

__all__ = ["FORMAT_VERSION", "ModelFileError", "describe", "load", "save"]

#: Version of the file format that :func:`save` writes. :func:`load` reads
#: this version and older ones, and refuses files of a newer version.
FORMAT_VERSION = 1

_FORMAT = "sklearn_mtl.model"
_METADATA_KEYS = {"format", "format_version", "model", "sha256"}
# a header longer than this is not one of ours (safetensors caps it at 100 MB)
_MAX_HEADER_BYTES = 100_000_000


def _require(module):
    return require(module, "Safe model files")


class ModelFileError(ValueError):
    """A model file that :func:`load` refuses: not a model file, from a
    newer format version, altered or cut short, or holding content that
    the loader does not know."""


# ------------------------------------------------------------------ the table
def _known_classes():
    """Qualified name -> class of everything a file may name.

    The estimators, and the parameter objects of the registries (the
    classes of :data:`~sklearn_mtl.architectures.ARCHITECTURES`,
    :data:`~sklearn_mtl.trunks.TRUNKS`,
    :data:`~sklearn_mtl.embeddings.EMBEDDINGS` and
    :data:`~sklearn_mtl.weighting.WEIGHTINGS`): a new registered class is
    known without touching this module.
    """
    table = {
        "sklearn_mtl.MultiTaskClassifier": MultiTaskClassifier,
        "sklearn_mtl.GroupedMultiTaskClassifier": GroupedMultiTaskClassifier,
    }
    for family, registry in (
        ("architectures", ARCHITECTURES), ("trunks", TRUNKS), ("embeddings", EMBEDDINGS),
        ("weighting", WEIGHTINGS),
    ):
        for factory in registry.values():
            if isinstance(factory, type):
                table[f"sklearn_mtl.{family}.{factory.__name__}"] = factory
    return table


def _qualified_name(obj):
    for name, cls in _known_classes().items():
        if type(obj) is cls:
            return name
    return None


# ------------------------------------------------------------ plain values
class _Encoder:
    """Turns parameters and fitted attributes into JSON values.

    Plain JSON values stay as they are; everything else is a one-key object
    whose key names its kind (``"__tuple__"``, ``"__ndarray__"``, ...), so
    that :class:`_Decoder` rebuilds exactly that kind and nothing else.
    """

    def __call__(self, value, where):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, np.str_):
            return str(value)
        if isinstance(value, (int, np.integer)):
            return int(value)
        if isinstance(value, (float, np.floating)):
            value = float(value)
            return value if math.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, tuple):
            return {"__tuple__": [self(v, where) for v in value]}
        if isinstance(value, list):
            return [self(v, where) for v in value]
        if isinstance(value, dict):
            if all(isinstance(k, str) and not k.startswith("__") for k in value):
                return {k: self(v, f"{where}[{k!r}]") for k, v in value.items()}
            return {"__dict__": [[self(k, where), self(v, f"{where}[{k!r}]")]
                                 for k, v in value.items()]}
        if isinstance(value, np.ndarray):
            return {"__ndarray__": self._array(value, where)}
        if isinstance(value, np.random.RandomState):
            name, keys, pos, has_gauss, gauss = value.get_state()
            return {"__random_state__": [name, self._array(keys, where), int(pos),
                                         int(has_gauss), float(gauss)]}
        if isinstance(value, TaskEncoding):
            return {"__task_encoding__": {
                "classes": [self._array(c, where) for c in value.classes],
                "task_names": self._array(np.asarray(value.task_names, dtype=object), where),
                "one_dimensional": bool(value.one_dimensional),
            }}
        if isinstance(value, TaskGrouping):
            return {"__task_grouping__": {f.name: self(getattr(value, f.name), where)
                                          for f in fields(value)}}
        name = _qualified_name(value)
        if name is not None and hasattr(value, "get_params"):
            if isinstance(value, MultiTaskClassifier) and hasattr(value, "net_"):
                raise TypeError(
                    f"{where} is a fitted MultiTaskClassifier; only unfitted ones are saved "
                    "as parameters."
                )
            params = value.get_params(deep=False)
            return {"__object__": name,
                    "params": {k: self(v, f"{where}.{k}") for k, v in params.items()}}
        raise TypeError(self._refusal(value, where))

    @staticmethod
    def _refusal(value, where):
        kind = type(value).__name__
        if isinstance(value, BaseTrunk):
            return (
                f"{where} is a {kind}, whose torch module is your own code: a safe model "
                "file stores no code, so it could not rebuild it. Save such a model with "
                "joblib or pickle (load those only from sources you trust), or keep "
                "net_.module_.state_dict() and rebuild the estimator yourself."
            )
        return (
            f"{where} is a {kind}, which a safe model file cannot hold: it stores plain "
            "values (numbers, strings, lists, dicts, arrays of numbers or strings) and the "
            "package's registered architectures, trunks and weightings "
            f"({', '.join(sorted(_known_classes()))}). Use one of those, or save with "
            "joblib or pickle (load those only from sources you trust)."
        )

    def _array(self, array, where):
        kind = array.dtype.kind
        if kind == "O":
            if not all(isinstance(v, (str, bool, int, float, np.generic)) for v in array.flat):
                raise TypeError(
                    f"{where} is an object array holding values other than strings and "
                    "numbers, which a safe model file cannot hold."
                )
        elif kind not in "biufU":
            raise TypeError(
                f"{where} is an array of dtype {array.dtype}, which a safe model file "
                "cannot hold (numbers, booleans and strings only)."
            )
        return {"dtype": array.dtype.str, "shape": list(array.shape),
                "values": [self(v, where) for v in array.ravel().tolist()]}


class _Decoder:
    """The inverse of :class:`_Encoder`; refuses every kind it does not know."""

    _KINDS = ("__float__", "__tuple__", "__dict__", "__ndarray__", "__random_state__",
              "__task_encoding__", "__task_grouping__", "__object__")

    def __call__(self, value, where):
        if value is None or isinstance(value, (bool, str, int, float)):
            return value
        if isinstance(value, list):
            return [self(v, where) for v in value]
        if not isinstance(value, dict):
            raise ModelFileError(f"{where}: unexpected JSON value {value!r}.")
        tagged = [k for k in value if k.startswith("__")]
        if not tagged:
            return {k: self(v, f"{where}[{k!r}]") for k, v in value.items()}
        kind = tagged[0]
        expected = {"__object__": {"__object__", "params"}}.get(kind, {kind})
        if kind not in self._KINDS or set(value) != expected:
            raise ModelFileError(
                f"{where}: unknown content {sorted(value)[:5]}; this version of "
                f"sklearn_mtl ({__version__}) reads {', '.join(self._KINDS)}."
            )
        content = value[kind]
        if kind == "__float__":
            if content not in ("nan", "inf", "-inf"):
                raise ModelFileError(f"{where}: {content!r} is not a float.")
            return float(content)
        if kind == "__tuple__":
            return tuple(self(v, where) for v in _expect(content, list, where))
        if kind == "__dict__":
            pairs = _expect(content, list, where)
            if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                raise ModelFileError(f"{where}: a dict must be a list of [key, value] pairs.")
            return {_hashable(self(k, where), where): self(v, where) for k, v in pairs}
        if kind == "__ndarray__":
            return self._array(content, where)
        if kind == "__random_state__":
            name, keys, pos, has_gauss, gauss = _expect(content, list, where)
            state = np.random.RandomState()
            try:
                state.set_state((name, self._array(keys, where), pos, has_gauss, gauss))
            except (TypeError, ValueError) as exc:
                raise ModelFileError(f"{where}: invalid random state ({exc}).") from None
            return state
        if kind == "__task_encoding__":
            content = _expect(content, dict, where)
            _check_keys(content, {"classes", "task_names", "one_dimensional"}, where)
            return TaskEncoding(
                [self._array(c, where) for c in _expect(content["classes"], list, where)],
                self._array(content["task_names"], where),
                bool(content["one_dimensional"]),
            )
        if kind == "__task_grouping__":
            content = _expect(content, dict, where)
            names = [f.name for f in fields(TaskGrouping)]
            _check_keys(content, set(names), where)
            return TaskGrouping(**{k: self(content[k], where) for k in names})
        return self.construct(value["__object__"], value["params"], where)

    def construct(self, name, params, where):
        """An instance of the known class ``name`` with decoded ``params``."""
        cls = _known_classes().get(name)
        if cls is None:
            raise ModelFileError(
                f"{where}: unknown type {name!r}. A model file may only name "
                f"{', '.join(sorted(_known_classes()))}; the file is from a newer "
                "sklearn_mtl, or was altered."
            )
        params = _expect(params, dict, where)
        accepted = set(cls._get_param_names())
        unknown = sorted(set(params) - accepted)
        if unknown:
            raise ModelFileError(
                f"{where}: {name} has no parameter(s) {unknown} in sklearn_mtl "
                f"{__version__}; the file is from a newer version, or was altered."
            )
        return cls(**{k: self(v, f"{where}.{k}") for k, v in params.items()})

    def _array(self, content, where):
        content = _expect(content, dict, where)
        _check_keys(content, {"dtype", "shape", "values"}, where)
        try:
            dtype = np.dtype(_expect(content["dtype"], str, where))
        except TypeError:
            raise ModelFileError(f"{where}: unknown dtype {content['dtype']!r}.") from None
        if dtype.kind not in "biufUO":
            raise ModelFileError(f"{where}: arrays of dtype {dtype} are not allowed.")
        shape = _expect(content["shape"], list, where)
        values = [self(v, where) for v in _expect(content["values"], list, where)]
        if not all(isinstance(v, (bool, int, float, str)) for v in values):
            raise ModelFileError(f"{where}: arrays hold numbers and strings only.")
        if not all(isinstance(d, int) and d >= 0 for d in shape) or math.prod(shape) != len(
                values):
            raise ModelFileError(f"{where}: shape {shape} does not fit {len(values)} values.")
        array = np.empty(len(values), dtype=dtype)
        try:
            array[:] = values
        except (TypeError, ValueError, OverflowError) as exc:
            raise ModelFileError(f"{where}: values do not fit dtype {dtype} ({exc}).") from None
        return array.reshape(shape)


def _expect(value, kind, where):
    if not isinstance(value, kind):
        raise ModelFileError(f"{where}: expected a JSON {kind.__name__}, got {value!r:.80}.")
    return value


def _hashable(key, where):
    try:
        hash(key)
    except TypeError:
        raise ModelFileError(f"{where}: {key!r} cannot be a dict key.") from None
    return key


def _check_keys(mapping, expected, where):
    if set(mapping) != set(expected):
        raise ModelFileError(
            f"{where}: expected the fields {sorted(expected)}, got {sorted(mapping)}; the "
            "file is from another version of sklearn_mtl, or was altered."
        )


# ----------------------------------------------------------------- estimators
# fitted state that is rebuilt rather than stored: the network (its tensors are
# stored), and the snapshots warm_start compares, which follow from the params
_REBUILT = {"net_", "_fitted_architecture", "_fitted_device_param", "estimators_"}


def _fitted_attributes(estimator, where):
    params = set(estimator.get_params(deep=False))
    encode = _Encoder()
    return {
        name: encode(value, f"{where}.{name}")
        for name, value in vars(estimator).items()
        if name not in params and name not in _REBUILT
    }


def _describe_estimator(estimator, tensors, prefix, where):
    """The JSON node of ``estimator``; its tensors are added to ``tensors``."""
    name = _qualified_name(estimator)
    if name is None:
        return _describe_pipeline_or_step(estimator, tensors, prefix, where)
    check_is_fitted(estimator)
    encode = _Encoder()
    node = {
        "class": name,
        "params": {k: encode(v, f"{where}.{k}")
                   for k, v in estimator.get_params(deep=False).items()},
        "fitted": _fitted_attributes(estimator, where),
    }
    if isinstance(estimator, MultiTaskClassifier):
        _check_rebuildable(estimator, where)
        net = estimator.net_
        keys = []
        for key, tensor in net.module_.state_dict().items():
            tensors[prefix + key] = tensor.detach().to("cpu", copy=True).contiguous()
            keys.append(key)
        node["network"] = {
            "tensors": prefix,
            "state_dict_keys": keys,
            "seed": int(net.seed),
            "history": encode(list(map(dict, net.history)), f"{where}.history_"),
            "affinity": encode(_affinity_totals(net), f"{where}.task_affinity_"),
        }
    else:
        node["estimators"] = [
            _describe_estimator(est, tensors, f"{prefix}estimators.{i}.",
                                f"{where}.estimators_[{i}]")
            for i, est in enumerate(estimator.estimators_)
        ]
    return node


def _affinity_totals(net):
    """``[sum, count]`` of the network's affinity probe, ``[None, None]`` without one."""
    probe = dict(net.callbacks_).get("affinity_probe")
    if probe is None:
        return [None, None]
    return [probe.sum_, probe.count_]


def _placeholder_module(estimator):
    """The network :func:`load` builds before it copies the file's tensors in:
    from the parameters, with a placeholder ``X`` of the right width (the
    builder reads ``X`` only for data-derived buffers, which the state dict
    overwrites)."""
    placeholder = np.zeros((2, estimator.n_features_in_), dtype=np.float32)
    with torch.random.fork_rng(devices=[]):
        return estimator._build_module(placeholder, estimator._encoding.n_classes)


def _check_rebuildable(estimator, where):
    """Refuse to write a file that :func:`load` could not restore exactly.

    The network rebuilt from the parameters must have the fitted one's
    tensors (names, shapes, dtypes), and every buffer left out of the state
    dict (``persistent=False``) must be the same in both: one that was
    computed from the training data would silently be lost.
    """
    fitted = estimator.net_.module_
    rebuilt = _placeholder_module(estimator)
    saved, expected = fitted.state_dict(), rebuilt.state_dict()
    mismatched = sorted(
        key for key in set(saved) | set(expected)
        if key not in saved or key not in expected
        or saved[key].shape != expected[key].shape or saved[key].dtype != expected[key].dtype
    )
    if mismatched:
        raise TypeError(
            f"{where}: the network rebuilt from the parameters differs from the fitted one "
            f"in {mismatched[:5]}; a tensor whose presence or shape depends on the training "
            "data cannot be restored from a safe model file."
        )
    rebuilt_buffers = dict(rebuilt.named_buffers())
    lost = sorted(
        name for name, buffer in fitted.named_buffers()
        if name not in saved and not (
            name in rebuilt_buffers and rebuilt_buffers[name].shape == buffer.shape
            and torch.equal(rebuilt_buffers[name], buffer.detach().cpu()))
    )
    if lost:
        raise TypeError(
            f"{where}: the network's non-persistent buffer(s) {lost[:5]} differ from those "
            "of a network built from the parameters (computed from the training data?) and "
            "would be lost; register them with persistent=True."
        )


def _describe_pipeline_or_step(estimator, tensors, prefix, where):
    from sklearn.pipeline import Pipeline

    if type(estimator) is Pipeline:
        if estimator.memory is not None:
            raise TypeError(
                f"{where} is a Pipeline with memory={estimator.memory!r}; set memory=None "
                "before saving (a cache location is not part of a model)."
            )
        params = {k: v for k, v in estimator.get_params(deep=False).items()
                  if k not in ("steps", "memory")}
        return {
            "class": "sklearn.pipeline.Pipeline",
            "params": {k: _Encoder()(v, f"{where}.{k}") for k, v in params.items()},
            "steps": [
                [step_name, _describe_estimator(step, tensors, f"{prefix}steps.{i}.",
                                                f"{where}[{step_name!r}]")]
                for i, (step_name, step) in enumerate(estimator.steps)
            ],
        }
    if estimator is None or (isinstance(estimator, str) and estimator == "passthrough"):
        return {"class": "passthrough"}
    # any other scikit-learn step: skops' safe format, inspected again on load
    sio = _require("skops.io")  # the steps of a Pipeline besides ours
    data = sio.dumps(estimator)
    untrusted = sio.get_untrusted_types(data=data)
    if untrusted:
        raise TypeError(
            f"{where} is a {type(estimator).__name__}, whose skops file holds types that "
            f"skops does not trust by default ({untrusted[:5]}); a safe model file only "
            "holds steps that load without trusting anything."
        )
    key = prefix + "skops"
    tensors[key] = torch.frombuffer(bytearray(data), dtype=torch.uint8)
    return {"class": "skops", "tensor": key}


def _digest(model_json, tensors):
    digest = hashlib.sha256(model_json.encode("utf-8"))
    for key in sorted(tensors):
        tensor = tensors[key].contiguous()
        digest.update(b"\0" + key.encode("utf-8") + b"\0")
        digest.update(f"{tensor.dtype}{list(tensor.shape)}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def save(estimator, file):
    """Save a fitted estimator to a safe model file (no pickle).

    Parameters
    ----------
    estimator : MultiTaskClassifier, GroupedMultiTaskClassifier or Pipeline
        Fitted. A Pipeline's other steps are saved with ``skops.io`` and must
        be types that skops loads without being told to trust them (the
        scikit-learn scalers and encoders are). Parameters must be plain
        values or the package's registered architectures, trunks and
        weightings: a :class:`~sklearn_mtl.trunks.TorchTrunk` (your own
        torch code) is refused.
    file : str, path-like or binary file object
        Where to write; conventionally a ``.safetensors`` name.

    Raises
    ------
    TypeError
        When the estimator holds something the format cannot describe; the
        message names the parameter or attribute.

    See Also
    --------
    load : Read the file back.
    sklearn_mtl.onnx.to_onnx : Export for serving without Python.

    Notes
    -----
    The optimizer's state (AdamW's moment estimates) and a weighting
    strategy's fitted state are not saved: a loaded model predicts exactly
    as the saved one, and ``warm_start`` training continues from its
    weights with a fresh optimizer.

    Examples
    --------
    >>> import io
    >>> from sklearn_mtl import MultiTaskClassifier
    >>> from sklearn_mtl.datasets import load_digits_multitask
    >>> from sklearn_mtl.io import load, save
    >>> X, Y = load_digits_multitask(as_frame=False)
    >>> clf = MultiTaskClassifier(hidden_layer_sizes=(16,), max_iter=2,
    ...                           random_state=0).fit(X[:200] / 16, Y[:200])
    >>> buffer = io.BytesIO()
    >>> save(clf, buffer)
    >>> _ = buffer.seek(0)
    >>> bool((load(buffer).predict(X[:5] / 16) == clf.predict(X[:5] / 16)).all())
    True
    """
    save_tensors = _require("safetensors.torch").save
    tensors = {}
    model = {
        "sklearn_mtl_version": __version__,
        "torch_version": torch.__version__,
        "estimator": _describe_estimator(estimator, tensors, "", "estimator"),
    }
    model_json = json.dumps(model, allow_nan=False, sort_keys=True)
    metadata = {
        "format": _FORMAT,
        "format_version": str(FORMAT_VERSION),
        "model": model_json,
        "sha256": _digest(model_json, tensors),
    }
    data = save_tensors(tensors, metadata=metadata)
    if hasattr(file, "write"):
        file.write(data)
    else:
        with open(file, "wb") as handle:
            handle.write(data)


# ---------------------------------------------------------------------- load
def _read_bytes(file):
    if isinstance(file, (bytes, bytearray)):
        return bytes(file)
    if hasattr(file, "read"):
        return file.read()
    with open(os.fspath(file), "rb") as handle:
        return handle.read()


def _read_metadata(data):
    """The ``__metadata__`` of a safetensors file, checked to be ours."""
    not_ours = (
        "is not a sklearn_mtl model file (a safetensors file written by "
        "sklearn_mtl.io.save)"
    )
    if len(data) < 8:
        raise ModelFileError(f"The file {not_ours}: it is only {len(data)} bytes long.")
    length = int.from_bytes(data[:8], "little")
    if length > min(_MAX_HEADER_BYTES, len(data) - 8):
        raise ModelFileError(
            f"The file {not_ours}, or it was cut short: its first 8 bytes announce a "
            f"header of {length} bytes in a file of {len(data)}."
        )
    try:
        header = json.loads(data[8:8 + length].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFileError(f"The file {not_ours}: its header is not JSON.") from None
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(metadata, dict) or metadata.get("format") != _FORMAT:
        raise ModelFileError(f"The file {not_ours}: its header does not name the format.")
    unknown = sorted(set(metadata) - _METADATA_KEYS)
    if unknown or set(metadata) != _METADATA_KEYS:
        raise ModelFileError(
            f"The model file's header has the fields {sorted(metadata)}, expected "
            f"{sorted(_METADATA_KEYS)}; it is from a newer sklearn_mtl, or was altered."
        )
    version = metadata["format_version"]
    if not re.fullmatch(r"[0-9]{1,6}", version):
        raise ModelFileError(f"The model file's format version {version!r} is not a number.")
    if int(version) > FORMAT_VERSION:
        raise ModelFileError(
            f"The model file has format version {version}, newer than the version "
            f"{FORMAT_VERSION} that sklearn_mtl {__version__} reads: upgrade sklearn_mtl "
            "to load it."
        )
    return metadata


def describe(file):
    """The description of the model in a model file, without building it.

    Reads and checks the header only (format, version); the weights are not
    read, nothing is built. Useful to see what a file from elsewhere holds
    before loading it.

    Parameters
    ----------
    file : str, path-like, bytes or binary file object
        A file written by :func:`save`.

    Returns
    -------
    model : dict
        The JSON document of the file: ``"estimator"`` (class, parameters,
        fitted attributes, and the networks' tensor names),
        ``"sklearn_mtl_version"`` and ``"torch_version"`` of the writer.
    """
    metadata = _read_metadata(_read_bytes(file))
    try:
        return json.loads(metadata["model"])
    except json.JSONDecodeError:
        raise ModelFileError("The model file's description is not valid JSON.") from None


def load(file, *, device="cpu"):
    """Load an estimator saved by :func:`save`.

    The file is checked before anything is built: its format and version,
    a SHA-256 digest over its description and tensors (a file altered or cut
    short is refused), and every class and field it names (anything this
    version does not know is refused). Networks are rebuilt from their
    parameters and take their weights from the file; no code from the file
    runs.

    Parameters
    ----------
    file : str, path-like, bytes or binary file object
        A file written by :func:`save`.
    device : str, default="cpu"
        Where the networks are placed: ``"cpu"``, ``"cuda"`` or ``"auto"``
        (CUDA when available). A model trained on CUDA loads on a CPU-only
        machine; its ``device_`` still names the device it was trained on.

    Returns
    -------
    estimator : MultiTaskClassifier, GroupedMultiTaskClassifier or Pipeline
        Fitted, with the same parameters and predictions as the saved one.

    Raises
    ------
    ModelFileError
        When the file is refused; the message says why.
    """
    SafetensorError = _require("safetensors").SafetensorError
    load_tensors = _require("safetensors.torch").load
    data = _read_bytes(file)
    metadata = _read_metadata(data)
    try:
        tensors = load_tensors(data)
    except SafetensorError as exc:
        raise ModelFileError(
            f"The model file is damaged or was cut short: {exc}."
        ) from None
    if _digest(metadata["model"], tensors) != metadata["sha256"]:
        raise ModelFileError(
            "The model file's content does not match its SHA-256 digest: it was altered "
            "or damaged after it was saved."
        )
    try:
        model = json.loads(metadata["model"])
    except json.JSONDecodeError:
        raise ModelFileError("The model file's description is not valid JSON.") from None
    model = _expect(model, dict, "model")
    _check_keys(model, {"sklearn_mtl_version", "torch_version", "estimator"}, "model")
    device = _resolve_device(device)
    used = set()
    estimator = _build(model["estimator"], tensors, used, device, "estimator")
    unused = sorted(set(tensors) - used)
    if unused:
        raise ModelFileError(
            f"The model file holds tensors that no part of the model uses: {unused[:5]}; "
            "it was altered, or is from a newer sklearn_mtl."
        )
    return estimator


def _build(node, tensors, used, device, where):
    node = _expect(node, dict, where)
    name = node.get("class")
    if name == "sklearn.pipeline.Pipeline":
        return _build_pipeline(node, tensors, used, device, where)
    if name == "passthrough":
        _check_keys(node, {"class"}, where)
        return "passthrough"
    if name == "skops":
        return _build_skops_step(node, tensors, used, where)
    if name not in ("sklearn_mtl.MultiTaskClassifier", "sklearn_mtl.GroupedMultiTaskClassifier"):
        raise ModelFileError(
            f"{where}: unknown estimator type {name!r}; a model file holds "
            "MultiTaskClassifier, GroupedMultiTaskClassifier, or a Pipeline of them and "
            "scikit-learn steps."
        )
    child = "network" if name == "sklearn_mtl.MultiTaskClassifier" else "estimators"
    _check_keys(node, {"class", "params", "fitted", child}, where)
    decode = _Decoder()
    estimator = decode.construct(name, node["params"], where)
    fitted = _expect(node["fitted"], dict, where)
    for attribute, value in fitted.items():
        _check_attribute_name(estimator, attribute, where)
        setattr(estimator, attribute, decode(value, f"{where}.{attribute}"))
    if child == "network":
        _build_network(estimator, node["network"], tensors, used, device, where)
    else:
        estimators = _expect(node["estimators"], list, where)
        estimator.estimators_ = [
            _build(sub, tensors, used, device, f"{where}.estimators_[{i}]")
            for i, sub in enumerate(estimators)
        ]
    return estimator


def _check_attribute_name(estimator, attribute, where):
    if (
        not isinstance(attribute, str)
        or not attribute.isidentifier()
        or keyword.iskeyword(attribute)
        or attribute.startswith("__")
        or attribute in _REBUILT
        or hasattr(type(estimator), attribute)
        or attribute in estimator.get_params(deep=False)
    ):
        raise ModelFileError(
            f"{where}: {attribute!r} is not a fitted attribute a model file may set."
        )


def _build_network(estimator, network, tensors, used, device, where):
    network = _expect(network, dict, f"{where}.network")
    _check_keys(network, {"tensors", "state_dict_keys", "seed", "history", "affinity"},
                f"{where}.network")
    from skorch.history import History

    decode = _Decoder()
    encoding = getattr(estimator, "_encoding", None)
    n_features = getattr(estimator, "n_features_in_", None)
    if not isinstance(encoding, TaskEncoding) or not isinstance(n_features, int):
        raise ModelFileError(f"{where}: the label encoding or n_features_in_ is missing.")
    prefix = _expect(network["tensors"], str, where)
    seed = _expect(network["seed"], int, where)
    try:
        # as _placeholder_module: the state dict below overwrites what X gave
        placeholder = np.zeros((2, n_features), dtype=np.float32)
        with torch.random.fork_rng(devices=[]):
            net = estimator._make_net(
                placeholder, encoding, estimator.task_weights_, estimator.class_weight_,
                seed, device,
            )
            net.initialize()
    except (TypeError, ValueError, AttributeError) as exc:
        raise ModelFileError(
            f"{where}: the network cannot be rebuilt from the saved parameters ({exc})."
        ) from None
    module = net.module_
    expected = module.state_dict()
    state = {}
    for key, target in expected.items():
        tensor = tensors.get(prefix + key)
        if tensor is None:
            raise ModelFileError(
                f"{where}: the file has no tensor {prefix + key!r} for the network's "
                f"{key!r}; it was altered, or is from another version."
            )
        if tensor.dtype != target.dtype or tensor.shape != target.shape:
            raise ModelFileError(
                f"{where}: tensor {prefix + key!r} is {tensor.dtype} {list(tensor.shape)}, "
                f"the network expects {target.dtype} {list(target.shape)}."
            )
        state[key] = tensor
        used.add(prefix + key)
    saved_keys = _expect(network["state_dict_keys"], list, where)
    if sorted(saved_keys) != sorted(expected):
        raise ModelFileError(
            f"{where}: the file's network has the tensors {sorted(saved_keys)[:5]}..., the "
            f"rebuilt one {sorted(expected)[:5]}...; it is from another version."
        )
    module.load_state_dict(state, strict=True)
    module.eval()
    net.history = History(decode(network["history"], f"{where}.history_"))
    affinity_sum, affinity_count = decode(network["affinity"], f"{where}.task_affinity_")
    if affinity_sum is not None:
        probe = dict(net.callbacks_).get("affinity_probe")
        if probe is None:  # measured in an earlier fit only: keep the results
            probe = AffinityProbe(None).initialize()
            net.callbacks_.append(("affinity_probe", probe))
        probe.sum_, probe.count_ = affinity_sum, affinity_count
    estimator.net_ = net
    estimator._fitted_architecture = estimator._architecture()
    estimator._fitted_device_param = estimator.device


def _build_pipeline(node, tensors, used, device, where):
    from sklearn.pipeline import Pipeline

    _check_keys(node, {"class", "params", "steps"}, where)
    params = _Decoder()(_expect(node["params"], dict, where), where)
    unknown = sorted(set(params) - set(Pipeline._get_param_names()) - {"steps", "memory"})
    if unknown:
        raise ModelFileError(f"{where}: Pipeline has no parameter(s) {unknown}.")
    steps = []
    for i, step in enumerate(_expect(node["steps"], list, where)):
        if not (isinstance(step, list) and len(step) == 2 and isinstance(step[0], str)):
            raise ModelFileError(f"{where}: step {i} is not a [name, step] pair.")
        steps.append((step[0], _build(step[1], tensors, used, device, f"{where}[{step[0]!r}]")))
    return Pipeline(steps, **params)


def _build_skops_step(node, tensors, used, where):
    _check_keys(node, {"class", "tensor"}, where)
    key = _expect(node["tensor"], str, where)
    if key not in tensors or tensors[key].dtype != torch.uint8:
        raise ModelFileError(f"{where}: the step's bytes {key!r} are missing.")
    used.add(key)
    sio = _require("skops.io")
    data = tensors[key].numpy().tobytes()
    untrusted = sio.get_untrusted_types(data=data)
    if untrusted:
        raise ModelFileError(
            f"{where}: the step holds types that skops does not trust by default "
            f"({untrusted[:5]}); a safe model file never loads those."
        )
    return sio.loads(data)

