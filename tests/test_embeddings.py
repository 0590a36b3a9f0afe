"""Numerical embeddings (periodic, piecewise-linear) and the linear path:
the papers' equations on hand-computed cases, and the estimator options."""

import math
import pickle

import numpy as np
import pytest
import torch
from conftest import FAST, TINY
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl._linear_path import fit_linear_path
from sklearn_mtl.embeddings import EMBEDDINGS, PeriodicEmbedding, PiecewiseLinearEmbedding
from sklearn_mtl.modules._embeddings import (
    LinearPath,
    PeriodicEmbeddings,
    PiecewiseLinearEmbeddings,
    quantile_bin_edges,
)

ONE = dict(ensemble_size=1, early_stopping=False, input_scaling=None)


# ---------------------------------------------------------------- equations
def test_piecewise_linear_encoding_hand_computed():
    # feature 0: bins [0, 1), [1, 2), [2, 4]; feature 1: one bin [0, 1] (a
    # binary feature: its repeated quantiles merged, the rest padding)
    edges = np.array([[0.0, 1.0, 2.0, 4.0], [0.0, 1.0, 1.0, 1.0]], dtype=np.float32)
    module = PiecewiseLinearEmbeddings(edges, embedding_dim=2)
    x = torch.tensor([[-1.0, 0.0], [0.5, 1.0], [1.5, 2.0], [3.0, -1.0], [6.0, 0.5]])
    got = module.encode(x)
    # the first bin extends below the range, the last above it (eq. 2)
    expected_0 = [[-1.0, 0, 0], [0.5, 0, 0], [1, 0.5, 0], [1, 1, 0.5], [1, 1, 2.0]]
    # a single bin is both first and last: no clamp on either side; padding is 0
    expected_1 = [[0.0, 0, 0], [1.0, 0, 0], [2.0, 0, 0], [-1.0, 0, 0], [0.5, 0, 0]]
    torch.testing.assert_close(got[:, 0], torch.tensor(expected_0))
    torch.testing.assert_close(got[:, 1], torch.tensor(expected_1))


def test_piecewise_linear_embedding_is_relu_of_a_linear_term_and_the_bins_layer():
    edges = np.array([[0.0, 1.0, 2.0], [-1.0, 0.0, 1.0]], dtype=np.float32)
    module = PiecewiseLinearEmbeddings(edges, embedding_dim=3)
    x = torch.tensor([[0.25, 0.5], [1.5, -2.0]])
    encoded = module.encode(x)  # (n, F, T)
    with torch.no_grad():  # the bins' weights start at 0: give them some
        module.weight.normal_()
    expected = torch.stack(
        [torch.relu(x[:, j, None] * module.linear[j] + encoded[:, j] @ module.weight[j]
                    + module.bias[j]) for j in range(2)], dim=1)
    torch.testing.assert_close(module(x), expected.flatten(1))
    assert module.out_features == 6


def test_quantile_bin_edges():
    X = np.column_stack([np.arange(101.0), np.tile([0.0, 1.0], 51)[:101], np.full(101, 7.0)])
    edges = quantile_bin_edges(X, n_bins=4)
    np.testing.assert_allclose(edges[0], [0, 25, 50, 75, 100])
    np.testing.assert_allclose(edges[1], [0, 1, 1, 1, 1])  # binary: one bin
    np.testing.assert_allclose(edges[2], [7, 7, 7, 7, 7])  # constant: no bin
    # a constant feature encodes to 0 everywhere, whatever its value
    module = PiecewiseLinearEmbeddings(edges, 2)
    assert torch.all(module.encode(torch.tensor([[3.0, 0.0, 9.0]]))[0, 2] == 0)


