"""The intake's operations on uploads, independent of HTTP: create, write a chunk,
terminate, expire, recover after a restart.

Writes to one upload are serialized by a lock per upload; the number of uploads
transferring at once is capped. Disk work that may block (fsync, hashing a whole
bundle) runs in worker threads so one upload never stalls the others.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import anyio.to_thread

from .auth import CUSTOMER, ENGINEER, Principal, Registry
from .completion import complete
from .errors import ProtocolError
from .settings import Settings
from .state import EXPIRED, FINISHED, GONE, INCOMPLETE, TERMINATED, Upload, Uploads
from .store import Store
from .transfer import TIMED_OUT, receive
from .tus import Checksum, Metadata

log = logging.getLogger("pa_intake")
RETRY_AFTER = "5"


class Intake:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.registry = Registry(settings.storage)
        self.uploads = Uploads(settings.storage)
        self.store = Store(settings.storage)
        self.active = 0
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    # -- requests

    async def create(self, principal: Principal, metadata: Metadata, length: int) -> Upload:
        customer = _customer_of(principal)
        if length > self.settings.max_size:
            raise ProtocolError(413, f"Upload-Length exceeds Tus-Max-Size {self.settings.max_size}")
        if metadata.customer != customer:
            raise ProtocolError(403, "the customer metadata is not your customer number")
        if self.registry.case_owner(metadata.case) != customer:
            raise ProtocolError(403, f"case {metadata.case} is not registered to your customer")
        if self.active >= self.settings.max_concurrent:
            raise _too_busy()
        create = partial(
            self.uploads.create,
            metadata,
            length,
            principal.token_id,
            customer,
            self.settings.expire_after,
        )
        upload = await anyio.to_thread.run_sync(create)
        log.info(
            "upload %s created: case %s, %s, %d bytes",
            upload.id,
            metadata.case,
            metadata.filename,
            length,
        )
        if upload.complete:  # an empty upload is complete on creation
            async with self._locked(upload.id):
                upload = await self._complete(upload)
        return upload

    def find(self, upload_id: str, principal: Principal, *, readers: bool = False) -> Upload:
        """The upload, if this token may see it: 404 unknown, 403 not yours, 410 gone."""
        upload = self.uploads.load(upload_id)
        if upload is None:
            raise ProtocolError(404, "no such upload")
        engineer_reading = readers and principal.kind == ENGINEER
        if not engineer_reading and principal.customer != upload.customer:
            raise ProtocolError(403, "this upload belongs to another customer")
        if upload.status in GONE:
            raise ProtocolError(410, f"the upload was {upload.status}")
        if upload.status == INCOMPLETE and upload.expires < time.time():
            raise ProtocolError(410, "the upload expired")
        return upload

    async def write(
        self,
        upload_id: str,
        principal: Principal,
        *,
        offset: int,
        checksum: Checksum | None,
        content_length: int | None,
        body: AsyncIterator[bytes],
    ) -> Upload:
        """One PATCH: append the body at `offset`, and finish the upload if complete."""
        _customer_of(principal)
        self.find(upload_id, principal)
        async with self._transfer_slot(), self._locked(upload_id):
            upload = self.find(upload_id, principal)  # again, now that it is ours
            if upload.status in FINISHED:
                if offset == upload.length and not content_length:
                    return upload
                raise _offset_mismatch(upload)
            if offset != upload.offset:
                raise _offset_mismatch(upload)
            if content_length is not None and offset + content_length > upload.length:
                raise ProtocolError(413, "the body goes past Upload-Length")
            received = await receive(
                body,
                self.uploads.data_path(upload.id),
                offset=offset,
                room=upload.length - offset,
                checksum=checksum,
                read_timeout=self.settings.read_timeout,
            )
            if received.end != upload.offset:
                acknowledge = partial(
                    self.uploads.acknowledge, upload, received.end, self.settings.expire_after
                )
                upload = await anyio.to_thread.run_sync(acknowledge)
            if upload.complete:
                return await self._complete(upload)
            if received.interrupted == TIMED_OUT:
                raise ProtocolError(408, "the request body stalled", _offset_header(upload))
            return upload

    async def terminate(self, upload_id: str, principal: Principal) -> None:
        _customer_of(principal)
        self.find(upload_id, principal)
        async with self._locked(upload_id):
            upload = self.find(upload_id, principal)
            if upload.status in FINISHED:
                raise ProtocolError(403, "a finished upload belongs to its case now")
            await anyio.to_thread.run_sync(self.uploads.finish, upload, TERMINATED)
        log.info("upload %s terminated", upload_id)

    # -- housekeeping

    async def sweep(self) -> None:
        """Expire stale partial uploads; drop old tombstones and crash leftovers."""
        uploads = await anyio.to_thread.run_sync(lambda: list(self.uploads.all()))
        for upload in uploads:
            if upload.status != INCOMPLETE or upload.expires >= time.time():
                continue
            lock = self._lock_for(upload.id)
            if lock.locked():
                continue  # a request is working on it: not stale
            async with lock:
                current = self.uploads.load(upload.id)
                if current and current.status == INCOMPLETE and current.expires < time.time():
                    await anyio.to_thread.run_sync(self.uploads.finish, current, EXPIRED)
                    log.info("upload %s expired; its partial data was removed", upload.id)
        keep = max(self.settings.expire_after, 60.0)
        await anyio.to_thread.run_sync(self.uploads.remove_leftovers, keep)

    async def sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sweep_interval)
            try:
                await self.sweep()
            except OSError as error:
                log.warning("sweep failed, will retry: %s", error)

    async def recover(self) -> None:
        """Finish uploads whose last byte arrived just before a crash."""
        uploads = await anyio.to_thread.run_sync(lambda: list(self.uploads.all()))
        for upload in uploads:
            if upload.status == INCOMPLETE and upload.complete:
                async with self._locked(upload.id):
                    current = self.uploads.load(upload.id)
                    if current and current.status == INCOMPLETE:
                        await self._complete(current)

    # -- internals

    async def _complete(self, upload: Upload) -> Upload:
        done = await anyio.to_thread.run_sync(
            complete, upload, self.uploads, self.store, self.registry
        )
        where = f"{done.metadata.case}/{done.metadata.filename}"
        reason = f" ({done.reason})" if done.reason else ""
        log.info("upload %s %s: %s%s", done.id, done.status, where, reason)
        return done

    def _lock_for(self, upload_id: str) -> asyncio.Lock:
        lock = self._locks.get(upload_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[upload_id] = lock
        return lock

    @asynccontextmanager
    async def _locked(self, upload_id: str) -> AsyncIterator[None]:
        lock = self._lock_for(upload_id)
        try:
            async with asyncio.timeout(self.settings.lock_timeout):
                await lock.acquire()
        except TimeoutError:
            raise ProtocolError(
                409, "another request is writing to this upload", {"Retry-After": "1"}
            ) from None
        try:
            yield
        finally:
            lock.release()

    @asynccontextmanager
    async def _transfer_slot(self) -> AsyncIterator[None]:
        if self.active >= self.settings.max_concurrent:
            raise _too_busy()
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1


def _customer_of(principal: Principal) -> str:
    if principal.kind != CUSTOMER or principal.customer is None:
        raise ProtocolError(403, "only a customer token can upload")
    return principal.customer


def _offset_header(upload: Upload) -> dict[str, str]:
    return {"Upload-Offset": str(upload.offset)}


def _offset_mismatch(upload: Upload) -> ProtocolError:
    return ProtocolError(
        409,
        f"Upload-Offset does not match the upload's offset {upload.offset}",
        _offset_header(upload),
    )


def _too_busy() -> ProtocolError:
    return ProtocolError(429, "too many uploads in progress", {"Retry-After": RETRY_AFTER})
