"""ONNX export: serve a fitted model with onnxruntime, without Python model code.

The exported graph reads one input ``X`` (``float32``, or ``float64`` with
``input_dtype="float64"``, shape ``(n_samples, n_features)``) and has two
outputs per task ``t`` (``t`` the task's position in ``task_names_``):

* ``label_t``: the predicted labels, shape ``(n_samples,)``, in the type of
  the task's labels (``int64`` or another integer type, ``bool``,
  ``float64``, or ``string``), as ``predict`` gives them;
* ``probabilities_t``: ``float32`` probabilities, shape
  ``(n_samples, n_classes_t)``, columns in the order of ``classes_[t]``, as
  ``predict_proba`` gives them (in float64).

All labels come first (``label_0``, ``label_1``, ...), then all
probabilities. Per-task outputs rather than scikit-learn's multi-output
convention (one ``label`` matrix, a sequence of probabilities): tasks may have
labels of different types, and a serving system reads plain tensors more
easily than sequences. The model's ``metadata_props`` hold the task names and
the classes of each task as JSON (``sklearn_mtl.task_names``,
``sklearn_mtl.classes``).

The network is exported by ``torch.onnx.export`` (the ``torch.export``-based
exporter, opset 18), with the packed ensemble's members combined as in
``predict_proba`` (the mean of the members' probabilities); the labels are a
``Gather`` of the task's classes at the ``ArgMax`` of its log-probabilities.
"""

import copy
import json
import warnings

import torch
from torch import nn

from ._classifier import MultiTaskClassifier
from ._grouped import GroupedMultiTaskClassifier
from ._optional import require
from .modules._ensemble import combine_members

__all__ = ["register_skl2onnx_converter", "to_onnx"]

# the opset of the exported graphs (torch.onnx's exporter writes 18 and above)
_OPSET = 18
_ALIAS = "SklearnMtlMultiTaskClassifier"


def _require(module):
    return require(module, "ONNX export")


class _Outputs(nn.Module):
    """The estimator's inference as one torch module: per task, the
    probabilities and the index of the predicted class."""

    def __init__(self, module):
        super().__init__()
        self.module = module
        self.split_sizes = list(module.split_sizes)
        self.k = int(module.ensemble_size)

    def forward(self, x):
        logits = self.module(x)
        if self.k > 1:
            logits = combine_members(logits, self.k, self.split_sizes)
        chunks = torch.split(logits, self.split_sizes, dim=1)
        probabilities = [torch.softmax(c, dim=1) for c in chunks]
        indices = [torch.argmax(c, dim=1) for c in chunks]
        return (*indices, *probabilities)


def _label_tensor_type(classes, task):
    from onnx import TensorProto, helper

    kind = classes.dtype.kind
    if kind == "U":
        return TensorProto.STRING
    if kind in "biuf":
        return helper.np_dtype_to_tensor_dtype(classes.dtype)
    raise ValueError(
        f"Task {task!r} has labels of mixed or unbounded types ({classes.dtype}: "
        f"{classes.tolist()[:5]}), which an ONNX tensor cannot hold; fit on labels of "
        "one type (all integers within int64, or all strings)."
    )


def _check_exportable(estimator):
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    if estimator.precision != "float32":
        raise ValueError(
            f"The estimator predicts with precision={estimator.precision!r} (bfloat16 "
            "autocast), which an ONNX float32 graph would not reproduce; call "
            "set_params(precision='float32') to export it (its weights are float32: "
            "predictions then differ only by bfloat16 rounding)."
        )


