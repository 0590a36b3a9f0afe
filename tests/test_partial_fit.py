"""partial_fit: scikit-learn's contract for chunks (classes on the first
call, one epoch a call), and the same training as fit where both apply."""

import numpy as np
import pytest
import torch
from conftest import TINY
from skorch.callbacks import Callback, LRScheduler

from sklearn_mtl import GroupedMultiTaskClassifier, MultiTaskClassifier

# no dropout, one member: two paths that train the same way give the same weights
SAME = dict(TINY, dropout=0.0, batch_size=64)


@pytest.fixture(scope="module")
def data(digits):
    X, Y, _, _ = digits
    return X[:600], Y[:600]


def _classes(Y):
    return [np.unique(Y[:, t]) for t in range(Y.shape[1])]


def _weights(clf):
    return [p.detach().clone() for p in clf.net_.module_.parameters()]


def test_k_calls_on_all_rows_train_as_fit_with_k_epochs(data):
    X, Y = data
    fitted = MultiTaskClassifier(**dict(SAME, max_iter=3, n_iter_no_change=100)).fit(X, Y)
    partial = MultiTaskClassifier(**SAME)
    for _ in range(3):
        partial.partial_fit(X, Y, classes=_classes(Y))
    assert partial.n_iter_ == fitted.n_iter_ == 3
    for a, b in zip(_weights(partial), _weights(fitted)):
        torch.testing.assert_close(a, b)
    np.testing.assert_allclose(partial.predict_proba(X[:50])[0], fitted.predict_proba(X[:50])[0])


def test_chunks_learn_the_tasks(data, digits):
    X, Y = data
    _, _, X_test, Y_test = digits
    clf = MultiTaskClassifier(**dict(SAME, hidden_layer_sizes=(64,)))
    chance = clf.partial_fit(X[:100], Y[:100], classes=_classes(Y)).score(X_test, Y_test)
    for _ in range(15):
        for start in range(0, len(X), 100):
            clf.partial_fit(X[start:start + 100], Y[start:start + 100])
    assert clf.n_iter_ == 1 + 15 * 6
    # every label of the four digit tasks right on most test rows
    assert clf.score(X_test, Y_test) > max(0.6, chance + 0.3)


def test_a_chunk_without_some_classes_keeps_them(data):
    X, Y = data
    rows = Y[:, 0] < 5  # digits 0-4 only
    clf = MultiTaskClassifier(**SAME).partial_fit(X[rows], Y[rows], classes=_classes(Y))
    assert list(clf.classes_[0]) == list(range(10))
    assert clf.predict_proba(X[:5])[0].shape == (5, 10)
    clf.partial_fit(X[~rows], Y[~rows])  # the other digits are known labels
    assert clf.n_iter_ == 2


def test_classes_default_to_the_first_calls_labels(data):
    X, Y = data
    clf = MultiTaskClassifier(**SAME).partial_fit(X, Y)
    for t in range(Y.shape[1]):
        np.testing.assert_array_equal(clf.classes_[t], np.unique(Y[:, t]))


def test_one_dimensional_y_takes_one_array_of_classes(data):
    X, Y = data
    clf = MultiTaskClassifier(**SAME).partial_fit(X[:40], Y[:40, 0], classes=np.arange(10))
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    assert clf.predict(X[:3]).shape == (3,)
    # as a list of one array, as MultiOutputClassifier spells it
    clf = MultiTaskClassifier(**SAME).partial_fit(X[:40], Y[:40, 0], classes=[np.arange(10)])
    np.testing.assert_array_equal(clf.classes_, np.arange(10))


def test_a_label_outside_classes_names_task_and_label(data):
    X, Y = data
    clf = MultiTaskClassifier(**SAME).partial_fit(X[:100], Y[:100], classes=_classes(Y))
    bad = Y[:20].astype(object)
    bad[3, 1] = 7  # task_1 is binary
    with pytest.raises(ValueError, match=r"Task 'task_1' has labels not in classes_.*\[7\]"):
        clf.partial_fit(X[:20], bad)
    assert clf.n_iter_ == 1  # nothing trained
    with pytest.raises(ValueError, match="Task 'task_0'.*11"):
        MultiTaskClassifier(**SAME).partial_fit(
            X[:3], np.array([[11, 0, 0, 0], [1, 0, 0, 0], [2, 1, 1, 1]]), classes=_classes(Y)
        )


