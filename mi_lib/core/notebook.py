"""The setup every notebook starts with: its profile, run folder and profile settings.

A notebook's parameters cell names ``profile`` and ``run_name`` (both may be empty); its
first code cell is ``run = start(profile, run_name)``. Profile-dependent values are
read from the profile (:data:`~mi_lib.core.config.PROFILE_SETTINGS`) through
:meth:`NotebookSetup.pick`, so a profile means the same thing in every notebook.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

from .config import RunPaths, check_profile, default_profile, settings

#: the output type that carries a notebook's summary numbers to the reports' index
SUMMARY_MIME = "application/vnd.mi-lib.summary+json"


def _plain(value):
    """A JSON-ready form of a summary value: numbers stay numbers, the rest is text."""
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, bool | int | float) and value == value:
        return value
    return str(value)


def show_summary(values) -> None:
    """Display ``values`` (name -> value) as a table and as :data:`SUMMARY_MIME` data."""
    import pandas as pd
    from IPython.display import display

    values = {str(k): _plain(v) for k, v in dict(values).items()}
    table = pd.DataFrame({"value": [str(v) if not isinstance(v, float) else f"{v:.4g}"
                                    for v in values.values()]}, index=list(values))
    with pd.option_context("display.max_colwidth", 160):
        display({SUMMARY_MIME: {"items": [[k, v] for k, v in values.items()]},  # ordered
                 "text/html": table.to_html(),
                 "text/plain": table.to_string()}, raw=True)


@dataclass(frozen=True)
class NotebookSetup:
    """A notebook's setup: the checked profile, the run name and where its products go."""

    profile: str
    run_name: str
    paths: RunPaths
    settings: dict = field(repr=False)

    def pick(self, value, *keys):
        """``value`` when it is set, else the profile's setting at ``keys``.

        "Not set" is ``None``, ``0`` or ``""``: the notebooks' convention for "the
        profile's default". ``run.pick(n_splits, "manifold", "n_splits")`` reads
        ``settings(profile)["manifold"]["n_splits"]`` when ``n_splits`` is 0.
        """
        if value is not None and value != 0 and value != "":
            return value
        node = self.settings
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                raise KeyError(f"profile {self.profile!r} has no setting {'/'.join(keys)}: "
                               "add it to mi_lib.core.config.PROFILE_SETTINGS")
            node = node[key]
        return node

    def summary(self, values) -> None:
        """Show a notebook's summary numbers (a dict or ``pandas.Series``: name -> value) as
        a table, and hand them to ``make reports``, whose index lists them beside the
        notebook (:data:`SUMMARY_MIME`)."""
        show_summary(values)

    def describe(self) -> str:
        """One line: the profile, the run name and the folder of the run's products."""
        return (f"profile {self.profile}, run {self.run_name}: products in "
                f"{self.paths.derived}")


def start(profile: str = "", run_name: str = "", *, quiet: bool = False) -> NotebookSetup:
    """The run of a notebook with parameters ``profile`` and ``run_name``.

    An empty ``profile`` is the ``MI_PROFILE`` environment variable's, else
    ``standard``; an empty ``run_name`` is the profile's name. An unknown profile or an
    invalid run name raises a ``ValueError`` that names the choices. Unless ``quiet``,
    prints where the products go. On a Linux machine without a display, 3-D views are
    rendered off-screen through EGL unless ``VTK_DEFAULT_OPENGL_WINDOW`` says otherwise.
    """
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    profile = check_profile(profile.strip()) if profile and profile.strip() else default_profile()
    run = NotebookSetup(profile, run_name or profile, RunPaths(run_name or profile),
                      settings(profile))
    if not quiet:
        print(run.describe())
    return run
