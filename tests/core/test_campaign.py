"""Resumable simulation campaigns on Dask (mi_lib.core.campaign).

The work functions are top-level functions of this module (bound to a folder with
``functools.partial``), so that Dask pickles them by reference and the worker processes
import this module (pytest puts ``tests/core/`` on ``sys.path``; spawned workers inherit
it).
"""

from __future__ import annotations

import functools
import logging
import os
import uuid
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from mi_lib.core.campaign import (
    CampaignError,
    completed_parts,
    load_parts,
    part_path,
    run_campaign,
)

GROUPS = {"s1": ["a", "b", "c", "d"], "s2": ["a", "b", "c", "d"], "s3.x": ["rest", "pace-1"]}
N_PARTS = sum(len(p) for p in GROUPS.values())


def expected(group: str, part: str) -> dict[str, np.ndarray]:
    """Closed-form result of one part (no ``hash``: identical in every process)."""
    g = sum(ord(c) * (i + 1) for i, c in enumerate(group))
    p = sum(ord(c) * (i + 1) for i, c in enumerate(part))
    return {"x": np.arange(6, dtype=np.float64) * g + p / 7.0, "n": np.asarray(len(part)),
            "label": np.asarray(f"{group}/{part}")}


def closed_form_work(group, parts):
    for part in parts:
        res = expected(group, part)
        yield part, {"x": res["x"], "n": len(part), "label": f"{group}/{part}"}


def recording_work(group, parts, root):
    """Closed-form work that logs each completed simulation in ``root/calls``.

    If ``root/fail-<group>`` exists, it raises while computing its 3rd part; if
    ``root/kill-<group>`` exists, it removes it and kills its process at that point.
    """
    root = Path(root)
    for i, part in enumerate(parts):
        if i == 2 and (root / f"fail-{group}").exists():
            raise FloatingPointError(f"simulated solver failure on {group}/{part}")
        if i == 2 and (root / f"kill-{group}").exists():
            (root / f"kill-{group}").unlink()
            os._exit(1)  # a worker dying mid-group (OOM killer, lost node)
        (root / "calls").mkdir(exist_ok=True)
        (root / "calls" / f"{group}__{part}__{os.getpid()}__{uuid.uuid4().hex}").touch()
        yield part, expected(group, part)


def thread_work(group, parts):
    from threadpoolctl import threadpool_info

    threads = [pool["num_threads"] for pool in threadpool_info()]
    for part in parts:
        yield part, {"max_threads": max(threads, default=1), "pid": os.getpid()}


def unrequested_work(group, parts):
    yield parts[0], {"v": 1.0}
    yield "intruder", {"v": 2.0}


def lazy_work(group, parts):
    yield parts[0], {"v": 1.0}


def dict_work(group, parts):
    return {part: {"v": 1.0} for part in parts}


def object_work(group, parts):
    for part in parts:
        yield part, {"v": np.array([1, "a", None], dtype=object)}


def vanishing_work(group, parts, root):
    """Yields every part, then removes them: as if written where this process cannot see."""
    yield from closed_form_work(group, parts)
    for part in parts:
        part_path(root, group, part).unlink()


def calls(root: Path) -> Counter:
    """How many times each (group, part) was simulated."""
    return Counter(tuple(name.split("__")[:2]) for name in _call_names(root))


def call_pids(root: Path) -> set[int]:
    """The processes that ran the simulations."""
    return {int(name.split("__")[2]) for name in _call_names(root)}


def _call_names(root: Path) -> list[str]:
    folder = root / "calls"
    return os.listdir(folder) if folder.is_dir() else []


def all_pairs(groups=GROUPS) -> set[tuple[str, str]]:
    return {(g, p) for g, parts in groups.items() for p in parts}


def temp_files(parts_dir: Path) -> list[Path]:
    return [p for p in parts_dir.rglob("*") if p.name.startswith(".")]


def assert_results(parts_dir: Path, groups=GROUPS) -> None:
    loaded = load_parts(parts_dir, groups)
    assert set(loaded) == all_pairs(groups)
    for (group, part), res in loaded.items():
        ref = expected(group, part)
        assert set(res) == {"x", "n", "label"}
        np.testing.assert_array_equal(res["x"], ref["x"])
        assert res["n"].shape == () and int(res["n"]) == len(part)
        assert str(res["label"]) == f"{group}/{part}"


