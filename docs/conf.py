"""Sphinx configuration of the sklearn_mtl documentation.

Build with (from the repository root)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

import os
import sys

# Document the package of this checkout, whether or not it is installed.
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import sklearn_mtl  # noqa: E402

project = "sklearn_mtl"
author = "sklearn_mtl developers"
copyright = "sklearn_mtl developers"
version = sklearn_mtl.__version__
release = sklearn_mtl.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
]

# No intersphinx: the docs must build without network access.

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"

# -- autodoc / autosummary ----------------------------------------------------
autosummary_generate = True
autodoc_typehints = "none"

# -- numpydoc -----------------------------------------------------------------
# autosummary already gives every class its own page; numpydoc's member
# tables would repeat (and cross-reference) every inherited scikit-learn method.
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False

# -- HTML ---------------------------------------------------------------------
try:
    import pydata_sphinx_theme  # noqa: F401
except ImportError:
    html_theme = "alabaster"
else:
    html_theme = "pydata_sphinx_theme"
html_title = f"sklearn_mtl {release}"
html_static_path = []
