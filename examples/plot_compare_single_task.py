"""
Does sharing help? Multi-task vs one network per task
=====================================================

A multi-task network is worth it when it is at least as accurate as one model
per task, or as accurate at a lower cost. :func:`~sklearn_mtl.model_selection.compare_single_task`
answers that question on your data in one call: it cross-validates the
multi-task model and, for every task, a single-task baseline on the very same
folds, and reports per-task scores, fit times, parameter counts and the
multi-task gain Δm (Maninis et al., 2019).

By default the baseline is the *same configuration* trained on one task at a
time, so the only difference between the two sides is whether the trunk is
shared.
"""

# %%
# Three tasks on handwritten digits
# ---------------------------------
# ``cv=3`` means ``KFold(3)`` without shuffling: the digits are stored roughly
# by writer, so each test fold holds writers the models never saw.
import warnings

import matplotlib.pyplot as plt
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl.datasets import load_digits_multitask
from sklearn_mtl.model_selection import compare_single_task, plot_loss_curves

# some single-task networks use all 200 epochs; that is fine for this comparison
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, Y = load_digits_multitask(tasks=["digit", "parity", "loops"])
model = make_pipeline(
    StandardScaler(), MultiTaskClassifier(hidden_layer_sizes=(128,), random_state=0)
)

# %%
# One network for all tasks vs one network per task
# -------------------------------------------------
# The result prints as a table; ``to_frame()`` gives a DataFrame.
result = compare_single_task(model, X, Y, cv=3)
print(result)

# %%
# The bars show the mean accuracy over folds and the error bars its standard
# deviation. One shared network matches the three single-task networks while
# holding less than half of their parameters and training in less time: the
# trunk is learned once, and every task reads its answer off the same
# features.
ax = result.plot()
ax.set_ylim(0.9, 1.0)
plt.tight_layout()

# %%
# Any scikit-learn classifier can be the baseline
# -----------------------------------------------
# Here: one logistic regression per task, which is what
# ``MultiOutputClassifier(LogisticRegression())`` fits.
from sklearn.linear_model import LogisticRegression

linear = compare_single_task(
    model, X, Y, cv=3, baseline=make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
)
print(linear)

# %%
# Per-task loss curves
# --------------------
# With ``early_stopping=True`` a tenth of the rows is held out; the curves
# show each task's training (solid) and validation (dashed) cross-entropy, and
# training stops once the validation loss, averaged over tasks, stops
# improving.
fitted = make_pipeline(
    StandardScaler(),
    MultiTaskClassifier(hidden_layer_sizes=(128,), early_stopping=True, random_state=0),
).fit(X, Y)
ax = plot_loss_curves(fitted)
plt.tight_layout()
plt.show()
