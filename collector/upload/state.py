"""What survives a killed process: the resume state of each upload in progress.

One small JSON file per bundle, host.state_dir/uploads/<sha256>.json, holding the
server's upload URL so the next run asks the server for its offset instead of
starting again. Written atomically (temporary file, fsync, rename) with mode
0600 in a 0700 folder: a crash leaves the old state or the new, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from collector.errors import UploadFailed
from collector.host import Host
from collector.lock import run_lock

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class ResumeState:
    sha256: str
    bundle: str  # local path, for the user's eyes only
    size: int
    target: str
    upload_url: str
    started: str  # ISO UTC of the first attempt
    expires: str | None = None  # ISO UTC, from Upload-Expires
    sent_bytes: int = 0  # chunk bytes put on the wire, over all runs

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> ResumeState:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in document.items() if k in names})


def uploads_dir(host: Host) -> Path:
    return host.state_dir / "uploads"


def load_state(host: Host, sha256: str) -> ResumeState | None:
    """The saved state, or None (also when unreadable: the server has the truth)."""
    path = uploads_dir(host) / f"{sha256}.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return ResumeState.from_dict(document)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as error:
        log.warning("ignoring unreadable upload state %s: %s", path, error)
        return None


def save_state(host: Host, state: ResumeState) -> None:
    write_private_json(uploads_dir(host) / f"{state.sha256}.json", state.to_dict())


def clear_state(host: Host, sha256: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        (uploads_dir(host) / f"{sha256}.json").unlink()


@contextlib.contextmanager
def upload_lock(host: Host, sha256: str) -> Iterator[None]:
    """One upload of a bundle at a time (two would fight over one server upload)."""
    with run_lock(uploads_dir(host) / f"{sha256}.lock"):
        yield


def write_private_json(path: Path, document: dict[str, Any]) -> None:
    """Replace `path` atomically with `document`, mode 0600."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as error:
        raise UploadFailed(f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            json.dump(document, stream, indent=2, sort_keys=True)
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise UploadFailed(f"cannot write {path}: {error.strerror}") from None