def _network_model(estimator, input_dtype="float32"):
    """The ONNX model of one fitted MultiTaskClassifier (input ``X``)."""
    import onnx
    import onnx.inliner
    from onnx import TensorProto, helper

    _check_exportable(estimator)
    encoding = estimator._encoding
    n_tasks = len(encoding.classes)
    module = copy.deepcopy(estimator.net_.module_).to("cpu").eval()
    wrapper = _Outputs(module).eval()
    example = torch.zeros(2, estimator.n_features_in_)
    index_names = [f"index_{t}" for t in range(n_tasks)]
    proba_names = [f"probabilities_{t}" for t in range(n_tasks)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                wrapper, (example,), None, dynamo=True, opset_version=_OPSET,
                input_names=["X"], output_names=index_names + proba_names,
                dynamic_shapes=({0: torch.export.Dim("n_samples")},), verbose=False,
            )
    except Exception as exc:  # the exporter raises many kinds
        raise ValueError(
            f"The network of this MultiTaskClassifier (trunk={estimator.trunk!r}, "
            f"architecture={estimator.architecture!r}) could not be exported to ONNX by "
            f"torch.onnx.export: {type(exc).__name__}: {str(exc)[:500]}. A TorchTrunk's "
            "module must be traceable by torch.export (no data-dependent Python control "
            "flow)."
        ) from exc
    model = onnx.inliner.inline_local_functions(program.model_proto)
    graph = model.graph
    outputs = {o.name: o for o in graph.output}
    del graph.output[:]
    if input_dtype == "float64":
        # the network reads float32, as predict_proba's validate_data gives it
        for node in graph.node:
            node.input[:] = ["X_float32" if i == "X" else i for i in node.input]
        graph.node.insert(0, helper.make_node("Cast", ["X"], ["X_float32"],
                                              to=TensorProto.FLOAT, name="cast_X"))
        graph.input[0].type.tensor_type.elem_type = TensorProto.DOUBLE
    for t, classes in enumerate(encoding.classes):
        tensor_type = _label_tensor_type(classes, encoding.task_names[t])
        values = classes.tolist()
        if tensor_type == TensorProto.STRING:
            values = [v.encode("utf-8") for v in values]
        graph.initializer.append(
            helper.make_tensor(f"classes_{t}", tensor_type, [len(values)], values))
        graph.node.append(helper.make_node(
            "Gather", [f"classes_{t}", index_names[t]], [f"label_{t}"], axis=0,
            name=f"label_{t}"))
        graph.output.append(helper.make_tensor_value_info(f"label_{t}", tensor_type,
                                                          ["n_samples"]))
    for t in range(n_tasks):
        graph.output.append(outputs[proba_names[t]])
    helper.set_model_props(model, {
        "sklearn_mtl.task_names": json.dumps([str(n) for n in encoding.task_names]),
        "sklearn_mtl.classes": json.dumps([c.tolist() for c in encoding.classes]),
    })
    onnx.checker.check_model(model)
    return model


def _grouped_model(estimator, input_dtype):
    """One graph holding every group's network, outputs in the task order."""
    from onnx import compose, helper

    for i, sub in enumerate(estimator.estimators_):
        if not isinstance(sub, MultiTaskClassifier):
            raise TypeError(
                f"estimators_[{i}] is a {type(sub).__name__}; to_onnx exports a "
                "GroupedMultiTaskClassifier whose groups are MultiTaskClassifiers."
            )
    nodes, initializers, labels, probabilities = [], [], {}, {}
    for i, (group, sub) in enumerate(zip(estimator._index_groups, estimator.estimators_)):
        part = compose.add_prefix(_network_model(sub, input_dtype), f"g{i}_")
        nodes.append(helper.make_node("Identity", ["X"], [f"g{i}_X"], name=f"g{i}_input"))
        nodes.extend(part.graph.node)
        initializers.extend(part.graph.initializer)
        outputs = {o.name: o for o in part.graph.output}
        for j, t in enumerate(group):
            for store, kind in ((labels, "label"), (probabilities, "probabilities")):
                inner = outputs[f"g{i}_{kind}_{j}"]
                nodes.append(helper.make_node("Identity", [inner.name], [f"{kind}_{t}"],
                                              name=f"{kind}_{t}"))
                info = copy.deepcopy(inner)
                info.name = f"{kind}_{t}"
                store[t] = info
        graph_input = part.graph.input[0]
    n_tasks = estimator.n_tasks_
    inputs = [copy.deepcopy(graph_input)]
    inputs[0].name = "X"
    graph = helper.make_graph(
        nodes, "sklearn_mtl_grouped", inputs,
        [labels[t] for t in range(n_tasks)] + [probabilities[t] for t in range(n_tasks)],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)])
    helper.set_model_props(model, {
        "sklearn_mtl.task_names": json.dumps([str(n) for n in estimator.task_names_]),
        "sklearn_mtl.classes": json.dumps(
            [c.tolist() for c in (estimator.classes_ if not estimator._one_dimensional
                                  else [estimator.classes_])]),
    })
    return model


