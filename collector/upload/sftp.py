"""Upload over SFTP into <folder>/<product>/<bundle name>, resumable by appending.

Bytes go to NAME.part; after any interruption a new connection appends from
the .part's size once that size is plausible and, where the server lets us read
it back, its last bytes are ours. The finished file is renamed to NAME, so the
support side never picks up half a bundle. There is no attachment id: the
support repository files it by the case number in the name.
"""

from __future__ import annotations

import contextlib
import logging
import posixpath
import socket
from typing import Any

from collector.errors import UploadFailed
from collector.upload.job import Job
from collector.upload.receipt import Receipt
from collector.upload.retry import Backoff, RetryPolicy, Transient
from collector.upload.session import Timeouts
from collector.upload.ssh import sftp_session
from collector.upload.target import SftpTarget

log = logging.getLogger(__name__)
TAIL = 64 * 1024  # bytes compared before appending to an earlier .part
NETWORK_ERRORS = (TimeoutError, ConnectionError, EOFError, socket.gaierror)


class _Counter:
    sent = 0


def upload_sftp(job: Job, target: SftpTarget, retry: RetryPolicy, timeouts: Timeouts) -> Receipt:
    folder = posixpath.join(target.folder, job.product)
    final = posixpath.join(folder, job.name)
    started = job.now()
    backoff = Backoff(retry, f"SFTP upload to {target}")
    counter = _Counter()
    first_offset: int | None = None
    while True:
        try:
            with sftp_session(target, job.host, timeouts) as sftp:
                offset = _prepare(sftp, folder, final, job)
                first_offset = offset if first_offset is None else first_offset
                _send(sftp, final + ".part", job, offset, counter, backoff)
                _finish(sftp, final + ".part", final)
            break
        except Transient as error:
            backoff.failed(error)
        except NETWORK_ERRORS as error:
            backoff.failed(Transient(f"SFTP connection to {target.host}: {_why(error)}"))
        except OSError as error:
            raise UploadFailed(
                f"the SFTP server refused the upload to {final}: {_why(error)}"
            ) from None
    return Receipt(
        transport="sftp",
        target=str(target),
        upload_url=posixpath.join(str(target), job.product, job.name),
        filename=job.name,
        case=job.case,
        attachment_id=None,
        status="uploaded",
        bytes=job.size,
        sha256=job.sha256,
        started=started,
        finished=job.now(),
        sent_bytes=counter.sent,
        resent_bytes=max(0, counter.sent - (job.size - (first_offset or 0))),
    )


def _prepare(sftp: Any, folder: str, final: str, job: Job) -> int:
    """Where to continue: the .part's size if it is ours, the full size if the
    finished file is already there, else 0."""
    _ensure_folder(sftp, folder)
    part = final + ".part"
    size = _size(sftp, part)
    if size is None:
        done = _size(sftp, final)
        if done == job.size and _tail_matches(sftp, final, job, done):
            log.info("%s is already on the server", final)
            return job.size
        return 0
    if size > job.size or not _tail_matches(sftp, part, job, size):
        log.warning("%s on the server is not a prefix of this bundle; starting again", part)
        return 0
    if size:
        log.info("resuming %s at byte %d of %d", job.name, size, job.size)
    return size


def _send(sftp: Any, part: str, job: Job, offset: int, counter: _Counter, backoff: Backoff) -> None:
    if offset >= job.size and _size(sftp, part) is None:
        return  # the finished file is already in place
    job.report(offset)
    with sftp.open(part, "ab" if offset else "wb") as remote:
        if remote.tell() != offset:
            raise Transient(f"{part} changed size while we looked at it")
        remote.set_pipelined(True)
        with job.bundle.open("rb") as stream:
            stream.seek(offset)
            while offset < job.size:
                block = stream.read(min(job.chunk_size, job.size - offset))
                if not block:
                    raise UploadFailed(f"bundle {job.bundle} shrank during the upload")
                remote.write(block)
                counter.sent += len(block)
                offset += len(block)
                backoff.succeeded()
                job.report(offset)


def _finish(sftp: Any, part: str, final: str) -> None:
    if _size(sftp, part) is None:
        return
    try:
        sftp.posix_rename(part, final)  # OpenSSH's atomic replace
    except (PermissionError, FileNotFoundError):
        raise
    except OSError:
        with contextlib.suppress(FileNotFoundError):
            sftp.remove(final)
        sftp.rename(part, final)


def _ensure_folder(sftp: Any, folder: str) -> None:
    if _size(sftp, folder) is None:
        try:
            sftp.mkdir(folder)
        except OSError as error:
            raise UploadFailed(
                f"cannot create {folder} on the SFTP server: {_why(error)}"
            ) from None


def _size(sftp: Any, path: str) -> int | None:
    try:
        return int(sftp.stat(path).st_size)
    except FileNotFoundError:
        return None


def _tail_matches(sftp: Any, path: str, job: Job, size: int) -> bool:
    """Do the remote file's last bytes equal ours? True when the server does not
    let us read (write-only drop folders): then the size is all we can check."""
    length = min(TAIL, size)
    if length == 0:
        return True
    try:
        with sftp.open(path, "rb") as remote:
            remote.seek(size - length)
            theirs = remote.read(length)
    except PermissionError:
        return True
    with job.bundle.open("rb") as stream:
        stream.seek(size - length)
        return bool(stream.read(length) == theirs)


def _why(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
