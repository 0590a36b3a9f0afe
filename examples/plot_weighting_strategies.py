"""
Task weighting: grid-searched static weights vs adaptive strategies
===================================================================

How the task losses are combined is the main knob of multi-task learning.
Tuned static weights are a strong baseline (Xin et al., 2022; Kurin et al.,
2022); adaptive strategies change the weights during training from the losses
(uncertainty weighting, DWA, random weights, FAMO) or from the per-task
gradients of the shared layers (MGDA, PCGrad, CAGrad, IMTL-G, Aligned-MTL,
GradNorm). All of them are one parameter away: ``weighting=<name>``.
"""

# %%
# Static weights, tuned by grid search
# ------------------------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, cross_validate

from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl.datasets import load_digits_multitask
from sklearn_mtl.metrics import make_task_scorer
from sklearn_mtl.weighting import WEIGHTINGS

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # short trainings on purpose

X, Y = load_digits_multitask(tasks=["digit", "ge5", "prime"], as_frame=False)
X = X / 16
cv = KFold(3, shuffle=True, random_state=0)
mean_accuracy = make_task_scorer("accuracy")  # mean of the per-task accuracies
params = dict(hidden_layer_sizes=(64,), max_iter=30, random_state=0)

search = GridSearchCV(
    MultiTaskClassifier(**params),
    {"task_weights": [[1, w, w] for w in (0.3, 1.0, 3.0)]},
    scoring=mean_accuracy,
    cv=cv,
).fit(X, Y)
print("best static weights:", search.best_params_["task_weights"],
      f"mean accuracy {search.best_score_:.4f}")

# %%
# Every adaptive strategy on the same folds
# -----------------------------------------
scores = {"static (tuned)": search.best_score_}
for name in sorted(set(WEIGHTINGS) - {"static"}):
    result = cross_validate(
        MultiTaskClassifier(**params, weighting=name), X, Y, cv=cv, scoring=mean_accuracy
    )
    scores[name] = result["test_score"].mean()
for name, score in scores.items():
    print(f"{name:<16}{score:.4f}")

fig, ax = plt.subplots(figsize=(7, 3.5))
names = list(scores)
ax.barh(names, [scores[n] for n in names], color=["C1"] + ["C0"] * (len(names) - 1))
ax.set_xlim(min(scores.values()) - 0.01, max(scores.values()) + 0.005)
ax.set_xlabel("mean per-task accuracy (3-fold)")
ax.invert_yaxis()
plt.tight_layout()

# %%
# What a strategy did
# -------------------
# The weights each strategy applied are recorded per epoch in ``history_``
# (``weight[<task>]``) and the last epoch's in ``applied_weights_``.
adaptive = "dwa" if "dwa" in WEIGHTINGS else sorted(WEIGHTINGS)[-1]
clf = MultiTaskClassifier(**params, weighting=adaptive).fit(X, Y)
fig, ax = plt.subplots(figsize=(6, 3))
for t, task in enumerate(["digit", "ge5", "prime"]):
    ax.plot(clf.history_[:, f"weight[task_{t}]"], label=task)
ax.set_xlabel("epoch")
ax.set_ylabel("task weight")
ax.set_title(f"weights applied by {adaptive!r}")
ax.legend()
plt.tight_layout()
plt.show()
print("last epoch:", np.round(clf.applied_weights_, 3))
