"""``precision="bfloat16"``: bf16 autocast of the forward pass, float32 everywhere else.

These tests run on whatever device ``device="auto"`` picks (the CPU here,
CUDA on a GPU machine); the last ones need CUDA and are skipped without it.
"""

import pickle

import numpy as np
import pytest
import torch
from conftest import FAST, TINY
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl.architectures import ARCHITECTURES
from sklearn_mtl.weighting import WEIGHTINGS

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@pytest.fixture(scope="module")
def pair(digits):
    """The same estimator fitted in float32 and in bfloat16."""
    X, Y, _, _ = digits
    return {
        precision: MultiTaskClassifier(**FAST, precision=precision).fit(X, Y)
        for precision in ("float32", "bfloat16")
    }


@pytest.fixture(scope="module")
def small(digits):
    X, Y, _, _ = digits
    return X[:200], Y[:200]


def test_bfloat16_learns_and_predicts_like_float32(pair, digits):
    _, _, X_test, Y_test = digits
    full, half = pair["float32"], pair["bfloat16"]
    Y_half, Y_full = half.predict(X_test), full.predict(X_test)
    assert Y_half.shape == Y_full.shape == Y_test.shape
    assert Y_half.dtype == Y_full.dtype
    accuracy = (Y_half == Y_test).mean(axis=0)
    assert np.all(accuracy > 0.85), accuracy
    # same seed, same batches: the two models end close to each other
    assert (Y_half == Y_full).all(axis=1).mean() > 0.9
    for p_half, p_full in zip(half.predict_proba(X_test), full.predict_proba(X_test)):
        assert p_half.dtype == p_full.dtype == np.float64
        assert p_half.shape == p_full.shape
        assert np.all(np.isfinite(p_half))
        np.testing.assert_allclose(p_half.sum(axis=1), 1.0, rtol=1e-6)
    log_proba = half.predict_log_proba(X_test)
    assert all(np.all(np.isfinite(lp)) for lp in log_proba)
    Z_half, Z_full = half.embed(X_test), full.embed(X_test)
    assert Z_half.dtype == Z_full.dtype == np.float32 and Z_half.shape == Z_full.shape


def test_bfloat16_casts_the_forward_pass_only(pair, digits):
    X = torch.as_tensor(digits[0][:8], dtype=torch.float32)
    full, half = pair["float32"].net_, pair["bfloat16"].net_
    assert full.infer(X).dtype == torch.float32
    assert half.infer(X).dtype == torch.bfloat16  # autocast is on
    # master weights, their optimizer state and the recorded losses stay float32
    assert all(p.dtype == torch.float32 for p in half.module_.parameters())
    state = [s for s in half.optimizer_.state.values() if "exp_avg" in s]
    assert state and all(s["exp_avg"].dtype == torch.float32 for s in state)
    assert np.isfinite(half.history[-1, "train_loss"])


def test_bfloat16_with_early_stopping_validates_in_float32(small):
    X, Y = small
    from skorch.callbacks import Callback

    from sklearn_mtl._loss import task_losses

    class Recompute(Callback):
        """The epoch's validation loss from the bf16 forward pass, in float32
        and in bf16 arithmetic."""

        def initialize(self):
            self.float32_, self.bfloat16_ = [], []
            return self

        def on_epoch_end(self, net, dataset_valid=None, **kwargs):
            Xv, (codes, _) = dataset_valid.batch(slice(0, len(dataset_valid)))
            with torch.inference_mode():
                logits = net.ensemble_logits(Xv)
                sizes = net.module_.split_sizes
                for dtype, out in ((torch.float32, self.float32_),
                                   (torch.bfloat16, self.bfloat16_)):
                    chunks = torch.split(logits.to(dtype), sizes, dim=1)
                    per_task = [torch.nn.functional.cross_entropy(
                        c[codes[:, t] >= 0], codes[:, t][codes[:, t] >= 0]).float()
                        for t, c in enumerate(chunks)]
                    out.append(float(torch.stack(per_task).mean()))
                losses, _ = task_losses(logits, codes, sizes)
                assert losses.dtype == torch.float32

    check = Recompute()
    clf = MultiTaskClassifier(
        **{**TINY, "max_iter": 4, "early_stopping": True, "ensemble_size": 1},
        precision="bfloat16", callbacks=[check],
    ).fit(X, Y)
    recorded = clf.history_[:, "valid_loss"]
    np.testing.assert_allclose(recorded, check.float32_, rtol=1e-5)
    # bf16 arithmetic would record visibly different losses
    assert np.max(np.abs(np.subtract(check.bfloat16_, check.float32_))) > 1e-4
    assert np.all(np.isfinite(clf.history_[:, "valid_acc"]))


def test_precision_is_clonable_and_grid_searchable(small):
    X, Y = small
    clf = MultiTaskClassifier(**TINY, precision="bfloat16")
    assert clone(clf).get_params()["precision"] == "bfloat16"
    search = GridSearchCV(
        MultiTaskClassifier(**TINY), {"precision": ["float32", "bfloat16"]},
        cv=KFold(2, shuffle=True, random_state=0),
    ).fit(X, Y)
    assert [p["precision"] for p in search.cv_results_["params"]] == ["float32", "bfloat16"]
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.precision == search.best_params_["precision"]


