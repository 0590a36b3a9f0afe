"""skorch's own callbacks through MultiTaskClassifier: schedules, clipping,
checkpoints, per-task scores, a logger, the progress bar; and in a grid search."""

import numpy as np
import pytest
import torch
from conftest import TINY
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import (
    Callback,
    Checkpoint,
    GradientNormClipping,
    LoadInitState,
    LRScheduler,
)

from sklearn_mtl import MultiTaskClassifier, _callbacks
from sklearn_mtl.callbacks import TaskScoring

SMALL = dict(TINY, max_iter=3, batch_size=64, early_stopping=False, ensemble_size=1,
             n_iter_no_change=100)


class GradNorms(Callback):
    """Records the total gradient norm that the optimizer step will use."""

    def initialize(self):
        self.norms_ = []
        return self

    def on_grad_computed(self, net, named_parameters, **kwargs):
        grads = [p.grad.flatten() for _, p in named_parameters if p.grad is not None]
        self.norms_.append(float(torch.cat(grads).norm()))


def _lrs(clf):
    """The learning rate of the optimizer's groups, when they all agree."""
    lrs = {group["lr"] for group in clf.net_.optimizer_.param_groups}
    assert len(lrs) == 1
    return lrs.pop()


@pytest.fixture(scope="module")
def data(digits):
    X, Y, _, _ = digits
    return X[:400], Y[:400]


def test_lr_scheduler_per_epoch(data):
    clf = MultiTaskClassifier(**SMALL, callbacks=[
        LRScheduler(policy="StepLR", step_size=1, gamma=0.5)]).fit(*data)
    assert _lrs(clf) == pytest.approx(1e-3 * 0.5 ** 3)
    assert clf.history_[:, "event_lr"] == pytest.approx([1e-3, 5e-4, 2.5e-4])


def test_lr_scheduler_per_batch(data):
    clf = MultiTaskClassifier(**SMALL, callbacks=[
        LRScheduler(policy="StepLR", step_size=1, gamma=0.99, step_every="batch")])
    clf.fit(*data)
    n_steps = sum(clf.history_[:, "train_batch_count"])
    assert n_steps == 3 * 7
    assert _lrs(clf) == pytest.approx(1e-3 * 0.99 ** n_steps)


def test_gradient_norm_clipping_clips(data):
    free = GradNorms()
    MultiTaskClassifier(**SMALL, callbacks=[free]).fit(*data)
    assert max(free.norms_) > 0.05  # so that the clipping below has work to do
    clipped = GradNorms()
    MultiTaskClassifier(**SMALL, callbacks=[GradientNormClipping(0.05), clipped]).fit(*data)
    assert len(clipped.norms_) == 21
    assert max(clipped.norms_) <= 0.05 * (1 + 1e-4)


def test_checkpoint_and_load_init_state_resume_a_fit(data, tmp_path):
    first = MultiTaskClassifier(**SMALL, callbacks=[
        Checkpoint(monitor="train_loss_best", dirname=str(tmp_path))]).fit(*data)
    saved = {k: v.clone() for k, v in first.net_.module_.state_dict().items()}

    class Start(Callback):
        def on_train_begin(self, net, **kwargs):
            self.state_ = {k: v.clone() for k, v in net.module_.state_dict().items()}

    start = Start()
    checkpoint = Checkpoint(monitor="train_loss_best", dirname=str(tmp_path))
    resumed = MultiTaskClassifier(**{**SMALL, "max_iter": 2}, callbacks=[
        checkpoint, LoadInitState(checkpoint), start]).fit(*data)
    for key, value in saved.items():  # the best (here: last) epoch's weights
        torch.testing.assert_close(start.state_[key], value)
    assert resumed.n_iter_ == 5  # the history goes on
    losses = resumed.history_[:, "train_loss"]
    fresh = MultiTaskClassifier(**{**SMALL, "max_iter": 2}).fit(*data)
    assert losses[3] < fresh.history_[0, "train_loss"]


def test_load_init_state_keeps_the_checkpoint_linear_path(data, tmp_path):
    params = {**SMALL, "linear_path": True}
    first = MultiTaskClassifier(**params, callbacks=[
        Checkpoint(monitor="train_loss_best", dirname=str(tmp_path))]).fit(*data)
    saved = first.net_.module_.linear_path.state_dict()

    class FirstEpoch(Callback):
        def on_epoch_begin(self, net, **kwargs):  # after the training split is made
            if not hasattr(self, "state_"):
                self.state_ = {k: v.clone() for k, v in
                               net.module_.linear_path.state_dict().items()}

    seen = FirstEpoch()
    checkpoint = Checkpoint(monitor="train_loss_best", dirname=str(tmp_path))
    MultiTaskClassifier(**{**params, "max_iter": 1}, callbacks=[
        checkpoint, LoadInitState(checkpoint), seen]).fit(*data)
    for key, value in saved.items():
        torch.testing.assert_close(seen.state_[key], value)