@pytest.mark.parametrize("lite", [True, False])
def test_periodic_embedding_hand_computed(lite):
    module = PeriodicEmbeddings(n_features=2, n_frequencies=1, sigma=1.0, embedding_dim=1,
                                lite=lite)
    with torch.no_grad():
        module.frequencies.copy_(torch.tensor([[0.25], [0.5]]))
        module.weight.copy_(torch.tensor([[2.0], [3.0]]) if lite
                            else torch.tensor([[[2.0], [3.0]], [[-1.0], [1.0]]]))
        module.bias.fill_(0.5)
    x = torch.tensor([[1.0, 1.0]])
    # feature 0: 2 pi 0.25 = pi/2 -> cos 0, sin 1; feature 1: pi -> cos -1, sin 0
    cos_sin = [(0.0, 1.0), (-1.0, 0.0)]
    weights = [(2.0, 3.0), (2.0, 3.0)] if lite else [(2.0, 3.0), (-1.0, 1.0)]
    expected = [max(0.0, w[0] * c + w[1] * s + 0.5) for (c, s), w in zip(cos_sin, weights)]
    torch.testing.assert_close(module(x), torch.tensor([expected]), atol=1e-6, rtol=0)


def test_periodic_frequencies_start_from_a_truncated_normal():
    module = PeriodicEmbeddings(50, 40, sigma=0.3, embedding_dim=4, lite=True)
    c = module.frequencies.detach()
    assert c.abs().max() <= 3 * 0.3
    assert abs(float(c.std()) - 0.3) < 0.05


def test_linear_path_matches_scikit_learn_logistic_regression():
    X, y = np.random.RandomState(0).standard_normal((300, 4)), None
    logits = X @ np.array([[1.5, -2.0, 0.0], [0.5, 1.0, -1.0], [0, 0, 0], [-1, 0, 1.0]])
    y = np.argmax(logits + np.random.RandomState(1).gumbel(size=logits.shape), axis=1)
    reference = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(X, y)
    path = LinearPath(4, 3)
    Xt = torch.tensor(X, dtype=torch.float32)
    fit_linear_path(path, Xt, torch.tensor(y)[:, None], [3], max_iter=500)
    with torch.no_grad():
        proba = torch.softmax(path(Xt), dim=1).numpy()
    np.testing.assert_allclose(proba, reference.predict_proba(X), atol=2e-3)


def test_linear_path_leaves_missing_labels_out():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((200, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    codes = np.column_stack([y, y])
    codes[:100, 1] = -1  # the second task sees only the last 100 rows
    path = LinearPath(3, 4)
    fit_linear_path(path, torch.from_numpy(X), torch.from_numpy(codes), [2, 2])
    alone = LinearPath(3, 2)
    fit_linear_path(alone, torch.from_numpy(X[100:]), torch.from_numpy(y[100:, None]), [2])
    torch.testing.assert_close(path.weight[2:], alone.weight, atol=1e-3, rtol=1e-3)


# ------------------------------------------------------------ the estimator
def test_registry_names_match_the_classes():
    assert EMBEDDINGS == {"periodic": PeriodicEmbedding,
                          "piecewise_linear": PiecewiseLinearEmbedding}


@pytest.mark.parametrize("embedding", ["periodic", "piecewise_linear",
                                       PiecewiseLinearEmbedding(n_bins=4, embedding_dim=3)])
@pytest.mark.parametrize("ensemble_size", [1, 3])
def test_embeddings_train_with_ensembles_and_embed(digits, embedding, ensemble_size):
    X, Y, X_test, _ = digits
    clf = MultiTaskClassifier(**{**TINY, "ensemble_size": ensemble_size},
                              numerical_embedding=embedding).fit(X, Y)
    net = clf.net_.module_
    assert net.trunk.embedding.out_features == X.shape[1] * (
        3 if not isinstance(embedding, str) else 16)
    assert clf.embed(X_test[:5]).shape == (5, TINY["hidden_layer_sizes"][0])
    assert np.isfinite(np.concatenate(clf.predict_proba(X_test), axis=1)).all()
    # the embedding is shared: as many parameters as one embedding built alone,
    # whatever the number of members
    spec = EMBEDDINGS[embedding]() if isinstance(embedding, str) else embedding
    alone = spec.build(X.astype(np.float32))
    assert [p.shape for p in net.trunk.embedding.parameters()] == [
        p.shape for p in alone.parameters()]


def test_scaling_once_per_fit_trains_the_same_model_and_leaves_X_alone(tmp_path):
    # in-memory rows are scaled once into a copy; a memory map is scaled per batch
    rng = np.random.RandomState(0)
    X = (rng.standard_normal((300, 5)) * [1, 10, 100, 1e3, 1e4]).astype(np.float32)
    Y = np.column_stack([X[:, 0] > 0, X[:, 3] > 0]).astype(int)
    mapped = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32,
                                       shape=X.shape)
    mapped[:] = X
    mapped.flush()
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    before = X.copy()
    params = dict(TINY, input_scaling="robust", early_stopping=True)
    in_memory = MultiTaskClassifier(**params).fit(X, Y)
    per_batch = MultiTaskClassifier(**params).fit(mapped, Y)
    np.testing.assert_array_equal(X, before)
    for a, b in zip(in_memory.predict_proba(X), per_batch.predict_proba(X)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


def test_piecewise_linear_bins_come_from_the_scaled_training_rows():
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.uniform(0, 1000, 400), rng.standard_normal(400)])
    y = (X[:, 0] > 500).astype(int)
    clf = MultiTaskClassifier(**{**TINY, **ONE, "input_scaling": "robust"},
                              numerical_embedding=PiecewiseLinearEmbedding(n_bins=4)).fit(X, y)
    trunk = clf.net_.module_.trunk
    scaled = trunk.scale(torch.tensor(X, dtype=torch.float32)).numpy()
    expected = quantile_bin_edges(scaled, 4)
    torch.testing.assert_close(trunk.embedding.left, torch.from_numpy(expected[:, :-1]))


