"""User callbacks: skorch's hooks, their arguments, parameters and pickling."""

import pickle

import numpy as np
import pytest
import torch
from conftest import TINY
from sklearn.base import clone
from skorch.callbacks import Callback, EpochTimer, LRScheduler

from sklearn_mtl import MultiTaskClassifier


class Recorder(Callback):
    """Records every hook with the arguments skorch documents for it."""

    def initialize(self):
        self.calls = []
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.calls.append(("train_begin",))

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.calls.append(("train_end",))

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        self.calls.append(("epoch_begin", len(dataset_train), dataset_valid is not None))

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        self.calls.append(("epoch_end", net.history[-1, "train_loss"]))

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        self.calls.append(("batch_begin", training, len(batch[0])))

    def on_batch_end(self, net, batch=None, training=None, loss=None, y_pred=None,
                     **kwargs):
        self.calls.append(("batch_end", training, loss, y_pred.shape[0], len(batch[0])))

    def on_grad_computed(self, net, named_parameters, X=None, y=None, training=None,
                         **kwargs):
        named = list(named_parameters)
        has_grad = all(p.grad is not None for name, p in named if name.startswith("shared"))
        self.calls.append(("grad", training, len(X), has_grad))


def _hooks(calls, name):
    return [c for c in calls if c[0] == name]


@pytest.mark.parametrize("ensemble_size", [1, 2])
def test_every_hook_fires_with_skorch_arguments(digits, ensemble_size):
    X, Y, _, _ = digits
    recorder = Recorder()
    clf = MultiTaskClassifier(**{**TINY, "ensemble_size": ensemble_size,
                                 "early_stopping": True, "callbacks": [recorder]})
    clf.fit(X[:400], Y[:400])
    calls = recorder.calls
    assert calls[0] == ("train_begin",) and calls[-1] == ("train_end",)
    assert len(_hooks(calls, "epoch_begin")) == len(_hooks(calls, "epoch_end")) == clf.n_iter_
    n_train, n_valid = clf.history_[0, "train_batch_count"], clf.history_[0, "valid_batch_count"]
    per_epoch = calls[1:1 + 2 + 3 * n_train + 2 * n_valid]
    assert per_epoch[0][0] == "epoch_begin" and per_epoch[-1][0] == "epoch_end"
    train = per_epoch[1:1 + 3 * n_train]
    # on_batch_begin, then on_grad_computed (before the step), then on_batch_end
    assert [c[0] for c in train] == ["batch_begin", "grad", "batch_end"] * n_train
    for begin, grad, end in zip(train[::3], train[1::3], train[2::3]):
        assert begin[1] is True and grad[1] is True and end[1] is True
        assert grad[2] == begin[2] and grad[3]
        loss, rows = end[2], end[4]
        assert torch.is_tensor(loss) and loss.ndim == 0 and float(loss) > 0
        assert end[3] == rows * ensemble_size  # the module's output: a row per member
    valid = per_epoch[1 + 3 * n_train:-1]
    assert [c[0] for c in valid] == ["batch_begin", "batch_end"] * n_valid
    assert all(c[1] is False for c in valid)
    assert all(c[3] == c[4] for c in valid if c[0] == "batch_end")  # the ensemble's rows
    # skorch's per-batch history rows: the mean task loss of each batch
    batches = clf.history_[0, "batches"]
    assert len(batches) == n_train + n_valid
    train_losses = [b["train_loss"] for b in batches if "train_loss" in b]
    assert np.allclose(train_losses, [float(c[2]) for c in train[2::3]])


def test_callbacks_do_not_change_the_model(digits):
    X, Y, X_test, _ = digits
    plain = MultiTaskClassifier(**TINY).fit(X[:300], Y[:300])
    listened = MultiTaskClassifier(**TINY, callbacks=[Recorder(), EpochTimer()])
    listened.fit(X[:300], Y[:300])
    for a, b in zip(plain.predict_proba(X_test), listened.predict_proba(X_test)):
        np.testing.assert_array_equal(a, b)


def test_user_callbacks_come_after_the_package_own(digits):
    X, Y, _, _ = digits
    clf = MultiTaskClassifier(**TINY, callbacks=[("rec", Recorder())]).fit(X[:200], Y[:200])
    names = [name for name, _ in clf.net_.callbacks_]
    assert names.index("stop_on_plateau") < names.index("rec")


def test_callback_params_are_nested_and_clonable():
    scheduler = LRScheduler(policy="StepLR", step_size=2)
    clf = MultiTaskClassifier(callbacks=[scheduler, ("rec", Recorder()), EpochTimer(),
                                         EpochTimer()])
    params = clf.get_params()
    assert params["callbacks__LRScheduler"] is scheduler
    assert params["callbacks__LRScheduler__step_size"] == 2
    assert "callbacks__rec" in params and "callbacks__EpochTimer_1" in params
    clf.set_params(callbacks__LRScheduler__step_size=5, learning_rate_init=0.01)
    assert scheduler.step_size == 5 and clf.learning_rate_init == 0.01
    copy = clone(clf)
    assert copy.callbacks[0] is not scheduler
    assert copy.get_params()["callbacks__LRScheduler__step_size"] == 5
    other = Recorder()
    copy.set_params(callbacks__rec=other)
    assert copy.callbacks[1] == ("rec", other)
    with pytest.raises(ValueError, match="no callback named 'nope'"):
        copy.set_params(callbacks__nope__x=1)