@pytest.mark.parametrize("classes, message", [
    ([np.arange(10)], "classes has 1 entries but Y has 4 task"),
    ("abc", "one array of labels per task"),
    ([np.arange(10), [0, 1], [0, 1], []], "task 'task_3' must be a non-empty"),
    ([np.arange(10), [0, np.nan], [0, 1], [0, 1, 2]], "task 'task_1' contain a missing"),
])
def test_bad_classes_are_refused(data, classes, message):
    X, Y = data
    with pytest.raises(ValueError, match=message):
        MultiTaskClassifier(**SAME).partial_fit(X[:10], Y[:10], classes=classes)


def test_later_calls_cannot_change_tasks_classes_or_network(data):
    X, Y = data
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(Y, columns=["digit", "odd", "big", "third"])
    clf = MultiTaskClassifier(**SAME).partial_fit(X[:100], frame[:100], classes=_classes(Y))
    with pytest.raises(ValueError, match="classes of task 'odd'"):
        clf.partial_fit(X[:10], frame[:10],
                        classes=[np.arange(10), [0, 1, 2], [0, 1], [0, 1, 2]])
    with pytest.raises(ValueError, match=r"not the tasks of the first call"):
        clf.partial_fit(X[:10], frame[:10].rename(columns={"odd": "parity"}))
    with pytest.raises(ValueError, match="X has 63 features"):
        clf.partial_fit(X[:10, :63], frame[:10])
    clf.set_params(hidden_layer_sizes=(8,))
    with pytest.raises(ValueError, match=r"partial_fit cannot change \['hidden_layer_sizes'\]"):
        clf.partial_fit(X[:10], frame[:10])
    assert clf.n_iter_ == 1


def test_partial_fit_continues_a_fitted_model(data):
    X, Y = data
    clf = MultiTaskClassifier(**dict(SAME, max_iter=2, n_iter_no_change=100)).fit(X, Y)
    before = _weights(clf)
    clf.partial_fit(X[:200], Y[:200])
    assert clf.n_iter_ == 3 and len(clf.history_) == 3
    assert any(not torch.equal(a, b) for a, b in zip(before, _weights(clf)))


def test_the_first_call_fixes_what_is_estimated_from_data(data):
    X, Y = data
    clf = MultiTaskClassifier(**dict(SAME, numerical_embedding="piecewise_linear"))
    clf.partial_fit(X[:200], Y[:200], classes=_classes(Y))
    buffers = {k: v.clone() for k, v in clf.net_.module_.named_buffers()}
    assert any("scal" in k for k in buffers)
    clf.partial_fit(X[200:] * 3 + 1, Y[200:])  # another distribution
    for k, v in clf.net_.module_.named_buffers():
        torch.testing.assert_close(v, buffers[k], msg=k)


def test_balanced_class_weight_is_refused_and_dicts_work(data):
    X, Y = data
    with pytest.raises(ValueError, match="class_weight='balanced' is not supported by partial_fit"):
        MultiTaskClassifier(**dict(SAME, class_weight="balanced")).partial_fit(X, Y)
    with pytest.raises(ValueError, match="'balanced' is not supported"):
        MultiTaskClassifier(**dict(SAME, class_weight={"task_1": "balanced"})).partial_fit(X, Y)
    clf = MultiTaskClassifier(**dict(SAME, class_weight={"task_1": {0: 1.0, 1: 3.0}}))
    clf.partial_fit(X, Y)
    np.testing.assert_allclose(clf.class_weight_[1], [1.0, 3.0])


@pytest.mark.parametrize("options", [
    dict(weighting="uncertainty"),
    dict(weighting="mgda"),
    dict(ensemble_size=3),
    dict(task_weights=[1.0, 0.0, 1.0, 1.0]),
    dict(linear_path=True),
])
def test_missing_labels_weights_and_options(data, options):
    X, Y = data
    Y = Y.astype(float)
    Y[::3, 1] = np.nan
    Y[1::3, 2] = np.nan
    weight = np.linspace(0.5, 2.0, len(X))
    X_copy, Y_copy = X.copy(), Y.copy()
    clf = MultiTaskClassifier(**dict(SAME, **options))
    for start in (0, 300):
        clf.partial_fit(X[start:start + 300], Y[start:start + 300],
                        classes=_classes(Y[~np.isnan(Y).any(1)]) if start == 0 else None,
                        sample_weight=weight[start:start + 300])
    assert np.isfinite(clf.history_[-1, "train_loss"])
    assert clf.predict(X[:4]).shape == (4, 4)
    np.testing.assert_array_equal(X, X_copy)  # the caller's data untouched
    np.testing.assert_array_equal(Y, Y_copy)


