"""
Grid-searching task weights with per-task scores
================================================

The loss of a multi-task network is a weighted sum of the task losses, and
tuned static weights are a strong baseline (Xin et al., 2022). scikit-learn's
``GridSearchCV`` can tune them like any other parameter; what it lacks is a
score per task. :func:`~sklearn_mtl.metrics.task_scoring` builds one scorer per
task plus their mean, so the search reports every task and refits on the mean.
"""

# %%
# A task that competes for the trunk
# ----------------------------------
# ``digit`` needs fine features of the strokes; ``ge5`` and ``prime`` only
# need to group digits. We search how much weight the two grouping tasks
# should get relative to ``digit``.
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl.datasets import load_digits_multitask
from sklearn_mtl.metrics import task_scoring

X, Y = load_digits_multitask(tasks=["digit", "ge5", "prime"])
model = make_pipeline(
    StandardScaler(),
    MultiTaskClassifier(hidden_layer_sizes=(64,), max_iter=60, random_state=0),
)
weights = [[1.0, w, w] for w in (0.1, 0.3, 1.0, 3.0)]

# %%
# One scorer per task, refit on the mean
# --------------------------------------
scoring = task_scoring(Y, metric="accuracy")
print(list(scoring))
search = GridSearchCV(
    model,
    {"multitaskclassifier__task_weights": weights},
    scoring=scoring,
    refit="mean",
    cv=KFold(3, shuffle=True, random_state=0),
)
search.fit(X, Y)
print("best task weights:", search.best_params_["multitaskclassifier__task_weights"])

# %%
# Every task's score for every candidate
# --------------------------------------
# ``cv_results_`` holds one column per scorer: ``mean_test_accuracy_digit``,
# ..., ``mean_test_mean``.
results = pd.DataFrame(
    {name: search.cv_results_[f"mean_test_{name}"] for name in scoring},
    index=pd.Index([w[1] for w in weights], name="weight of ge5 and prime"),
)
print(results.round(4))

ax = results.plot(marker="o", logx=True, figsize=(6, 3.5))
ax.set_ylabel("accuracy (3-fold mean)")
ax.set_title("Per-task accuracy against the weight of the grouping tasks")
best_weight = search.best_params_["multitaskclassifier__task_weights"][1]
ax.axvline(best_weight, color="grey", ls=":")
plt.tight_layout()
plt.show()

# %%
# ``refit`` can also name one task's scorer, to pick the weights that favour
# the task that matters most while the others come along:
# ``refit="accuracy_digit"``.
