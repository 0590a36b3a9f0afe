"""Issue 13's fault and bad-input cases, rerun: each must now be fine or a
clear error that names what is wrong.

    OMP_NUM_THREADS=1 python benchmarks/hardening_cases.py

Prints one row per case: what was tried, what happened, and the verdict.
Each case is also covered by a test (named in the last column).
"""

import _thread
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import torch
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl.datasets import make_multitask_classification
from sklearn_mtl.model_selection import compare_single_task
from sklearn_mtl.weighting import IMTLG, MGDA, CAGrad

TINY = dict(hidden_layer_sizes=(16,), max_iter=3, batch_size=32, random_state=0)
X, Y = make_multitask_classification(n_samples=300, n_features=8, n_tasks=3,
                                     n_informative=4, random_state=0)
ROWS = []


def case(name, test):
    def wrap(func):
        try:
            outcome, fine = func()
        except Exception as error:  # noqa: BLE001 - a clear error is a pass
            outcome, fine = f"{type(error).__name__}: {error}", None
        ROWS.append((name, " ".join(str(outcome).split())[:110], fine, test))
        return func
    return wrap


def linear_step(strategy, J):
    J = torch.as_tensor(J, dtype=torch.float64)
    theta = torch.nn.Parameter(torch.zeros(J.shape[1], dtype=torch.float64))
    head = torch.nn.Parameter(torch.zeros(len(J), dtype=torch.float64))
    strategy.setup(len(J), torch.ones(len(J), dtype=torch.float64), torch.device("cpu"))
    strategy.backward(J @ theta + head, torch.ones(len(J), dtype=torch.bool), [theta], [head])
    return theta.grad.numpy(), head.grad.numpy()


@case("CAGrad(c=2, rescale=0), one task 40x larger",
      "test_cagrad_converges_when_one_task_dominates")
def _():
    J = np.array([[-120.0, 60, 90], [3, -2, 1], [-4, 3, -4]])
    d, _ = linear_step(CAGrad(c=2.0, rescale=0), J)
    worst = (J @ d / 3).min()
    return f"min_t g_t . d = {worst:+.3f} (paper scale; was -275.4)", worst > 0


@case("IMTL-G / MGDA: heads' weights",
      "test_imtlg_two_tasks_hand_numbers, test_mgda_backward_hand_numbers")
def _():
    J = np.array([[1.0, 0, 0.5], [0.2, 3, 0], [-0.5, 0.4, 2], [-1.0, -3, 0.1]])
    heads = [linear_step(s, J)[1] for s in (IMTLG(), MGDA())]
    return f"head gradients IMTL-G {heads[0]}, MGDA {heads[1]} (all = task_weights)", all(
        np.allclose(h, 1.0) for h in heads)


@case("Ctrl-C during fit", "test_ensemble.py (interrupt), KeyboardInterrupt re-raised")
def _():
    clf = MultiTaskClassifier(max_iter=2000, random_state=0, early_stopping=False)
    threading.Timer(3.0, _thread.interrupt_main).start()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            clf.fit(np.tile(X, (20, 1)), np.tile(Y, (20, 1)))
            return "fit returned: Ctrl-C swallowed", False
        except KeyboardInterrupt:
            pass
    message = [str(w.message) for w in caught if "interrupted" in str(w.message)]
    usable = clf.predict(X[:5]).shape == (5, 3)
    return (f"KeyboardInterrupt raised; '{message[0][:64]}...'; predict works: {usable}",
            usable)


@case("Ctrl-C during GridSearchCV", "KeyboardInterrupt propagates out of the search")
def _():
    search = GridSearchCV(MultiTaskClassifier(max_iter=2000, early_stopping=False,
                                              random_state=0),
                          {"learning_rate_init": [1e-4, 1e-3, 1e-2]}, cv=3)
    threading.Timer(1.5, _thread.interrupt_main).start()
    started = time.perf_counter()
    try:
        search.fit(np.tile(X, (20, 1)), np.tile(Y, (20, 1)))
    except KeyboardInterrupt:
        return f"search stopped after {time.perf_counter() - started:.1f} s", True
    return "search ran to the end", False


@case("fits in 4 threads vs sequential", "test_concurrent_fits_in_threads_match_sequential_fits...")
def _():
    def proba(seed):
        clf = MultiTaskClassifier(**dict(TINY, random_state=seed), dropout=0.3, weighting="rlw")
        return np.concatenate(clf.fit(X, Y).predict_proba(X), axis=1)
    alone = [proba(s) for s in (0, 1, 2, 3)]
    before = torch.get_rng_state()
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(proba, (0, 1, 2, 3)))
    gap = max(np.abs(a - b).max() for a, b in zip(alone, together))
    kept = torch.equal(before, torch.get_rng_state())
    return f"max |proba difference| = {gap:.1e} (was 0.32); global RNG kept: {kept}", (
        gap == 0 and kept)


@case("learning_rate_init=1e3", "test_a_finite_but_exploding_loss_is_divergence_with_advice")
def _():
    MultiTaskClassifier(**dict(TINY, max_iter=50), learning_rate_init=1e3).fit(X, Y)
    return "trained without a word", False


@case("compare_single_task(pipeline with a string column, LogisticRegression())",
      "test_model_selection.py (_behind_preprocessing)")
def _():
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)]).assign(
        city=np.array(["a", "b", "c"])[np.arange(300) % 3])
    pre = make_column_transformer((OneHotEncoder(), ["city"]), remainder=StandardScaler())
    result = compare_single_task(make_pipeline(pre, MultiTaskClassifier(**TINY)), frame, Y,
                                 baseline=LogisticRegression(), cv=2)
    return f"ran: {len(result.to_frame())} rows of per-task scores", True


@case("batch_norm=True on one row", "test_batch_norm_on_one_row_names_the_parameter")
def _():
    MultiTaskClassifier(**TINY, batch_norm=True, ensemble_size=1).fit(X[:1], Y[:1])
    return "fitted", False


@case("DataFrame X with a string column", "test_errors.py (non-numeric columns)")
def _():
    frame = pd.DataFrame(X[:, :2], columns=["x", "y"]).assign(city="a")
    MultiTaskClassifier(**TINY).fit(frame, Y)
    return "fitted", False


@case("input_shape without a trunk", "test_input_shape_without_a_trunk_is_an_error_not_ignored")
def _():
    MultiTaskClassifier(**TINY, input_shape=(1, 2, 4)).fit(X, Y)
    return "fitted (input_shape ignored)", False


@case("MMoE: activation='tanh' reaches the experts", "test_experts_use_the_estimators_activation")
def _():
    clf = MultiTaskClassifier(**TINY, architecture="mmoe", activation="tanh").fit(X, Y)
    kinds = {type(m).__name__ for m in clf.net_.module_.block.modules()}
    return f"expert activations: {sorted(k for k in kinds if k in ('Tanh', 'ReLU'))}", (
        "Tanh" in kinds and "ReLU" not in kinds)


@case("PLE(dropout=1.5)", "test_invalid_architecture_or_trunk_parameter_names_it")
def _():
    from sklearn_mtl.architectures import PLE
    MultiTaskClassifier(**TINY, architecture=PLE(dropout=1.5)).fit(X, Y)
    return "fitted", False


def main():
    print(f"| {'case':<62} | verdict | outcome")
    print(f"|{'-' * 64}|---------|{'-' * 60}")
    for name, outcome, fine, _test in ROWS:
        verdict = "clear error" if fine is None else ("fine" if fine else "WRONG")
        print(f"| {name:<62} | {verdict:<7} | {outcome}")


if __name__ == "__main__":
    main()
