"""``make reports``: executes notebooks, renders HTML, lists them in an index, reports failures."""

import json

import nbformat

from mi_lib.core.reports import main, run_reports


def _notebook(path, body):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('profile = "standard"\nrun_name = ""',
                                       metadata={"tags": ["parameters"]})
    plot = nbformat.v4.new_code_cell(
        "import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.show()")
    nb.cells = [nbformat.v4.new_markdown_cell("# test"), params, plot,
                nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)


def test_reports_render_and_index(tmp_path):
    src = tmp_path / "nb"
    src.mkdir()
    _notebook(src / "01_ok.ipynb", "print(profile, run_name)")
    _notebook(src / "02_fails.ipynb", "raise ValueError('boom')")
    out = tmp_path / "out"
    runs = run_reports("smoke", src, out)
    assert [r.status for r in runs] == ["ok", "failed"]
    assert "ValueError: boom" in runs[1].error and "(In [4])" in runs[1].error  # after the injected parameters
    page = (out / "01_ok.html").read_text()
    assert "data:image/png;base64" in page or "image/png" in page
    assert "smoke smoke" in page
    index = (out / "index.html").read_text()
    assert "01_ok" in index and "02_fails" in index and "failed" in index
    meta = json.loads((out / "index.json").read_text())
    assert meta["profile"] == "smoke"
    assert meta["notebooks"][0]["parameters"] == {"profile": "smoke", "run_name": "smoke"}
    assert main(["--profile", "smoke", "--notebooks", str(src), "--out", str(out)]) == 1