def to_onnx(estimator, *, input_dtype="float32"):
    """Export a fitted estimator, or a Pipeline ending in one, to ONNX.

    Parameters
    ----------
    estimator : MultiTaskClassifier, GroupedMultiTaskClassifier or Pipeline
        Fitted. A Pipeline is converted by ``skl2onnx`` (its other steps by
        skl2onnx's own converters, the classifier by the converter that
        :func:`register_skl2onnx_converter` registers).
    input_dtype : {"float32", "float64"}, default="float32"
        Type of the input ``X``. The network computes in float32 either way
        (as ``predict_proba`` does); with a Pipeline, "float64" runs the
        scikit-learn steps in float64, as Python does.

    Returns
    -------
    model : onnx.ModelProto
        Input ``X``; outputs ``label_<t>`` and ``probabilities_<t>`` for every
        task ``t`` (see the module's description). Save it with
        ``onnx.save(model, path)``; run it with
        ``onnxruntime.InferenceSession(model.SerializeToString())``.

    Raises
    ------
    ValueError
        When the network cannot be exported (a TorchTrunk's module that
        ``torch.export`` cannot trace, bfloat16 precision, labels of mixed
        types); the message says why.

    See Also
    --------
    sklearn_mtl.io.save : A safe file to load back into Python.

    Examples
    --------
    >>> import onnxruntime as ort  # doctest: +SKIP
    >>> session = ort.InferenceSession(to_onnx(clf).SerializeToString())  # doctest: +SKIP
    >>> labels = session.run(["label_0"], {"X": X.astype("float32")})[0]  # doctest: +SKIP
    """
    if input_dtype not in ("float32", "float64"):
        raise ValueError(f"input_dtype must be 'float32' or 'float64'; got {input_dtype!r}.")
    for module in ("onnx", "onnxscript"):  # torch's exporter writes with onnxscript
        _require(module)
    if isinstance(estimator, MultiTaskClassifier):
        return _network_model(estimator, input_dtype)
    if isinstance(estimator, GroupedMultiTaskClassifier):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(estimator)
        return _grouped_model(estimator, input_dtype)
    if hasattr(estimator, "steps"):
        return _pipeline_model(estimator, input_dtype)
    raise TypeError(
        f"to_onnx exports a MultiTaskClassifier, a GroupedMultiTaskClassifier or a "
        f"Pipeline ending in one; got {type(estimator).__name__}."
    )


def _pipeline_model(pipeline, input_dtype):
    _require("skl2onnx")
    from skl2onnx import to_onnx as skl_to_onnx
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    final = pipeline.steps[-1][1]
    if not isinstance(final, MultiTaskClassifier):
        raise TypeError(
            f"to_onnx exports a Pipeline whose last step is a MultiTaskClassifier; this "
            f"one ends in a {type(final).__name__}."
        )
    register_skl2onnx_converter()
    tensor_type = FloatTensorType if input_dtype == "float32" else DoubleTensorType
    n_features = pipeline.n_features_in_
    return skl_to_onnx(
        pipeline, initial_types=[("X", tensor_type([None, n_features]))],
        target_opset={"": _OPSET, "ai.onnx.ml": 3},
    )


# ------------------------------------------------------------------- skl2onnx
def _skl2onnx_label_type(classes, task):
    from onnx import TensorProto
    from skl2onnx.common import data_types as types

    by_onnx_type = {
        TensorProto.STRING: types.StringTensorType, TensorProto.BOOL: types.BooleanTensorType,
        TensorProto.DOUBLE: types.DoubleTensorType, TensorProto.FLOAT: types.FloatTensorType,
        TensorProto.INT64: types.Int64TensorType, TensorProto.INT32: types.Int32TensorType,
        TensorProto.INT16: types.Int16TensorType, TensorProto.INT8: types.Int8TensorType,
        TensorProto.UINT64: types.UInt64TensorType, TensorProto.UINT32: types.UInt32TensorType,
        TensorProto.UINT16: types.UInt16TensorType, TensorProto.UINT8: types.UInt8TensorType,
    }
    onnx_type = _label_tensor_type(classes, task)
    if onnx_type not in by_onnx_type:
        raise ValueError(f"Task {task!r}: labels of dtype {classes.dtype} are not supported.")
    return by_onnx_type[onnx_type]


