"""sklearn_mtl: multi-task neural network classifiers for scikit-learn."""

from ._classifier import MultiTaskClassifier
from ._grouped import GroupedMultiTaskClassifier

__version__ = "0.4.0.dev1"

__all__ = ["GroupedMultiTaskClassifier", "MultiTaskClassifier", "__version__"]
