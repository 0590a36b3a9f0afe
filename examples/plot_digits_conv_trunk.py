"""
A convolutional trunk shared by four questions about each digit
===============================================================

Each 8x8 handwritten digit bundled with scikit-learn can answer several
questions at once: which digit is it, is it odd, is it 5 or more, how many
closed loops does it have? Here these are four classification tasks read off
one image.

Convolutions are the usual way to read images: they look at small
neighbourhoods of pixels and reuse the same filters at every position.
``MultiTaskClassifier(trunk=ConvTrunk(...))`` puts a small
convolutional network in front of the shared hidden layers, while ``X`` stays
an ordinary 2-D array of flattened images, as scikit-learn expects: each row
is reshaped to ``input_shape=(1, 8, 8)`` inside the network.

This example

* compares the multi-task convolutional network with one convolutional
  network per task, on the same folds, with
  :func:`~sklearn_mtl.model_selection.compare_single_task`;
* puts the dense (MLP) multi-task network next to it;
* reuses the learned shared representation, ``embed(X)``, as features for a
  task the network was never trained on.
"""

# %%
# Four tasks from one image
# -------------------------
#
# :func:`~sklearn_mtl.datasets.load_digits_multitask` derives one column of
# labels per task from the digit. The pixels range from 0 to 16; dividing by
# 16 puts them in [0, 1] while keeping every pixel on the same scale, so that
# a filter sees the same kind of values wherever it slides (a per-pixel
# ``StandardScaler`` would rescale each pixel differently).
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning

from sklearn_mtl.datasets import load_digits_multitask

# the short trainings below stop at max_iter; that is intended here
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, Y = load_digits_multitask(tasks=["digit", "parity", "ge5", "loops"])
X = X / 16
print(f"X: {X.shape[0]} images of {X.shape[1]} pixels; tasks: {list(Y.columns)}")

fig, axes = plt.subplots(1, 6, figsize=(9, 2.2))
for ax, image, labels in zip(axes, X, Y.itertuples(index=False)):
    ax.imshow(image.reshape(8, 8), cmap="gray_r")
    ax.set_title(
        f"digit {labels.digit}\nodd {labels.parity}, ≥5 {labels.ge5}\nloops {labels.loops}",
        fontsize=8,
    )
    ax.set_axis_off()
plt.tight_layout()

# %%
# A multi-task convolutional network
# ----------------------------------
#
# :class:`~sklearn_mtl.trunks.ConvTrunk` with ``channels=(16, 32)`` is two
# blocks of 3x3 convolution, ReLU and 2x2 max-pooling: 8x8 -> 4x4 -> 2x2
# images with 32 channels, that is 128 features. One shared hidden layer of
# 128 units follows, then one linear head per task. ``input_shape`` could be
# left out here (64 features are read as one 8x8 channel); it is given to make
# the reshaping explicit. Training is kept short (40 epochs, batches of 128,
# a learning rate of 0.003) so that the whole example runs in well under a
# minute on a laptop CPU.
from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl.trunks import ConvTrunk

conv = MultiTaskClassifier(
    trunk=ConvTrunk(channels=(16, 32)),
    input_shape=(1, 8, 8),
    hidden_layer_sizes=(128,),
    batch_size=128,
    learning_rate_init=3e-3,
    max_iter=40,
    random_state=0,
)

# %%
# Multi-task vs one convolutional network per task
# ------------------------------------------------
#
# :func:`~sklearn_mtl.model_selection.compare_single_task` cross-validates the
# multi-task network and, by default, the same configuration trained on one
# task at a time (here: four convolutional networks), on the very same folds.
# The folds are ``KFold(3)`` without shuffling (what ``cv=3`` would also
# mean): the digits are stored roughly by writer, so each test fold holds
# writers the models never saw.
from sklearn.model_selection import KFold

from sklearn_mtl.model_selection import compare_single_task

folds = KFold(n_splits=3)
conv_result = compare_single_task(conv, X, Y, cv=folds)
print(conv_result)

# %%
# The bars are the mean accuracy over the three folds and the error bars its
# standard deviation; the title gives the multi-task gain Δm, the mean
# relative difference over tasks (positive when the shared network is
# better).
#
# On these folds the shared network is about as accurate as the four
# single-task networks on average (Δm, in the title, is within one percent
# of zero), and no task differs by much more than the fold-to-fold spread.
# The difference is in the cost, in the last two rows of the table: one
# network instead of four has about a quarter of the parameters and trains
# in a fraction of the time.
ax = conv_result.plot()
ax.set_ylim(0.9, 1.0)
ax.legend(
    ax.get_legend_handles_labels()[0],
    ["one network, four tasks", "one network per task"],
    loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2,
)
plt.tight_layout()