@pytest.mark.parametrize("callbacks, match", [
    ([object()], "not a skorch callback"),
    ([("a", Recorder()), ("a", Recorder())], "more than once"),
])
def test_bad_callbacks_are_refused(digits, callbacks, match):
    X, Y, _, _ = digits
    with pytest.raises(ValueError, match=match):
        MultiTaskClassifier(**TINY, callbacks=callbacks).fit(X[:100], Y[:100])


def test_get_loss_is_a_scalar_and_fit_params_reach_the_step(digits):
    X, Y, _, _ = digits
    clf = MultiTaskClassifier(**TINY).fit(X[:200], Y[:200])
    net = clf.net_
    data = net.prepare_data(X[:64].astype(np.float32), np.zeros((64, 4), dtype=np.int64))
    batch = next(iter(net.get_iterator(data, training=False)))
    net._class_weights_dev = None
    loss = net.get_loss(net.evaluation_step(batch), batch[1])
    assert loss.ndim == 0 and float(loss) > 0
    seen = []

    def step_fn(batch, **fit_params):
        seen.append(fit_params)
        return net.validation_step(batch)

    net.run_single_epoch(net.get_iterator(data, training=False), training=False,
                         prefix="valid", step_fn=step_fn, marker=1)
    assert seen == [{"marker": 1}]


def test_pickled_scheduler_keeps_the_net_optimizer(digits):
    # the LRScheduler holds the optimizer: pickled with the net's other
    # device-bound state (skorch maps it to the loading machine's device)
    X, Y, _, _ = digits
    clf = MultiTaskClassifier(**TINY, callbacks=[LRScheduler(policy="StepLR", step_size=1)])
    clf.fit(X[:200], Y[:200])
    assert "callbacks_" not in clf.net_.__getstate__()
    loaded = pickle.loads(pickle.dumps(clf))
    scheduler = dict(loaded.net_.callbacks_)["LRScheduler"]
    assert scheduler.lr_scheduler_.optimizer is loaded.net_.optimizer_
    loaded.set_params(warm_start=True).fit(X[:200], Y[:200])


def test_per_batch_history_rows_with_and_without_listeners(digits):
    # skorch's history has a row per batch; without a listener they are
    # written at the epoch's end, with one they are written as batches end
    X, Y, _, _ = digits
    params = {**TINY, "early_stopping": True}
    quiet = MultiTaskClassifier(**params).fit(X[:300], Y[:300])
    listened = MultiTaskClassifier(**params, callbacks=[Recorder()]).fit(X[:300], Y[:300])
    for epoch in range(quiet.n_iter_):
        a, b = quiet.history_[epoch, "batches"], listened.history_[epoch, "batches"]
        assert len(a) == len(b) == (quiet.history_[epoch, "train_batch_count"]
                                    + quiet.history_[epoch, "valid_batch_count"])
        assert [sorted(r) for r in a] == [sorted(r) for r in b]
        for ra, rb in zip(a, b):
            assert ra == pytest.approx(rb)
    rows = quiet.history_[0, "batches"]
    assert sum(r.get("train_batch_size", 0) + r.get("valid_batch_size", 0) for r in rows) == 300


def test_package_behaviour_is_callbacks_and_a_stop_lets_every_callback_see_the_epoch(digits):
    X, Y, _, _ = digits

    class Epochs(Callback):
        def initialize(self):
            self.seen_ = []
            return self

        def on_epoch_end(self, net, **kwargs):
            self.seen_.append(len(net.history))

    epochs = Epochs()
    clf = MultiTaskClassifier(**{**TINY, "max_iter": 50, "n_iter_no_change": 1,
                                 "tol": 10.0, "affinity_every": 2}, callbacks=[epochs])
    clf.fit(X[:300], Y[:300])
    callbacks = dict(clf.net_.callbacks_)
    assert list(callbacks)[1:4] == ["divergence_check", "affinity_probe", "stop_on_plateau"]
    stopper = callbacks["stop_on_plateau"]
    assert stopper.stopped_ and clf.n_iter_ == 2 < 50  # no improvement by 10: stop
    assert epochs.seen_ == [1, 2]  # the stopping epoch reached the user's callback
    np.testing.assert_array_equal(clf.task_affinity_, callbacks["affinity_probe"].affinity_)


@pytest.mark.skipif(torch.cuda.is_available(), reason="simulates a CPU-only loader")
def test_a_cuda_trained_scheduler_loads_on_a_cpu_only_machine(digits):
    # DESIGN.md's trap: the LRScheduler holds the optimizer, whose state was on
    # the training device. Simulated: the pickled state says "cuda"; the
    # callbacks are loaded with skorch's map_location, like the optimizer.
    from skorch.exceptions import DeviceWarning

    from sklearn_mtl._net import MultiTaskNet

    X, Y, _, _ = digits
    clf = MultiTaskClassifier(**TINY, callbacks=[LRScheduler(policy="StepLR", step_size=1)])
    clf.fit(X[:200], Y[:200])
    state = pickle.loads(pickle.dumps(clf.net_.__getstate__()))
    state["device"] = "cuda"
    net = MultiTaskNet.__new__(MultiTaskNet)
    with pytest.warns(DeviceWarning):
        net.__setstate__(state)
    assert str(net.device) == "cpu"
    scheduler = dict(net.callbacks_)["LRScheduler"]
    assert scheduler.lr_scheduler_.optimizer is net.optimizer_
    assert all(t.device.type == "cpu" for s in net.optimizer_.state.values()
               for t in s.values() if torch.is_tensor(t))
