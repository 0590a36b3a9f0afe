"""
Training on a memory-mapped file
================================

Features that do not fit in memory can stay on the disk: a NumPy memory map
is a file seen as an array, whose pages the operating system reads when they
are used. :class:`~sklearn_mtl.MultiTaskClassifier` slices its batches from
the map, so ``fit`` never holds the whole of ``X``; the labels are read into
memory (one small value per row and task).

This example writes a synthetic multi-task problem to a float32 file once,
trains on the memory map, reports how much the process's own (anonymous)
memory grew (the network, the labels and the bounded samples that ``fit``
reads, tens of MiB whatever the file's size: on this small file it can
exceed the file itself), and checks that the model is the one trained on the
same rows in memory.
"""

# %%
# Write the features once, a chunk at a time
# -------------------------------------------
#
# In practice the file is written by whatever produces the data, one chunk at
# a time; here a generator of :mod:`sklearn_mtl.datasets` stands in for it.
# float32 is the dtype the network trains in: a float32 map is sliced in
# place (another dtype is converted one batch at a time).
import os
import tempfile
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sklearn_mtl.datasets import make_multitask_classification

X, Y = make_multitask_classification(n_samples=200_000, n_features=32, n_tasks=3,
                                     random_state=0)
folder = tempfile.mkdtemp()
path = os.path.join(folder, "X.f32")
on_disk = np.memmap(path, dtype=np.float32, mode="w+", shape=X.shape)
for start in range(0, len(X), 50_000):
    on_disk[start:start + 50_000] = X[start:start + 50_000]
on_disk.flush()
del on_disk
print(f"{os.path.getsize(path) / 2**20:.0f} MiB on disk")

# %%
# Train from the memory map
# -------------------------
#
# The map is opened read-only. The process's anonymous memory (``RssAnon``:
# its own allocations, without the file's cached pages, which the operating
# system can drop at any time) is read before and after ``fit`` (on Linux).
from sklearn_mtl import MultiTaskClassifier


def anonymous_memory():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) / 1024  # MiB
    except OSError:
        return float("nan")


# five epochs keep the example short: training was still improving, as the
# ConvergenceWarning would say
warnings.filterwarnings("ignore", category=ConvergenceWarning)
X_map = np.memmap(path, dtype=np.float32, mode="r", shape=X.shape)
params = dict(hidden_layer_sizes=(64,), ensemble_size=1, batch_size=512, max_iter=5,
              early_stopping=False, shuffle=False, random_state=0)
before = anonymous_memory()
from_disk = MultiTaskClassifier(**params).fit(X_map, Y)
print(f"anonymous memory grew by {anonymous_memory() - before:.0f} MiB while training")

# %%
# The same model as from memory
# -----------------------------
#
# Without shuffling, both fits see the same batches in the same order, so
# they train the same network.
in_memory = MultiTaskClassifier(**params).fit(X.astype(np.float32), Y)
same = all(np.allclose(a, b, atol=1e-5) for a, b in
           zip(from_disk.predict_proba(X_map[:1000]), in_memory.predict_proba(X[:1000])))
print(f"same probabilities: {same}")

# %%
# The training loss, epoch by epoch
# ---------------------------------
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(range(1, from_disk.n_iter_ + 1), from_disk.history_[:, "train_loss"], "o-",
        label="from the memory map")
ax.plot(range(1, in_memory.n_iter_ + 1), in_memory.history_[:, "train_loss"], "x--",
        label="in memory")
ax.set_xlabel("epoch")
ax.set_ylabel("mean task loss")
ax.legend()
fig.tight_layout()
plt.show()

os.remove(path)
