"""One PATCH body into an upload's data file: bounded, verified, durable.

The bytes go straight to their place in the data file. They count only once
they are fsynced and the caller records the new offset, so a chunk that fails
its checksum, overflows the upload or is cut short is simply cut off again.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread
from starlette.requests import ClientDisconnect

from .errors import ProtocolError
from .tus import CHECKSUM_MISMATCH, Checksum

DISCONNECTED = "disconnected"
TIMED_OUT = "timed out"


@dataclass(frozen=True)
class Received:
    """Where the data now ends (synced), and why the body stopped early, if it did."""

    end: int
    interrupted: str | None = None


async def receive(
    body: AsyncIterator[bytes],
    data: Path,
    *,
    offset: int,
    room: int,
    checksum: Checksum | None,
    read_timeout: float,
) -> Received:
    """Write the body at `offset`; at most `room` bytes; raise 413 or 460."""
    fd = os.open(data, os.O_RDWR)
    try:
        os.ftruncate(fd, offset)  # whatever an interrupted request left past the offset
        end, interrupted = await _copy(body, fd, offset, room, checksum, read_timeout)
        if interrupted and checksum is not None:
            # An unverifiable partial chunk: keep nothing of it.
            os.ftruncate(fd, offset)
            end = offset
        await anyio.to_thread.run_sync(os.fsync, fd)
        return Received(end, interrupted)
    finally:
        os.close(fd)


async def _copy(
    body: AsyncIterator[bytes],
    fd: int,
    offset: int,
    room: int,
    checksum: Checksum | None,
    read_timeout: float,
) -> tuple[int, str | None]:
    digest = checksum.new() if checksum else None
    position = offset
    loop = asyncio.get_running_loop()
    try:
        # One deadline, pushed back by every chunk: cheaper than a timer per read.
        async with asyncio.timeout(read_timeout) as deadline:
            async for chunk in body:
                deadline.reschedule(loop.time() + read_timeout)
                if position + len(chunk) - offset > room:
                    os.ftruncate(fd, offset)
                    raise ProtocolError(413, "the body goes past Upload-Length")
                _write_at(fd, chunk, position)
                position += len(chunk)
                if digest is not None:
                    digest.update(chunk)
    except ClientDisconnect:
        return position, DISCONNECTED
    except TimeoutError:
        return position, TIMED_OUT
    if checksum is not None and digest is not None and digest.digest() != checksum.digest:
        os.ftruncate(fd, offset)
        raise ProtocolError(
            CHECKSUM_MISMATCH, f"Upload-Checksum mismatch ({checksum.algorithm}); chunk discarded"
        )
    return position, None


def _write_at(fd: int, chunk: bytes, position: int) -> None:
    view = memoryview(chunk)
    while view:
        written = os.pwrite(fd, view, position)
        view = view[written:]
        position += written
