"""Accuracy suite: MultiTaskClassifier's defaults against single-task peers.

Twenty-four multi-task problems that work offline: eleven built from
scikit-learn's bundled data and the package's generator (digits images, small
tabular sets, synthetic tasks of controlled relatedness, 12 labels, missing
labels, rare classes) and thirteen real tables from R data sets
(``accuracy_real.py``: several categorical columns of one table as tasks,
multi-label data, real missing labels, 534 to 58,788 rows, numeric and
categorical features; four of them, added later, tables where trees beat an
MLP). 3-fold cross-validation with the same folds for every model (grouped
folds where rows share a unit), mean per-task accuracy, fit time and parameter
counts. Every model sees the features through the same preprocessing: a
``StandardScaler`` for the numeric-only problems; for the real tables, median
imputation (with missing-value indicators) and scaling of numeric columns and
one-hot encoding of categorical ones.

The problems are split, before any default was chosen from them, into a
tuning half and a confirmation half (``HALVES``). Run from the repository root
(``pip install -e ".[bench]"`` first)::

    OMP_NUM_THREADS=1 python benchmarks/accuracy.py              # defaults vs peers, all
    OMP_NUM_THREADS=1 python benchmarks/accuracy.py --half tuning
    OMP_NUM_THREADS=1 python benchmarks/accuracy.py --tune --half tuning  # candidates
    OMP_NUM_THREADS=1 python benchmarks/accuracy.py --problems digits,wine

Results are cached in ``benchmarks/results/accuracy_cache.json`` (keyed by
problem, model configuration and library versions), so a rerun only fits what
changed: the peers are fitted once. ``--refresh`` ignores the cache for our
models (use it after changing the training code). The peers of a full run from an
empty cache take about two hours on one core (pytabkit's RealMLP and TabM run
on the problems of at most ``PYTABKIT_MAX_ROWS`` rows only); our model, about
ten minutes.
"""

import argparse
import functools
import json
import os
import platform
import re
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_wine,
    make_multilabel_classification,
)
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, KFold
from sklearn.multioutput import ClassifierChain, MultiOutputClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import sklearn_mtl
from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl.datasets import load_digits_multitask, make_multitask_classification
from sklearn_mtl.embeddings import PiecewiseLinearEmbedding
from sklearn_mtl.model_selection import count_parameters

try:
    from accuracy_real import REAL
except ImportError:  # imported as benchmarks.accuracy
    from benchmarks.accuracy_real import REAL

CACHE = Path(__file__).parent / "results" / "accuracy_cache.json"
N_FOLDS = 3


# --------------------------------------------------------------- problems
def _digits(tasks):
    X, Y = load_digits_multitask(tasks=tasks, as_frame=False)
    return X, Y.astype(float), list(tasks)


def digits():
    """The seed scenario: digit, parity, >= 5, closed loops."""
    return _digits(("digit", "parity", "ge5", "loops"))


def digits_ink():
    """Tasks that need different features: the digit and primality read the
    shape; how much ink, and whether the top half holds more of it than the
    bottom half, read pixel sums."""
    X, digit = load_digits_multitask(tasks=("digit",), as_frame=False)
    prime = np.isin(digit[:, 0], [2, 3, 5, 7])
    ink = X.sum(axis=1)
    top = X.reshape(-1, 8, 8)[:, :4].sum(axis=(1, 2))
    Y = np.column_stack([digit[:, 0], prime, ink > np.median(ink), top > ink - top])
    return X, Y.astype(float), ["digit", "prime", "heavy", "top_heavy"]


def digits_missing():
    """The seed tasks with 70% of each task's labels missing (different rows
    per task): other tasks' labels are all the help a task gets."""
    X, Y, names = digits()
    rng = np.random.RandomState(0)
    Y[rng.rand(*Y.shape) < 0.7] = np.nan
    return X, Y, names


