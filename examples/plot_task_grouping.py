"""
Which tasks should share a network? Task affinity and grouped networks
======================================================================

Training tasks together helps when they use the same features and hurts when
they pull the shared layers in different directions. Here two tasks read the
*shape* of a handwritten digit (which digit, and whether it is prime) and two
read the *amount of ink* (more ink than the median image, more ink in the top
half than in the bottom half): on this problem one network per task beats
one shared network on the ink tasks (see
:ref:`sphx_glr_auto_examples_plot_negative_transfer_architectures.py`).

Instead of trying every subset of tasks by hand, measure how much a training
step for one task helps each other task during a single fit (the task
affinity of Fifty et al., 2021), group the tasks that help each other, and
train one network per group.
"""

# %%
# Four tasks of two kinds
# -----------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_mtl import GroupedMultiTaskClassifier, MultiTaskClassifier
from sklearn_mtl.datasets import load_digits_multitask
from sklearn_mtl.grouping import plot_task_affinity, suggest_task_groups
from sklearn_mtl.metrics import make_task_scorer

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, digits = load_digits_multitask(tasks=["digit", "prime"], as_frame=True)
ink = X.sum(axis=1)
top = X.reshape(-1, 8, 8)[:, :4].sum(axis=(1, 2))  # ink in the top four rows of pixels
Y = digits.assign(
    heavy=(ink > np.median(ink)).astype(int), top_heavy=(top > ink - top).astype(int)
)
X = X / 16.0
# a small network keeps the example quick; the defaults give the same picture
base = MultiTaskClassifier(hidden_layer_sizes=(128,), random_state=0)

# %%
# Affinity, measured during one fit
# ---------------------------------
# With ``affinity_every``, every few optimizer steps the network takes, for
# each task ``i``, a look-ahead gradient step on task ``i``'s loss alone and
# records how much every task's loss on the same batch falls (positive: ``i``
# helps) or rises (negative: ``i`` hurts). Measuring leaves training as it
# was: the model is the one trained without it.
clf = clone(base).set_params(affinity_every="auto").fit(X, Y)
affinity = pd.DataFrame(clf.task_affinity_, index=clf.task_names_,
                        columns=clf.task_names_)
# row: the task stepped on; column: the task affected. The values are small
# because one plain gradient step at the optimizer's learning rate moves the
# losses little; only their signs and ratios matter for the grouping.
print(affinity.to_string(float_format="{:+.1e}".format))

# %%
# Grouping advice
# ---------------
# :func:`~sklearn_mtl.grouping.suggest_task_groups` scores a partition by,
# for each task, the mean affinity onto it from the other members of its
# group, and returns the best partition (an exact search up to 12 tasks).
grouping = suggest_task_groups(clf.task_affinity_, task_names=clf.task_names_)
print(grouping)
plot_task_affinity(grouping)
plt.title("Task affinity, suggested groups outlined")
plt.tight_layout()
plt.show()

# %%
# All in one network, one network per task, or the suggested groups
# -----------------------------------------------------------------
# :class:`~sklearn_mtl.GroupedMultiTaskClassifier` fits one network per
# group and predicts like one multi-task classifier, so that a grid search
# compares the three on the same folds. ``task_groups="auto"`` measures the
# affinity on each training fold and groups from it.
cv = KFold(3, shuffle=True, random_state=0)
search = GridSearchCV(
    GroupedMultiTaskClassifier(base),
    {"task_groups": [[list(Y.columns)], [[task] for task in Y.columns], "auto"]},
    cv=cv, scoring=make_task_scorer("accuracy"),  # mean over tasks of their accuracy
).fit(X, Y)
names = ["all in one", "one per task", "auto groups"]
table = pd.DataFrame({
    "mean task accuracy": search.cv_results_["mean_test_score"],
    "fit s (per fold)": search.cv_results_["mean_fit_time"],
}, index=names)
print(table.round(3).to_string())
print("best:", names[search.best_index_])

# %%
# Reading the result
# ------------------
# The affinity matrix tells which tasks help each other on this data, at the
# cost of about ``n_tasks`` extra forward and backward passes per measured
# step (``affinity_every="auto"`` measures every ``3 * n_tasks`` steps). The
# grid search tells whether the grouping it suggests pays: compare its mean
# task accuracy and fit time with all tasks in one network and with one
# network per task, on the same folds. Affinity is a training-time signal,
# averaged over noisy mini-batches: trust it when the same groups come back
# across folds and seeds, and check them with a comparison like this one.
