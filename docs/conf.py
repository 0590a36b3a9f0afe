"""Sphinx configuration of the sklearn_mtl documentation.

Build with (from the repository root, after ``pip install ".[docs]"``)::

    python -m sphinx -W -b html docs docs/_build/html                    # runs the gallery
    python -m sphinx -W -b html -D plot_gallery=0 docs docs/_build/html  # gallery not run

The second form is what CI builds: the gallery pages are made from the
example scripts without running them, so they have code but no figures.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# Document the package of this checkout, whether or not it is installed, and
# find the gallery's ordering key (docs/gallery_order.py).
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..")))
sys.path.insert(0, HERE)

import sklearn_mtl  # noqa: E402

project = "sklearn_mtl"
author = "sklearn_mtl developers"
copyright = "sklearn_mtl developers"
version = sklearn_mtl.__version__
release = sklearn_mtl.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

# No intersphinx: the docs must build without network access.

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb"]
root_doc = "index"
default_role = "literal"
# "fit()" rather than "MultiTaskClassifier.fit()" in the page tables of contents
toc_object_entries_show_parents = "hide"

# -- autodoc / autosummary ----------------------------------------------------
autosummary_generate = True
autodoc_typehints = "none"
autodoc_default_options = {"member-order": "bysource"}

# -- numpydoc -----------------------------------------------------------------
# autosummary already gives every class its own page; numpydoc's member
# tables would repeat (and cross-reference) every inherited scikit-learn method.
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False

# -- sphinx-gallery -----------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # the seed scenario first, then from the simplest idea to the most involved
    "within_subsection_order": "gallery_order.ExampleOrder",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    # "Examples using X" at the end of each API page
    "doc_module": ("sklearn_mtl",),
    "backreferences_dir": "generated/backreferences",
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "min_reported_time": 0,
    "show_memory": False,
    "download_all_examples": False,
    # an example that raises fails the build
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
}

# -- HTML ---------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklearn_mtl {release}"
html_short_title = "sklearn_mtl"
html_static_path = ["_static"]
html_theme_options = {
    "navbar_align": "left",
    "header_links_before_dropdown": 5,
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": {"**": ["page-toc", "sourcelink"], "index": []},
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
# no left sidebar on the landing page, the API index and the example pages
# (whose code needs the width)
html_sidebars = {"index": [], "api": [], "auto_examples/plot_*": []}