def digits_rare():
    """Imbalanced tasks: rare positives (about 10%, 10%, 20%) beside a
    balanced 10-class task."""
    X, digit = load_digits_multitask(tasks=("digit",), as_frame=False)
    d = digit[:, 0]
    Y = np.column_stack([d, d == 0, d == 8, np.isin(d, [1, 7])])
    return X, Y.astype(float), ["digit", "zero", "eight", "one_or_seven"]


def _held_out(X, names, targets):
    """Binarise some feature columns at their median as tasks, and drop them
    from X."""
    columns = [names.index(t) for t in targets]
    Y = np.column_stack([X[:, c] > np.median(X[:, c]) for c in columns])
    return np.delete(X, columns, axis=1), Y


def wine():
    """Tabular, 178 rows: the cultivar, and whether alcohol, colour intensity
    and proline (removed from X) are above their median."""
    data = load_wine()
    X, Y = _held_out(data.data, list(data.feature_names),
                     ["alcohol", "color_intensity", "proline"])
    Y = np.column_stack([data.target, Y]).astype(float)
    return X, Y, ["cultivar", "alcohol", "color", "proline"]


def diabetes():
    """Tabular, 442 rows: disease progression above its median and its
    tercile; sex, BMI and blood pressure (removed from X) as further tasks."""
    data = load_diabetes()
    X, Y = _held_out(data.data, list(data.feature_names), ["sex", "bmi", "bp"])
    target = data.target
    tercile = np.digitize(target, np.quantile(target, [1 / 3, 2 / 3]))
    Y = np.column_stack([target > np.median(target), tercile, Y]).astype(float)
    return X, Y, ["progression", "tercile", "sex", "bmi", "bp"]


def cancer():
    """Tabular, 569 rows: the diagnosis, and whether the worst texture,
    smoothness and symmetry (removed from X) are above their median."""
    data = load_breast_cancer()
    X, Y = _held_out(data.data, list(data.feature_names),
                     ["worst texture", "worst smoothness", "worst symmetry"])
    Y = np.column_stack([data.target, Y]).astype(float)
    return X, Y, ["malignant", "texture", "smoothness", "symmetry"]


def _synthetic(relatedness):
    X, Y = make_multitask_classification(
        n_samples=800, n_features=40, n_tasks=6, n_classes=[2, 2, 3, 3, 4, 4],
        n_informative=8, relatedness=relatedness, noise=0.3, random_state=0)
    return X, Y.astype(float), [f"task_{t}" for t in range(6)]


def synth_related():
    """800 rows, 6 tasks reading the same 8 directions of 40 features."""
    return _synthetic(1.0)


def synth_partial():
    """As synth_related, with half of each task's projection its own."""
    return _synthetic(0.5)


def synth_unrelated():
    """As synth_related, each task reading its own random directions."""
    return _synthetic(0.0)


def many_labels():
    """12 binary labels (scikit-learn's multi-label generator), 1000 rows."""
    X, Y = make_multilabel_classification(
        n_samples=1000, n_features=40, n_classes=12, n_labels=3, random_state=0)
    return X, Y.astype(float), [f"label_{t}" for t in range(12)]


PROBLEMS = {f.__name__: f for f in [
    digits, digits_ink, wine, diabetes, cancer, synth_related, synth_partial,
    synth_unrelated, many_labels, digits_missing, digits_rare, *REAL,
]}

# Fixed before any default was chosen from the suite: each half has digits,
# small tabular, synthetic, real tables with and without missing labels, and
# a large problem (yrbss, movies). Defaults are tuned on the first and
# confirmed on the second. The four tree-shaped tables (a tree model per task
# beats MLPClassifier by 0.03 to 0.16 of mean per-task accuracy) came later,
# two to each half, after the defaults of 0.3.
HALVES = {
    "tuning": ["digits", "wine", "cancer", "synth_partial", "many_labels", "digits_rare",
               "cps1985", "hmda", "bfi", "yrbss", "hpc_jobs", "lending_club"],
    "confirmation": ["digits_ink", "diabetes", "synth_related", "synth_unrelated",
                     "digits_missing", "house_prices", "chile", "arrests", "males", "movies",
                     "planes", "churn"],
}
assert sorted(HALVES["tuning"] + HALVES["confirmation"]) == sorted(PROBLEMS)


