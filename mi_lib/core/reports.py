"""Execute the notebooks as parameterised reports (``make reports``).

Each ``notebooks/NN_*.ipynb`` is executed in order by papermill with the profile's
parameters into ``reports/<profile>/NN_*.ipynb``, rendered to a self-contained HTML
page (figures embedded as data URIs), and listed in ``reports/<profile>/index.html``
with its key figure as a thumbnail (the first figure of the cell tagged ``key-figure``,
else the notebook's first figure), its summary numbers (what the notebook showed with
:func:`mi_lib.core.notebook.show_summary`), parameters, run time, status and the git
commit. A failing notebook is
reported with its name and failing cell, the others still run, and the command exits
non-zero.

Usage: ``python -m mi_lib.core.reports --profile standard [--notebooks DIR] [--out DIR]``
"""

from __future__ import annotations

import argparse
import html
import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .config import check_profile, project_root
from .notebook import SUMMARY_MIME
from .store import write_json, write_text


@dataclass
class NotebookRun:
    """One notebook's execution: parameters, status (``ok``, ``failed``, ``not run``), run
    time, error and the file names of the executed notebook and its HTML page."""

    name: str
    parameters: dict
    status: str = "not run"
    seconds: float = 0.0
    error: str = ""
    html: str = ""
    executed: str = ""
    thumbnail: str = ""
    summary: dict = field(default_factory=dict)


def git_commit(root: Path) -> str:
    """The current commit (short hash, ``+dirty`` when the tree has changes), or ``unknown``."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, check=True,
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, check=True, capture_output=True, text=True).stdout
        return head + ("+dirty" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def render_html(nb, target: Path) -> Path:
    """Render an executed notebook (an ``nbformat`` node) to standalone HTML with
    embedded figures."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", embed_images=True)
    body, _ = exporter.from_notebook_node(nb)
    return write_text(target, body)


def key_outputs(nb) -> tuple[bytes | None, dict]:
    """The key figure (PNG bytes: the first figure of the cell tagged ``key-figure``, else
    the first figure of the notebook; ``None`` without figures) and the summary numbers
    (every :data:`SUMMARY_MIME` output, merged in order) of an executed notebook (an
    ``nbformat`` node)."""
    import base64

    tagged, first, summary = None, None, {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "image/png" in data:
                png = base64.b64decode(data["image/png"])
                first = first or png
                if tagged is None and "key-figure" in cell.get("metadata", {}).get("tags", []):
                    tagged = png
            if SUMMARY_MIME in data:
                summary.update((k, v) for k, v in data[SUMMARY_MIME]["items"])
    return tagged or first, summary


def write_thumbnail(png: bytes, target: Path, width: int = 360) -> Path:
    """A ``width``-pixel wide copy of a PNG figure, written atomically."""
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    img.thumbnail((width, 4 * width))
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    tmp = target.with_name(target.name + ".part")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(target)
    return target


def _failure(err: Exception) -> str:
    cell = getattr(err, "cell_index", None)
    count = getattr(err, "exec_count", None)
    ename = getattr(err, "ename", type(err).__name__)
    evalue = getattr(err, "evalue", str(err))
    where = f"cell {cell} of the executed notebook" + (f" (In [{count}])" if count is not None else "") \
        if cell is not None else "before execution"
    return f"{where}: {ename}: {evalue}"


def run_notebook(path: Path, out_dir: Path, parameters: dict) -> NotebookRun:
    """Execute one notebook with papermill and render it; never raises on notebook errors."""
    import nbformat
    import papermill as pm

    run = NotebookRun(path.stem, parameters)
    executed = out_dir / path.name
    start = time.perf_counter()
    try:
        pm.execute_notebook(str(path), str(executed), parameters=parameters, kernel_name="python3",
                            cwd=str(path.parent), progress_bar=False, log_output=False)
        run.status = "ok"
    except Exception as err:  # papermill raises PapermillExecutionError and others
        run.status = "failed"
        run.error = _failure(err)
    run.seconds = time.perf_counter() - start
    if executed.is_file():
        run.executed = executed.name
        try:
            nb = nbformat.read(executed, as_version=4)
        except Exception as err:  # an unreadable result is a failed run, not a crash
            run.error = (run.error + "; " if run.error else "") + f"reading the result: {err}"
            run.status = "failed"
            return run
        try:
            png, run.summary = key_outputs(nb)
            if png is not None:
                run.thumbnail = write_thumbnail(png, out_dir / f"{path.stem}.png").name
        except Exception as err:  # a broken figure must not hide the execution result
            run.error = (run.error + "; " if run.error else "") + f"key figure: {err}"
        try:
            run.html = render_html(nb, out_dir / f"{path.stem}.html").name
        except Exception as err:  # a rendering failure must not hide the execution result
            run.error = (run.error + "; " if run.error else "") + f"HTML rendering: {err}"
            run.status = "failed"
    return run


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def write_index(out_dir: Path, profile: str, commit: str, runs: list[NotebookRun]) -> Path:
    """Write ``index.html`` and ``index.json`` listing the runs."""
    rows = []
    for r in runs:
        link = f'<a href="{html.escape(r.html)}">{html.escape(r.name)}</a>' if r.html else \
            html.escape(r.name)
        params = html.escape(json.dumps(r.parameters))
        colour = {"ok": "#1a7f37", "failed": "#cf222e"}.get(r.status, "#57606a")
        thumb = (f'<a href="{html.escape(r.html or r.thumbnail)}"><img src="{html.escape(r.thumbnail)}" '
                 f'alt="key figure of {html.escape(r.name)}" width="240"></a>') if r.thumbnail else ""
        numbers = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(_fmt(v))}</td></tr>"
                          for k, v in r.summary.items())
        rows.append(
            f"<tr><td>{link}</td><td>{thumb}</td>"
            f"<td>{'<table class=s>' + numbers + '</table>' if numbers else ''}</td>"
            f"<td style='color:{colour};font-weight:600'>{r.status}</td>"
            f"<td>{r.seconds:.1f} s</td><td><code>{params}</code></td>"
            f"<td>{html.escape(r.error)}</td></tr>")
    stamp = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Reports · {profile}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:95em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #d0d7de;padding:.4em .7em;
