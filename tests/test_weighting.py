"""Every registered weighting strategy, through the estimator.

Parametrized over the registry: a new strategy is covered by adding its module
and its line in ``sklearn_mtl.weighting.WEIGHTINGS``.
"""

import pickle

import numpy as np
import pytest
import torch
from conftest import CHECKS, FAST
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.utils.estimator_checks import estimator_checks_generator

from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl.weighting import WEIGHTINGS, BaseWeighting, StaticWeighting

NAMES = sorted(WEIGHTINGS)
# checks that exercise training, prediction and persistence for every strategy
# (the full suite runs on the default in test_common.py)
REPRESENTATIVE_CHECKS = {
    "check_classifiers_train",
    "check_classifier_multioutput",
    "check_estimators_pickle",
    "check_fit_idempotent",
    "check_supervised_y_2d",
}


def _representative_checks():
    for name in NAMES:
        estimator = MultiTaskClassifier(**CHECKS, weighting=name)
        for est, check in estimator_checks_generator(estimator, mark="skip"):
            check_name = getattr(check, "func", check).__name__
            if check_name in REPRESENTATIVE_CHECKS:
                yield pytest.param(est, check, id=f"{name}-{check_name}")


@pytest.mark.parametrize("estimator, check", list(_representative_checks()))
def test_representative_common_checks(estimator, check):
    torch.set_num_threads(1)
    check(estimator)


@pytest.fixture(scope="module")
def partly_labelled(digits):
    X, Y, X_test, Y_test = digits
    Y = Y[:600].astype(float)
    Y[np.random.RandomState(0).rand(600) < 0.5, 1] = np.nan  # half the parity labels hidden
    return X[:600], Y, X_test, Y_test


@pytest.mark.parametrize("name", NAMES)
def test_strategy_trains_with_missing_labels_and_records_weights(name, partly_labelled):
    X, Y, X_test, Y_test = partly_labelled
    clf = MultiTaskClassifier(**{**FAST, "max_iter": 15}, weighting=name).fit(X, Y)
    assert isinstance(clf.weighting_, WEIGHTINGS[name])
    accuracy = (clf.predict(X_test) == Y_test).mean(axis=0)
    assert np.all(accuracy > 0.6), accuracy
    for p in clf.predict_proba(X_test):
        assert np.all(np.isfinite(p))
    history = clf.history_
    weights = np.array([[row[f"weight[task_{t}]"] for t in range(4)] for row in history])
    assert weights.shape == (clf.n_iter_, 4)
    assert np.all(np.isfinite(weights))  # IMTL-G may give a negative coefficient
    np.testing.assert_allclose(clf.applied_weights_, weights[-1])


@pytest.mark.parametrize("name", NAMES)
def test_strategy_survives_clone_pickle_and_cross_validate(name, partly_labelled):
    X, Y, X_test, _ = partly_labelled
    clf = MultiTaskClassifier(**{**FAST, "max_iter": 3}, weighting=WEIGHTINGS[name]())
    assert clone(clf).get_params()["weighting"].get_params() == clf.weighting.get_params()
    clf.fit(X, Y)
    assert not hasattr(clf.weighting, "n_tasks_")  # the user's object stays unfitted
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict(X_test), clf.predict(X_test))
    scores = cross_validate(clf, X, Y, cv=KFold(2))["test_score"]
    assert np.all(np.isfinite(scores))


def test_strategy_parameters_are_grid_searchable(partly_labelled):
    # the first strategy that has parameters: each of its values reaches the
    # fitted strategy of the search's candidates
    X, Y, _, _ = partly_labelled
    name = next(n for n in NAMES if WEIGHTINGS[n]().get_params())
    param, value = next(iter(WEIGHTINGS[name]().get_params().items()))
    values = [value, value * 2] if isinstance(value, (int, float)) and value else [value]
    search = GridSearchCV(
        MultiTaskClassifier(**{**FAST, "max_iter": 2}, weighting=WEIGHTINGS[name]()),
        {f"weighting__{param}": values, "task_weights": [[1, 1, 1, 1], [2, 1, 1, 1]]},
        cv=KFold(2), refit=True,
    ).fit(X, Y)
    assert len(search.cv_results_["params"]) == 2 * len(values)
    searched = [p[f"weighting__{param}"] for p in search.cv_results_["params"]]
    assert sorted(set(searched), key=str) == sorted(set(values), key=str)
    chosen = search.best_params_[f"weighting__{param}"]
    assert search.best_estimator_.weighting_.get_params()[param] == chosen


