"""Resumable simulation campaigns on Dask: every group x part, each part saved atomically.

``work(group, parts)`` is a generator yielding ``(part, result)``, ``result`` a dict of
arrays or numbers; :func:`run_campaign` runs it once per group on a Dask cluster (a local
one by default, ``scheduler_address="tcp://host:8786"`` for an existing one,
``"synchronous"`` in-process) and saves each part as ``parts_dir/<group>/<part>.npz``
(one ``.npy`` member per key, the format of ``np.savez``; :func:`load_parts` reads them).
The files are the state: rerunning the same call computes only the missing parts. A
script must call :func:`run_campaign` under ``if __name__ == "__main__":``; only one
campaign may write to a ``parts_dir`` at a time.

The design (atomic writes, resuming, failures, clusters): ``docs/core/campaign.md``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from .store import atomic_path

__all__ = [
    "SYNCHRONOUS", "CampaignError", "completed_parts", "load_parts", "part_path", "run_campaign",
]

SYNCHRONOUS = "synchronous"
"""``scheduler_address`` value that runs the campaign in-process, without Dask."""

_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")
_SUFFIX = ".npz"
_TMP_SUFFIX = ".tmp.npz"  # atomic_path(..., suffix=".npz") names ".<part>.<random>.tmp.npz"


class CampaignError(RuntimeError):
    """``work`` failed for some groups; ``failures`` maps each of them to its exception."""

    def __init__(self, message: str, failures: dict[str, BaseException] | None = None):
        super().__init__(message)
        self.failures = dict(failures or {})


# --------------------------------------------------------------------------- keys and files

def _check_key(key, what: str) -> str:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError(
            f"invalid {what} key {key!r}: use a non-empty string of letters, digits, "
            "'_', '-' and '.', not starting with '.' (it names a file or folder)"
        )
    return key


def _check_groups(groups: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """``groups`` validated, as ``{group: (part, ...)}`` in the caller's order."""
    if not isinstance(groups, Mapping):
        raise TypeError(
            f"groups must map each group key to its part keys, got {type(groups).__name__}"
        )
    checked = {}
    for group, parts in groups.items():
        _check_key(group, "group")
        if isinstance(parts, str | bytes) or not isinstance(parts, Iterable):
            raise TypeError(
                f"groups[{group!r}] must be a sequence of part keys, got {parts!r}"
            )
        parts = tuple(parts)
        for part in parts:
            _check_key(part, f"part (group {group!r})")
        if len(set(parts)) != len(parts):
            dup = sorted({p for p in parts if parts.count(p) > 1})
            raise ValueError(f"groups[{group!r}] lists parts more than once: {', '.join(dup)}")
        checked[group] = parts
    return checked


def part_path(parts_dir: str | os.PathLike, group: str, part: str) -> Path:
    """The file of one part: ``parts_dir/<group>/<part>.npz``."""
    return Path(parts_dir) / _check_key(group, "group") / (_check_key(part, "part") + _SUFFIX)


def _is_complete(path: Path) -> bool:
    """True if ``path`` is a readable zip archive (an ``.npz`` file that was fully written)."""
    try:
        return path.is_file() and zipfile.is_zipfile(path)
    except OSError:
        return False


def _scan(root: Path, groups: Mapping[str, tuple[str, ...]], clean: bool = False
          ) -> tuple[set[tuple[str, str]], list[Path]]:
    """Complete parts of ``groups`` under ``root`` and the invalid ``<part>.npz`` files.

    With ``clean``, the temporary files left by interrupted writes are deleted.
    """
    done: set[tuple[str, str]] = set()
    invalid: list[Path] = []
    for group, parts in groups.items():
        folder = root / group
        try:
            with os.scandir(folder) as entries:
                names = set()
                for entry in entries:
                    if entry.name.startswith(".") and entry.name.endswith(_TMP_SUFFIX):
                        if clean:
                            with contextlib.suppress(FileNotFoundError):
                                os.unlink(entry.path)
                    else:
                        names.add(entry.name)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for part in parts:
            name = part + _SUFFIX
            if name in names:
                if _is_complete(folder / name):
                    done.add((group, part))
                else:
                    invalid.append(folder / name)
    return done, invalid


