"""Write the bundle: a 7z archive that stock 7-Zip opens, manifest.json last.

Items are packed while the collection runs (`BundleWriter`): finished staged
items from a bounded queue, and large logs straight from their capture through
an in-memory `Channel`, so compression overlaps redaction and no log is ever
staged whole. The archive is written to a hidden partial file (mode 0600) next
to its final name and renamed into place only when complete, so a crash, a full
disk or a Ctrl-C never leaves something that looks like a bundle.

py7zr writes the archive, but compresses with one thread: `use_parallel_lzma2`
puts collector.lzma2's `ParallelLZMA2` in place of its compressor, so both
cores work and every 7-Zip still reads the result.
"""

from __future__ import annotations

import errno
import io
import logging
import lzma
import os
import re
import shutil
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import py7zr
import py7zr.compressor

from collector.errors import NoBundle
from collector.lzma2 import Channel, MiB, ParallelLZMA2

DEFAULT_LEVEL = 1
SUFFIX = ".7z"
MANIFEST = "manifest.json"
# Bytes of finished items waiting for (or in) the writer before collection
# waits for it: the bound on staged data in flight.
QUEUE_LIMIT = 64 * MiB
# Finished items up to this size are packed by the thread that adds them when
# the writer is idle (BundleWriter); larger ones by the writer thread.
INLINE_MAX = 1 * MiB

log = logging.getLogger(__name__)


def bundle_name(case_prefix: str, products: Iterable[str], hostname: str, created: datetime) -> str:
    """<case>.pa-collect.<product>.<host>.<YYYYmmddTHHMMSSZ>.7z (the case part only
    when there is one), following the support repository's convention."""
    host = re.sub(r"[^A-Za-z0-9-]+", "-", hostname.split(".")[0]).strip("-") or "host"
    product = "+".join(products) or "os"
    stamp = created.strftime("%Y%m%dT%H%M%SZ")
    parts = [case_prefix] if case_prefix else []
    parts += ["pa-collect", product, host, stamp]
    return ".".join(parts) + SUFFIX


def compression_filters(level: int, encrypted: bool) -> list[dict[str, int]]:
    """Levels as `7z -mxN`: 0 stores; N >= 1 is LZMA2 at preset N-1. Level 1
    takes 7-Zip's -mx1 match finder (hc4) with a 16-byte nice length: on
    db2diag-style text 5% smaller than preset 0 at the same speed, and 11%
    faster than 7-Zip's 32 bytes for 1% in size, so bundles are 7-Zip's size.
    LZMA2 because every 7-Zip reads it (bench/README.md)."""
    if level == 0:
        filters = [{"id": py7zr.FILTER_COPY}]
    elif level == 1:
        filters = [{"id": py7zr.FILTER_LZMA2, "preset": 0, "mf": lzma.MF_HC4, "nice_len": 16}]
    else:
        filters = [{"id": py7zr.FILTER_LZMA2, "preset": level - 1}]
    if encrypted:
        filters.append({"id": py7zr.FILTER_CRYPTO_AES256_SHA256})
    return filters


def compression_threads() -> int:
    """Threads that compress: one per core. Redaction holds the GIL while the
    LZMA threads do not, so on a busy 2-core host the OS shares the cores and
    compression still never waits for a free thread (bench/README.md)."""
    return max(1, os.cpu_count() or 1)


def use_parallel_lzma2(
    archive: py7zr.SevenZipFile, filters: list[dict[str, Any]], threads: int
) -> ParallelLZMA2 | None:
    """Put a ParallelLZMA2 in place of py7zr's LZMA2 compressor, before anything
    is written. Only when py7zr's layout is the one we know (one folder whose
    first coder is its LZMA1Compressor over an LZMA2 filter, possibly followed by
    AES): another py7zr version then costs speed, never correctness."""
    if threads < 2 or filters[0]["id"] != py7zr.FILTER_LZMA2:
        return None
    initialize = getattr(getattr(archive, "header", None), "initialize", None)
    folder = initialize() if callable(initialize) else None
    chain = getattr(getattr(folder, "compressor", None), "chain", None)
    known = getattr(py7zr.compressor, "LZMA1Compressor", None)
    if not (isinstance(chain, list) and chain and known and type(chain[0]) is known):
        log.debug("py7zr's compressor layout is not the known one: compressing in one thread")
        return None
    parallel = ParallelLZMA2(filters[:1], threads)
    chain[0] = parallel
    return parallel