def test_static_weights_are_applied_and_recorded(partly_labelled):
    X, Y, _, _ = partly_labelled
    clf = MultiTaskClassifier(**{**FAST, "max_iter": 2}, task_weights=[2.0, 0.5, 1.0, 0.0])
    clf.fit(X, Y)
    # parity is missing from some batches only rarely: its mean weight is close to 0.5
    np.testing.assert_allclose(clf.applied_weights_[[0, 2, 3]], [2.0, 1.0, 0.0])
    assert 0.4 < clf.applied_weights_[1] <= 0.5


class HalfOnFirstTask(BaseWeighting):
    """A user's own strategy: the documented contract in a few lines."""

    def __init__(self, factor=0.5):
        self.factor = factor

    def backward(self, losses, present, shared_parameters, specific_parameters):
        weights = self.task_weights_ * present
        weights = torch.cat([weights[:1] * self.factor, weights[1:]])
        (weights * losses).sum().backward()
        return weights.detach()


def test_user_strategy_plugs_in(partly_labelled):
    X, Y, _, _ = partly_labelled
    clf = MultiTaskClassifier(**{**FAST, "max_iter": 2}, weighting=HalfOnFirstTask(0.25))
    clf.set_params(weighting__factor=0.1).fit(X, Y)
    assert clf.applied_weights_[0] == pytest.approx(0.1)
    assert isinstance(clf.weighting_, HalfOnFirstTask)
    assert isinstance(MultiTaskClassifier().weighting, str)
    assert StaticWeighting in WEIGHTINGS.values()


def test_the_documented_custom_strategy_runs(partly_labelled):
    """docs/user_guide/custom.rst's example, kept in step with the contract."""
    import re
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "user_guide" / "custom.rst").read_text()
    code = re.search(r"code-block:: python\n\n(.*?)\n\n\n    clf =", text, re.S).group(1)
    namespace = {}
    exec("\n".join(line[4:] for line in code.splitlines()), namespace)
    X, Y, _, _ = partly_labelled
    strategy = namespace["InverseLossWeighting"](eps=1e-2)
    clf = MultiTaskClassifier(**{**FAST, "max_iter": 2}, weighting=strategy).fit(X, Y)
    assert np.all(np.isfinite(clf.applied_weights_)) and np.all(clf.applied_weights_ > 0)


@pytest.mark.parametrize("name", ["uncertainty", "gradnorm"])
def test_learnable_weighting_parameters_are_trained_without_weight_decay(name, partly_labelled):
    X, Y, _, _ = partly_labelled
    clf = MultiTaskClassifier(**{**FAST, "max_iter": 2, "weight_decay": 0.5}, weighting=name)
    clf.fit(X, Y)
    learnable = {id(p) for p in clf.weighting_.parameters()}
    assert learnable
    groups = clf.net_.optimizer_.param_groups
    for group in groups:
        in_group = {id(p) for p in group["params"]} & learnable
        if in_group:
            assert group["weight_decay"] == 0.0
        else:
            assert group["weight_decay"] == 0.5
    assert sum(len({id(p) for p in g["params"]} & learnable) for g in groups) == len(learnable)


@pytest.mark.parametrize("name", NAMES)
def test_strategy_with_weights_and_mixture_of_experts(name, partly_labelled):
    X, Y, X_test, _ = partly_labelled
    weights = np.random.RandomState(0).uniform(0.1, 2.0, len(X))
    class_weight = [None, "balanced", None, "balanced"]

    def fit(sample_weight, class_weight):
        return MultiTaskClassifier(
            **{**FAST, "max_iter": 2, "hidden_layer_sizes": ()},
            architecture="mmoe", weighting=name, class_weight=class_weight,
        ).fit(X, Y, sample_weight=sample_weight)

    clf = fit(weights, class_weight)
    assert np.all(np.isfinite(clf.applied_weights_))
    proba = clf.predict_proba(X_test)
    assert all(np.all(np.isfinite(p)) for p in proba)
    # both kinds of weights reach the strategy's losses
    for other in (fit(None, class_weight), fit(weights, None)):
        assert not all(np.allclose(p, q) for p, q in zip(proba, other.predict_proba(X_test)))
