"""The Python blocks of the user guide's pages that promise to run as
written: each page's blocks run in order, in one namespace, in a temporary
working directory. A block after an rst comment ``.. not run: <reason>``
is skipped."""

import re
import textwrap
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs" / "user_guide"
PAGES = ["large_data.rst"]


def python_blocks(text):
    """The code of every ``.. code-block:: python`` directive of an rst page."""
    blocks = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not re.match(r"\s*\.\. code-block:: python\s*$", line):
            continue
        before = [previous for previous in lines[:i] if previous.strip()]
        if before and before[-1].startswith(".. not run:"):
            continue
        body = []
        for following in lines[i + 1:]:
            if following.strip() and not following.startswith((" ", "\t")):
                break
            body.append(following)
        code = textwrap.dedent("\n".join(body)).strip("\n")
        # options of the directive (":caption: ...") come first
        code = "\n".join(line for line in code.splitlines()
                         if not re.match(r":\w+:", line))
        blocks.append(code)
    return blocks


@pytest.mark.parametrize("page", PAGES)
def test_user_guide_blocks_run(page, tmp_path, monkeypatch):
    blocks = python_blocks((DOCS / page).read_text())
    assert blocks, f"{page} has no Python block"
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    for code in blocks:
        exec(compile(code, f"{page}", "exec"), namespace)  # noqa: S102