@functools.cache
def load_problem(name):
    """``(X, Y, task_names, groups)`` of a problem, built once per run and
    shared by every model (the models never modify them)."""
    problem = PROBLEMS[name]()
    return problem if len(problem) == 4 else (*problem, None)


def preprocessing(X):
    """The transformer every model sees its features through."""
    if not hasattr(X, "columns"):
        return StandardScaler()
    numeric = make_pipeline(SimpleImputer(strategy="median", add_indicator=True),
                            StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="missing"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False))
    return ColumnTransformer([
        ("numeric", numeric, make_column_selector(dtype_include="number")),
        ("categorical", categorical, make_column_selector(dtype_exclude="number")),
    ])


# ----------------------------------------------------------------- models
class PerTaskLabelled(ClassifierMixin, BaseEstimator):
    """One clone of ``estimator`` per task, each fitted on the rows labelled
    for its task (MultiOutputClassifier cannot skip missing labels)."""

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, Y):
        self.estimators_ = []
        for t in range(Y.shape[1]):
            seen = ~np.isnan(Y[:, t])
            self.estimators_.append(clone(self.estimator).fit(X[seen], Y[seen, t]))
        return self

    def predict(self, X):
        return np.column_stack([e.predict(X) for e in self.estimators_])


# pytabkit's RealMLP-TD and TabM-D (per task, on one CPU thread) take 3 and 13 s
# per fit of 356 rows (cps1985): they run on the problems up to these sizes.
PYTABKIT_MAX_ROWS = {"RealMLP_TD_Classifier": 6000, "TabM_D_Classifier": 3000}


