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
    key = nbformat.v4.new_code_cell(
        "fig, ax = plt.subplots(figsize=(8, 2))\nax.bar([0], [1])\nplt.show()",
        metadata={"tags": ["key-figure"]})
    nb.cells = [nbformat.v4.new_markdown_cell("# test"), params, plot, key,
                nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)


def test_reports_render_and_index(tmp_path):
    src = tmp_path / "nb"
    src.mkdir()
    _notebook(src / "01_ok.ipynb", "from mi_lib.core.notebook import show_summary\n"
              "print(profile, run_name)\nshow_summary({'subjects': 12, 'median size': 0.123456})")
    _notebook(src / "02_fails.ipynb", "raise ValueError('boom')")
    out = tmp_path / "out"
    runs = run_reports("smoke", src, out)
    assert [r.status for r in runs] == ["ok", "failed"]
    assert "ValueError: boom" in runs[1].error and "(In [5])" in runs[1].error  # after the injected parameters
    page = (out / "01_ok.html").read_text()
    assert "data:image/png;base64" in page or "image/png" in page
    assert "smoke smoke" in page
    index = (out / "index.html").read_text()
    assert "01_ok" in index and "02_fails" in index and "failed" in index
    # the key figure is the tagged cell's (8 x 2 in, cropped tight), not the first (6.4 x 4.8)
    from PIL import Image

    thumb = Image.open(out / runs[0].thumbnail)
    assert thumb.width == 360 and thumb.width / thumb.height > 2.5  # the first figure: 1.33
    assert f'src="{runs[0].thumbnail}"' in index
    assert list(runs[0].summary.items()) == [("subjects", 12), ("median size", 0.123456)]
    assert "<th>median size</th><td>0.1235</td>" in index and "<th>subjects</th><td>12</td>" in index
    meta = json.loads((out / "index.json").read_text())
    assert meta["profile"] == "smoke"
    assert meta["notebooks"][0]["parameters"] == {"profile": "smoke", "run_name": "smoke"}
    assert main(["--profile", "smoke", "--notebooks", str(src), "--out", str(out)]) == 1