# %%
# Against a dense multi-task network
# ----------------------------------
#
# The dense network is the same estimator without a trunk and with the
# default two shared hidden layers of 256 units, trained with the same
# settings. Any scikit-learn tool can score it on the same folds:
# :func:`~sklearn_mtl.metrics.task_scoring` gives ``cross_validate`` one
# scorer per task and one for the mean over tasks.
from sklearn.base import clone
from sklearn.model_selection import cross_validate

from sklearn_mtl.metrics import task_scoring

mlp = clone(conv).set_params(trunk=None, input_shape=None, hidden_layer_sizes=(256, 256))
mlp_cv = cross_validate(mlp, X, Y, cv=folds, scoring=task_scoring(Y), return_estimator=True)



def column(task_accuracies, fit_time, n_parameters):
    """One model's column: accuracy per task and on average, fit time, size."""
    accuracies = [*task_accuracies, np.mean(task_accuracies)]
    return [f"{a:.3f}" for a in accuracies] + [f"{fit_time:.1f}", f"{n_parameters:,}"]


table = pd.DataFrame(
    {
        "conv, multi-task": column(
            conv_result.multitask_scores.mean(axis=0),
            conv_result.multitask_fit_time,
            conv_result.multitask_n_parameters,
        ),
        "conv, one per task": column(
            conv_result.single_task_scores.mean(axis=0),
            conv_result.single_task_fit_time,
            conv_result.single_task_n_parameters,
        ),
        "dense, multi-task": column(
            [mlp_cv[f"test_accuracy_{task}"].mean() for task in Y.columns],
            mlp_cv["fit_time"].sum(),
            mlp_cv["estimator"][-1].n_parameters_,
        ),
    },
    index=[*Y.columns, "mean", "fit time (s)", "parameters"],
)
print(table.to_string())

# %%
# The dense multi-task network is as accurate as the convolutional one:
# the convolutions do not buy accuracy on these tiny 8x8 images with this
# short training, and the differences are of the size of the fold-to-fold
# spread above. What the convolutional trunk buys is size: a 3x3 filter is
# reused at every position of the image, so the multi-task convolutional
# network has about a quarter of the parameters of the dense one. It costs
# computation instead: on a CPU it takes longer to fit than the dense one.

# %%
# The shared representation as features
# -------------------------------------
#
# ``embed(X)`` returns the output of the shared trunk (the convolutions and
# the shared hidden layer), before the task heads: 128 features per image that
# every task reads. They can feed any other estimator, for instance a
# logistic regression for a *new* question the network was never trained on:
# is the digit a prime number (2, 3, 5 or 7)?
#
# The network and the logistic regressions are fitted on the first two
# thirds of the images and scored on the last third (the writers of the last
# fold above).
from sklearn.linear_model import LogisticRegression

_, prime = load_digits_multitask(tasks=["prime"], as_frame=False)
prime = prime.ravel()
train, test = list(folds.split(X))[-1]

fitted = clone(conv).fit(X[train], Y.iloc[train])
Z = fitted.embed(X)
print(f"embedding: {Z.shape[1]} features per image")

on_pixels = LogisticRegression(max_iter=2000).fit(X[train], prime[train])
on_embedding = LogisticRegression(max_iter=2000).fit(Z[train], prime[train])
print(f"'prime' accuracy, logistic regression on the 64 pixels:  "
      f"{on_pixels.score(X[test], prime[test]):.3f}")
print(f"'prime' accuracy, logistic regression on the embedding: "
      f"{on_embedding.score(Z[test], prime[test]):.3f}")

# %%
# The same linear model makes fewer mistakes on the embedding than on the
# pixels: the four training tasks taught the trunk features that tell digits
# apart, and whether a digit is prime is easy to read from those.
#
# A 2-D PCA projection of the embedding of the held-out images, coloured by
# digit, shows that organisation, although the network never saw these
# writers: several digits form clusters of their own, and those that overlap
# here are told apart in the other dimensions of the embedding, which two
# principal components cannot show.
from sklearn.decomposition import PCA

Z_2d = PCA(n_components=2).fit(Z[train]).transform(Z[test])
fig, ax = plt.subplots(figsize=(5.5, 4.5))
points = ax.scatter(Z_2d[:, 0], Z_2d[:, 1], c=Y["digit"].iloc[test], cmap="tab10", s=10)
ax.legend(*points.legend_elements(), title="digit", fontsize="small", loc="best", ncol=2)
ax.set_xlabel("first principal component")
ax.set_ylabel("second principal component")
ax.set_title("Shared embedding of held-out digits")
plt.tight_layout()
plt.show()