def _parser(scope, model, inputs, custom_parsers=None):
    from skl2onnx.common.data_types import FloatTensorType

    operator = scope.declare_local_operator(_ALIAS, model)
    operator.inputs = inputs
    classes = model._encoding.classes
    for t, task_classes in enumerate(classes):
        label_type = _skl2onnx_label_type(task_classes, model._encoding.task_names[t])
        operator.outputs.append(scope.declare_local_variable(f"label_{t}", label_type()))
    for t in range(len(classes)):
        operator.outputs.append(scope.declare_local_variable(f"probabilities_{t}",
                                                             FloatTensorType()))
    return list(operator.outputs)


def _shape_calculator(operator):
    n = operator.inputs[0].get_first_dimension()
    classes = operator.raw_operator._encoding.classes
    n_tasks = len(classes)
    for t, task_classes in enumerate(classes):
        operator.outputs[t].type.shape = [n]
        operator.outputs[n_tasks + t].type.shape = [n, len(task_classes)]


def _converter(scope, operator, container):
    """Copy the exported network's graph into skl2onnx's container, its input
    and outputs renamed to the operator's."""
    from onnx import TensorProto, helper, numpy_helper

    estimator = operator.raw_operator
    input_var = operator.inputs[0]
    source = input_var.full_name
    if input_var.type.to_onnx_type().tensor_type.elem_type != TensorProto.FLOAT:
        cast = scope.get_unique_variable_name("X_float32")
        container.add_node("Cast", [source], [cast], to=TensorProto.FLOAT,
                           name=scope.get_unique_operator_name("Cast"))
        source = cast
    model = _network_model(estimator)
    n_tasks = len(estimator._encoding.classes)
    renamed = {"X": source, "": ""}
    for t in range(n_tasks):
        renamed[f"label_{t}"] = operator.outputs[t].full_name
        renamed[f"probabilities_{t}"] = operator.outputs[n_tasks + t].full_name

    def name(old):
        if old not in renamed:
            renamed[old] = scope.get_unique_variable_name(f"mtl_{old}")
        return renamed[old]

    for init in model.graph.initializer:
        array = numpy_helper.to_array(init)
        content = array.ravel().tolist() if init.data_type == TensorProto.STRING else array
        container.add_initializer(name(init.name), init.data_type, list(init.dims), content)
    opsets = {o.domain: o.version for o in model.opset_import}
    for node in model.graph.node:
        attributes = {}
        for attribute in node.attribute:
            if attribute.type in (attribute.GRAPH, attribute.GRAPHS):
                raise ValueError(
                    f"The exported network holds a {node.op_type} node with a subgraph, "
                    "which the skl2onnx converter does not copy."
                )
            attributes[attribute.name] = helper.get_attribute_value(attribute)
        container.add_node(
            node.op_type, [name(i) for i in node.input], [name(o) for o in node.output],
            op_domain=node.domain, op_version=opsets.get(node.domain, _OPSET),
            name=scope.get_unique_operator_name(f"mtl_{node.op_type}"), **attributes,
        )


def register_skl2onnx_converter():
    """Register :class:`~sklearn_mtl.MultiTaskClassifier` with skl2onnx.

    After this call, ``skl2onnx.to_onnx`` (or ``convert_sklearn``) converts a
    scikit-learn Pipeline that ends in a fitted ``MultiTaskClassifier``: the
    estimator's outputs are ``label_<t>`` and ``probabilities_<t>`` for every
    task ``t``, as in :func:`to_onnx` (skl2onnx appends a suffix to a name
    that another step already uses). The target opset must be at least 18.
    :func:`to_onnx` calls it for you.
    """
    update_registered_converter = _require("skl2onnx").update_registered_converter
    update_registered_converter(
        MultiTaskClassifier, _ALIAS, _shape_calculator, _converter, parser=_parser,
    )
