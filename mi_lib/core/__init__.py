"""Shared machinery of both pipelines (no science here).

:mod:`~mi_lib.core.config`     profiles, settings and run paths
:mod:`~mi_lib.core.store`      atomic writes of products
:mod:`~mi_lib.core.names`      the file names of the products between notebooks
:mod:`~mi_lib.core.notebook`   the setup every notebook starts with
:mod:`~mi_lib.core.campaign`   resumable simulation campaigns on Dask
:mod:`~mi_lib.core.reports`    executes the notebooks into HTML reports (``make reports``)
:mod:`~mi_lib.core.bench`      the benchmarks (``make bench``)
"""

from .config import RunPaths, check_profile, progress_bar, project_root, settings
from .store import (
    atomic_path,
    write_csv,
    write_json,
    write_netcdf,
    write_nifti,
    write_text,
    write_zarr,
)

__all__ = [
    "RunPaths",
    "atomic_path",
    "check_profile",
    "progress_bar",
    "project_root",
    "settings",
    "write_csv",
    "write_json",
    "write_netcdf",
    "write_nifti",
    "write_text",
    "write_zarr",
]