def test_task_scoring_per_task(data):
    X, Y = data
    clf = MultiTaskClassifier(**{**SMALL, "early_stopping": True}, callbacks=[
        TaskScoring("task_0"), TaskScoring(1, scoring="log_loss")]).fit(X, Y)
    accuracy = clf.history_[:, "valid_accuracy[task_0]"]
    assert len(accuracy) == 3 and all(0 < a <= 1 for a in accuracy)
    # the recorded score is the accuracy of the epoch's validation predictions
    assert clf.history_[-1, "valid_accuracy[task_0]"] != clf.history_[-1, "valid_acc"]
    assert clf.history_[:, "valid_log_loss[task_1]_best"][0] is True


def test_task_scoring_matches_a_direct_computation(data):
    X, Y = data

    class Rows(Callback):
        def on_epoch_end(self, net, dataset_valid=None, **kwargs):
            self.valid_ = dataset_valid.rows.cpu().numpy()

    rows = Rows()
    clf = MultiTaskClassifier(**{**SMALL, "early_stopping": True, "ensemble_size": 2,
                                 "max_iter": 1}, callbacks=[TaskScoring(2), rows])
    clf.fit(X, Y)
    expected = np.mean(clf.predict(X[rows.valid_])[:, 2] == Y[rows.valid_, 2])
    assert clf.history_[-1, "valid_accuracy[task_2]"] == pytest.approx(expected)


def test_tensorboard_writes_per_task_losses(data, tmp_path):
    pytest.importorskip("tensorboard")
    from skorch.callbacks import TensorBoard
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(tmp_path))
    MultiTaskClassifier(**SMALL, callbacks=[TensorBoard(writer)]).fit(*data)
    writer.flush()
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    for t in range(4):
        assert f"Loss/train_loss[task_{t}]" in tags
        assert len(events.Scalars(f"Loss/train_loss[task_{t}]")) == 3


def test_verbose_shows_a_progress_bar(data, monkeypatch, capsys):
    monkeypatch.setattr(_callbacks, "_PROGRESS_DELAY", 0.0)
    MultiTaskClassifier(**{**SMALL, "max_iter": 1}, verbose=1).fit(*data)
    captured = capsys.readouterr()
    assert "train_loss" in captured.out  # skorch's table
    assert "epoch 1:" in captured.err and "/7" in captured.err  # tqdm's bar


def test_progress_without_tqdm_prints_lines(data, monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    monkeypatch.setattr(_callbacks, "_PROGRESS_DELAY", 0.0)
    MultiTaskClassifier(**{**SMALL, "max_iter": 1}, verbose=1).fit(*data)
    assert "epoch 1: batch 1/7" in capsys.readouterr().out


def test_quiet_fit_has_no_progress(data, capsys):
    clf = MultiTaskClassifier(**{**SMALL, "max_iter": 1}).fit(*data)
    assert "progress" not in dict(clf.net_.callbacks_)
    assert capsys.readouterr().err == ""


def test_callbacks_through_grid_search(data):
    X, Y = data
    norms = GradNorms()
    search = GridSearchCV(
        MultiTaskClassifier(**SMALL, callbacks=[
            ("clip", GradientNormClipping(1.0)), ("norms", norms),
            ("lr", LRScheduler(policy="StepLR", step_size=1, gamma=0.5)),
            TaskScoring("task_0", on_train=True)]),
        {"callbacks__clip__gradient_clip_value": [0.02, 0.05],
         "callbacks__lr__gamma": [0.5, 0.9]},
        cv=2,
    ).fit(X, Y)
    assert not hasattr(norms, "norms_")  # the search fits clones
    best = search.best_estimator_
    clip = search.best_params_["callbacks__clip__gradient_clip_value"]
    gamma = search.best_params_["callbacks__lr__gamma"]
    assert dict(best.net_.callbacks_)["clip"].gradient_clip_value == clip
    assert max(dict(best.net_.callbacks_)["norms"].norms_) <= clip * (1 + 1e-4)
    assert _lrs(best) == pytest.approx(1e-3 * gamma ** 3)
    assert len(best.history_[:, "train_accuracy[task_0]"]) == 3
