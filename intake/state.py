"""Uploads in progress, on disk, so a restarted server resumes where it stopped.

    <storage>/uploads/<upload id>/upload.json   the record (replaced atomically)
    <storage>/uploads/<upload id>/data          the bytes received so far

The record's `offset` is the acknowledged offset: the data is fsynced before the
record says so. Bytes in `data` past the offset (a PATCH cut short by a crash)
are not part of the upload and are cut off by the next PATCH. A finished,
terminated or expired upload keeps its record (a receipt, or a tombstone that
answers 410) and loses its data.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from .files import PRIVATE_FILE, private_dir, read_json, write_json
from .identifiers import UPLOAD_ID_PATTERN
from .tus import Metadata, metadata_from_dict

INCOMPLETE = "incomplete"
STORED = "stored"
QUARANTINED = "quarantined"
TERMINATED = "terminated"
EXPIRED = "expired"
FINISHED = frozenset({STORED, QUARANTINED})
GONE = frozenset({TERMINATED, EXPIRED})
RECORD_NAME = "upload.json"
DATA_NAME = "data"
# Tombstones answer 410 for a week, then the id is simply unknown (404).
TOMBSTONE_KEEP = 7 * 86400.0


@dataclass(frozen=True, kw_only=True)
class Upload:
    id: str
    length: int
    offset: int
    metadata: Metadata
    token_id: str
    customer: str
    created: float
    updated: float
    expires: float
    status: str = INCOMPLETE
    attachment_id: str | None = None
    reason: str | None = None
    finished: float | None = None

    @property
    def complete(self) -> bool:
        return self.offset == self.length

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"metadata": self.metadata.as_dict()}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Upload:
        return cls(**(document | {"metadata": metadata_from_dict(document["metadata"])}))

    def receipt(self) -> dict[str, Any]:
        """The contract's receipt document."""
        received = self.finished if self.finished is not None else self.updated
        return {
            "upload_id": self.id,
            "attachment_id": self.attachment_id if self.status == STORED else None,
            "status": self.status if self.status in FINISHED else INCOMPLETE,
            "reason": self.reason if self.status == QUARANTINED else None,
            "case": self.metadata.case,
            "filename": self.metadata.filename,
            "size": self.length,
            "sha256": self.metadata.sha256,
            "received_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(received)),
        }


class Uploads:
    """The upload records and data files under <storage>/uploads/."""

    def __init__(self, storage: Path) -> None:
        self.root = storage / "uploads"

    def create(
        self, metadata: Metadata, length: int, token_id: str, customer: str, expire_after: float
    ) -> Upload:
        now = time.time()
        upload = Upload(
            id=uuid.uuid4().hex,
            length=length,
            offset=0,
            metadata=metadata,
            token_id=token_id,
            customer=customer,
            created=now,
            updated=now,
            expires=now + expire_after,
        )
        private_dir(self.root / upload.id)
        self.data_path(upload.id).touch(mode=PRIVATE_FILE)
        self.save(upload)
        return upload

    def load(self, upload_id: str) -> Upload | None:
        if not UPLOAD_ID_PATTERN.match(upload_id):
            return None
        document = read_json(self.root / upload_id / RECORD_NAME)
        return Upload.from_json(document) if document else None

    def save(self, upload: Upload) -> None:
        write_json(self.root / upload.id / RECORD_NAME, upload.to_json())

    def data_path(self, upload_id: str) -> Path:
        return self.root / upload_id / DATA_NAME

    def acknowledge(self, upload: Upload, offset: int, expire_after: float) -> Upload:
        """Record a new offset (its bytes are already synced) and renew the expiry."""
        now = time.time()
        updated = replace(upload, offset=offset, updated=now, expires=now + expire_after)
        self.save(updated)
        return updated

    def finish(self, upload: Upload, status: str, **fields: Any) -> Upload:
        """The upload's end: stored, quarantined, terminated or expired; data gone."""
        done = replace(upload, status=status, finished=time.time(), **fields)
        self.save(done)
        self.data_path(upload.id).unlink(missing_ok=True)
        return done

    def all(self) -> Iterator[Upload]:
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            upload = self.load(folder.name)
            if upload is not None:
                yield upload

    def remove_leftovers(self, older_than: float) -> None:
        """Old tombstones, and folders a crash left without a record."""
        if not self.root.is_dir():
            return
        now = time.time()
        for folder in self.root.iterdir():
            upload = self.load(folder.name)
            if upload is None:
                stale = now - _mtime(folder) > older_than
            else:
                stale = upload.status in GONE and now - (upload.finished or now) > TOMBSTONE_KEEP
            if stale:
                shutil.rmtree(folder, ignore_errors=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return time.time()