text-align:left;vertical-align:top}}th{{background:#f6f8fa}}code{{font-size:.85em}}
table.s{{font-size:.85em}}table.s th{{font-weight:normal}}</style>
</head><body>
<h1>MI virtual populations and digital twins · reports</h1>
<p>Profile <b>{profile}</b> · commit <code>{html.escape(commit)}</code> · generated {stamp}</p>
<table><tr><th>notebook</th><th>key figure</th><th>summary</th><th>status</th><th>run time</th><th>parameters</th><th>error</th></tr>
{''.join(rows)}
</table></body></html>
"""
    write_json(out_dir / "index.json", {"profile": profile, "commit": commit, "generated": stamp,
                                        "notebooks": [asdict(r) for r in runs]})
    return write_text(out_dir / "index.html", page)


def run_reports(profile: str, notebooks_dir: Path | None = None, out_dir: Path | None = None,
                run_name: str | None = None) -> list[NotebookRun]:
    """Execute every ``NN_*.ipynb`` of ``notebooks_dir`` in order; write HTML and the index."""
    profile = check_profile(profile)
    root = project_root()
    notebooks_dir = Path(notebooks_dir or root / "notebooks")
    out_dir = Path(out_dir or root / "reports" / profile)
    out_dir.mkdir(parents=True, exist_ok=True)
    commit = git_commit(root)
    notebooks = sorted(p for p in notebooks_dir.glob("[0-9][0-9]_*.ipynb"))
    runs = []
    for path in notebooks:
        params = {"profile": profile, "run_name": run_name or profile}
        print(f"[reports] {path.name} ...", flush=True)
        run = run_notebook(path, out_dir, params)
        print(f"[reports] {path.name}: {run.status} in {run.seconds:.1f} s"
              + (f" -- {run.error}" if run.error else ""), flush=True)
        runs.append(run)
        write_index(out_dir, profile, commit, runs)
    if not notebooks:
        write_index(out_dir, profile, commit, runs)
    return runs


def main(argv=None) -> int:
    """``python -m mi_lib.core.reports`` (see the module); 1 when a notebook failed, else 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="standard")
    parser.add_argument("--notebooks", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--run-name", default=None)
    args = parser.parse_args(argv)
    runs = run_reports(args.profile, args.notebooks, args.out, args.run_name)
    failed = [r for r in runs if r.status != "ok"]
    out = args.out or project_root() / "reports" / args.profile
    print(f"[reports] index: {out / 'index.html'}")
    for r in failed:
        print(f"[reports] FAILED {r.name}.ipynb at {r.error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