def test_pickle_round_trip_keeps_precision_and_predictions(pair, digits):
    _, _, X_test, _ = digits
    half = pair["bfloat16"]
    restored = pickle.loads(pickle.dumps(half))
    assert restored.precision == restored.net_.precision == "bfloat16"
    np.testing.assert_array_equal(restored.predict(X_test), half.predict(X_test))
    for a, b in zip(restored.predict_proba(X_test), half.predict_proba(X_test)):
        np.testing.assert_array_equal(a, b)


def test_warm_start_may_change_precision(small):
    X, Y = small
    clf = MultiTaskClassifier(**TINY, warm_start=True).fit(X, Y)
    clf.set_params(precision="bfloat16").fit(X, Y)
    assert clf.n_iter_ == 2 * TINY["max_iter"]
    assert clf.net_.precision == "bfloat16"
    assert clf.net_.infer(torch.as_tensor(X[:4], dtype=torch.float32)).dtype == torch.bfloat16
    clf.set_params(precision="float32").fit(X, Y)
    assert clf.net_.infer(torch.as_tensor(X[:4], dtype=torch.float32)).dtype == torch.float32


@pytest.mark.parametrize("precision", ["float16", "bf16", None])
def test_invalid_precision_is_a_clear_error(precision, small):
    X, Y = small
    with pytest.raises(ValueError, match="The 'precision' parameter of MultiTaskClassifier"):
        MultiTaskClassifier(**TINY, precision=precision).fit(X, Y)


@pytest.mark.parametrize("name", sorted(WEIGHTINGS))
def test_every_weighting_strategy_trains_in_bfloat16(name, small):
    X, Y = small
    Y = Y.astype(float)
    Y[::3, 1] = np.nan  # a task absent from some rows
    clf = MultiTaskClassifier(
        **{**TINY, "hidden_layer_sizes": (16, 16)}, weighting=name, precision="bfloat16"
    ).fit(X, Y)
    assert np.all(np.isfinite(clf.applied_weights_))
    assert np.all(np.isfinite(clf.history_[:, "train_loss"]))
    assert all(p.grad is None or p.grad.dtype == torch.float32
               for p in clf.net_.module_.parameters())
    for p in clf.predict_proba(X):
        assert np.all(np.isfinite(p))


@pytest.mark.parametrize(
    "params",
    [{"architecture": name} for name in sorted(ARCHITECTURES)]
    + [{"trunk": "conv", "input_shape": (1, 8, 8)}, {"batch_norm": True}],
    ids=lambda params: "-".join(f"{k}={v}" for k, v in params.items() if k != "input_shape"),
)
def test_every_architecture_and_trunk_trains_in_bfloat16(params, small):
    X, Y = small
    clf = MultiTaskClassifier(**{**TINY, **params}, precision="bfloat16").fit(X, Y)
    assert np.all(np.isfinite(clf.history_[:, "train_loss"]))
    assert clf.predict(X).shape == Y.shape


def test_cpu_optimizer_is_not_fused(small):
    X, Y = small
    clf = MultiTaskClassifier(**TINY, device="cpu").fit(X, Y)
    assert not clf.net_.optimizer_.defaults.get("fused")


# ------------------------------------------------------------------- CUDA
@requires_cuda
def test_cuda_bfloat16_agrees_with_float32(digits):
    X, Y, X_test, Y_test = digits
    fitted = {
        precision: MultiTaskClassifier(**FAST, device="cuda", precision=precision).fit(X, Y)
        for precision in ("float32", "bfloat16")
    }
    Y_full, Y_half = (fitted[p].predict(X_test) for p in ("float32", "bfloat16"))
    assert (Y_half == Y_full).all(axis=1).mean() > 0.9
    assert np.all((Y_half == Y_test).mean(axis=0) > 0.85)
    for p in fitted["bfloat16"].predict_proba(X_test):
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)


@requires_cuda
def test_cuda_optimizer_is_fused_where_torch_has_it(small):
    X, Y = small
    clf = MultiTaskClassifier(**TINY, device="cuda").fit(X, Y)
    # the version check itself is tested below on versions that compare
    # differently as strings and as numbers
    from sklearn_mtl._build import _torch_at_least

    assert bool(clf.net_.optimizer_.defaults.get("fused")) == _torch_at_least(2, 4)


@pytest.mark.parametrize(
    "version, expected",
    [("2.13.0+cpu", True), ("2.4.0", True), ("2.3.1+cu121", False), ("1.13.1", False)],
)
def test_torch_version_check_compares_numbers(monkeypatch, version, expected):
    # "2.13" < "2.4" as strings: the fused-kernel check must compare numbers
    from sklearn_mtl._build import _torch_at_least

    monkeypatch.setattr(torch, "__version__", version)
    assert _torch_at_least(2, 4) is expected