def test_rows_of_weight_zero_teach_nothing(data):
    X, Y = data
    options = dict(SAME, batch_size=600, input_scaling=None)  # nothing estimated from X
    weight = np.r_[np.ones(300), np.zeros(300)]
    noise = np.r_[X[:300], np.random.default_rng(0).normal(size=(300, X.shape[1]))]
    a = MultiTaskClassifier(**options).partial_fit(X, Y, sample_weight=weight)
    b = MultiTaskClassifier(**options).partial_fit(noise, Y, sample_weight=weight)
    for p, q in zip(_weights(a), _weights(b)):
        torch.testing.assert_close(p, q)
    c = MultiTaskClassifier(**options).partial_fit(noise, Y)
    assert any(not torch.allclose(p, q) for p, q in zip(_weights(a), _weights(c)))


class Hooks(Callback):
    def initialize(self):
        self.seen_ = []
        return self

    def on_train_begin(self, net, **kwargs):
        self.seen_.append("train_begin")

    def on_batch_end(self, net, training=None, **kwargs):
        self.seen_.append("batch")

    def on_grad_computed(self, net, **kwargs):
        self.seen_.append("grad")


def test_callbacks_fire_through_partial_fit(data):
    X, Y = data
    hooks = Hooks()
    clf = MultiTaskClassifier(**dict(SAME, callbacks=[("hooks", hooks)]))
    clf.partial_fit(X[:128], Y[:128], classes=_classes(Y)).partial_fit(X[:128], Y[:128])
    seen = dict(clf.net_.callbacks_)["hooks"].seen_
    # two calls, two batches of 64 each: begin, (grad, batch) x 2
    assert seen == ["train_begin", "grad", "batch", "grad", "batch"] * 2


def test_a_per_batch_lr_schedule_steps_across_calls(data):
    X, Y = data
    schedule = LRScheduler(policy=torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.5,
                           step_every="batch")
    clf = MultiTaskClassifier(**dict(SAME, callbacks=[schedule]))
    clf.partial_fit(X[:128], Y[:128], classes=_classes(Y))
    lr = {g["lr"] for g in clf.net_.optimizer_.param_groups}
    assert lr == {SAME.get("learning_rate_init", 1e-3) * 0.25}


def test_grouped_partial_fit_trains_each_group_on_its_columns(data):
    X, Y = data
    grouped = GroupedMultiTaskClassifier(MultiTaskClassifier(**SAME),
                                         task_groups=[[0, 2], [1], [3]])
    grouped.partial_fit(X[:300], Y[:300], classes=_classes(Y))
    grouped.partial_fit(X[300:], Y[300:])
    assert [e.n_iter_ for e in grouped.estimators_] == [2, 2, 2]
    assert [len(e.task_names_) for e in grouped.estimators_] == [2, 1, 1]
    np.testing.assert_array_equal(grouped.classes_[0], np.arange(10))
    assert grouped.predict(X[:5]).shape == (5, 4)
    # the same as the group's own model trained alone on its columns
    alone = MultiTaskClassifier(**SAME)
    alone.partial_fit(X[:300], Y[:300][:, [0, 2]], classes=[_classes(Y)[0], _classes(Y)[2]])
    alone.partial_fit(X[300:], Y[300:][:, [0, 2]])
    for a, b in zip(_weights(alone), _weights(grouped.estimators_[0])):
        torch.testing.assert_close(a, b)


def test_grouped_partial_fit_checks_every_group_before_training(data):
    X, Y = data
    grouped = GroupedMultiTaskClassifier(MultiTaskClassifier(**SAME), task_groups=[[0], [1, 2, 3]])
    grouped.partial_fit(X[:100], Y[:100], classes=_classes(Y))
    bad = Y[:20].copy()
    bad[0, 3] = 9
    with pytest.raises(ValueError, match="Task 'task_3'.*9"):
        grouped.partial_fit(X[:20], bad)
    assert [e.n_iter_ for e in grouped.estimators_] == [1, 1]  # group 0 untouched too
    auto = GroupedMultiTaskClassifier(MultiTaskClassifier(**SAME))
    assert not hasattr(auto, "partial_fit")
    with pytest.raises(AttributeError) as info:
        auto.partial_fit(X, Y)
    # the traceback says why
    assert "partial_fit only with task_groups given as a list" in str(info.value.__cause__)