@dataclass
class _Entry:
    """An item for the writer: a finished staged file, or (`channel`) a log
    streamed from its capture in memory. `complete` is set once nothing more
    will be written to it: at once for a finished file."""

    staged: Path | None
    name: str
    size: int
    delete: bool
    channel: Channel | None = None
    complete: threading.Event = field(default_factory=threading.Event)


class _Aborted(Exception):
    """The writer was told to stop: raised inside py7zr's read loop, so that
    it stops at the next read."""


class _ChannelRaw(io.RawIOBase):
    """A channel as py7zr reads a member: forward only. py7zr asks for the
    size by seeking to the end and back; it only tells an empty member from
    others, and the real size is counted as data is read, so the position is
    the answer."""

    def __init__(self, channel: Channel, aborted: threading.Event) -> None:
        self._channel = channel
        self._aborted = aborted
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if (whence, offset) not in ((os.SEEK_END, 0), (os.SEEK_SET, self._position)):
            raise io.UnsupportedOperation("a streamed member is read forward only")
        return self._position

    def readinto(self, buffer: Any) -> int:
        if self._aborted.is_set():
            raise _Aborted
        data = self._channel.read(len(buffer))
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)


class _StagedReader(io.BufferedReader):
    """A finished staged file as py7zr reads it, stopping after abort()."""

    def __init__(self, path: Path, aborted: threading.Event) -> None:
        super().__init__(io.FileIO(path, "r"), buffer_size=MiB)
        self._aborted = aborted

    def read(self, size: int | None = -1) -> bytes:
        if self._aborted.is_set():
            raise _Aborted
        return super().read(size)


