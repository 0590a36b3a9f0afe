"""Out-of-core training: a memory map or a Dask array X is read a batch or a
block at a time, never whole (``_data.BlockData``, ``_validation.check_streamed_X``)."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY

from sklearn_mtl import MultiTaskClassifier, _data
from sklearn_mtl.datasets import make_multitask_classification

da = pytest.importorskip("dask.array")

SMALL = {**TINY, "hidden_layer_sizes": (32,), "max_iter": 4, "batch_size": 64}


@pytest.fixture(scope="module")
def problem():
    X, Y = make_multitask_classification(n_samples=1200, n_features=12, n_tasks=3,
                                         random_state=0)
    return X.astype(np.float32), Y


def _same_proba(a, b, atol=1e-5):
    return all(np.allclose(p, q, atol=atol) for p, q in zip(a, b))


# ------------------------------------------------------------------- Dask
@pytest.mark.parametrize("dask_y", [False, True])
def test_dask_fit_is_the_in_memory_fit_without_shuffling(problem, dask_y):
    # Without shuffling, the batches are the same rows in the same order, so the
    # model is the in-memory one; uneven row blocks and several column blocks
    # (rechunked to one) change nothing. Labels are missing here and there.
    X, Y = problem
    Y = Y.astype(float)
    Y[::7, 1] = np.nan
    params = {**SMALL, "shuffle": False, "linear_path": True}
    reference = MultiTaskClassifier(**params).fit(X, Y)
    X_dask = da.from_array(X, chunks=(170, 5))
    Y_given = da.from_array(Y, chunks=(300, 3)) if dask_y else Y
    fitted = MultiTaskClassifier(**params).fit(X_dask, Y_given)
    assert fitted.n_features_in_ == X.shape[1]
    assert _same_proba(reference.predict_proba(X), fitted.predict_proba(X_dask))


def test_grouped_estimator_trains_and_predicts_on_dask(problem):
    from sklearn_mtl import GroupedMultiTaskClassifier

    X, Y = problem
    params = {**SMALL, "shuffle": False}
    groups = [[0], [1, 2]]
    reference = GroupedMultiTaskClassifier(MultiTaskClassifier(**params),
                                           task_groups=groups).fit(X, Y)
    X_dask = da.from_array(X, chunks=(300, 12))
    fitted = GroupedMultiTaskClassifier(MultiTaskClassifier(**params),
                                        task_groups=groups).fit(X_dask, Y)
    assert _same_proba(reference.predict_proba(X), fitted.predict_proba(X_dask))
    assert isinstance(fitted.predict(X_dask), np.ndarray)


def test_dask_fit_shuffles_and_early_stops_as_well_as_in_memory(problem):
    # With shuffling, rows are shuffled within windows of blocks (not over the
    # whole of X): the models differ, so compare what they learnt. Small
    # windows (two blocks) are the hardest case for the shuffle.
    X, Y = problem
    params = {**SMALL, "max_iter": 60, "early_stopping": True, "n_iter_no_change": 3,
              "learning_rate_init": 1e-2}
    reference = MultiTaskClassifier(**params).fit(X[:1000], Y[:1000])
    window, _data._WINDOW_BYTES = _data._WINDOW_BYTES, 2 * 100 * 12 * 4
    try:
        fitted = MultiTaskClassifier(**params).fit(da.from_array(X[:1000], chunks=(100, 12)),
                                                   Y[:1000])
    finally:
        _data._WINDOW_BYTES = window
    assert fitted.early_stopping_ and fitted.n_iter_ < params["max_iter"]
    assert "valid_loss" in fitted.history_[-1]
    assert fitted.score(X[1000:], Y[1000:]) >= reference.score(X[1000:], Y[1000:]) - 0.05


def test_prediction_on_dask_streams_and_returns_numpy(problem):
    X, Y = problem
    clf = MultiTaskClassifier(**SMALL).fit(X, Y)
    X_dask = da.from_array(X, chunks=(250, 12))
    for method in ("predict", "predict_proba", "predict_log_proba", "embed"):
        got, expected = getattr(clf, method)(X_dask), getattr(clf, method)(X)
        for g, e in zip(got if isinstance(got, list) else [got],
                        expected if isinstance(expected, list) else [expected]):
            assert type(g) is np.ndarray
            np.testing.assert_allclose(g, e, atol=1e-6)
    assert clf.score(X_dask, da.from_array(Y, chunks=250)) == clf.score(X, Y)


def test_nan_in_one_block_names_it_and_leaves_the_estimator_as_it_was(problem):
    X, Y = problem
    clf = MultiTaskClassifier(**SMALL).fit(X, Y)
    before = clf.predict_proba(X)
    bad = X.copy()
    bad[905, 3] = np.nan
    with pytest.raises(ValueError, match=r"block 3 \(rows 900 to 1199\).*row\(s\) 905"):
        clf.fit(da.from_array(bad, chunks=(300, 12)), Y)
    assert _same_proba(clf.predict_proba(X), before, atol=0)


def test_block_iterator_visits_every_row_once_per_epoch(problem):
    X, _ = problem
    cpu = torch.device("cpu")
    positions = np.arange(len(X))[:, None]  # as codes: each row's own position
    data = _data.prepare_data(da.from_array(X, chunks=(97, 12)), positions, None, cpu, None)
    subset = data.subset(torch.arange(0, len(X), 3))  # as a validation split does
    window, _data._WINDOW_BYTES = _data._WINDOW_BYTES, 3 * 97 * 12 * 4
    try:
        iterator = _data.BlockIterator(subset, 64, True, torch.Generator().manual_seed(0), cpu)
        epochs = [list(iterator) for _ in range(2)]
    finally:
        _data._WINDOW_BYTES = window
    orders = []
    for batches in epochs:
        rows = np.concatenate([codes.numpy().ravel() for _, (codes, _) in batches])
        assert sorted(rows) == list(range(0, len(X), 3))
        assert [len(Xb) for Xb, _ in batches[:-1]] == [64] * (len(batches) - 1)
        assert len(batches) == len(iterator)
        Xb, (codes, _) = batches[0]
        np.testing.assert_array_equal(Xb.numpy(), X[codes.numpy().ravel()])
        orders.append(rows)
    assert not np.array_equal(*orders)
    # a block is checked as it is read
    bad = X.copy()
    bad[500, 3] = np.inf
    data = _data.prepare_data(da.from_array(bad, chunks=(97, 12)), positions, None, cpu, None)
    with pytest.raises(ValueError, match=r"block 5 \(rows 485 to 581\).*row\(s\) 500"):
        list(_data.BlockIterator(data, 64, False, None, cpu))


def test_block_iterator_shares_are_the_batches_of_one_process(problem):
    # data-parallel: process r of 3 gets rows r, r + 3, ... of each batch
    X, _ = problem
    cpu = torch.device("cpu")
    positions = np.arange(len(X))[:, None]
    data = _data.prepare_data(da.from_array(X, chunks=(97, 12)), positions, None, cpu, None)

    def batches(rank=0, size=1):
        generator = torch.Generator().manual_seed(0)
        return list(_data.BlockIterator(data, 64, True, generator, cpu, rank, size))

    whole = batches()
    shares = [batches(rank, 3) for rank in range(3)]
    assert all(len(share) == len(whole) for share in shares)
    for b, (_, (codes, _)) in enumerate(whole):
        for rank in range(3):
            np.testing.assert_array_equal(shares[rank][b][1][0].numpy(),
                                          codes[rank::3].numpy())


def test_dask_x_needs_known_row_counts_and_two_dimensions(problem):
    X, Y = problem
    unknown = da.from_array(X, chunks=(300, 12))
    unknown = unknown[unknown[:, 0] > -np.inf]  # boolean indexing: NaN chunk sizes
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        MultiTaskClassifier(**SMALL).fit(unknown, Y)
    with pytest.raises(ValueError, match="Expected a 2D array"):
        MultiTaskClassifier(**SMALL).fit(da.from_array(X[:, 0], chunks=300), Y)


def test_dask_dataframe_gives_feature_names(problem):
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, Y = problem
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    clf = MultiTaskClassifier(**SMALL).fit(dd.from_pandas(frame, npartitions=3), Y)
    assert list(clf.feature_names_in_) == list(frame.columns)
    assert clf.predict(frame).shape == Y.shape


def test_fit_on_dask_with_a_local_cluster(problem):
    # the blocks are computed by the cluster's worker (dask.compute uses the
    # active client)
    distributed = pytest.importorskip("distributed")
    X, Y = problem
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        X_dask = da.from_array(X, chunks=(300, 12))
        clf = MultiTaskClassifier(**SMALL).fit(X_dask, Y)
        assert client.run(lambda: True)  # the cluster is up
        assert clf.predict(X_dask).shape == Y.shape


# ----------------------------------------------------- non-float32 memmaps
def _memmap(path, array):
    mm = np.memmap(path, dtype=array.dtype, mode="w+", shape=array.shape)
    mm[:] = array
    mm.flush()
    return np.memmap(path, dtype=array.dtype, mode="r", shape=array.shape)


def test_float64_memmap_is_read_batch_by_batch_with_the_float32_fit(problem, tmp_path,
                                                                      monkeypatch):
    X, Y = problem
    reference = MultiTaskClassifier(**SMALL).fit(X, Y)
    X64 = _memmap(tmp_path / "x64", X.astype(np.float64))
    seen = []
    prepare = _data.prepare_data

    def spy(X, *args, **kwargs):
        data = prepare(X, *args, **kwargs)
        seen.append(data.X)
        return data

    monkeypatch.setattr("sklearn_mtl._net.prepare_data", spy)
    fitted = MultiTaskClassifier(**SMALL).fit(X64, Y)
    proba = fitted.predict_proba(X64)
    # the data that batches are read from is the memory map itself, not a copy
    assert all(x is X64 for x in seen) and len(seen) == 2
    assert _same_proba(proba, reference.predict_proba(X), atol=1e-6)
    uint8 = _memmap(tmp_path / "u8", (X * 10 + 128).clip(0, 255).astype(np.uint8))
    assert MultiTaskClassifier(**SMALL).fit(uint8, Y).predict(uint8).shape == Y.shape


def test_float64_memmap_beyond_float32_is_refused(problem, tmp_path):
    X, Y = problem
    X64 = X.astype(np.float64)
    X64[700, 2] = 1e300  # finite in float64, infinite in float32
    with pytest.raises(ValueError, match=r"too large for float32.*row\(s\) 700"):
        MultiTaskClassifier(**SMALL).fit(_memmap(tmp_path / "x64", X64), Y)


# ------------------------------------------------- the memory-limit proof
# A child process trains under RLIMIT_DATA, which counts the heap and private
# writable mappings but not read-only file mappings (Linux >= 4.7); RLIMIT_AS
# would count the memory map itself. The child sets its limit to what it uses
# once torch and the package are imported plus HEADROOM, and writes a
# float32 file at least 1.5 times that limit, unless one is there already.
# Without input scaling: its statistics read a sample of 100,000 rows (100 MB
# for these 256 features) whatever the size of X, which would only make the
# limit, and so the file, larger.
# glibc's dynamic mmap threshold otherwise serves the batch-sized buffers from
# a heap that fragments (measured: 600 MB more while predicting); with a fixed
# threshold they are returned to the system when freed.
HEADROOM_MB = 192
CHILD = textwrap.dedent("""
    import json, os, resource, sys, threading, time
    import numpy as np
    import torch  # noqa: F401
    from sklearn_mtl import MultiTaskClassifier, _data

    mode, path, headroom = sys.argv[1], sys.argv[2], int(sys.argv[3]) * 2**20
    n_features = 256
    if mode == "dask":
        import dask
        import dask.array as da
        dask.config.set(scheduler="synchronous")
        _data._WINDOW_BYTES = 2**25  # the bound on what a window of blocks holds

    def status(key):
        for line in open("/proc/self/status"):
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024

    peak = dict(VmData=0, RssAnon=0)

    def sample():
        while True:
            for key in peak:
                peak[key] = max(peak[key], status(key))
            time.sleep(0.01)

    threading.Thread(target=sample, daemon=True).start()
    limit = status("VmData") + headroom
    row_bytes = 4 * n_features
    needed = int(1.5 * limit) // row_bytes + 1
    n_rows = os.path.getsize(path) // row_bytes if os.path.exists(path) else 0
    if n_rows < needed:
        # 64 MiB more, so that the next child (with Dask imported) can reuse it
        n_rows = needed + 2**26 // row_bytes
        X = np.memmap(path, dtype=np.float32, mode="w+", shape=(n_rows, n_features))
        block = np.random.default_rng(0).standard_normal((8192, n_features), np.float32)
        for start in range(0, n_rows, len(block)):
            X[start:start + len(block)] = block[:n_rows - start]
        X.flush()
        del X
    X = np.memmap(path, dtype=np.float32, mode="r", shape=(n_rows, n_features))
    resource.setrlimit(resource.RLIMIT_DATA,
                       (limit, resource.getrlimit(resource.RLIMIT_DATA)[1]))
    Y = np.stack([X[:, 0] > 0, X[:, 1] > 0], axis=1).astype(np.int8)
    result = dict(limit=limit, file=X.nbytes)
    try:
        if mode == "loaded":
            X = np.array(X)
        elif mode == "dask":
            # not da.from_array: it copies any array with a .copy(), a memmap too
            step = 16_384  # blocks of 16 MiB
            load = dask.delayed(lambda a, b: np.memmap(
                path, dtype=np.float32, mode="r", shape=(n_rows, n_features))[a:b])
            X = da.concatenate([
                da.from_delayed(load(a, min(a + step, n_rows)),
                                (min(a + step, n_rows) - a, n_features), np.float32)
                for a in range(0, n_rows, step)])
        clf = MultiTaskClassifier(hidden_layer_sizes=(16,), ensemble_size=1,
                                  batch_size=4096, max_iter=1, early_stopping=False,
                                  input_scaling=None, random_state=0).fit(X, Y)
        result["accuracy"] = float((clf.predict(X) == Y).mean())
    except MemoryError as exc:
        result["error"] = type(exc).__name__
    time.sleep(0.05)
    result.update(vm_data_peak=peak["VmData"], rss_anon_peak=peak["RssAnon"])
    print(json.dumps(result))
""")


def _run_child(tmp_path, mode, data_file, headroom_mb=HEADROOM_MB):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {"OMP_NUM_THREADS": "1", "MALLOC_MMAP_THRESHOLD_": str(2**20),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, str(script), mode, str(data_file), str(headroom_mb)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_DATA, /proc")
def test_fit_on_a_memmap_larger_than_the_memory_limit(tmp_path):
    data_file = tmp_path / "x.f32"
    streamed = _run_child(tmp_path, "memmap", data_file)
    assert streamed["file"] >= 1.5 * streamed["limit"]
    assert "error" not in streamed and streamed["accuracy"] > 0.8
    # the same fit with X read into memory fails under that limit: the test can fail
    assert _run_child(tmp_path, "loaded", data_file).get("error") == "MemoryError"
    # Dask's scheduler and a window of blocks (32 MiB here) need more room
    from_dask = _run_child(tmp_path, "dask", data_file, HEADROOM_MB + 128)
    assert from_dask["file"] >= 1.5 * from_dask["limit"]
    assert "error" not in from_dask and from_dask["accuracy"] > 0.8
    print(json.dumps(dict(memmap=streamed, dask=from_dask)))
