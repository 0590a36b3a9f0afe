"""MultiTaskClassifier: the scikit-learn face of the package."""

import numbers
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_consistent_length, check_is_fitted, validate_data

from ._build import build_module, continue_net, make_net, resolve_ensemble_size
from ._callbacks import named_callbacks
from ._constraints import Count
from ._distributed import broadcast_seed
from ._net import weight_key
from ._random import fixed_torch_seed
from ._targets import (
    _as_label_array,
    _missing_mask,
    _observed_values,
    _split_columns,
    decode,
    encode_targets,
    encode_with,
    encoding_from_classes,
)
from ._validation import (
    _check_comparable,
    _check_fit_sample_weight,
    _check_groups,
    _check_numeric_frame,
    _computed,
    _is_streamed,
    _refuse_balanced_for_partial_fit,
    _resolve_class_weights,
    _resolve_device,
    _resolve_task_weights,
    _same_value,
    _warn_if_unscaled,
    check_streamed_X,
)
from .architectures import ARCHITECTURES, BaseArchitecture
from .embeddings import EMBEDDINGS, BaseEmbedding
from .metrics import subset_accuracy
from .modules._mlp import ACTIVATIONS
from .trunks import TRUNKS, BaseTrunk
from .weighting import WEIGHTINGS, BaseWeighting

# early_stopping="auto" holds out a validation set when it gets at least this many rows.
_AUTO_MIN_VALIDATION_ROWS = 10


