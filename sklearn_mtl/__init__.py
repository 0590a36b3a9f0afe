"""sklearn_mtl: multi-task neural network classifiers for scikit-learn."""

from ._classifier import MultiTaskClassifier

__version__ = "0.2.0"

__all__ = ["MultiTaskClassifier", "__version__"]
