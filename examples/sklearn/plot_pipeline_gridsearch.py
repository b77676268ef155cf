"""
Pipeline, grid search over the regularizer, metrics
===================================================

:class:`~skcryoal.classifier.CryoNetClassifier` is a scikit-learn estimator,
so the usual tools apply: a :class:`~sklearn.pipeline.Pipeline` with the
per-volume :class:`~skcryoal.preprocessing.SubtomogramStandardizer`,
:class:`~sklearn.model_selection.GridSearchCV` over the weight ``reg_lambda``
of the mean-teacher regularizer (``CE + reg_lambda * MSE(task, mean logits)``),
and :mod:`sklearn.metrics` on the test set. A grid search is a supervised
experiment: use it on a labeled set to choose ``reg_lambda`` before an
active-learning campaign, not inside one.
"""

# %%
# Data and pipeline
# -----------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay, classification_report
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline

from skcryoal import CryoNetClassifier
from skcryoal.datasets import make_subtomograms
from skcryoal.preprocessing import SubtomogramStandardizer

X, y = make_subtomograms(
    n_samples=360, n_classes=6, size=16, voxel_size=20.0, snr=0.5, random_state=0
)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=120, stratify=y, random_state=0)
pipe = make_pipeline(
    SubtomogramStandardizer(),
    CryoNetClassifier(module__width=8, max_epochs=12, classes=np.arange(6), random_state=0),
)
pipe

# %%
# Grid search over ``reg_lambda``
# -------------------------------
# ``reg_lambda=0`` is plain supervised training (the mean model is then not
# evaluated during training at all); the paper's sweep is 0.01 to 0.3.
search = GridSearchCV(
    pipe,
    {"cryonetclassifier__reg_lambda": [0.0, 0.03, 0.3]},
    cv=StratifiedKFold(n_splits=2, shuffle=True, random_state=0),
    scoring="balanced_accuracy",
)
search.fit(X_train, y_train)
for lam, mean, std in zip(
    search.cv_results_["param_cryonetclassifier__reg_lambda"],
    search.cv_results_["mean_test_score"],
    search.cv_results_["std_test_score"],
):
    print(f"reg_lambda {lam:<5}: balanced accuracy {mean:.3f} +- {std:.3f}")
print("best:", search.best_params_)

# %%
# Test-set metrics
# ----------------
# The refitted best pipeline, its task model and its EMA mean model
# (``predict(X, model="mean")`` on the classifier step).
best = search.best_estimator_
y_pred = best.predict(X_test)
print(classification_report(y_test, y_pred, digits=3))

clf = best[-1]
X_test_std = best[0].transform(X_test)
print(
    f"task model accuracy {np.mean(clf.predict(X_test_std) == y_test):.3f}, "
    f"mean model accuracy {np.mean(clf.predict(X_test_std, model='mean') == y_test):.3f}"
)

# %%
# Confusion matrix
# ----------------
fig, ax = plt.subplots(figsize=(4.5, 4))
ConfusionMatrixDisplay.from_predictions(y_test, y_pred, ax=ax, colorbar=False)
ax.set_title("best pipeline, test set")
fig.tight_layout()
