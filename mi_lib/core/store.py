"""Atomic writes of products (JSON, CSV, netCDF, NIfTI, zarr).

Every product is written to a temporary file in its destination folder and then
renamed over the destination (``os.replace`` is atomic on POSIX), so an interrupted
run never leaves a half-written product behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``.

    On any exception the temporary file is removed and ``path`` is left untouched.
    ``suffix`` defaults to the suffix(es) of ``path`` so that writers that infer the
    format from the extension (nibabel, netCDF) keep working.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes) if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would make shared reports private
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Atomically write ``text`` (UTF-8) to ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | os.PathLike, obj) -> Path:
    """Atomically write ``obj`` as indented JSON."""
    return write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def write_netcdf(path: str | os.PathLike, dataset) -> Path:
    """Atomically write an ``xarray.Dataset`` to netCDF-4 (zlib-compressed variables)."""
    encoding = {
        name: {"zlib": True, "complevel": 4}
        for name, var in dataset.data_vars.items()
        if var.dtype.kind in "fiub"
    }
    with atomic_path(path) as tmp:
        dataset.to_netcdf(tmp, engine="netcdf4", encoding=encoding)
    return Path(path)


def write_csv(path: str | os.PathLike, frame, **kwargs) -> Path:
    """Atomically write a ``pandas.DataFrame`` to CSV (no index unless asked)."""
    kwargs.setdefault("index", False)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, **kwargs)
    return Path(path)


def write_nifti(path: str | os.PathLike, image) -> Path:
    """Atomically write a ``nibabel`` image (the ``.nii.gz`` suffix is kept for nibabel)."""
    import nibabel as nib

    with atomic_path(path) as tmp:
        nib.save(image, tmp)
    return Path(path)


def write_zarr(path, dataset) -> Path:
    """Atomically write an ``xarray.Dataset`` to a zarr store (format 2, consolidated).

    The store is written into a temporary folder beside ``path`` and renamed over it; a
    previous store is moved aside first and removed after the rename. Variables of up to
    two dimensions are one chunk each.
    """
    import shutil

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        encoding = {v: {"chunks": dataset[v].shape} for v in dataset.data_vars
                    if dataset[v].ndim <= 2}
        dataset.to_zarr(tmp / "store.zarr", mode="w", consolidated=True, encoding=encoding,
                        zarr_format=2)
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
        os.replace(tmp / "store.zarr", path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path
