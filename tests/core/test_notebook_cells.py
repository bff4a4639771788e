"""Notebook cells stay short: every code cell has at most 15 lines of logic.

A line of logic is a non-blank line that is not a comment; imports count too, and a
statement continued over several lines counts each line (it is what a reader reads).
"""

from __future__ import annotations

import ast
import json

import pytest

from mi_lib.core.config import project_root

MAX_LOGIC_LINES = 15
NOTEBOOKS = sorted((project_root() / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def logic_lines(source: str) -> int:
    """Lines of ``source`` that are neither blank nor comments."""
    ast.parse(source)  # a cell that does not parse fails here, not silently
    return sum(1 for line in source.splitlines()
               if line.strip() and not line.strip().startswith("#"))


def test_logic_lines_by_hand():
    source = ("import numpy as np\nfrom os import (\n    path,\n    sep,\n)\n\n# a comment\n"
              "x = np.arange(3)\ny = dict(a=1,\n         b=2)  # trailing\n")
    assert logic_lines(source) == 8


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_code_cells_have_at_most_15_lines_of_logic(path):
    nb = json.loads(path.read_text())
    long = {i: n for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
            and (n := logic_lines("".join(c["source"]))) > MAX_LOGIC_LINES}
    assert not long, (f"{path.name}: cells (index: lines of logic) over {MAX_LOGIC_LINES}: "
                      f"{long}; move the logic into mi_lib")
