"""One light periodic snapshot (`pa-collect snapshot`), start to finish.

Lock the snapshot folder (an overlapping run raises Locked at once: exit 5),
check free space (below --min-free the run is skipped with a warning, exit 0,
status "skipped"), lower this process's CPU and I/O priority, collect the
plugins' snapshot profile with logs since the previous snapshot inside a time
budget, then apply retention. The bundle is a normal one (`kind: snapshot`).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import psutil

from collector.case import Case
from collector.collect import CollectRequest, CollectResult, collect
from collector.errors import NoBundle
from collector.host import Host
from collector.lock import run_lock
from collector.profile import Profile
from collector.retention import StoredSnapshot, apply_retention, stored_snapshots
from collector.runner import Limits, Progress

log = logging.getLogger(__name__)

KIND = "snapshot"
LOCK_NAME = ".pa-collect-snapshot.lock"
# The first snapshot in a folder has no previous one: its logs go back this far.
FIRST_WINDOW = timedelta(days=1)
# Part of the budget kept back for writing the bundle after commands end.
ARCHIVE_SHARE, ARCHIVE_RESERVE_MAX = 0.2, 15.0
# Snapshots are light: smaller per-item and total caps than a collection's.
ITEM_CAP = 8 * 1024 * 1024
TOTAL_CAP = 256 * 1024 * 1024
NICENESS = 10
IO_PRIORITY = 7  # lowest best-effort: the idle class could starve the run during an incident
SKIPPED = "skipped"


@dataclass(frozen=True)
class SnapshotOptions:
    product: str
    folder: Path
    keep: int = 96
    max_size: int = 2 * 1024**3
    min_free: int = 1024**3
    budget: float = 120.0


@dataclass(frozen=True)
class Identity:
    """Who the snapshot is for (the manifest needs the customer card)."""

    profile: Profile
    case: Case
    command_line: tuple[str, ...] = ()


@dataclass(frozen=True)
class SnapshotOutcome:
    status: str  # the manifest's ok or partial, or "skipped"
    result: CollectResult | None = None
    reason: str | None = None
    deleted: list[Path] = field(default_factory=list)


def default_folder(host: Host, product: str) -> Path:
    return host.state_dir / "snapshots" / product


def prepare_folder(folder: Path) -> None:
    """Create the folder private (0700): snapshots hold configuration."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as error:
        raise NoBundle(f"cannot create snapshot folder {folder}: {error.strerror}") from None


def take_snapshot(
    options: SnapshotOptions,
    identity: Identity,
    host: Host,
    progress: Progress | None = None,
) -> SnapshotOutcome:
    deadline = time.monotonic() + options.budget - _reserve(options.budget)
    prepare_folder(options.folder)
    with run_lock(options.folder / LOCK_NAME):
        shortage = free_space_shortage(options.folder, options.min_free)
        if shortage:
            log.warning("snapshot skipped: %s", shortage)
            return SnapshotOutcome(SKIPPED, reason=shortage)
        lower_priority()
        previous = _newest(options.folder, options.product)
        _wait_for_new_name(previous, host.now)
        request = _request(options, identity, host, previous, deadline)
        result = collect(request, host, progress)
        deleted = apply_retention(options.folder, options.product, options.keep, options.max_size)
    return SnapshotOutcome(result.manifest["status"], result, deleted=deleted)


def _request(
    options: SnapshotOptions,
    identity: Identity,
    host: Host,
    previous: StoredSnapshot | None,
    deadline: float,
) -> CollectRequest:
    return CollectRequest(
        products=(options.product,),
        profile=identity.profile,
        case=identity.case,
        output=options.folder,
        limits=Limits(
            max_file_size=ITEM_CAP,
            max_total_size=min(TOTAL_CAP, options.max_size),
            deadline=deadline,
        ),
        since=previous.created if previous else host.now() - FIRST_WINDOW,
        kind=KIND,
        command_line=identity.command_line,
        locked_by_caller=True,
    )


def _reserve(budget: float) -> float:
    return min(budget * ARCHIVE_SHARE, ARCHIVE_RESERVE_MAX)


def free_space_shortage(folder: Path, min_free: int) -> str | None:
    """Why there is not enough free space for a snapshot, or None."""
    free = shutil.disk_usage(folder).free
    if free >= min_free:
        return None
    return f"{_mib(free)} MiB free in {folder}, below --min-free {_mib(min_free)} MiB"


def lower_priority() -> None:
    """Nice 10 (at least) and the lowest best-effort I/O priority, for this
    process and every command it starts. Called before the runner starts its
    threads: Linux keeps both per thread, and new threads inherit them."""
    raise_by = NICENESS - os.getpriority(os.PRIO_PROCESS, 0)
    if raise_by > 0:
        os.nice(raise_by)
    best_effort = getattr(psutil, "IOPRIO_CLASS_BE", None)
    if best_effort is None:
        return  # no ionice on this platform
    try:
        psutil.Process().ionice(best_effort, IO_PRIORITY)
    except (psutil.Error, OSError) as error:
        log.info("I/O priority left unchanged: %s", error)


def _newest(folder: Path, product: str) -> StoredSnapshot | None:
    snapshots = stored_snapshots(folder, product)
    return snapshots[-1] if snapshots else None


def _wait_for_new_name(previous: StoredSnapshot | None, now: Callable[[], datetime]) -> None:
    """Bundle names carry the second: a run right after another must not take
    (and replace) the previous snapshot's name."""
    give_up = time.monotonic() + 2.0
    while previous is not None and now().replace(microsecond=0) <= previous.created:
        if time.monotonic() > give_up:
            return  # the clock went back: the new name is an earlier one, not the same
        time.sleep(0.05)


def _mib(size: int) -> int:
    return size // (1024 * 1024)