class _OneThreadPytabkit(ClassifierMixin, BaseEstimator):
    """A pytabkit classifier with its own defaults, on the CPU, one thread, quiet."""

    def __init__(self, name, random_state=0):
        self.name = name
        self.random_state = random_state

    def fit(self, X, y):
        import pytabkit

        cls = getattr(pytabkit, self.name)
        self.model_ = cls(random_state=self.random_state, device="cpu", n_threads=1,
                          verbosity=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model_.fit(np.asarray(X, dtype=np.float32), y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(np.asarray(X, dtype=np.float32))


def peers():
    """The single-task models the defaults are measured against, with their
    own defaults."""
    from lightgbm import LGBMClassifier

    return {
        "MOC(LogisticRegression)": MultiOutputClassifier(LogisticRegression(max_iter=1000)),
        "MOC(MLPClassifier)": MultiOutputClassifier(MLPClassifier(random_state=0)),
        "MOC(HistGradientBoosting)": MultiOutputClassifier(
            HistGradientBoostingClassifier(random_state=0)),
        "MOC(LightGBM)": MultiOutputClassifier(
            LGBMClassifier(random_state=0, verbose=-1, n_jobs=1)),
        "MOC(RealMLP-TD)": MultiOutputClassifier(_OneThreadPytabkit("RealMLP_TD_Classifier")),
        "MOC(TabM-D)": MultiOutputClassifier(_OneThreadPytabkit("TabM_D_Classifier")),
        "RandomForest": RandomForestClassifier(random_state=0),
        "KNeighbors": KNeighborsClassifier(),
        "ClassifierChain(LogReg)": ClassifierChain(
            LogisticRegression(max_iter=1000), random_state=0),
    }


def _for_missing(model):
    """The same model made to skip missing labels, or None if it cannot."""
    if isinstance(model, ClassifierChain):
        return None
    if isinstance(model, MultiOutputClassifier):
        return PerTaskLabelled(model.estimator)
    if isinstance(model, MultiTaskClassifier):
        return model
    return PerTaskLabelled(model)


# -------------------------------------------------------------- evaluation
# Parameters added after results were cached, at the value that changes
# nothing: left out of the key, so that the cached results stay valid.
_NEUTRAL = {"callbacks": None, "groups": "deprecated"}


def _neutral(name, value):
    last = name.rsplit("__", 1)[-1]
    return last in _NEUTRAL and isinstance(value, type(_NEUTRAL[last])) and value == _NEUTRAL[last]


def _key(problem, model):
    versions = f"sklearn {sklearn.__version__} torch {torch.__version__}"
    if "MultiTaskClassifier" in repr(model):
        versions += f" sklearn_mtl {sklearn_mtl.__version__}"
    # leaf values only: an estimator's repr hides its default values, so it
    # would change whenever a default does
    params = repr(sorted(
        (k, v) for k, v in model.get_params(deep=True).items()
        if not hasattr(v, "get_params") and not _neutral(k, v)
    ))
    # a column selector's repr holds its memory address: drop it
    params = re.sub(r" at 0x[0-9a-f]+", "", params)
    return f"{problem} | {type(model).__name__} | {params} | {versions} | {N_FOLDS} folds"


def _mean_accuracy(Y_true, Y_pred):
    """Per-task accuracy over the rows labelled for the task."""
    out = []
    for t in range(Y_true.shape[1]):
        seen = ~np.isnan(Y_true[:, t])
        out.append(float(np.mean(Y_pred[seen, t].astype(float) == Y_true[seen, t])))
    return out


def _rows(X, index):
    return X.iloc[index] if hasattr(X, "iloc") else X[index]


def folds(problem):
    """The train/test splits every model of ``problem`` is scored on."""
    X, _, _, groups = load_problem(problem)
    if groups is not None:
        return list(GroupKFold(N_FOLDS, shuffle=True, random_state=0).split(X, groups=groups))
    return list(KFold(N_FOLDS, shuffle=True, random_state=0).split(X))


def evaluate(problem, model, cache, refresh=False, cached_only=False):
    """Per-fold per-task accuracy, fit seconds and parameters of one model.

    Where rows share a unit, our model gets the groups through ``fit`` (its
    early-stopping split then holds out whole groups), as a user who has
    them would pass them.
    """
    X, Y, _, groups = load_problem(problem)
    pass_groups = groups is not None and isinstance(model, MultiTaskClassifier)
    for name, limit in PYTABKIT_MAX_ROWS.items():
        if name in repr(model) and X.shape[0] > limit:
            return None
    missing = np.isnan(Y).any()
    if missing:
        model = _for_missing(model)
        if model is None:
            return None
    pipe = make_pipeline(preprocessing(X), model)
    key = _key(problem, pipe) + (" | groups in fit" if pass_groups else "")
    if key in cache and not (refresh and "MultiTaskClassifier" in key):
        return cache[key]
    if cached_only:
        return None
    result = {"accuracy": [], "fit_s": [], "parameters": None}
    for train, test in folds(problem):
        fitted = clone(pipe)
        y_train = Y[train] if missing else Y[train].astype(np.int64)
        extra = {"multitaskclassifier__groups": groups[train]} if pass_groups else {}
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fitted.fit(_rows(X, train), y_train, **extra)
        result["fit_s"].append(time.perf_counter() - start)
        result["accuracy"].append(
            _mean_accuracy(Y[test], np.asarray(fitted.predict(_rows(X, test)))))
        result["parameters"] = count_parameters(fitted)
    cache[key] = result
    _save({key: result})
    return result


def _load():
    return json.loads(CACHE.read_text()) if CACHE.exists() else {}


def _save(new):
    # merge this run's new results into what is on disk: two runs (peers,
    # --tune) may share the file, and neither may overwrite the other's
    CACHE.parent.mkdir(exist_ok=True)
    merged = {**_load(), **new}
    tmp = CACHE.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(merged, indent=0, sort_keys=True))
    tmp.replace(CACHE)


def _summary(result):
    acc = np.asarray(result["accuracy"])  # (folds, tasks)
    return acc.mean(axis=0), float(acc.mean()), float(np.sum(result["fit_s"]))


# ------------------------------------------------------------------ tables
def per_problem_table(problem, results, names):
    lines = [f"\n### {problem}: {' '.join(PROBLEMS[problem].__doc__.split())}"]
    header = f"{'model':<26}" + "".join(f"{n[:11]:>12}" for n in names)
    header += f"{'mean':>8}{'fit s':>8}{'params':>10}"
    lines += [header, "-" * len(header)]
    for label, result in results.items():
        if result is None:
            lines.append(f"{label:<26}  n/a (cannot skip missing labels, or too slow here)")
            continue
        per_task, mean, fit_s = _summary(result)
        params = result["parameters"]
        lines.append(
            f"{label:<26}" + "".join(f"{a:>12.3f}" for a in per_task)
            + f"{mean:>8.3f}{fit_s:>8.1f}{params if params is not None else '-':>10}"
        )
    return "\n".join(lines)


def _ours(label):
    return label.startswith("MultiTaskClassifier") or label in _CANDIDATE_LABELS


_CANDIDATE_LABELS = set()


def summary_table(rows, ours_label):
    """One line per problem: ours, the best peer, the gap, fit-time ratio to
    MOC(MLPClassifier); then per half, how often ours is at or above the best
    peer and its largest loss."""
    header = (f"{'problem':<16}{'half':<7}{ours_label[:22]:>22}{'best peer':>36}{'gap':>8}"
              f"{'fit vs MOC(MLP)':>17}")
    lines = [header, "-" * len(header)]
    gaps, fit_ours, fit_mlp = {}, 0.0, 0.0
    for problem, results in rows.items():
        ours = _summary(results[ours_label])
        best_label, best = max(
            ((k, _summary(v)) for k, v in results.items()
             if not _ours(k) and v is not None),
            key=lambda kv: kv[1][1])
        mlp = results.get("MOC(MLPClassifier)")
        ratio = "-"
        if mlp:
            ratio = f"{ours[2] / _summary(mlp)[2]:.2f}x"
            fit_ours += ours[2]
            fit_mlp += _summary(mlp)[2]
        gap = ours[1] - best[1]
        gaps[problem] = gap
        half = "tune" if problem in HALVES["tuning"] else "conf"
        lines.append(
            f"{problem:<16}{half:<7}{ours[1]:>22.3f}{best_label + f' {best[1]:.3f}':>36}"
            f"{gap:>+8.3f}{ratio:>17}"
        )
    for half, members in HALVES.items():
        g = [gaps[p] for p in members if p in gaps]
        if g:
            lines.append(
                f"{half}: at or above the best peer on {sum(x >= 0 for x in g)}/{len(g)}, "
                f"within 0.01 on {sum(x >= -0.01 for x in g)}/{len(g)}, worst gap {min(g):+.3f}")
    if fit_mlp:
        lines.append(f"total fit time {fit_ours:.0f} s vs MOC(MLPClassifier) {fit_mlp:.0f} s "
                     f"({fit_ours / fit_mlp:.2f}x)")
    return "\n".join(lines)


def rank_table(rows):
    """Mean rank of every model over the problems where it ran (1 = best mean
    per-task accuracy; ties share the mean rank), per half and over all."""
    labels = sorted({k for r in rows.values() for k, v in r.items() if v is not None})
    ranks = {k: {} for k in labels}
    for problem, results in rows.items():
        scored = {k: _summary(v)[1] for k, v in results.items() if v is not None}
        values = np.array(list(scored.values()))
        for k, v in scored.items():
            ranks[k][problem] = 1 + np.sum(values > v) + 0.5 * (np.sum(values == v) - 1)
    header = f"{'model':<30}{'tuning':>8}{'confirm':>9}{'all':>7}{'problems':>10}"
    lines = [header, "-" * len(header)]

    def mean(k, members):
        r = [ranks[k][p] for p in members if p in ranks[k]]
        return f"{np.mean(r):.2f}" if r else "-"

    for k in sorted(labels, key=lambda k: np.mean(list(ranks[k].values()))):
        lines.append(f"{k[:29]:<30}{mean(k, HALVES['tuning']):>8}"
                     f"{mean(k, HALVES['confirmation']):>9}{mean(k, rows):>7}"
                     f"{len(ranks[k]):>10}")
    lines.append("(models that skip a problem are ranked over the problems they ran on)")
    return "\n".join(lines)


# --------------------------------------------------------------- candidates
# the defaults of 0.2 and 0.3, spelled out
D03 = dict(ensemble_size=4, label_smoothing=0.1, input_scaling="robust")


def candidates():
    """Configurations tried when choosing the defaults (``--tune``), on the
    tuning half. Each changes the 0.1 defaults ("0.1": ``ensemble_size=1``, no
    input scaling, no label smoothing), which are spelled out so that the
    labels keep their meaning whatever the current defaults are. The chosen
    defaults of 0.2 are "ens4+ls0.1+robust"."""
    base = dict(random_state=0, ensemble_size=1, input_scaling=None, label_smoothing=0.0)
    table = {
        "0.1": {},
        "ens4": dict(ensemble_size=4),
        "ens8": dict(ensemble_size=8),
        "ens16": dict(ensemble_size=16),
        "ens8+robust": dict(ensemble_size=8, input_scaling="robust"),
        "ens8+ls0.1": dict(ensemble_size=8, label_smoothing=0.1),
        "ens8+ls0.2": dict(ensemble_size=8, label_smoothing=0.2),
        "ens8+drop0.1": dict(ensemble_size=8, dropout=0.1),
        "ens8+w128": dict(ensemble_size=8, hidden_layer_sizes=(128, 128)),
        "ens8+wd0.1": dict(ensemble_size=8, weight_decay=0.1),
        "ls0.1": dict(label_smoothing=0.1),
        "ens4+ls0.1": dict(ensemble_size=4, label_smoothing=0.1),
        "ens8+ls0.1+robust": dict(ensemble_size=8, label_smoothing=0.1, input_scaling="robust"),
        "ens8+ls0.1+bs64": dict(ensemble_size=8, label_smoothing=0.1, batch_size=64),
        "ens8+ls0.1+w128": dict(ensemble_size=8, label_smoothing=0.1,
                                hidden_layer_sizes=(128, 128)),
        "ens16+ls0.1": dict(ensemble_size=16, label_smoothing=0.1),
        "ens8+ls0.1+drop0.1": dict(ensemble_size=8, label_smoothing=0.1, dropout=0.1),
        "ens8+ls0.1+wd1e-2": dict(ensemble_size=8, label_smoothing=0.1, weight_decay=1e-2),
        "ens8+ls0.1+lr3e-4": dict(ensemble_size=8, label_smoothing=0.1,
                                  learning_rate_init=3e-4),
        "ens4+ls0.1+robust": dict(ensemble_size=4, label_smoothing=0.1,
                                  input_scaling="robust"),
        # 0.4 candidates: the 0.3 defaults ("d03") with numerical embeddings
        # and the linear path
        "d03": D03,
        "d03+lin": {**D03, "linear_path": True},
        "d03+plr": {**D03, "numerical_embedding": "periodic"},
        "d03+ple": {**D03, "numerical_embedding": "piecewise_linear"},
        "d03+plr+lin": {**D03, "numerical_embedding": "periodic", "linear_path": True},
        "d03+ple+lin": {**D03, "numerical_embedding": "piecewise_linear",
                        "linear_path": True},
        "d03+ple8": {**D03, "numerical_embedding": PiecewiseLinearEmbedding(n_bins=8)},
        "d03+ple32": {**D03, "numerical_embedding": PiecewiseLinearEmbedding(n_bins=32)},
    }
    return {label: MultiTaskClassifier(**{**base, **change}) for label, change in table.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default=None)
    parser.add_argument("--half", choices=["tuning", "confirmation", "all"], default="all")
    parser.add_argument("--tune", action="store_true",
                        help="compare candidate defaults instead of peers")
    parser.add_argument("--only", default=None,
                        help="comma-separated candidate names (with --tune)")
    parser.add_argument("--refresh", action="store_true",
                        help="refit our models even if cached")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--peers-only", action="store_true",
                        help="fit and cache the peers, not our models")
    parser.add_argument("--cached-peers", action="store_true",
                        help="use the peers' cached results, fit none")
    parser.add_argument("--peers", default=None,
                        help="comma-separated peer names (default: all)")
    args = parser.parse_args()
    if args.problems:
        problems = args.problems.split(",")
    elif args.half == "all":
        problems = HALVES["tuning"] + HALVES["confirmation"]
    else:
        problems = HALVES[args.half]
    unknown = set(problems) - set(PROBLEMS)
    if unknown:
        parser.error(f"unknown problems {sorted(unknown)}; choose among {list(PROBLEMS)}")
    cache = _load()
    # torch's one-off start-up costs (about a second) must not be timed as
    # the fit of whichever model comes first
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        MultiTaskClassifier(max_iter=2, random_state=0).fit(
            np.random.RandomState(0).standard_normal((64, 4)), np.arange(64) % 2)
    print(
        f"sklearn_mtl {sklearn_mtl.__version__} | scikit-learn {sklearn.__version__} | "
        f"torch {torch.__version__} | {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, {torch.get_num_threads()} torch threads | "
        f"{N_FOLDS}-fold CV, the same preprocessing in front of every model"
    )
    ours = candidates() if args.tune else {"MultiTaskClassifier()": MultiTaskClassifier(
        random_state=0)}
    if args.only:
        ours = {k: v for k, v in ours.items() if k in args.only.split(",")}
    if args.peers_only:
        ours = {}
    _CANDIDATE_LABELS.update(ours)
    rows = {}
    for problem in problems:
        _, _, names, _ = load_problem(problem)
        results = {}
        for label, model in ours.items():
            results[label] = evaluate(problem, model, cache, refresh=args.refresh)
        if not args.no_peers:
            for label, model in peers().items():
                if args.peers and label not in args.peers.split(","):
                    continue
                results[label] = evaluate(problem, model, cache,
                                          cached_only=args.cached_peers)
        rows[problem] = results
        print(per_problem_table(problem, results, names), flush=True)
    if args.tune and not args.no_peers:
        print("\n## Mean per-task accuracy minus the best peer's")
        labels = list(ours)
        print(f"{'problem':<16}" + "".join(f"{k[:14]:>15}" for k in labels))
        for problem, results in rows.items():
            best = max(_summary(v)[1] for k, v in results.items()
                       if v is not None and not _ours(k))
            print(f"{problem:<16}" + "".join(
                f"{_summary(results[k])[1] - best:>+15.3f}" for k in labels))
    if not args.no_peers:
        for label in ours:
            print(f"\n## Summary: {label} vs the best peer (mean per-task accuracy)")
            print(summary_table(rows, label))
        print("\n## Mean rank (mean per-task accuracy; 1 is best)")
        print(rank_table(rows))
    elif len(ours) > 1:
        print("\n## Mean per-task accuracy of each candidate")
        labels = list(ours)
        print(f"{'problem':<16}" + "".join(f"{k[:14]:>15}" for k in labels))
        totals = np.zeros(len(labels))
        for problem, results in rows.items():
            means = [_summary(results[k])[1] for k in labels]
            totals += means
            print(f"{problem:<16}" + "".join(f"{m:>15.3f}" for m in means))
        print(f"{'average':<16}" + "".join(f"{m / len(rows):>15.3f}" for m in totals))
        fit = [sum(_summary(rows[p][k])[2] for p in rows) for k in labels]
        print(f"{'fit s (all)':<16}" + "".join(f"{f:>15.1f}" for f in fit))


if __name__ == "__main__":
    main()
