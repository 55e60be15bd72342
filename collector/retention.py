"""Snapshot retention: keep the newest N, stay under a total size, oldest go first.

Only regular files whose names match the snapshot bundle pattern are ever
considered, let alone deleted: a collection bundle, a log, a note or anything a
person left in the folder is never touched. The newest snapshot is always kept.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

# snapshot.pa-collect.<product>.<host>.<YYYYmmddTHHMMSSZ>.7z, as collector.archive
# names a bundle whose first part is "snapshot" (collector.collect._name_prefix).
SNAPSHOT_NAME = re.compile(
    r"^snapshot\.pa-collect\.(?P<product>[a-z][a-z0-9_]{0,31})\."
    r"(?P<host>[A-Za-z0-9-]+)\.(?P<stamp>\d{8}T\d{6}Z)\.7z$"
)


@dataclass(frozen=True)
class StoredSnapshot:
    path: Path
    product: str
    created: datetime
    size: int


def parse_name(name: str) -> tuple[str, datetime] | None:
    """(product, creation time) of a snapshot bundle name; None for anything else."""
    found = SNAPSHOT_NAME.match(name)
    if found is None:
        return None
    try:
        created = datetime.strptime(found.group("stamp"), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return found.group("product"), created


def stored_snapshots(folder: Path, product: str | None = None) -> list[StoredSnapshot]:
    """The snapshot bundles in `folder` (of one product), oldest first."""
    found = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    for path in entries:
        parsed = parse_name(path.name)
        if parsed is None or (product is not None and parsed[0] != product):
            continue
        try:
            status = path.lstat()
        except OSError:
            continue  # deleted meanwhile
        if stat.S_ISREG(status.st_mode):  # never follow a link out of the folder
            found.append(StoredSnapshot(path, parsed[0], parsed[1], status.st_size))
    return sorted(found, key=lambda s: (s.created, s.path.name))


def to_delete(snapshots: list[StoredSnapshot], keep: int, max_size: int) -> list[StoredSnapshot]:
    """Oldest first, until at most `keep` remain and they total at most
    `max_size` bytes; the newest is kept whatever its size."""
    remaining = sorted(snapshots, key=lambda s: (s.created, s.path.name))
    total = sum(s.size for s in remaining)
    doomed = []
    while len(remaining) > 1 and (len(remaining) > keep or total > max_size):
        oldest = remaining.pop(0)
        total -= oldest.size
        doomed.append(oldest)
    return doomed


def apply_retention(folder: Path, product: str, keep: int, max_size: int) -> list[Path]:
    """Delete what `to_delete` chooses among the product's snapshots; return them."""
    deleted = []
    for snapshot in to_delete(stored_snapshots(folder, product), keep, max_size):
        snapshot.path.unlink(missing_ok=True)
        deleted.append(snapshot.path)
    return deleted