def test_embedding_cuts_a_sharp_threshold_that_a_plain_network_blurs():
    # two tasks that are thresholds of single features, one an interaction
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, (3000, 6))
    Y = np.column_stack([X[:, 0] > 0.3, (X[:, 1] > -0.2) & (X[:, 2] > 0.5)]).astype(int)
    train, test = slice(0, 2000), slice(2000, None)
    params = dict(hidden_layer_sizes=(32,), max_iter=15, batch_size=64, random_state=0, **ONE)
    scores = {}
    for embedding in [None, "piecewise_linear"]:
        clf = MultiTaskClassifier(**params, numerical_embedding=embedding).fit(X[train], Y[train])
        scores[embedding] = np.mean(clf.predict(X[test]) == Y[test])
    assert scores["piecewise_linear"] > scores[None] + 0.01
    assert scores["piecewise_linear"] > 0.98


def test_embedding_parameters_are_grid_searchable_and_validated(digits):
    X, Y, _, _ = digits
    search = GridSearchCV(
        MultiTaskClassifier(**TINY, numerical_embedding=PiecewiseLinearEmbedding()),
        {"numerical_embedding__n_bins": [2, 3]}, cv=2).fit(X[:200], Y[:200])
    assert search.best_params_["numerical_embedding__n_bins"] in (2, 3)
    with pytest.raises(InvalidParameterError, match="n_bins"):
        MultiTaskClassifier(**TINY, numerical_embedding=PiecewiseLinearEmbedding(n_bins=0)).fit(
            X[:50], Y[:50])
    with pytest.raises(InvalidParameterError, match="numerical_embedding"):
        MultiTaskClassifier(**TINY, numerical_embedding="quantile").fit(X[:50], Y[:50])


def test_embedding_with_a_convolutional_trunk_is_a_clear_error(digits):
    X, Y, _, _ = digits
    with pytest.raises(ValueError, match="numerical_embedding='periodic'.*trunk='conv'"):
        MultiTaskClassifier(**TINY, trunk="conv", numerical_embedding="periodic").fit(X, Y)


