"""The methods pages: every page a docstring or the index names exists, every page is indexed."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
INDEX = DOCS / "README.md"
DOCS_PATH = re.compile(r"docs/[\w./-]+?\.md")
MD_LINK = re.compile(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)")


def _docstrings(path: Path):
    """Every docstring of a module: the module's, its classes' and its functions'."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                yield doc


def _pages() -> set[Path]:
    return {p for p in DOCS.rglob("*.md") if p != INDEX}


def _index_links() -> set[Path]:
    text = INDEX.read_text(encoding="utf-8")
    links = {(DOCS / target).resolve() for target in MD_LINK.findall(text)}
    links |= {(ROOT / target).resolve() for target in DOCS_PATH.findall(text)}
    return links


def test_docs_paths_in_docstrings_exist():
    missing = {}
    for module in sorted((ROOT / "mi_lib").rglob("*.py")):
        for doc in _docstrings(module):
            for target in DOCS_PATH.findall(doc):
                if not (ROOT / target).is_file():
                    missing.setdefault(str(module.relative_to(ROOT)), set()).add(target)
    assert not missing, missing


def test_index_links_exist():
    missing = sorted(str(p) for p in _index_links() if not p.is_file())
    assert not missing, missing


def test_every_page_is_indexed():
    unlisted = sorted(str(p.relative_to(DOCS)) for p in _pages()
                      if p.resolve() not in _index_links())
    assert not unlisted, f"pages missing from docs/README.md: {unlisted}"


def test_relative_links_between_pages_resolve():
    broken = {}
    for page in sorted(DOCS.rglob("*.md")):
        for target in MD_LINK.findall(page.read_text(encoding="utf-8")):
            if "://" not in target and not (page.parent / target).is_file():
                broken.setdefault(str(page.relative_to(ROOT)), []).append(target)
    assert not broken, broken
