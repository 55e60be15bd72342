"""Where finished uploads end up.

    <storage>/<case>/<filename>                    a stored bundle
    <storage>/<case>/.index/<filename>.json        its attachment record
    <storage>/quarantine/<upload id>/<filename>    a refused bundle
    <storage>/quarantine/<upload id>/reason.txt    why, in one line
    <storage>/quarantine/<upload id>/upload.json   the upload's metadata

A bundle appears under its case by one rename of the fully synced upload data
(same file system, so the rename is atomic): readers see all of it or nothing.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .errors import IntakeError
from .files import fsync_dir, private_dir, read_json, write_atomic, write_json
from .identifiers import check_filename, normalize_case
from .tus import Metadata

QUARANTINE = "quarantine"
INDEX = ".index"


@dataclass(frozen=True, kw_only=True)
class Attachment:
    attachment_id: str | None
    case: str
    filename: str
    size: int
    sha256: str
    received_at: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class AlreadyStored(IntakeError):
    """Another bundle with the same name is already attached to the case."""


class Store:
    def __init__(self, storage: Path) -> None:
        self.storage = storage
        self._lock = threading.Lock()  # two completions never race for one name

    def case_dir(self, case: str) -> Path:
        return self.storage / normalize_case(case)

    def attach(self, source: Path, metadata: Metadata, size: int) -> Attachment:
        """Move a verified bundle under its case; the same bundle twice is one attachment."""
        folder = private_dir(self.case_dir(metadata.case))
        target = folder / check_filename(metadata.filename)
        record_path = private_dir(folder / INDEX) / f"{metadata.filename}.json"
        with self._lock:
            if target.exists():
                existing = _attachment(read_json(record_path))
                if existing is None or existing.sha256 != metadata.sha256:
                    raise AlreadyStored(
                        f"a different bundle named {metadata.filename} is already stored "
                        f"for case {metadata.case}"
                    )
                source.unlink(missing_ok=True)
                return existing
            attachment = Attachment(
                attachment_id=uuid.uuid4().hex,
                case=metadata.case,
                filename=metadata.filename,
                size=size,
                sha256=metadata.sha256,
                received_at=_iso_now(),
            )
            write_json(record_path, attachment.as_dict())
            os.replace(source, target)
            fsync_dir(folder)
        return attachment

    def quarantine(self, source: Path, upload_id: str, upload: dict[str, Any], reason: str) -> Path:
        folder = private_dir(self.storage / QUARANTINE / upload_id)
        write_atomic(folder / "reason.txt", reason.encode() + b"\n")
        write_json(folder / "upload.json", upload)
        if source.exists():
            os.replace(source, folder / check_filename(upload["metadata"]["filename"]))
            fsync_dir(folder)
        return folder

    def bundles(self, case: str) -> list[Attachment]:
        """The bundles stored for a case; IntakeError when the case has none at all."""
        folder = self.case_dir(case)
        if not folder.is_dir():
            raise IntakeError(f"no bundles for case {normalize_case(case)}")
        found = []
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") or not path.is_file():
                continue
            record = _attachment(read_json(folder / INDEX / f"{path.name}.json"))
            found.append(record or _unindexed(normalize_case(case), path))
        return found

    def bundle_path(self, case: str, filename: str) -> Path:
        try:
            path = self.case_dir(case) / check_filename(filename)
        except IntakeError:
            raise IntakeError(f"no bundle {filename!r} for case {case}") from None
        if not path.is_file():
            raise IntakeError(f"no bundle {filename!r} for case {normalize_case(case)}")
        return path


def _attachment(document: Any) -> Attachment | None:
    return Attachment(**document) if isinstance(document, dict) else None


def _unindexed(case: str, path: Path) -> Attachment:
    """A file someone put there by hand: describe it, with no attachment id."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    info = path.stat()
    return Attachment(
        attachment_id=None,
        case=case,
        filename=path.name,
        size=info.st_size,
        sha256=digest.hexdigest(),
        received_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(info.st_mtime)),
    )


def _iso_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