class BundleWriter:
    """Packs items into the bundle while the collection runs.

    `add()` queues a finished staged file; `stream()` queues one still being
    written (a large log), read as it grows. Items are packed in the order they
    were queued, by the writer thread, except that a small finished item that
    finds the writer idle is packed at once by the thread that adds it: handing
    thousands of small files to another thread costs more in GIL hand-offs than
    packing them (2,000 config files: 4 s of CPU against 1.8 s). `add()` waits
    while more than QUEUE_LIMIT bytes are queued: collection never runs far
    ahead of compression, so staged data stays bounded. `finish()` writes the
    manifest last and renames the bundle into place; `abort()` removes
    everything. A write error (a full disk) stops the writer and is raised as
    NoBundle by the next add() or by finish().
    """

    def __init__(
        self,
        destination: Path,
        *,
        password: str | None = None,
        level: int = DEFAULT_LEVEL,
        threads: int | None = None,
        queue_limit: int = QUEUE_LIMIT,
    ) -> None:
        self.destination = destination
        self.packed: list[str] = []  # names in archive order
        self.peak_queued = 0  # most bytes queued or being packed at once
        self.streamed: list[str] = []  # names packed while they were written
        self.packed_inline = 0  # items packed by the thread that added them
        self._partial = destination.with_name(f".{destination.name}.partial")
        self._queue: deque[_Entry] = deque()
        self._queued = 0
        self._limit = queue_limit
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # the writer thread waits here
        self._room = threading.Condition(self._lock)  # adders and drain() wait here
        self._packing = False  # someone is packing the queue's first entry
        self._channels: list[Channel] = []  # of streamed items, to break on failure
        self._closing = False
        self._error: BaseException | None = None
        self._aborted = threading.Event()
        self._finished = False
        self._stream = self._create_partial()
        try:
            filters = compression_filters(level, password is not None)
            self._archive = py7zr.SevenZipFile(
                self._stream,
                "w",
                filters=filters,
                password=password,
                header_encryption=password is not None,
            )
            threads = compression_threads() if threads is None else threads
            self.parallel = use_parallel_lzma2(self._archive, filters, threads)
        except BaseException:
            self._discard()
            raise
        self._thread = threading.Thread(target=self._run, name="bundle-writer", daemon=True)
        self._thread.start()

    def __enter__(self) -> BundleWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Without finish() (an error, Ctrl-C), nothing is left behind."""
        if not self._finished:
            self.abort()

    def add(self, staged: Path, name: str, *, delete: bool = False) -> None:
        """Queue a finished staged file as `name`; `delete` removes it once packed.
        An item already announced with stream() is packed already: no-op."""
        if name in self.streamed:
            with self._lock:
                self._raise_failure()
            return
        entry = _Entry(staged, name, staged.stat().st_size, delete)
        entry.complete.set()
        self._enqueue(entry)
        self._pack_inline()

    def stream(self, name: str) -> tuple[Channel, Callable[[str | None], None]]:
        """Pack a log as `name` while its capture writes it: the capture writes
        the (redacted) bytes to the returned channel, and calls the returned
        function at the end, with None when complete, or with why it failed,
        which fails the bundle (the member is half packed). The log is never
        staged on disk, and its compression overlaps its redaction."""
        channel = Channel()
        entry = _Entry(None, name, 0, False, channel)
        self._enqueue(entry)
        self.streamed.append(name)
        self._channels.append(channel)

        def done(failure: str | None) -> None:
            if failure is None:
                channel.close()
            else:
                channel.fail(_Aborted())  # the writer stops reading it
                self._failed(
                    NoBundle(
                        f"cannot write bundle {self.destination}: "
                        f"collecting {name} failed: {failure}"
                    )
                )
            entry.complete.set()

        return channel, done

    def drain(self) -> None:
        """Wait until everything queued so far is packed."""
        with self._lock:
            while self._error is None and self._queue:
                self._room.wait()
            self._raise_failure()

    def finish(self, manifest: bytes) -> Path:
        """Pack the rest, then the manifest; sync and rename. Returns the path."""
        try:
            self.drain()
            self._stop_thread()
            with self._lock:
                self._raise_failure()
            self._archive.writestr(manifest, MANIFEST)
            self._archive.close()
            self._stream.flush()
            os.fsync(self._stream.fileno())
            self._stream.close()
            os.replace(self._partial, self.destination)
            self._finished = True
        except OSError as error:
            self.abort()
            raise self._no_bundle(error) from None
        except BaseException:
            self.abort()
            raise
        return self.destination

    def abort(self) -> None:
        """Stop packing (at the next read of any member) and remove the partial bundle."""
        self._aborted.set()
        self._break_channels()
        self._stop_thread()
        with self._lock:
            while self._packing:  # an adding thread packing inline stops at its next read
                self._room.wait()
        self._discard()

    # Queue and packers. A packer takes the first entry (setting _packing),
    # packs it without the lock, then removes it; only one packs at a time, so
    # members keep the order of the queue.

    def _enqueue(self, entry: _Entry) -> None:
        with self._lock:
            while self._room_full(entry.size):
                self._room.wait()
            self._raise_failure()
            if self._closing:
                raise RuntimeError("BundleWriter: an item added after finish() or abort()")
            self._queue.append(entry)
            self._count(entry.size)
            if not entry.complete.is_set() or entry.size > INLINE_MAX:
                self._work.notify()  # not for an adding thread: the writer thread's

    def _room_full(self, size: int) -> bool:
        """(Holding the lock.) Must an adder wait? One item always fits."""
        busy = self._error is None and not self._closing and self._queued > 0
        return busy and self._queued + size > self._limit

    def _count(self, size: int) -> None:
        """(Holding the lock.) Bytes queued grew by `size`."""
        self._queued += size
        self.peak_queued = max(self.peak_queued, self._queued)

    def _take(self, inline: bool) -> _Entry | None:
        """(Holding the lock.) The first entry, now ours to pack, or None. An
        adding thread only takes small finished entries: a large or growing one
        would keep it from collecting, so it is left to the writer thread."""
        if self._packing or not self._queue or self._aborted.is_set() or self._error:
            return None
        entry = self._queue[0]
        if inline and (not entry.complete.is_set() or entry.size > INLINE_MAX):
            self._work.notify()
            return None
        self._packing = True
        return entry

    def _pack_inline(self) -> None:
        while True:
            with self._lock:
                entry = self._take(inline=True)
                if entry is None:
                    self._raise_failure()
                    return
            try:
                self._pack(entry)
            except OSError as error:
                self._failed(error)
                raise self._no_bundle(error) from None
            except BaseException as error:
                self._failed(error)
                raise
            self.packed_inline += 1

    def _run(self) -> None:
        """The writer thread: packs what adding threads leave to it."""
        while True:
            with self._lock:
                entry = self._take(inline=False)
                while entry is None and not self._closing:
                    self._work.wait()
                    entry = self._take(inline=False)
                if entry is None:
                    return
            try:
                self._pack(entry)
            except _Aborted:
                self._failed(None)
                return
            except BaseException as error:  # handed to the collecting threads, which raise it
                self._failed(error)
                return

    def _pack(self, entry: _Entry) -> None:
        source: io.BufferedReader
        if entry.channel is not None:
            source = io.BufferedReader(_ChannelRaw(entry.channel, self._aborted), MiB)
        else:
            assert entry.staged is not None
            source = _StagedReader(entry.staged, self._aborted)
        with source:
            self._write_member(source, entry.name)
        if entry.delete and entry.staged is not None:
            entry.staged.unlink(missing_ok=True)
        with self._lock:
            self._queue.popleft()
            self._queued -= entry.size
            self.packed.append(entry.name)
            self._packing = False
            self._room.notify_all()
        # No wake-up for the writer thread here: every packer goes on taking
        # entries until _take() declines, and an adding thread that declines a
        # large or growing entry wakes the writer thread itself.

    def _failed(self, error: BaseException | None) -> None:
        """A packer stopped: record why (None: it was aborted) and wake everyone,
        captures writing to a channel included."""
        with self._lock:
            if error is not None and self._error is None:
                self._error = error
            self._packing = False
            self._room.notify_all()
            self._work.notify_all()
        self._break_channels()

    def _break_channels(self) -> None:
        """Captures still writing to a channel stop with the writer's error
        (NoBundle for a write error), or _Aborted after abort()."""
        with self._lock:
            reason = self._error
        error = self._no_bundle(reason) if isinstance(reason, OSError) else reason
        for channel in self._channels:
            channel.fail(error or _Aborted())

    def _stop_thread(self) -> None:
        with self._lock:
            self._closing = True
            self._work.notify_all()
            self._room.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def _write_member(self, source: io.BufferedReader, name: str) -> None:
        """py7zr's public writef() checks each name by resolving it against the
        current folder (a realpath per member: 70% of the time spent on 2,000
        small files). Our names are made safe by the planner and checked here,
        so its unchecked twin is used when this py7zr has it."""
        check_member_name(name)
        write = getattr(self._archive, "_writef", None) or self._archive.writef
        write(source, name)

    def _raise_failure(self) -> None:
        """(Holding the lock.) Raise what stopped a packer, if anything."""
        error = self._error
        if error is None:
            return
        if isinstance(error, OSError):
            raise self._no_bundle(error) from None
        raise error

    def _no_bundle(self, error: OSError) -> NoBundle:
        return NoBundle(f"cannot write bundle {self.destination}: {_describe(error)}")

    def _create_partial(self) -> io.BufferedRandom:
        try:
            fd = os.open(self._partial, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as error:
            raise self._no_bundle(error) from None
        return os.fdopen(fd, "w+b")

    def _discard(self) -> None:
        parallel = getattr(self, "parallel", None)
        if parallel is not None:
            parallel.shutdown()
        self._stream.close()
        self._partial.unlink(missing_ok=True)


def check_member_name(name: str) -> None:
    """A member name must stay inside the bundle: relative, no `..`, no NUL."""
    parts = PurePosixPath(name).parts
    if not parts or name.startswith("/") or ".." in parts or "\x00" in name:
        raise ValueError(f"unsafe name for a bundle member: {name!r}")


def write_bundle(
    destination: Path,
    members: Iterable[tuple[Path, str]],
    manifest: bytes,
    *,
    password: str | None = None,
    level: int = DEFAULT_LEVEL,
) -> Path:
    """Pack (staged file, name in bundle) pairs plus the manifest; return the path."""
    with BundleWriter(destination, password=password, level=level) as writer:
        for staged, name in members:
            writer.add(staged, name)
        return writer.finish(manifest)


def check_free_space(folder: Path, needed: int) -> None:
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise NoBundle(
            f"not enough free space in {folder}: about {_mib(needed)} MiB needed, "
            f"{_mib(free)} MiB free (use --output, or lower --max-total-size)"
        )


def _mib(size: int) -> int:
    return (size + MiB - 1) // MiB


def _describe(error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        return "no space left on device"
    return error.strerror or str(error)