def completed_parts(parts_dir: str | os.PathLike, groups: Mapping[str, Sequence[str]]
                    ) -> set[tuple[str, str]]:
    """The ``(group, part)`` pairs of ``groups`` whose result file is on disk and complete.

    Parameters
    ----------
    parts_dir : path
        The folder given to :func:`run_campaign`.
    groups : mapping of str to sequence of str
        Group key -> part keys, as given to :func:`run_campaign`.

    Returns
    -------
    set of (str, str)
        Only pairs listed in ``groups`` are considered; temporary files of interrupted
        writes and unreadable files are not counted (nothing is deleted).
    """
    return _scan(Path(parts_dir), _check_groups(groups))[0]


def load_parts(parts_dir: str | os.PathLike, groups: Mapping[str, Sequence[str]]
               ) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """Read the results of a campaign.

    Parameters
    ----------
    parts_dir : path
        The folder given to :func:`run_campaign`.
    groups : mapping of str to sequence of str
        Group key -> part keys to read (any subset of the campaign).

    Returns
    -------
    dict
        ``{(group, part): {name: array}}`` in the order of ``groups``; numbers yielded by
        ``work`` come back as 0-d arrays.

    Raises
    ------
    FileNotFoundError
        If parts are missing, naming them (run or resume the campaign first).
    """
    groups = _check_groups(groups)
    root = Path(parts_dir)
    done = _scan(root, groups)[0]
    missing = [f"{g}/{p}" for g, parts in groups.items() for p in parts if (g, p) not in done]
    if missing:
        shown = ", ".join(missing[:10]) + (f", ... ({len(missing)} in all)" if len(missing) > 10
                                           else "")
        raise FileNotFoundError(
            f"{len(missing)} part(s) missing or unreadable in {root}: {shown}; "
            "run (or rerun, to resume) run_campaign first"
        )
    out = {}
    for group, parts in groups.items():
        for part in parts:
            with np.load(root / group / (part + _SUFFIX), allow_pickle=False) as npz:
                out[group, part] = {name: npz[name] for name in npz.files}
    return out


