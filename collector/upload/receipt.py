"""The proof of an upload: what arrived where, kept locally for `pa-collect uploads`.

host.state_dir/receipts/<sha256>.json, mode 0600. For the pa-intake server the
receipt carries its attachment id and verdict (and its own receipt document);
a plain tus server or SFTP only tells us that the bytes arrived ("uploaded").
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from collector.errors import UploadFailed
from collector.host import Host
from collector.upload.state import write_private_json

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Receipt:
    transport: str  # "tus" or "sftp"
    target: str  # the endpoint or sftp://user@host:port/folder
    upload_url: str  # the tus upload URL, or sftp://.../<product>/<name>
    filename: str
    case: str
    attachment_id: str | None  # the intake's id; None for plain tus and SFTP
    status: str  # "stored", "quarantined" or "uploaded"
    bytes: int
    sha256: str
    started: str  # ISO UTC
    finished: str  # ISO UTC
    sent_bytes: int = 0  # bytes put on the wire, over all attempts we know of
    resent_bytes: int = 0  # sent_bytes beyond what had to be sent once
    reason: str | None = None  # why the intake quarantined it
    intake: dict[str, Any] | None = None  # the intake's own receipt document

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Receipt:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in document.items() if k in names})


class Quarantined(UploadFailed):
    """The bytes arrived but the intake put the bundle in quarantine (exit 3).

    The receipt, with the intake's reason, is stored like any other."""

    def __init__(self, receipt: Receipt) -> None:
        super().__init__(
            f"the intake received {receipt.filename} but quarantined it: "
            f"{receipt.reason or 'no reason given'}"
        )
        self.receipt = receipt


def receipts_dir(host: Host) -> Path:
    return host.state_dir / "receipts"


def save_receipt(host: Host, receipt: Receipt) -> Path:
    path = receipts_dir(host) / f"{receipt.sha256}.json"
    write_private_json(path, receipt.to_dict())
    return path


def list_receipts(host: Host) -> list[Receipt]:
    """Every stored receipt, oldest upload first; unreadable files are skipped."""
    receipts = []
    for path in sorted(receipts_dir(host).glob("*.json")):
        try:
            receipts.append(Receipt.from_dict(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError) as error:
            log.warning("skipping unreadable receipt %s: %s", path, error)
    return sorted(receipts, key=lambda r: r.finished)
