"""Resumable upload of one bundle over tus: resume or create, send chunks, confirm.

The server's offset is the truth. The local resume state only remembers which
upload on which server belongs to this bundle (by sha256), so after any
interruption, including a killed process, the next run asks the server with
HEAD and sends only what it lacks. Every failure of the network or a busy
server is retried from a fresh HEAD; a chunk is at most resent once per failure.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import IO, Any

from collector.errors import UploadFailed
from collector.upload.job import Job
from collector.upload.receipt import Quarantined, Receipt
from collector.upload.retry import Backoff, RetryPolicy, Transient
from collector.upload.session import Http
from collector.upload.state import ResumeState, clear_state, load_state, save_state
from collector.upload.target import HttpsTarget
from collector.upload.tus import BUNDLE_TYPE, Capabilities, Gone, TusClient

log = logging.getLogger(__name__)
MAX_NEW_UPLOADS = 3
VERDICTS = ("stored", "quarantined")


def upload_tus(job: Job, target: HttpsTarget, http: Http, retry: RetryPolicy) -> Receipt:
    metadata = {
        "filename": job.name,
        "case": job.case,
        "customer": job.customer,
        "contract": job.contract,
        "sha256": job.sha256,
        # Not in our contract; generic tus servers (tuspyserver) want it.
        "filetype": BUNDLE_TYPE,
    }
    client = TusClient(http, target.url, metadata)
    backoff = Backoff(retry, f"upload to {target.url}")
    capabilities = backoff.call(client.capabilities)
    if capabilities.max_size is not None and job.size > capabilities.max_size:
        raise UploadFailed(
            f"the bundle is {job.size} bytes; the intake accepts at most "
            f"{capabilities.max_size} (Tus-Max-Size): collect less (e.g. --since) and retry"
        )
    return _Upload(job, target, client, capabilities, backoff).run()


class _Upload:
    def __init__(
        self,
        job: Job,
        target: HttpsTarget,
        client: TusClient,
        capabilities: Capabilities,
        backoff: Backoff,
    ) -> None:
        self.job = job
        self.target = target
        self.client = client
        self.capabilities = capabilities
        self.backoff = backoff

    def run(self) -> Receipt:
        state, offset = self._resume()
        for _ in range(MAX_NEW_UPLOADS):
            try:
                headers = self._send(state, offset)
                break
            except Gone:
                log.warning("the server lost upload %s; starting a new one", state.upload_url)
                state, offset = self._create(state), 0
        else:
            raise UploadFailed(
                f"the server at {self.target.url} lost the upload {MAX_NEW_UPLOADS} times"
            )
        return self._confirm(state, headers)

    def _resume(self) -> tuple[ResumeState, int]:
        job = self.job
        state = load_state(job.host, job.sha256)
        if state is None:
            return self._create(None), 0
        if state.target != self.target.url or state.size != job.size:
            log.info("the earlier upload of %s went elsewhere; starting a new one", job.name)
        elif state.expires and state.expires < job.now():
            log.info(
                "the earlier upload of %s expired on %s; starting again", job.name, state.expires
            )
        else:
            url = state.upload_url
            try:
                offset = self.backoff.call(lambda: self.client.offset(url, job.size))
            except Gone:
                if self._verdict(url) is not None:  # finished, but we never heard the answer
                    return state, job.size
                log.warning("the server no longer has upload %s; starting again", url)
            else:
                log.info("resuming %s at byte %d of %d", job.name, offset, job.size)
                return state, offset
        return self._create(state), 0

    def _create(self, previous: ResumeState | None) -> ResumeState:
        job = self.job
        url, expires = self.backoff.call(lambda: self.client.create(job.size))
        state = ResumeState(
            sha256=job.sha256,
            bundle=str(job.bundle),
            size=job.size,
            target=self.target.url,
            upload_url=url,
            started=previous.started if previous else job.now(),
            expires=expires,
            sent_bytes=previous.sent_bytes if previous else 0,
        )
        save_state(job.host, state)
        return state

    def _send(self, state: ResumeState, offset: int) -> Mapping[str, str]:
        """PATCH chunks from `offset` to the end; the last response's headers."""
        job, size = self.job, self.job.size
        need_head = False
        job.report(offset)
        with job.bundle.open("rb") as stream:
            while True:
                try:
                    if need_head:
                        offset = self.client.offset(state.upload_url, size)
                        need_head = False
                        job.report(offset)
                    if offset >= size:
                        return {}
                    chunk = _read(stream, offset, min(job.chunk_size, size - offset), job)
                    state.sent_bytes += len(chunk)
                    save_state(job.host, state)  # before sending: a kill still counts it
                    patched = self.client.patch(
                        state.upload_url,
                        offset,
                        chunk,
                        self.capabilities.checksum,
                        final=offset + len(chunk) == size,
                        on_sent=_Meter(job, offset),
                    )
                    if not offset < patched.offset <= size:
                        raise Transient(
                            f"the server moved the offset from {offset} to {patched.offset}"
                        )
                    offset = patched.offset
                    state.expires = patched.expires or state.expires
                    self.backoff.succeeded()
                    job.report(offset)
                    if offset == size:
                        return patched.headers
                except Transient as error:
                    self.backoff.failed(error)
                    need_head = True

    def _confirm(self, state: ResumeState, headers: Mapping[str, str]) -> Receipt:
        job = self.job
        status = headers.get("Pa-Intake-Status")
        attachment = headers.get("Pa-Intake-Attachment")
        reason = headers.get("Pa-Intake-Reason")
        document = self._verdict(state.upload_url, final=status is None)
        if document is not None:
            status = str(document["status"])
            attachment = _text(document.get("attachment_id")) or attachment
            reason = _text(document.get("reason")) or reason
        receipt = Receipt(
            transport="tus",
            target=self.target.url,
            upload_url=state.upload_url,
            filename=job.name,
            case=job.case,
            attachment_id=attachment if status == "stored" else None,
            status=status if status in VERDICTS else "uploaded",
            bytes=job.size,
            sha256=job.sha256,
            started=state.started,
            finished=job.now(),
            sent_bytes=state.sent_bytes,
            resent_bytes=max(0, state.sent_bytes - job.size),
            reason=reason if status == "quarantined" else None,
            intake=document,
        )
        clear_state(job.host, job.sha256)
        if receipt.status == "quarantined":
            raise Quarantined(receipt)
        return receipt

    def _verdict(self, url: str, *, final: bool = False) -> dict[str, Any] | None:
        """The intake's receipt once it has judged the bundle; None from a plain
        tus server. `final`: all bytes are in but we have no verdict yet."""
        try:
            document = self.backoff.call(lambda: self.client.receipt(url))
        except UploadFailed as error:
            log.warning("could not fetch the intake's receipt: %s", error)
            return None
        if document is None:
            return None
        if document.get("status") in VERDICTS:
            return document
        if final:
            raise UploadFailed(
                f"the intake has all {self.job.size} bytes of {self.job.name} but has not "
                "confirmed it yet; run the same command again later to fetch its receipt"
            )
        return None


class _Meter:
    """Moves the progress callback as a chunk's bytes are sent."""

    def __init__(self, job: Job, start: int) -> None:
        self.job = job
        self.done = start

    def __call__(self, count: int) -> None:
        self.done += count
        self.job.report(self.done)


def _read(stream: IO[bytes], offset: int, length: int, job: Job) -> bytes:
    stream.seek(offset)
    chunk = stream.read(length)
    if len(chunk) != length:
        raise UploadFailed(f"bundle {job.bundle} shrank during the upload")
    return chunk


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None
