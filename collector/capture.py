"""Copy bytes from the host into staging: capped, redacted and hashed in one pass.

Both files and command outputs end up here. A capped item keeps its newest bytes
(the end of a log is what support reads first), starting at a line boundary.
A source that fails while being read keeps what was read, with the error: the
bundle writer may already be packing it (collector.archive), and a partial log
still helps support. Errors writing the target are raised.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from collector.redact import PEM_BEGIN, PEM_END, StreamRedactor

CHUNK = 1024 * 1024
# How far past the cut point we look for a line start or the end of a private
# key (the largest PEM keys are about 16 KiB).
LINE_SEARCH = 64 * 1024


@dataclass(frozen=True)
class Captured:
    size: int  # bytes written to the bundle
    sha256: str
    original_size: int  # bytes the source had
    truncated: bool
    redactions: dict[str, int]
    error: str | None = None  # reading the source failed after `size` bytes


class Sink(Protocol):
    """Where captured bytes go instead of a staging file (the bundle writer's
    channel for a streamed log)."""

    def write(self, data: bytes, /) -> int: ...


def capture_stream(
    source: BinaryIO,
    length: int,
    target: Path | Sink,
    cap: int,
    redactor: StreamRedactor,
    original_size: int | None = None,
    stop: threading.Event | None = None,
) -> Captured:
    """Redact `source` (positioned at its start, `length` bytes long) into
    `target` (a staging file, or a sink), keeping at most roughly the last `cap`
    bytes. `original_size` is the size of the data before any earlier cut (a
    spool), if it differs. `stop` (Ctrl-C) ends the copy at the next chunk."""
    original_size = length if original_size is None else original_size
    truncated = original_size > cap
    digest = hashlib.sha256()
    written = 0
    with _opened(target) as out:
        chunk, error = _first_chunk(source, length, cap)
        while chunk:
            written += _emit(out, digest, redactor.feed(chunk))
            chunk, error = _next_chunk(source)
            if stop is not None and stop.is_set():
                chunk, error = b"", "interrupted"
        written += _emit(out, digest, redactor.close())
    counts = dict(redactor.counts)
    return Captured(written, digest.hexdigest(), original_size, truncated, counts, error)


@contextmanager
def _opened(target: Path | Sink) -> Iterator[Sink]:
    if not isinstance(target, Path):
        yield target
        return
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        yield out


def file_sha256(path: Path) -> str:
    """The sha256 of a whole file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def capture_file(source: Path, target: Path, cap: int, redactor: StreamRedactor) -> Captured:
    with source.open("rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        return capture_stream(stream, size, target, cap, redactor)


def _first_chunk(source: BinaryIO, length: int, cap: int) -> tuple[bytes, str | None]:
    if length > cap:
        try:
            _seek_to_cut(source, length - cap)
        except OSError as failure:
            return b"", failure.strerror or str(failure)
    return _next_chunk(source)


def _next_chunk(source: BinaryIO) -> tuple[bytes, str | None]:
    """The next chunk of the source, or b"" and why it could not be read."""
    try:
        return source.read(CHUNK), None
    except OSError as failure:
        return b"", failure.strerror or str(failure)


def _emit(out: Sink, digest: hashlib._Hash, data: bytes) -> int:
    if data:
        out.write(data)
        digest.update(data)
    return len(data)


def _seek_to_cut(source: BinaryIO, offset: int) -> None:
    """Position at the first whole line at or after `offset`, and past the end
    of a private key the cut may have fallen into: the redactor only recognises
    a key by its BEGIN line, which the cut would have removed."""
    start = max(offset - 1, 0)
    source.seek(start)
    window = source.read(LINE_SEARCH + 1)
    at_line_start = offset == 0 or window[:1] == b"\n"
    cut = 1 if at_line_start and offset else window.find(b"\n") + 1
    if cut == 0:
        cut = offset - start  # no line break nearby: cut mid-line
    cut = max(cut, _end_of_open_key(window, cut))
    source.seek(start + cut)


def _end_of_open_key(window: bytes, cut: int) -> int:
    """Where a private key that began before the cut ends, or 0."""
    end = PEM_END.search(window, cut)
    if end is None:
        return 0
    begin = PEM_BEGIN.search(window, cut, end.start())
    if begin is not None:
        return 0
    newline = window.find(b"\n", end.end())
    return len(window) if newline == -1 else newline + 1


class BoundedSpool:
    """A write-only sink for command output that keeps only the newest bytes.

    Output is written to a file; when it grows past twice the cap, its last `cap`
    bytes are moved to the front. Disk use stays under 2 x cap however much a
    command prints, and copying is amortised to O(total output).
    """

    def __init__(self, path: Path, cap: int) -> None:
        self.path = path
        self.cap = cap
        self.total = 0
        self._kept_from = 0  # bytes dropped from the front so far
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        self._file = os.fdopen(fd, "w+b")

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self.total += len(data)
        if self._file.tell() > 2 * self.cap:
            self._compact()

    def _compact(self) -> None:
        # Move the newest `cap` bytes to the front, a chunk at a time (the read
        # position always stays ahead of the write position).
        end = self._file.tell()
        read_at = end - self.cap
        write_at = 0
        while read_at < end:
            self._file.seek(read_at)
            chunk = self._file.read(min(CHUNK, end - read_at))
            self._file.seek(write_at)
            self._file.write(chunk)
            read_at += len(chunk)
            write_at += len(chunk)
        self._file.truncate()
        self._kept_from += end - self.cap

    def rewind(self) -> BinaryIO:
        """The spooled bytes, for reading from the start."""
        self._file.flush()
        self._file.seek(0)
        return self._file

    @property
    def length(self) -> int:
        return self.total - self._kept_from

    def close(self) -> None:
        self._file.close()

    @property
    def dropped(self) -> int:
        """Bytes cut from the front so far."""
        return self._kept_from
