"""Project conventions: environment files in sync, notebooks stored clean and templated."""

import ast
import json
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _normalise(req: str) -> str:
    req = req.strip().strip('"').strip("'")
    name, spec = re.match(r"^([A-Za-z0-9_.\-\[\]]+)\s*(.*)$", req).groups()
    return re.sub(r"[-_.]+", "-", name).lower() + spec.replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_normalise(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        wanted |= {_normalise(r) for r in extra}
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    listed = {_normalise(line.strip()[2:]) for line in lines[start + 1:]
              if line.strip().startswith("- ") and "-e ." not in line}
    assert listed == wanted, {"only in environment.yml": listed - wanted,
                              "only in pyproject.toml": wanted - listed}
    assert "torch==2.13.0" in wanted
    assert any(line.strip() == "- python=3.11" for line in lines)


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks/NN_*.ipynb found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_clean_and_follows_the_template(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for cell in code:
        assert not cell.get("outputs"), f"{path.name}: stored with outputs"
        assert cell.get("execution_count") is None, f"{path.name}: stored with execution counts"
    assert nb["cells"][0]["cell_type"] == "markdown"
    assert "".join(nb["cells"][0]["source"]).startswith("# ")
    assert "Background" in "".join(nb["cells"][0]["source"])
    params = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1 and params[0] is code[0], f"{path.name}: one parameters cell, first"
    source = "".join(params[0]["source"])
    assert re.search(r'^profile = ""', source, re.M), f"{path.name}: profile defaults to empty"
    assert re.search(r'^run_name = ""', source, re.M), f"{path.name}: run_name defaults to empty"
    imports = ast.parse("".join(code[1]["source"])).body
    assert imports and all(isinstance(n, ast.Import | ast.ImportFrom) for n in imports), \
        f"{path.name}: the first code cell after the parameters holds the imports only"
    setup = "".join(code[2]["source"])
    assert setup.startswith("run = start(profile, run_name)"), \
        f"{path.name}: the cell after the imports starts with run = start(profile, run_name)"
    markdown = " ".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "## Summary" in markdown