class MultiTaskClassifier(ClassifierMixin, BaseEstimator):
    """Multi-task neural network classifier: one shared trunk, one head per task.

    Fits a PyTorch network, managed by skorch, whose hidden layers are shared by
    all tasks and whose output has one linear classification head per task
    (hard parameter sharing, Caruana, 1997). All tasks are trained together by
    minimising ``sum_t task_weights[t] * loss_t``, where ``loss_t`` is the mean
    cross-entropy of task ``t`` over the rows labelled for it. By default the
    shared layers are an ensemble of four members whose probabilities are
    averaged, the inputs are robustly scaled inside the network and the
    training loss is label-smoothed. Trains on CUDA when available, on the CPU
    otherwise.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(256, 256)
        Width of each hidden layer of the shared trunk.
    activation : {"relu", "tanh", "logistic", "gelu", "identity"}, default="relu"
        Activation of the hidden layers.
    dropout : float in [0, 1), default=0.0
        Dropout probability after each hidden layer. Off by default: with
        early stopping, dropout of 0.1, 0.3 or 0.5 did not raise accuracy on
        the accuracy suite (``benchmarks/accuracy.py``), and on a CPU it costs
        about a quarter of the training throughput.
    batch_norm : bool, default=False
        Whether to add batch normalisation to each hidden layer.
    architecture : {"hard", "mmoe", "ple", "cgc"} or architecture object, default="hard"
        How tasks share the trunk's representation: hard parameter sharing
        (every task reads it), or a mixture of experts with per-task gates
        (:class:`~sklearn_mtl.architectures.MMoE`,
        :class:`~sklearn_mtl.architectures.PLE`; "cgc" is one-level PLE), whose
        experts use ``activation``. A name is a key of
        :data:`~sklearn_mtl.architectures.ARCHITECTURES`. An object's
        parameters are validated at fit time and grid-searchable as
        ``architecture__<name>``; the architecture also makes the heads.
    trunk : None, "mlp", "conv" or trunk object, default=None
        Feature extractor before the shared hidden layers. None or "mlp": none,
        the hidden layers read ``X``; "conv" or
        :class:`~sklearn_mtl.trunks.ConvTrunk`: convolutions over images given
        as flattened rows; :class:`~sklearn_mtl.trunks.TorchTrunk`: any torch
        module. A name is a key of :data:`~sklearn_mtl.trunks.TRUNKS`. An
        object's parameters are validated at fit time and grid-searchable as
        ``trunk__<name>``.
    input_shape : tuple of 3 int, default=None
        ``(channels, height, width)`` of one row of ``X`` seen as an image, for
        convolutional and custom trunks; one dimension may be -1 (inferred).
    head_hidden_layer_sizes : tuple of int, default=()
        Hidden layers of each task's own head (none: a linear head).
    ensemble_size : int or "auto", default="auto"
        Number of independently initialised copies of the shared hidden
        layers, trained together as one network (a deep ensemble,
        Lakshminarayanan et al., 2017, computed with batched matrix
        multiplies, as TabM trains its members, Gorishniy et al., 2025). The
        architecture block and the heads are shared by the members; every
        member is trained on every row, and the prediction is the mean of the
        members' probabilities. Costs up to ``ensemble_size`` times the
        compute and hidden-layer parameters of one network. Needs at least one
        shared hidden layer. ``"auto"``: 4 members when ``hidden_layer_sizes``
        has a layer, else 1 (a mixture of experts reading ``X`` directly);
        ``ensemble_size_`` tells what was used. 1 gives a single network (the
        default before 0.2). See the user guide's page on defaults for what
        each value measured.
    input_scaling : {"robust"} or None, default="robust"
        ``"robust"``: the network first centres each feature on its median,
        divides by its inter-quartile range and smoothly clips the result to
        +-3 (RealMLP's robust scaling, Holzmüller et al., 2024), with
        statistics from the training rows, so that raw features of any scale
        train well, with or without a scaler in front. None: features are used
        as given (scale them first; ``fit`` warns when they are far from unit
        scale).
    numerical_embedding : None, "periodic", "piecewise_linear" or embedding object, default=None
        Embed each (scaled) feature as a vector before the shared hidden
        layers (Gorishniy, Rubachev & Babenko, 2022), so that the network can
        cut a feature's range sharply: ``"periodic"``
        (:class:`~sklearn_mtl.embeddings.PeriodicEmbedding`, "PLR") or
        ``"piecewise_linear"``
        (:class:`~sklearn_mtl.embeddings.PiecewiseLinearEmbedding`, bins at
        quantiles of the training rows, estimated once at the start of
        ``fit``). Shared by every task and every ensemble member. An object's
        parameters are validated at fit time and grid-searchable as
        ``numerical_embedding__<name>``. Not with a convolutional or custom
        ``trunk`` (their inputs are pixels or whatever the module reads, not
        numerical features).
    linear_path : bool, default=False
        Add to each task's logits a linear function of the (scaled) inputs,
        trained with the network and with a weight decay of its own (the
        "wide" part of Wide & Deep, Cheng et al., 2016), so that a task whose
        answer is linear in ``X`` can be learnt as a logistic regression. It
        starts at zero.
    label_smoothing : float in [0, 1), default=0.1
        Label smoothing of each task's training cross-entropy (Szegedy et
        al., 2016); the validation loss is never smoothed. 0 trains on the
        plain cross-entropy.
    weighting : str or weighting object, default="static"
        How the task losses are combined into gradients: a name from
        :data:`sklearn_mtl.weighting.WEIGHTINGS` or a strategy object (its
        parameters are grid-searchable as ``weighting__<name>``). "static"
        minimises ``sum_t task_weights[t] * loss_t``; every strategy documents
        how it uses ``task_weights``.
    task_weights : None, sequence of float or dict, default=None
        Static weight of each task's loss: ``None`` (all 1), one non-negative
        number per task, or a dict ``{task_name: weight}`` (tasks not named
        weigh 1). Grid-searchable.
    class_weight : None, "balanced", list or dict, default=None
        Per-task class weights: ``"balanced"`` for every task, a list with one
        entry per task, or a dict ``{task_name: spec}``; each spec is ``None``,
        ``"balanced"`` or a dict ``{label: weight}``. With a 1-D ``y``, a dict
        ``{label: weight}`` as in scikit-learn.
    learning_rate_init : float, default=1e-3
        Learning rate of the AdamW optimizer.
    weight_decay : float, default=1e-4
        Decoupled weight decay of AdamW (Loshchilov & Hutter, 2019).
    batch_size : int, default=256
        Rows per mini-batch (capped at the number of training rows).
    max_iter : int, default=200
        Maximum number of epochs.
    shuffle : bool, default=True
        Whether to shuffle the rows every epoch.
    early_stopping : "auto" or bool, default="auto"
        Hold out ``validation_fraction`` of the rows and stop when the
        validation loss has not improved by ``tol`` for ``n_iter_no_change``
        epochs, then restore the weights of the best epoch. The validation loss
        is the unweighted mean over tasks of each task's mean cross-entropy, so
        it keeps its meaning whatever ``task_weights`` are. Without early
        stopping, training stops when the training loss (same definition)
        stops improving, as in scikit-learn's ``MLPClassifier``. ``"auto"``
        turns early stopping on when the validation set would hold at least
        10 labelled rows (``validation_fraction`` x labelled rows >= 10), so
        from 100 rows with the default fraction; ``early_stopping_`` tells
        what was used. On the accuracy suite (``benchmarks/accuracy.py``) it
        raised mean task accuracy on small tabular problems and cut the fit
        time of the whole suite about threefold; see the user guide's page on
        defaults.
    validation_fraction : float in (0, 1), default=0.1
        Share of the labelled rows held out when early stopping is on.
    n_iter_no_change : int, default=10
        Epochs without improvement before stopping.
    tol : float, default=1e-4
        Minimum decrease of the monitored loss that counts as improvement.
    device : str, default="auto"
        Torch device; ``"auto"`` means CUDA when available, else the CPU.
    precision : {"float32", "bfloat16"}, default="float32"
        Arithmetic of the forward pass. ``"bfloat16"`` runs it (in training
        and prediction) under ``torch.autocast`` with bfloat16, which pays on
        GPUs with bf16 tensor cores (such as A100 or H100), mostly with large
        batches; on the CPU it is usually slower and mainly serves testing.
        The parameters, their gradients and the optimizer state stay float32
        ("master weights"), the task losses are computed in float32 and
        ``predict_proba`` returns float64 probabilities either way.
        Predictions may differ slightly from float32 ones. May change between
        ``warm_start`` fits.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, shuffling and the validation
        split. With an int, fitting twice on the CPU gives identical
        predictions, also when fits run at the same time in threads (joblib's
        threading backend, a ``ThreadPoolExecutor``, Dask workers with several
        threads): torch's random generators are process-wide, so such fits
        take turns, one at a time per process (use processes to run fits in
        parallel). The global torch random state is restored after ``fit``.
    verbose : int, default=0
        0 is silent; 1 prints skorch's table of per-epoch losses (also per
        task) and, once an epoch has run a couple of seconds, a progress bar
        over its batches (tqdm's when it is installed, else a line now and
        then).
    warm_start : bool, default=False
        Continue training the fitted network on the next call to ``fit``
        (same tasks, classes and features required).
    affinity_every : None, int or "auto", default=None
        Measure the inter-task affinity of every ordered pair of tasks every
        this many optimizer steps during training (TAG, Fifty et al., 2021):
        the relative change of task ``j``'s loss after a look-ahead gradient
        step on task ``i``'s loss alone, on the shared parameters and the same
        batch (``task_affinity_``). Measuring does not change training: the
        model is the one trained without it. Each measured step costs about
        ``n_tasks`` extra backward and forward passes; ``"auto"`` measures
        every ``3 * n_tasks`` steps (see the user guide's page on task
        grouping for the measured overhead). None: off. Needs shared
        parameters (a shared hidden layer, trunk or shared expert).
    callbacks : None or list, default=None
        skorch callbacks (``skorch.callbacks.Callback`` instances) or
        ``(name, callback)`` pairs, notified after the package's own (early
        stopping and the divergence check) at every point skorch documents:
        ``on_train_begin``/``end``, ``on_epoch_begin``/``end``,
        ``on_batch_begin``/``end`` (``batch=``, ``training=``, and the step's
        scalar ``loss`` and ``y_pred``) and ``on_grad_computed``
        (``named_parameters=``, ``X=``, ``y=``, ``training=True``), e.g.
        ``LRScheduler``, ``GradientNormClipping``, ``Checkpoint`` with
        ``LoadInitState``, ``EpochScoring`` (see
        :class:`~sklearn_mtl.callbacks.TaskScoring` for one task's score) or
        ``TensorBoard``. A callback is named after its class (``_1``, ``_2``
        appended to repeats) unless given a name; its parameters are
        grid-searchable as ``callbacks__<name>__<param>``, and
        ``callbacks__<name>`` replaces it. As in skorch, the callbacks are
        used, and their state kept, as given (``clone`` copies them). The
        per-batch hooks cost nothing when no callback overrides them.

    Attributes
    ----------
    classes_ : list of ndarray, or ndarray
        Labels of each task; a single array when fitted on a 1-D ``y``.
    n_tasks_ : int
        Number of tasks.
    task_names_ : ndarray of str
        Column names of a DataFrame ``Y``, else ``"task_0"``, ``"task_1"``, ...
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of str
        Names of the features, when ``X`` has string column names.
    n_iter_ : int
        Number of epochs trained (cumulative with ``warm_start``).
    task_weights_ : ndarray of shape (n_tasks,)
        Static task weights used.
    weighting_ : BaseWeighting
        The fitted weighting strategy.
    applied_weights_ : ndarray of shape (n_tasks,)
        Mean weight the strategy gave each task's loss over the last epoch
        (``weight[<task>]`` in ``history_`` has every epoch's).
    class_weight_ : list of (ndarray or None)
        Class weights used for each task.
    device_ : str
        Device the network was trained on.
    early_stopping_ : bool
        Whether early stopping was used (resolves ``early_stopping="auto"``).
    ensemble_size_ : int
        Members of the shared hidden layers (resolves ``ensemble_size="auto"``).
    net_ : MultiTaskNet
        The fitted skorch net; ``net_.module_`` is the torch module.
    history_ : skorch History
        Per-epoch records: ``train_loss``, ``train_loss[<task>]``,
        ``weight[<task>]`` and, with early stopping, ``valid_loss``,
        ``valid_loss[<task>]`` and ``valid_acc`` (mean per-task accuracy).
        With ``affinity_every``, ``task_affinity``: the epoch's mean affinity
        matrix as a nested list (``np.array(history_[:, "task_affinity"])``
        has shape ``(n_epochs, n_tasks, n_tasks)``), NaN where no step of the
        epoch was measured.
    task_affinity_ : ndarray of shape (n_tasks, n_tasks)
        Only with ``affinity_every``: the look-ahead affinity averaged over
        every measured step, tasks in the order of ``task_names_``. Row ``i``
        is the task whose gradient step is taken, column ``j`` the task whose
        loss changes: ``task_affinity_[i, j] = 1 - L_j(after i's step) / L_j``,
        positive when ``i`` helps ``j``. The diagonal holds each task's
        affinity onto itself (its own step's relative loss decrease), which
        :func:`~sklearn_mtl.grouping.suggest_task_groups` ignores. Steps where
        a task has no labelled row skip its row and column; a pair never
        measured is NaN.

    See Also
    --------
    sklearn.multioutput.MultiOutputClassifier : One independent model per task.
    sklearn.neural_network.MLPClassifier : Single-task (or multi-label) MLP.

    Notes
    -----
    Missing labels (NaN, None or pandas' NA in ``Y``) are left out of their
    task's loss; the row still trains the other tasks. A task whose observed
    labels are all one class always predicts that class with probability 1.
    A task with no observed label raises an error.

    References
    ----------
    Caruana, R. (1997). Multitask learning. Machine Learning, 28(1), 41-75.

    Lakshminarayanan, B., Pritzel, A., & Blundell, C. (2017). Simple and
    scalable predictive uncertainty estimation using deep ensembles. NeurIPS.

    Gorishniy, Y., Kotelnikov, A., & Babenko, A. (2025). TabM: Advancing
    tabular deep learning with parameter-efficient ensembling. ICLR.

    Holzmüller, D., Grinsztajn, L., & Steinwart, I. (2024). Better by default:
    Strong pre-tuned MLPs and boosted trees on tabular data. NeurIPS.

    Fifty, C., Amid, E., Zhao, Z., Yu, T., Anil, R., & Finn, C. (2021).
    Efficiently identifying task groupings for multi-task learning. NeurIPS.

    Gorishniy, Y., Rubachev, I., & Babenko, A. (2022). On embeddings for
    numerical features in tabular deep learning. NeurIPS.

    Cheng, H.-T., et al. (2016). Wide & deep learning for recommender
    systems. Workshop on Deep Learning for Recommender Systems (DLRS).

    Examples
    --------
    >>> from sklearn_mtl import MultiTaskClassifier
    >>> from sklearn_mtl.datasets import load_digits_multitask
    >>> X, Y = load_digits_multitask(as_frame=False)
    >>> clf = MultiTaskClassifier(hidden_layer_sizes=(64,), max_iter=20,
    ...                           random_state=0).fit(X[:1000] / 16, Y[:1000])
    >>> clf.predict(X[1000:1003] / 16).shape
    (3, 4)
    >>> [len(c) for c in clf.classes_]
    [10, 2, 2, 3]
    """

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
        "architecture": [StrOptions(set(ARCHITECTURES)), BaseArchitecture],
        "trunk": [None, StrOptions(set(TRUNKS)), BaseTrunk],
        "input_shape": [None, tuple, list],
        "head_hidden_layer_sizes": ["array-like"],
        "ensemble_size": [Count(1), StrOptions({"auto"})],
        "input_scaling": [None, StrOptions({"robust"})],
        "numerical_embedding": [None, StrOptions(set(EMBEDDINGS)), BaseEmbedding],
        "linear_path": ["boolean"],
        "label_smoothing": [Interval(numbers.Real, 0, 1, closed="left")],
        "weighting": [StrOptions(set(WEIGHTINGS)), BaseWeighting],
        "task_weights": [None, "array-like", dict],
        "class_weight": [None, StrOptions({"balanced"}), dict, list, tuple],
        "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "device": [str],
        "precision": [StrOptions({"float32", "bfloat16"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "affinity_every": [None, Interval(numbers.Integral, 1, None, closed="left"),
                           StrOptions({"auto"})],
        "callbacks": [None, list],
    }

    def __init__(
        self,
        hidden_layer_sizes=(256, 256),
        *,
        activation="relu",
        dropout=0.0,
        batch_norm=False,
        architecture="hard",
        trunk=None,
        input_shape=None,
        head_hidden_layer_sizes=(),
        ensemble_size="auto",
        input_scaling="robust",
        numerical_embedding=None,
        linear_path=False,
        label_smoothing=0.1,
        weighting="static",
        task_weights=None,
        class_weight=None,
        learning_rate_init=1e-3,
        weight_decay=1e-4,
        batch_size=256,
        max_iter=200,
        shuffle=True,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="auto",
        precision="float32",
        random_state=None,
        verbose=0,
        warm_start=False,
        affinity_every=None,
        callbacks=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.architecture = architecture
        self.trunk = trunk
        self.input_shape = input_shape
        self.head_hidden_layer_sizes = head_hidden_layer_sizes
        self.ensemble_size = ensemble_size
        self.input_scaling = input_scaling
        self.numerical_embedding = numerical_embedding
        self.linear_path = linear_path
        self.label_smoothing = label_smoothing
        self.weighting = weighting
        self.task_weights = task_weights
        self.class_weight = class_weight
        self.learning_rate_init = learning_rate_init
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.affinity_every = affinity_every
        self.callbacks = callbacks

    # ------------------------------------------------------------ params
    def get_params(self, deep=True):
        """Parameters of this estimator; with ``deep``, also each callback as
        ``callbacks__<name>`` and its parameters as ``callbacks__<name>__<param>``.

        Parameters
        ----------
        deep : bool, default=True
            Include the parameters of sub-objects.

        Returns
        -------
        params : dict
        """
        params = super().get_params(deep=deep)
        try:
            pairs = named_callbacks(self.callbacks) if isinstance(self.callbacks, list) else []
        except ValueError:
            pairs = []  # fit says what is wrong with them
        if deep:
            for name, callback in pairs:
                params[f"callbacks__{name}"] = callback
                if not isinstance(callback, type) and hasattr(callback, "get_params"):
                    for key, value in callback.get_params(deep=False).items():
                        params[f"callbacks__{name}__{key}"] = value
        return params

    def set_params(self, **params):
        """Set parameters, including ``callbacks__<name>`` (replace a callback)
        and ``callbacks__<name>__<param>`` (a callback's parameter).

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : MultiTaskClassifier
        """
        nested = {k: params.pop(k) for k in list(params) if k.startswith("callbacks__")}
        super().set_params(**params)
        if not nested:
            return self
        pairs = named_callbacks(self.callbacks)
        position = {name: i for i, (name, _) in enumerate(pairs)}
        replaced = {}
        for key, value in nested.items():
            name, _, sub = key[len("callbacks__"):].partition("__")
            if name not in position:
                raise ValueError(
                    f"Invalid parameter {key!r}: there is no callback named {name!r}; the "
                    f"callbacks are {list(position)}."
                )
            if not sub:
                replaced[name] = value
        if replaced:  # keep every callback's name and place
            self.callbacks = [
                (name, replaced[name]) if name in replaced else item
                for (name, _), item in zip(pairs, self.callbacks)
            ]
            pairs = named_callbacks(self.callbacks)
        by_name = dict(pairs)
        for key, value in nested.items():
            name, _, sub = key[len("callbacks__"):].partition("__")
            if sub:
                by_name[name].set_params(**{sub: value})
        return self

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.classifier_tags.multi_label = True
        tags.input_tags.sparse = True
        return tags

    # ------------------------------------------------------------- fitting
    def _build_module(self, X, n_classes):
        """The torch module for ``X`` and ``n_classes`` (``_build.build_module``)."""
        return build_module(self, X, n_classes)

    def _make_net(self, X, encoding, task_weights, class_weights, seed, device,
                  early_stopping=False, groups=None, stop_on_plateau=True):
        """A new, uninitialised net (``_build.make_net``)."""
        return make_net(self, X, encoding, task_weights, class_weights, seed, device,
                        early_stopping, groups, stop_on_plateau)

    # parameters that shape the network: warm_start cannot change them
    _ARCHITECTURE_PARAMS = (
        "hidden_layer_sizes", "activation", "dropout", "batch_norm", "architecture", "trunk",
        "input_shape", "head_hidden_layer_sizes", "weighting", "ensemble_size",
        "input_scaling", "numerical_embedding", "linear_path",
    )

    def _architecture(self):
        """A snapshot of the parameters that shape the network (nested ones too)."""
        params = self.get_params(deep=True)
        snapshot = {
            k: v for k, v in params.items()
            if k.split("__")[0] in self._ARCHITECTURE_PARAMS and not hasattr(v, "get_params")
        }
        # the network's size, not how it was asked for: "auto" -> 4 changes nothing
        snapshot["ensemble_size"] = resolve_ensemble_size(self)
        return snapshot

    def _can_warm_start(self, X, encoding):
        if not (self.warm_start and hasattr(self, "net_")):
            return False
        self._check_same_network(X, encoding, "warm_start=True", "set warm_start=False")
        return True

    def _check_same_network(self, X, encoding, action, remedy):
        """Refuse to continue the fitted network (``action``) on other data
        or with parameters that would shape another network."""
        same = (
            self.n_features_in_ == X.shape[1]
            and list(self._encoding.task_names) == list(encoding.task_names)
            and all(
                len(a) == len(b) and np.array_equal(a, b)
                for a, b in zip(self._encoding.classes, encoding.classes)
            )
        )
        if not same:
            raise ValueError(
                f"{action} needs the same features, tasks (names included) and "
                f"classes as the previous fit; {remedy} to train a new network."
            )
        now = self._architecture()
        # the fitted network's own size (also for a model pickled before "auto"
        # was resolved in the snapshot)
        before = dict(self._fitted_architecture, ensemble_size=self.ensemble_size_)
        changed = sorted(
            {
                k.split("__")[0]
                for k in set(now) | set(before)
                if not _same_value(now.get(k), before.get(k))
            }
        )
        if self.device != self._fitted_device_param:
            changed.append("device")
        if changed:
            raise ValueError(
                f"{action} cannot change {changed} of the fitted network; {remedy} "
                "to train a new one."
            )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, groups=None):
        """Train the network on all tasks jointly.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Numeric features. Sparse matrices are densified one batch at a time.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Labels, one column per task (a 1-D ``y`` is one task). Each column
            has its own labels (int, str or bool); NaN, None or pandas' NA
            marks a missing label.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row in every task's loss.
        groups : array-like of shape (n_samples,), default=None
            The unit each row comes from (a patient, a user, a source image),
            when several rows share one. Early stopping then holds out whole
            groups, so that the validation loss is not flattered by rows whose
            twins are in training. Ignored without early stopping. In a
            ``Pipeline``, pass it as ``multitaskclassifier__groups=...``.

        Returns
        -------
        self : MultiTaskClassifier
            The fitted estimator.
        """
        warm = self.warm_start and hasattr(self, "net_")
        _check_numeric_frame(X)
        # labels, weights and groups (even Dask ones) are read into memory
        y, sample_weight, groups = _computed(y), _computed(sample_weight), _computed(groups)
        X = self._check_training_X(X, reset=not warm)
        if y is None:
            raise ValueError(
                "MultiTaskClassifier requires y to be passed, but the target y is None."
            )
        if not warm and self.input_scaling is None:
            _warn_if_unscaled(X, getattr(self, "feature_names_in_", None))
        codes, encoding = encode_targets(y)
        check_consistent_length(X, codes)
        names = list(encoding.task_names)
        if sample_weight is not None:
            sample_weight = _check_fit_sample_weight(sample_weight, X, codes, names)
        group_codes = _check_groups(groups, X.shape[0])
        self._check_batch_rows(X)
        task_weights = _resolve_task_weights(self.task_weights, names)
        class_weights = _resolve_class_weights(
            self.class_weight, codes, encoding.classes, names, encoding.one_dimensional
        )
        continuing = self._can_warm_start(X, encoding)
        device = self.net_.device if continuing else _resolve_device(self.device)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        seed = broadcast_seed(seed)  # several processes: process 0's (random_state=None)

        early_stopping = self._resolve_early_stopping(codes)

        with fixed_torch_seed(seed, device):
            if continuing:
                net = continue_net(self, self.net_, task_weights, class_weights, seed,
                                   early_stopping, group_codes)
            else:
                net = self._make_net(X, encoding, task_weights, class_weights, seed, device,
                                     early_stopping, group_codes)
                net.initialize()
                # a new network's linear path starts at the logistic regressions
                # of the first fit's training rows (MultiTaskNet.get_split_datasets)
                net.linear_path_pending_ = self.linear_path
            data = net.prepare_data(X, codes, sample_weight, scale=True)
            net.partial_fit(data, None)

        self._record_fit(net, encoding, task_weights, class_weights, device, early_stopping)
        stopper = dict(net.callbacks_)["stop_on_plateau"]
        if not stopper.stopped_:
            monitored = "validation" if early_stopping else "training"
            warnings.warn(
                f"Maximum iterations ({self.max_iter}) reached and the {monitored} "
                "loss was still improving; consider raising max_iter.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def _check_training_X(self, X, reset):
        """``X`` for training: float32 (a copy where needed), or a Dask array or
        memory map of another dtype left as it is, to be read batch by batch."""
        if _is_streamed(X):  # Dask, or a memory map of another dtype than float32
            return check_streamed_X(self, X, reset=reset)
        return validate_data(self, X, accept_sparse="csr", dtype=np.float32, reset=reset)

    def _check_batch_rows(self, X):
        if self.batch_norm and X.shape[0] < 2:
            raise ValueError(
                f"batch_norm=True needs at least 2 training rows to normalise a batch; "
                f"got {X.shape[0]}. Set batch_norm=False or pass more rows."
            )

    def _record_fit(self, net, encoding, task_weights, class_weights, device, early_stopping):
        """Set the fitted attributes from the trained ``net``; re-raise a
        Ctrl-C that interrupted it once they are set."""
        self.net_ = net
        self._encoding = encoding
        self.classes_ = encoding.classes[0] if encoding.one_dimensional else encoding.classes
        self.n_tasks_ = len(encoding.classes)
        self.task_names_ = np.asarray(encoding.task_names, dtype=object)
        self.task_weights_ = task_weights
        self.class_weight_ = class_weights
        self.device_ = str(device)
        self.early_stopping_ = early_stopping
        self.ensemble_size_ = int(net.module_.ensemble_size)
        self.n_iter_ = len(net.history)
        last = net.history[-1] if len(net.history) else {}
        self.applied_weights_ = np.array(
            [last.get(weight_key(name), np.nan) for name in encoding.task_names]
        )
        self._fitted_architecture = self._architecture()
        self._fitted_device_param = self.device
        if getattr(net, "interrupted_", False):
            restored = " (the best epoch's weights restored)" if early_stopping else ""
            warnings.warn(
                f"Training was interrupted during epoch {self.n_iter_ + 1}, after "
                f"{self.n_iter_} complete epoch(s){restored}; the estimator keeps the "
                "weights trained so far and can predict, or continue with "
                "warm_start=True or partial_fit.",
                UserWarning,
                stacklevel=3,
            )
            raise KeyboardInterrupt

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train on the rows given: one pass (one epoch) over them.

        For data that arrive in chunks (a stream of daily batches, the blocks
        of an array that does not fit in memory) or when fitting should be
        spread over time. The first call builds the network; each later call
        continues it (also after ``fit``), with one epoch over its rows in
        mini-batches of ``batch_size``. There is no early stopping and no
        stopping rule: the caller decides how many passes to make, e.g.
        ``for epoch in range(n): for X_c, Y_c in chunks: clf.partial_fit(X_c, Y_c)``.

        What is estimated from data is fixed by the first call, from its rows:
        the robust input scaling's medians and quantile ranges, the bins of a
        ``numerical_embedding`` and the linear path's start. Make the first
        chunk representative (a random sample of the rows), or give the
        scaling yourself in a ``Pipeline`` step fitted beforehand. The
        parameters that shape the network cannot change between calls.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Numeric features of this chunk.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Labels of this chunk, as in :meth:`fit` (NaN, None or pandas' NA
            where missing).
        classes : list of array-like, default=None
            Every label of every task, one array per task (as
            ``MultiOutputClassifier.partial_fit``; for a 1-D ``y``, one array
            of labels, as ``SGDClassifier.partial_fit``). Only read on the
            first call: without it, the labels of the first call's ``y`` are
            all there will be. A later call with a label outside them raises
            an error naming the task and the label.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row in every task's loss.

        Returns
        -------
        self : MultiTaskClassifier
            The estimator, trained one more epoch.

        Notes
        -----
        ``class_weight="balanced"`` is refused (it would be estimated from
        one chunk): give each task's weights as a dict, e.g. from
        :func:`sklearn.utils.class_weight.compute_class_weight` on all labels.
        Each call prepares its rows as ``fit`` does; a chunk of a memory map
        is read one batch at a time.
        """
        first = not hasattr(self, "net_")
        _check_numeric_frame(X)
        y, sample_weight = _computed(y), _computed(sample_weight)
        X = self._check_training_X(X, reset=first)
        if y is None:
            raise ValueError(
                "MultiTaskClassifier requires y to be passed, but the target y is None."
            )
        known = "in classes_ (the labels fixed by the first fit or partial_fit call)"
        if first:
            if classes is None:
                codes, encoding = encode_targets(y)
            else:
                encoding = encoding_from_classes(y, classes)
                codes = encode_with(y, encoding, known=known)
        else:
            encoding = self._encoding
            self._check_partial_tasks(y, classes)
            codes = encode_with(y, encoding, known=known)
        check_consistent_length(X, codes)
        names = list(encoding.task_names)
        if sample_weight is not None:
            sample_weight = _check_fit_sample_weight(sample_weight, X, codes, names)
        self._check_batch_rows(X)
        _refuse_balanced_for_partial_fit(self.class_weight)
        task_weights = _resolve_task_weights(self.task_weights, names)
        class_weights = _resolve_class_weights(
            self.class_weight, codes, encoding.classes, names, encoding.one_dimensional
        )
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        seed = broadcast_seed(seed)  # several processes: process 0's (random_state=None)
        if first:
            if self.input_scaling is None:
                _warn_if_unscaled(X, getattr(self, "feature_names_in_", None))
            device = _resolve_device(self.device)
        else:
            self._check_same_network(X, encoding, "partial_fit", "call fit")
            device = self.net_.device
            # every call draws other dropout masks, also with an int random_state
            seed = (seed + len(self.net_.history)) % np.iinfo(np.int32).max

        with fixed_torch_seed(seed, device):
            if first:
                net = self._make_net(X, encoding, task_weights, class_weights, seed, device,
                                     stop_on_plateau=False)
                net.initialize()
                net.linear_path_pending_ = self.linear_path
            else:
                net = continue_net(self, self.net_, task_weights, class_weights, seed,
                                   early_stopping=False, stop_on_plateau=False)
            data = net.prepare_data(X, codes, sample_weight, scale=True)
            net.partial_fit(data, None, epochs=1)
        self._record_fit(net, encoding, task_weights, class_weights, device, False)
        return self

    def _check_partial_tasks(self, y, classes):
        """A later ``partial_fit`` call: the same tasks and, when given again,
        the same classes as the first."""
        encoding = self._encoding
        names = _split_columns(y)[1]
        if names is not None and list(names) != list(encoding.task_names):
            raise ValueError(
                f"y's tasks {list(names)} are not the tasks of the first call "
                f"{list(encoding.task_names)}; partial_fit keeps the tasks of its first "
                "call (call fit to start again)."
            )
        if classes is None:
            return
        given = encoding_from_classes(y, classes)
        for task, a, b in zip(encoding.task_names, given.classes, encoding.classes):
            if len(a) != len(b) or not np.array_equal(a, b):
                raise ValueError(
                    f"classes of task {task!r} ({a.tolist()[:10]}) differ from those of "
                    f"the first call ({b.tolist()[:10]}); partial_fit cannot change "
                    "classes (call fit to start again)."
                )

    def _resolve_early_stopping(self, codes):
        if self.early_stopping != "auto":
            return bool(self.early_stopping)
        n_labelled = int((codes >= 0).any(axis=1).sum())
        return n_labelled * self.validation_fraction >= _AUTO_MIN_VALIDATION_ROWS

    # ----------------------------------------------------------- inference
    def _check_X(self, X):
        check_is_fitted(self)
        _check_numeric_frame(X)
        if _is_streamed(X):  # Dask, or a memory map of another dtype than float32
            return check_streamed_X(self, X, reset=False)
        return validate_data(self, X, accept_sparse="csr", dtype=np.float32, reset=False)

    def _logits(self, X):
        X = self._check_X(X)
        logits = self.net_.predict_logits(X)
        return torch.split(logits, self.net_.module_.split_sizes, dim=1)

    def _per_task(self, X, normalise):
        """``normalise`` (softmax or log-softmax) of each task's logits, in float64."""
        outputs = [normalise(chunk.double(), dim=1).numpy() for chunk in self._logits(X)]
        return outputs[0] if self._encoding.one_dimensional else outputs

    def predict_proba(self, X):
        """Class probabilities of each task.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        proba : list of ndarray of shape (n_samples, n_classes_t)
            One array per task, columns in the order of ``classes_[t]``; a
            single array when fitted on a 1-D ``y``.
        """
        return self._per_task(X, torch.softmax)

    def predict_log_proba(self, X):
        """Log of the class probabilities of each task.

        Computed from the logits with a log-softmax, so that tiny
        probabilities do not underflow to ``-inf``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        log_proba : list of ndarray of shape (n_samples, n_classes_t)
            One array per task, columns in the order of ``classes_[t]``; a
            single array when fitted on a 1-D ``y``.
        """
        return self._per_task(X, torch.log_softmax)

    def predict(self, X):
        """Predict the label of every task.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        Y_pred : ndarray of shape (n_samples, n_tasks) or (n_samples,)
            Original labels; integer dtype when every task's labels are
            integers. 1-D when fitted on a 1-D ``y``.
        """
        chunks = self._logits(X)
        codes = torch.stack([c.argmax(dim=1) for c in chunks], dim=1).numpy()
        return decode(codes, self._encoding)

    def embed(self, X):
        """The learned shared representation of ``X``.

        The output of the shared trunk (feature extractor and
        ``hidden_layer_sizes``), before the architecture block and the heads:
        features that every task uses, ready to feed another estimator. With a
        mixture-of-experts architecture and ``hidden_layer_sizes=()`` and no
        trunk, this is ``X`` itself: the experts come after it.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_shared_features), dtype float32
            One row per input row.
        """
        X = self._check_X(X)
        return self.net_.predict_embedding(X).numpy()

    def score(self, X, y, sample_weight=None):
        """Subset accuracy: the share of rows whose every observed label is right.

        The same measure as ``MultiOutputClassifier.score``, so that default
        ``cross_val_score`` compares like with like. Missing entries of ``Y``
        are ignored: a row counts as right when all its observed labels are
        predicted right; rows with no observed label are left out.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            True labels; NaN, None or pandas' NA where unknown.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row in the average.

        Returns
        -------
        score : float
            Weighted share of rows (with at least one observed label) whose
            observed labels are all predicted right.
        """
        Y_pred = self.predict(X)
        y, sample_weight = _computed(y), _computed(sample_weight)
        columns, _, _ = _split_columns(y)
        if len(columns) != self.n_tasks_:
            raise ValueError(
                f"y has {len(columns)} task(s) but the estimator was fitted with "
                f"{self.n_tasks_}."
            )
        for t, col in enumerate(columns):
            task = self.task_names_[t]
            observed = _as_label_array(_observed_values(col, _missing_mask(col)), task)
            _check_comparable(observed, self._encoding.classes[t], task)
        return subset_accuracy(y, Y_pred, sample_weight=sample_weight)

    # ------------------------------------------------------------ helpers
    @property
    def history_(self):
        """Per-epoch training records (skorch ``History``)."""
        check_is_fitted(self)
        return self.net_.history

    @property
    def weighting_(self):
        """The fitted weighting strategy (kept inside ``net_``, whose device-aware
        pickling moves its tensors to the loading machine's device)."""
        check_is_fitted(self)
        return self.net_.weighting

    @property
    def task_affinity_(self):
        """Look-ahead affinity of every ordered pair of tasks, averaged over
        the measured steps (only with ``affinity_every``)."""
        check_is_fitted(self)
        probe = dict(self.net_.callbacks_).get("affinity_probe")
        if probe is None or probe.affinity_ is None:
            raise AttributeError(
                "task_affinity_ is only measured when the estimator is fitted with "
                "affinity_every set (e.g. affinity_every='auto')."
            )
        return probe.affinity_

    @property
    def n_parameters_(self):
        """Number of trainable parameters of the fitted network."""
        check_is_fitted(self)
        return int(sum(p.numel() for p in self.net_.module_.parameters()))

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")
