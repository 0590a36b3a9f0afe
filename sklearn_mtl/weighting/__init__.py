"""Task-weighting strategies: how the vector of task losses becomes gradients."""

from ._base import BaseWeighting
from ._static import StaticWeighting

__all__ = ["BaseWeighting", "StaticWeighting"]