@pytest.fixture(scope="module")
def cluster():
    """An existing 2-process cluster, reached through ``scheduler_address``."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR,
                      scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) as local:
        yield local.scheduler_address


# --------------------------------------------------------------------------- results

def test_synchronous_and_local_cluster_agree(tmp_path):
    sync = run_campaign(GROUPS, closed_form_work, tmp_path / "sync",
                        scheduler_address="synchronous", progress=False)
    local = run_campaign(GROUPS, closed_form_work, tmp_path / "dask", n_workers=2,
                         progress=True)  # the default: a LocalCluster started for the call
    for summary in (sync, local):
        assert summary["done_before"] == 0
        assert summary["computed"] == summary["total"] == N_PARTS
        assert summary["seconds"] > 0
    assert_results(tmp_path / "sync")
    assert_results(tmp_path / "dask")
    assert part_path(tmp_path / "dask", "s3.x", "pace-1").is_file()
    assert sorted(os.listdir(tmp_path / "dask")) == sorted(GROUPS)
    assert temp_files(tmp_path / "dask") == []
    # a finished campaign returns at once, without a cluster
    again = run_campaign(GROUPS, closed_form_work, tmp_path / "dask", progress=False)
    assert (again["done_before"], again["computed"]) == (N_PARTS, 0)
    assert again["seconds"] < 1.0


# --------------------------------------------------------------------------- resume

@pytest.mark.parametrize("where", ["synchronous", "cluster"])
def test_resume_after_failure_computes_each_part_once(tmp_path, where, request):
    address = "synchronous" if where == "synchronous" else request.getfixturevalue("cluster")
    work = functools.partial(recording_work, root=str(tmp_path))
    parts_dir = tmp_path / "parts"
    (tmp_path / "fail-s2").touch()

    with pytest.raises(CampaignError) as info:
        run_campaign(GROUPS, work, parts_dir, scheduler_address=address, progress=False)
    message = str(info.value)
    assert "1 of 3 group(s): s2" in message
    assert "FloatingPointError" in message and "simulated solver failure on s2/c" in message
    assert "rerun" in message
    assert set(info.value.failures) == {"s2"}
    assert isinstance(info.value.failures["s2"], FloatingPointError)
    # the other groups finished; the failed one kept its first two parts, nothing partial
    done = all_pairs() - {("s2", "c"), ("s2", "d")}
    assert completed_parts(parts_dir, GROUPS) == done
    assert temp_files(parts_dir) == []
    assert sorted(os.listdir(parts_dir / "s2")) == ["a.npz", "b.npz"]
    assert set(calls(tmp_path)) == done
    pids = call_pids(tmp_path)
    assert (pids == {os.getpid()}) if where == "synchronous" else (os.getpid() not in pids)

    (tmp_path / "fail-s2").unlink()
    summary = run_campaign(GROUPS, work, parts_dir, scheduler_address=address, progress=False)
    assert summary == {"done_before": N_PARTS - 2, "computed": 2, "total": N_PARTS,
                       "seconds": summary["seconds"]}
    assert calls(tmp_path) == Counter({pair: 1 for pair in all_pairs()})
    assert_results(parts_dir)
    assert temp_files(parts_dir) == []


def test_killed_worker_loses_only_the_simulation_in_flight(tmp_path, cluster):
    work = functools.partial(recording_work, root=str(tmp_path))
    (tmp_path / "kill-s1").touch()
    summary = run_campaign(GROUPS, work, tmp_path / "parts", scheduler_address=cluster,
                           progress=False)
    # Dask reran s1's task on a new worker; the two parts saved before the crash were
    # skipped by the retried task, so every simulation ran once
    assert not (tmp_path / "kill-s1").exists()
    assert summary["done_before"] == 0 and summary["total"] == N_PARTS
    assert summary["computed"] == N_PARTS - 2
    assert calls(tmp_path) == Counter({pair: 1 for pair in all_pairs()})
    assert os.getpid() not in call_pids(tmp_path)
    assert_results(tmp_path / "parts")


def test_workers_use_one_blas_thread(tmp_path, cluster):
    run_campaign({"s1": ["a"], "s2": ["a"]}, thread_work, tmp_path, scheduler_address=cluster,
                 progress=False)
    for res in load_parts(tmp_path, {"s1": ["a"], "s2": ["a"]}).values():
        assert int(res["pid"]) != os.getpid()
        assert int(res["max_threads"]) == 1


def test_leftover_temporary_and_unreadable_files(tmp_path, caplog):
    parts_dir = tmp_path / "parts"
    run_campaign({"s1": ["a", "b"]}, closed_form_work, parts_dir,
                 scheduler_address="synchronous", progress=False)
    folder = parts_dir / "s1"
    # a write killed before its rename, and a truncated file (not written by the runner)
    leftover = folder / ".c.k3j4h2.tmp.npz"
    leftover.write_bytes(b"PK\x03\x04 half an archive")
    truncated = folder / "b.npz"
    truncated.write_bytes(truncated.read_bytes()[:40])
    groups = {"s1": ["a", "b", "c"], "s2": ["a"]}
    assert completed_parts(parts_dir, groups) == {("s1", "a")}
    assert leftover.exists()  # completed_parts deletes nothing
    with pytest.raises(FileNotFoundError, match=r"3 part\(s\).*s1/b, s1/c, s2/a"):
        load_parts(parts_dir, groups)

    with caplog.at_level(logging.WARNING, logger="mi_lib.core.campaign"):
        summary = run_campaign(groups, closed_form_work, parts_dir,
                               scheduler_address="synchronous", progress=False)
    assert "unreadable" in caplog.text and "b.npz" in caplog.text
    assert (summary["done_before"], summary["computed"], summary["total"]) == (1, 3, 4)
    assert not leftover.exists()
    assert temp_files(parts_dir) == []
    assert_results(parts_dir, groups)


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("groups, match", [
    ({"s/1": ["a"]}, "invalid group key 's/1'"),
    ({"": ["a"]}, "invalid group key ''"),
    ({"..": ["a"]}, r"invalid group key '\.\.'"),
    ({"s1": ["ok", "a b"]}, "invalid part .*'a b'"),
    ({"s1": [".hidden"]}, r"invalid part .*'\.hidden'"),
    ({"s1": [3]}, "invalid part .*3"),
    ({"s1": ["a", "b", "a"]}, "more than once: a"),
])
def test_bad_keys(tmp_path, groups, match):
    with pytest.raises(ValueError, match=match):
        run_campaign(groups, closed_form_work, tmp_path, scheduler_address="synchronous",
                     progress=False)
    assert list(tmp_path.iterdir()) == []


def test_bad_groups(tmp_path):
    with pytest.raises(TypeError, match="sequence of part keys"):
        run_campaign({"s1": "abc"}, closed_form_work, tmp_path, scheduler_address="synchronous")
    with pytest.raises(TypeError, match="must map"):
        completed_parts(tmp_path, [("s1", "a")])


@pytest.mark.parametrize("work, match", [
    (unrequested_work, r"(?s)group\(s\): s1, s2.*part 'intruder', not requested"),
    (lazy_work, r"(?s)s1.*finished without yielding 1 requested part\(s\): b"),
    (dict_work, "returned dict: it must be a generator"),
    (object_work, "'v' is not numeric"),
])
def test_work_contract_errors(tmp_path, work, match):
    groups = {"s1": ["a", "b"], "s2": ["a", "b"]}
    with pytest.raises(RuntimeError, match=match) as info:
        run_campaign(groups, work, tmp_path, scheduler_address="synchronous", progress=False)
    assert "2 of 2 group(s)" in str(info.value)
    assert temp_files(tmp_path) == []
    if work in (unrequested_work, lazy_work):  # the valid parts yielded were kept
        assert completed_parts(tmp_path, groups) == {("s1", "a"), ("s2", "a")}


def test_contract_error_through_the_cluster(tmp_path, cluster):
    groups = {"s1": ["a", "b"], "s2": []}
    with pytest.raises(RuntimeError, match="part 'intruder', not requested") as info:
        run_campaign(groups, unrequested_work, tmp_path, scheduler_address=cluster,
                     progress=False)
    assert "1 of 1 group(s): s1" in str(info.value)
    assert completed_parts(tmp_path, groups) == {("s1", "a")}


def test_parts_not_visible_after_the_run(tmp_path):
    work = functools.partial(vanishing_work, root=str(tmp_path))
    with pytest.raises(RuntimeError, match=r"2 part\(s\) are missing.*shared filesystem"):
        run_campaign({"s1": ["a", "b"]}, work, tmp_path, scheduler_address="synchronous",
                     progress=False)