def test_embedding_warm_start_continues_and_refuses_a_change(digits):
    X, Y, _, _ = digits
    clf = MultiTaskClassifier(**TINY, numerical_embedding="piecewise_linear", warm_start=True)
    clf.fit(X, Y)
    left = clf.net_.module_.trunk.embedding.left.clone()
    clf.fit(X[:300] * 2, Y[:300])  # other rows: the bins stay those of the first fit
    torch.testing.assert_close(clf.net_.module_.trunk.embedding.left, left)
    assert clf.n_iter_ == 2 * TINY["max_iter"]
    clf.set_params(numerical_embedding="periodic")
    with pytest.raises(ValueError, match="numerical_embedding"):
        clf.fit(X, Y)


def test_embedding_in_bfloat16_and_through_pickle(digits):
    X, Y, X_test, _ = digits
    clf = MultiTaskClassifier(**TINY, numerical_embedding="periodic", linear_path=True,
                              precision="bfloat16").fit(X, Y)
    clone = pickle.loads(pickle.dumps(clf))
    for a, b in zip(clf.predict_proba(X_test), clone.predict_proba(X_test)):
        np.testing.assert_array_equal(a, b)


def test_linear_path_starts_at_each_tasks_logistic_regression():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((400, 5))
    Y = np.column_stack([X[:, 0] - X[:, 1] > 0, X @ [1, 0, 0, 2, 0] + rng.logistic(size=400) > 0])
    clf = MultiTaskClassifier(**{**TINY, **ONE, "max_iter": 1}, linear_path=True,
                              learning_rate_init=1e-12).fit(X, Y.astype(int))
    path = clf.net_.module_.linear_path
    for t in range(2):
        reference = LogisticRegression(C=1.0, tol=1e-10).fit(X, Y[:, t])
        # a softmax over two logits: the regression's coefficient is their difference
        coef = (path.weight[2 * t + 1] - path.weight[2 * t]).detach().numpy()
        np.testing.assert_allclose(coef, reference.coef_[0], atol=2e-3)
    # its own weight decay, in its own optimizer group
    groups = [g for g in clf.net_.optimizer_.param_groups if g.get("linear_path")]
    assert len(groups) == 1
    assert {id(p) for p in groups[0]["params"]} == {id(p) for p in path.parameters()}


def test_linear_path_is_fitted_on_the_training_rows_only(digits):
    X, Y, _, _ = digits
    clf = MultiTaskClassifier(**{**FAST, "max_iter": 1, "ensemble_size": 1,
                                 "early_stopping": True}, linear_path=True,
                              learning_rate_init=1e-12,
                              validation_fraction=0.5).fit(X, Y)
    assert not clf.net_.linear_path_pending_
    weight = clf.net_.module_.linear_path.weight.detach().clone()
    # refitting the regression on all rows gives other weights: the held-out half was left out
    everything = LinearPath(X.shape[1], weight.shape[0])
    trunk = clf.net_.module_.trunk
    Xs = trunk.scale(torch.tensor(X, dtype=torch.float32))
    fit_linear_path(everything, Xs, torch.tensor(Y, dtype=torch.int64),
                    clf.net_.module_.split_sizes)
    assert not torch.allclose(everything.weight, weight, atol=1e-2)


def test_linear_path_helps_a_linear_task():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((600, 30))
    Y = np.column_stack([X @ rng.standard_normal(30) + 2 * rng.logistic(size=600) > 0
                         for _ in range(3)]).astype(int)
    train, test = slice(0, 300), slice(300, None)
    scores = {}
    for path in (False, True):
        clf = MultiTaskClassifier(random_state=0, linear_path=path).fit(X[train], Y[train])
        scores[path] = np.mean(clf.predict(X[test]) == Y[test])
    logistic = np.mean([LogisticRegression().fit(X[train], Y[train, t]).score(X[test], Y[test, t])
                        for t in range(3)])
    assert scores[True] > scores[False]
    assert scores[True] >= logistic - 0.03  # closer to it: 0.776 vs 0.768, LR 0.801
    assert math.isfinite(scores[True])