def _save_part(path: Path, result, group: str, part: str) -> None:
    """Write ``result`` (a dict of arrays / numbers) atomically as an ``.npz`` archive."""
    if not isinstance(result, Mapping):
        raise TypeError(
            f"work yielded ({part!r}, {type(result).__name__}) for group {group!r}: "
            "the result must be a dict of arrays or numbers"
        )
    arrays = {}
    for name, value in result.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"result of {group}/{part}: names must be non-empty str, got {name!r}")
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise TypeError(
                f"result of {group}/{part}: {name!r} is not numeric "
                f"(dtype {array.dtype}); yield arrays, numbers or strings"
            )
        arrays[name] = array
    # the layout of np.savez (uncompressed, one "<name>.npy" member per array), written
    # here so that any name is allowed (np.savez reserves "file" and "allow_pickle")
    with atomic_path(path, suffix=_SUFFIX) as tmp:
        with zipfile.ZipFile(tmp, mode="w", compression=zipfile.ZIP_STORED,
                             allowZip64=True) as archive:
            for name, array in arrays.items():
                with archive.open(name + ".npy", mode="w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)


# --------------------------------------------------------------------------- worker side

def _run_group(work: Callable, group: str, parts: Sequence[str], parts_dir: str,
               limit_threads: bool = True, on_part: Callable | None = None) -> list[str]:
    """Run ``work(group, missing parts)`` and save each yielded part; return the parts saved.

    Executed by a Dask worker (or in-process in synchronous mode). The parts already on
    disk are skipped (a task retried after its worker died does not recompute them).
    """
    root = Path(parts_dir)
    todo = [p for p in parts if not _is_complete(root / group / (p + _SUFFIX))]
    if not todo:
        return []
    wanted = set(todo)
    saved: list[str] = []
    with contextlib.ExitStack() as stack:
        if limit_threads:
            from threadpoolctl import threadpool_limits

            stack.enter_context(threadpool_limits(limits=1))
        produced = work(group, list(todo))
        if isinstance(produced, Mapping) or not isinstance(produced, Iterable):
            raise TypeError(
                f"work({group!r}, parts) returned {type(produced).__name__}: it must be a "
                "generator yielding (part, result) pairs"
            )
        if hasattr(produced, "close"):  # on a contract error, run the generator's cleanup now
            stack.enter_context(contextlib.closing(produced))
        for item in produced:
            if not (isinstance(item, tuple) and len(item) == 2):
                raise TypeError(
                    f"work({group!r}, parts) yielded {type(item).__name__}: "
                    "it must yield (part, result) pairs"
                )
            part, result = item
            if part not in wanted:
                why = "yielded twice" if part in saved else "not requested"
                raise ValueError(
                    f"work({group!r}, parts) yielded part {part!r}, {why} "
                    f"(requested: {', '.join(todo)})"
                )
            _save_part(root / group / (part + _SUFFIX), result, group, part)
            wanted.discard(part)
            saved.append(part)
            if on_part is not None:
                on_part(group, part)
    if wanted:
        missing = [p for p in todo if p in wanted]
        raise RuntimeError(
            f"work({group!r}, parts) finished without yielding {len(missing)} requested "
            f"part(s): {', '.join(missing)} (the {len(saved)} yielded were saved)"
        )
    return saved


# --------------------------------------------------------------------------- runner

def run_campaign(groups: Mapping[str, Sequence[str]], work: Callable,
                 parts_dir: str | os.PathLike, *, scheduler_address: str | None = None,
                 n_workers: int | None = None, progress: bool = True,
                 desc: str = "simulations") -> dict:
    """Run every missing part of a campaign, resuming from the parts already saved.

    Parameters
    ----------
    groups : mapping of str to sequence of str
        Group key (e.g. a subject id) -> its part keys (e.g. scenario names). Keys are
        made of letters, digits, ``_``, ``-`` and ``.`` and do not start with ``.``.
    work : callable
        ``work(group, parts)``: a generator (picklable, e.g. a top-level function or a
        ``functools.partial`` of one) yielding ``(part, result)`` for each part of
        ``parts`` (a list, in the order of ``groups[group]``, holding only the parts
        still missing), ``result`` a dict of arrays or numbers. Runs on a worker.
    parts_dir : path
        Output folder; part ``p`` of group ``g`` is saved as ``parts_dir/g/p.npz``.
    scheduler_address : str, optional
        Address of an existing Dask scheduler (``"tcp://host:8786"``); the default starts
        a ``LocalCluster`` for this call. ``"synchronous"`` runs in-process without Dask.
    n_workers : int, optional
        Worker processes of the ``LocalCluster`` (default ``min(2, cpu_count)``, never
        more than the groups to run); ignored with ``scheduler_address``.
    progress : bool
        Show a progress bar of the parts (silent under CI, as ``config.progress_bar``).
    desc : str
        Label of the progress bar.

    Returns
    -------
    dict
        ``done_before`` (parts already saved at the start), ``computed`` (parts saved by
        this call), ``total`` (parts in ``groups``) and ``seconds`` (wall time).

    Raises
    ------
    ValueError, TypeError
        For invalid keys or ``groups``.
    CampaignError (a RuntimeError)
        If ``work`` failed for some groups (after all the other groups have finished;
        their parts and the failed groups' completed parts are kept, so a rerun resumes).
        The message names the failed groups and holds the first traceback; the attribute
        ``failures`` maps each failed group to its exception.
    RuntimeError
        If parts are missing from ``parts_dir`` after a successful run (workers that do
        not share its filesystem).
    """
    start = time.perf_counter()
    groups = _check_groups(groups)
    if scheduler_address is not None and not isinstance(scheduler_address, str):
        raise TypeError(
            f"scheduler_address must be a str such as 'tcp://host:8786', got "
            f"{type(scheduler_address).__name__} (for a Client, pass client.scheduler.address)"
        )
    if n_workers is not None and n_workers < 1:
        raise ValueError(f"n_workers must be >= 1, got {n_workers}")
    root = Path(parts_dir).resolve()  # workers may run in another working directory
    root.mkdir(parents=True, exist_ok=True)

    done, invalid = _scan(root, groups, clean=True)
    if invalid:
        logging.getLogger(__name__).warning(
            "%d unreadable part file(s) will be recomputed, e.g. %s", len(invalid), invalid[0]
        )
    todo = {g: tuple(p for p in parts if (g, p) not in done) for g, parts in groups.items()}
    todo = {g: parts for g, parts in todo.items() if parts}
    total = sum(len(parts) for parts in groups.values())
    done_before = len(done)

    bar = _progress(total, done_before, desc, progress)
    failures: list[tuple[str, BaseException]] = []
    computed = 0
    try:
        if todo and scheduler_address == SYNCHRONOUS:
            computed = _run_synchronous(todo, work, root, bar, failures)
        elif todo:
            computed = _run_dask(todo, work, root, bar, failures, scheduler_address, n_workers)
    finally:
        bar.close()

    if failures:
        group, exc = failures[0]
        raise CampaignError(
            f"{desc}: work failed for {len(failures)} of {len(todo)} group(s): "
            f"{', '.join(g for g, _ in failures)}. The parts saved so far are kept in {root}; "
            f"fix the cause and rerun run_campaign to resume (only the missing parts are "
            f"computed). First error (group {group!r}):\n{_format_error(exc)}",
            failures=dict(failures),
        ) from None  # the traceback is in the message, the exceptions in .failures

    missing = total - len(_scan(root, groups)[0])
    if missing:
        raise RuntimeError(
            f"{desc}: the workers reported success but {missing} part(s) are missing from "
            f"{root}: do all the workers see this folder (a shared filesystem, same path)?"
        )
    return {"done_before": done_before, "computed": computed, "total": total,
            "seconds": time.perf_counter() - start}


def _format_error(exc: BaseException) -> str:
    """The traceback of ``exc`` from the worker-side wrapper down (no Dask client frames)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_name != _run_group.__name__:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__)).rstrip()


def _progress(total: int, initial: int, desc: str, enabled: bool):
    """A ``tqdm.auto`` bar of the parts, quiet as :func:`mi_lib.core.config.progress_bar`.

    (``config.progress_bar`` wraps an iterable and has no ``initial`` count.)
    """
    from tqdm.auto import tqdm

    quiet = (not enabled) or bool(os.environ.get("CI"))
    return tqdm(total=total, initial=initial, desc=desc, unit="sim", disable=quiet,
                leave=False)


def _run_synchronous(todo: dict[str, tuple[str, ...]], work: Callable, root: Path, bar,
                     failures: list) -> int:
    """Run the groups one after the other in this process; return the parts saved."""
    computed = 0
    for group, parts in todo.items():
        try:
            saved = _run_group(work, group, parts, str(root), limit_threads=False,
                               on_part=lambda g, p: bar.update(1))
        except Exception as exc:  # other groups still run; reported at the end
            failures.append((group, exc))
        else:
            computed += len(saved)
    return computed


def _run_dask(todo: dict[str, tuple[str, ...]], work: Callable, root: Path, bar,
              failures: list, scheduler_address: str | None, n_workers: int | None) -> int:
    """One Dask task per group on a new LocalCluster or an existing scheduler."""
    from distributed import Client, LocalCluster, as_completed

    computed = 0
    with contextlib.ExitStack() as stack:
        if scheduler_address is None:
            n = n_workers or min(2, os.cpu_count() or 1)
            cluster = stack.enter_context(LocalCluster(
                n_workers=max(1, min(n, len(todo))), threads_per_worker=1, processes=True,
                dashboard_address=None, silence_logs=logging.ERROR,
                # no dashboard; the scheduler's small HTTP server (health, metrics) still
                # starts: on a free local port, not on 8787 with a "port in use" warning
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            ))
            client = stack.enter_context(Client(cluster))
        else:
            client = stack.enter_context(Client(scheduler_address))
        token = uuid.uuid4().hex[:8]
        futures = {
            client.submit(_run_group, work, group, parts, str(root),
                          key=f"campaign-{group}-{token}"): group
            for group, parts in todo.items()
        }
        for future in as_completed(futures):
            group = futures[future]
            try:
                saved = future.result()
            except Exception as exc:  # other groups still run; reported at the end
                failures.append((group, exc))
                # advance by what the failed task saved before the error
                saved_now = _scan(root, {group: todo[group]})[0]
                bar.update(len(saved_now))
            else:
                computed += len(saved)
                bar.update(len(todo[group]))
            future.release()
    return computed
