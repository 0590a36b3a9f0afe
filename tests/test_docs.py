"""The API reference (docs/api.rst) lists every public name of the package.

Reads the autosummary entries of the rst source; no Sphinx build.
"""

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import sklearn_mtl

API_RST = Path(__file__).resolve().parents[1] / "docs" / "api.rst"

# Public-looking names that are deliberately not in the API reference, with the
# reason. Only for modules without ``__all__``, whose public names are guessed.
NOT_DOCUMENTED = {}


def public_modules():
    """sklearn_mtl and every submodule whose name does not start with ``_``."""
    modules = [sklearn_mtl]
    for info in pkgutil.iter_modules(sklearn_mtl.__path__, "sklearn_mtl."):
        if not info.name.rsplit(".", 1)[-1].startswith("_"):
            modules.append(importlib.import_module(info.name))
    return modules


def public_names(module):
    """Qualified public names of ``module``: its ``__all__``, or else the classes
    and functions defined in it whose names do not start with ``_``."""
    if hasattr(module, "__all__"):
        names = list(module.__all__)
    else:
        names = [
            name
            for name, obj in vars(module).items()
            if not name.startswith("_")
            and (inspect.isclass(obj) or inspect.isfunction(obj))
            and obj.__module__ == module.__name__
        ]
    return {f"{module.__name__}.{name}" for name in names}


def autosummary_entries(text):
    """Qualified names listed in the ``autosummary`` directives of an rst text,
    resolved against the ``currentmodule`` in force."""
    entries, current, in_block = set(), None, False
    for line in text.splitlines():
        directive = re.match(r"\.\. currentmodule:: *(\S+)", line)
        if directive:
            current = directive.group(1)
            continue
        if re.match(r"\.\. autosummary::", line):
            in_block = True
            continue
        if not in_block:
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith(":"):
            continue  # blank lines and options (:toctree:, :template:)
        if not line.startswith((" ", "\t")):
            in_block = False  # the block ended
            continue
        name = stripped.lstrip("~")
        entries.add(name if current is None else f"{current}.{name}")
    return entries


def missing_from(text):
    """Public names that ``text`` (an api.rst) does not document."""
    documented = autosummary_entries(text)
    missing = []
    for module in public_modules():
        for name in sorted(public_names(module)):
            if name in NOT_DOCUMENTED or name in documented:
                continue
            if name.rsplit(".", 1)[-1].startswith("__") and name in text:
                continue  # __version__: a string, named in the prose
            missing.append(name)
    return missing


def test_api_reference_lists_every_public_name():
    missing = missing_from(API_RST.read_text(encoding="utf-8"))
    assert not missing, (
        f"docs/api.rst does not list {missing}; add each to an autosummary block "
        "(or, if it is not public, to the module's __all__ or NOT_DOCUMENTED here)."
    )


def test_api_reference_lists_only_names_that_exist():
    stale = []
    for name in sorted(autosummary_entries(API_RST.read_text(encoding="utf-8"))):
        module_name, attribute = name.rsplit(".", 1)
        try:
            obj = importlib.import_module(module_name)
        except ImportError:  # a class inside a module: import the module, then getattr
            module_name, inner = module_name.rsplit(".", 1)
            obj = getattr(importlib.import_module(module_name), inner, None)
        if obj is None or not hasattr(obj, attribute):
            stale.append(name)
    assert not stale, f"docs/api.rst lists names that do not exist: {stale}"


def test_not_documented_entries_are_still_public_names():
    everything = set().union(*(public_names(m) for m in public_modules()))
    stale = sorted(set(NOT_DOCUMENTED) - everything)
    assert not stale, f"remove {stale} from NOT_DOCUMENTED: they are no longer public names"


@pytest.mark.parametrize("entry", ["   metrics.task_scores", "   weighting.WEIGHTINGS"])
def test_check_fails_when_an_entry_is_removed(entry):
    text = API_RST.read_text(encoding="utf-8")
    assert f"\n{entry}\n" in text
    name = f"sklearn_mtl.{entry.strip()}"
    assert name not in missing_from(text)
    assert missing_from(text.replace(f"\n{entry}\n", "\n")) == [name]
