"""Parallel LZMA2 compression that stock 7-Zip reads, and the in-memory
channel that carries a streamed log from its capture to the bundle writer.

py7zr compresses with one thread. `ParallelLZMA2` takes the place of its
compressor and cuts the input into independent blocks compressed in a thread
pool (the lzma module releases the GIL), so both cores work.

Why the result is still one valid LZMA2 stream: LZMA2 is a sequence of
chunks, and a chunk's control byte may reset the dictionary (0x01 for a stored
chunk, 0xE0 for a compressed one). A fresh raw LZMA2 encoder always starts its
first chunk with such a reset and ends its stream with the 0x00 end marker.
Concatenating blocks with their end markers dropped, then ending with one
0x00, therefore gives a stream in which every block starts from an empty
dictionary, which is what 7-Zip's own multithreaded encoder writes. Every
block uses the same filters, so the archive's one LZMA2 property byte (the
dictionary size) holds for all of them, and any 7-Zip or py7zr decodes it.
"""

from __future__ import annotations

import contextlib
import lzma
import os
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

MiB = 1024 * 1024
# Uncompressed bytes per independent LZMA2 block. Each block restarts the
# dictionary, so small blocks cost ratio: on db2diag-style text 1 MiB blocks
# were 2.9% larger than one stream, 4 MiB 0.7%, 8 MiB 0.4%, at the same speed
# (bench/README.md). 7-Zip itself uses 4 x the dictionary, at least 1 MiB.
BLOCK_SIZE = 4 * MiB
# Added to the compression threads' nice value (see _yield_to_collection).
COMPRESSION_NICE = 10
# Bytes of a streamed item held in memory between its capture and the writer.
CHANNEL_LIMIT = 8 * MiB


class ParallelLZMA2:
    """py7zr's compressor interface (compress/flush) over independent LZMA2 blocks.

    Input is cut into BLOCK_SIZE blocks, each compressed by a fresh raw LZMA2
    encoder in a thread pool (the lzma module releases the GIL). A fresh
    encoder starts with a dictionary reset and ends with the 0x00 end marker:
    dropping each block's marker and ending the stream with one 0x00 gives one
    valid LZMA2 stream. At most `2 x threads` blocks are in flight, which bounds
    memory whatever the size of the data.
    """

    def __init__(
        self, filters: list[dict[str, Any]], threads: int, block_size: int | None = None
    ) -> None:
        self._filters = filters
        self._block_size = block_size or BLOCK_SIZE
        self._max_pending = 2 * threads
        self._pool = ThreadPoolExecutor(
            threads, thread_name_prefix="lzma2", initializer=_yield_to_collection
        )
        self._pending: deque[Future[bytes]] = deque()
        self._buffer = bytearray()
        self.blocks = 0  # blocks compressed so far (tests check the mechanism)
        self.peak_pending = 0

    def compress(self, data: bytes | bytearray | memoryview) -> bytes:
        self._buffer += data
        out: list[bytes] = []
        while len(self._buffer) >= self._block_size:
            with memoryview(self._buffer) as view:
                block = bytes(view[: self._block_size])  # one copy, not two
            del self._buffer[: self._block_size]
            out += self._submit(block)
        out += self._collect(wait=False)
        return b"".join(out)

    def flush(self) -> bytes:
        out = self._submit(bytes(self._buffer)) if self._buffer else []
        self._buffer.clear()
        out += self._collect(wait=True)
        self._pool.shutdown()
        return b"".join(out) + b"\x00"

    def shutdown(self) -> None:
        """Stop without finishing the stream (the archive is being discarded)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _submit(self, block: bytes) -> list[bytes]:
        # Wait for the oldest blocks first when too many are in flight.
        out = []
        while len(self._pending) >= self._max_pending:
            out.append(self._pending.popleft().result())
        self._pending.append(self._pool.submit(self._compress_block, block))
        self.blocks += 1
        self.peak_pending = max(self.peak_pending, len(self._pending))
        return out

    def _collect(self, wait: bool) -> list[bytes]:
        """Finished blocks from the front, in order."""
        out = []
        while self._pending and (wait or self._pending[0].done()):
            out.append(self._pending.popleft().result())
        return out

    def _compress_block(self, block: bytes) -> bytes:
        encoder = lzma.LZMACompressor(format=lzma.FORMAT_RAW, filters=self._filters)
        data = encoder.compress(block) + encoder.flush()
        if not data.endswith(b"\x00"):  # liblzma ends every raw LZMA2 stream with it
            raise RuntimeError("LZMA2 block without its end marker")
        return data[:-1]


def _yield_to_collection() -> None:
    """Lower this compression thread's CPU priority (Linux: per thread).
    Redaction runs in one thread and is the collection's critical path; with
    equal priority, two compression threads and it share two cores fairly and
    redaction gets two thirds of one. Niced, compression takes what redaction
    leaves, and all of it once redaction is done."""
    with contextlib.suppress(AttributeError, OSError):
        thread = threading.get_native_id()
        nice = os.getpriority(os.PRIO_PROCESS, thread) + COMPRESSION_NICE
        os.setpriority(os.PRIO_PROCESS, thread, min(nice, 19))


class Channel:
    """Bytes on their way from a capture to the writer, in memory: the capture
    writes (and waits while CHANNEL_LIMIT bytes are waiting), the writer reads
    (and waits for more until the capture closes the channel). Either side can
    break it with an error, which the other side then raises."""

    def __init__(self, limit: int | None = None) -> None:
        self._chunks: deque[bytes] = deque()
        self._waiting = 0
        self._limit = limit or CHANNEL_LIMIT
        self._changed = threading.Condition()
        self._closed = False
        self._error: BaseException | None = None
        self.total = 0

    def write(self, data: bytes) -> int:
        with self._changed:
            while self._waiting >= self._limit and self._error is None:
                self._changed.wait()
            if self._error is not None:
                raise self._error
            if data:
                self._chunks.append(bytes(data))
                self._waiting += len(data)
                self.total += len(data)
                self._changed.notify_all()
        return len(data)

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def fail(self, error: BaseException) -> None:
        with self._changed:
            self._error = self._error or error
            self._changed.notify_all()

    def read(self, size: int) -> bytes:
        """Up to `size` bytes; b"" only once the channel is closed and empty."""
        with self._changed:
            while not self._chunks and not self._closed and self._error is None:
                self._changed.wait()
            if self._error is not None:
                raise self._error
            out = []
            while self._chunks and size > 0:
                chunk = self._chunks.popleft()
                if len(chunk) > size:
                    self._chunks.appendleft(chunk[size:])
                    chunk = chunk[:size]
                out.append(chunk)
                size -= len(chunk)
                self._waiting -= len(chunk)
            self._changed.notify_all()
            return b"".join(out)
